package image

import (
	"compress/gzip"
	"fmt"
	"io"
	"sort"

	"github.com/u-root/u-root/pkg/cpio"
)

// File is one regular file of the initramfs.
type File struct {
	Name string // path without a leading slash, e.g. "etc/uvs.toml"
	Data []byte
	Mode uint64 // permission bits, e.g. 0o755
}

// initramfsDirs are the directories /init expects (mount points and scratch space).
var initramfsDirs = []struct {
	name string
	mode uint64
}{
	{"dev", 0o755}, {"etc", 0o755}, {"mnt", 0o755}, {"mnt/config", 0o755}, {"proc", 0o555},
	{"run", 0o755}, {"sys", 0o555}, {"tmp", 0o1777},
}

// WriteInitramfs writes a gzip-compressed newc cpio archive (what the kernel unpacks into
// its rootfs) holding the directories /init needs, /dev/console and /dev/null (the kernel
// opens /dev/console for process 1 before /init can mount devtmpfs), and files. Every entry
// has owner root, modification time mtime (seconds since 1970) and a stable inode number;
// entries are sorted by name, and the gzip header carries no name nor time: the same files
// give the same bytes.
func WriteInitramfs(w io.Writer, files []File, mtime int64) error {
	var recs []cpio.Record
	for _, d := range initramfsDirs {
		recs = append(recs, cpio.Directory(d.name, d.mode))
	}
	recs = append(recs, cpio.CharDev("dev/console", 0o600, 5, 1), cpio.CharDev("dev/null", 0o666, 1, 3))
	seen := map[string]bool{}
	for _, r := range recs {
		seen[r.Name] = true
	}
	for _, f := range files {
		name := cpio.Normalize(f.Name)
		if seen[name] {
			return fmt.Errorf("image: initramfs: %s twice", name)
		}
		seen[name] = true
		recs = append(recs, cpio.StaticFile(name, string(f.Data), f.Mode))
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Name < recs[j].Name })
	for i := range recs {
		recs[i] = cpio.MakeReproducible(recs[i])
		recs[i].Ino = uint64(i + 1)
		recs[i].NLink = 1
		if recs[i].Mode&cpio.S_IFMT == cpio.S_IFDIR {
			recs[i].NLink = 2
		}
		if mtime > 0 {
			recs[i].MTime = uint64(mtime)
		}
	}
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	cw := cpio.Newc.Writer(zw)
	if err := cpio.WriteRecords(cw, recs); err != nil {
		return fmt.Errorf("image: initramfs: %w", err)
	}
	if err := cpio.WriteTrailer(cw); err != nil {
		return fmt.Errorf("image: initramfs: %w", err)
	}
	return zw.Close()
}
