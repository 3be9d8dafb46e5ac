package image

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"
)

// WriteFAT writes to out a FAT32 file system image (mtools: mformat, mmd, mcopy) of at least
// size bytes holding files (name on the file system, e.g. "EFI/BOOT/BOOTX64.EFI" → path on
// this machine). The volume serial number is serial, and every file and directory is dated
// mtime (SOURCE_DATE_EPOCH, which mtools honours for what it creates), so the same inputs
// give the same bytes.
func WriteFAT(ctx context.Context, out string, size int64, serial uint32, mtime time.Time, files map[string]string) error {
	if err := os.WriteFile(out, nil, 0o644); err != nil {
		return err
	}
	if err := os.Truncate(out, size); err != nil {
		return err
	}
	env := append(os.Environ(), "SOURCE_DATE_EPOCH="+strconv.FormatInt(mtime.Unix(), 10), "MTOOLS_SKIP_CHECK=1", "MTOOLSRC=/dev/null", "TZ=UTC")
	run := func(name string, args ...string) error {
		c := exec.CommandContext(ctx, name, args...)
		c.Env = env
		if b, err := c.CombinedOutput(); err != nil {
			return fmt.Errorf("image: %s (Debian package mtools): %v: %s", name, err, bytes.TrimSpace(b))
		}
		return nil
	}
	if err := run("mformat", "-i", out, "-F", "-N", fmt.Sprintf("%08x", serial), "-v", "UVS", "::"); err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	dirs := map[string]bool{}
	for _, n := range names {
		parts := strings.Split(n, "/")
		for i := 1; i < len(parts); i++ {
			d := strings.Join(parts[:i], "/")
			if !dirs[d] {
				dirs[d] = true
				if err := run("mmd", "-i", out, "::/"+d); err != nil {
					return err
				}
			}
		}
		// mcopy -m keeps the source's modification time: give it the fixed one.
		src := files[n]
		tmp, err := os.CreateTemp("", "uvs-fat")
		if err != nil {
			return err
		}
		tmp.Close()
		defer os.Remove(tmp.Name())
		if err := copyFile(tmp.Name(), src); err != nil {
			return err
		}
		if err := os.Chtimes(tmp.Name(), mtime, mtime); err != nil {
			return err
		}
		if err := run("mcopy", "-i", out, "-m", tmp.Name(), "::/"+n); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(dst, src string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}
