package image

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/u-root/u-root/pkg/cpio"
)

// kernelForTest fetches the pinned kernel, or skips saying why.
func kernelForTest(t *testing.T) Kernel {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	k, err := FetchKernel(ctx, "", KernelVersion)
	if err != nil {
		t.Skipf("the kernel module is unavailable (no module proxy, no cache?): %v", err)
	}
	return k
}

func TestInitramfs(t *testing.T) {
	var a, b bytes.Buffer
	files := []File{{Name: "init", Data: []byte("#!binary"), Mode: 0o755}, {Name: "etc/uvs.toml", Data: []byte("[log]\n"), Mode: 0o644}}
	if err := WriteInitramfs(&a, files, 1700000000); err != nil {
		t.Fatal(err)
	}
	if err := WriteInitramfs(&b, []File{files[1], files[0]}, 1700000000); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("the same files in another order give other bytes")
	}
	zr, err := gzip.NewReader(&a)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(readerAt(t, zr)))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]cpio.Info{}
	var names []string
	for _, r := range recs {
		got[r.Name] = r.Info
		names = append(names, r.Name)
	}
	for name, mode := range map[string]uint64{
		"init": cpio.S_IFREG | 0o755, "etc/uvs.toml": cpio.S_IFREG | 0o644, "dev/console": cpio.S_IFCHR | 0o600,
		"proc": cpio.S_IFDIR | 0o555, "tmp": cpio.S_IFDIR | 0o1777, "mnt/config": cpio.S_IFDIR | 0o755,
	} {
		if i, ok := got[name]; !ok || i.Mode != mode || i.MTime != 1700000000 || i.UID != 0 {
			t.Errorf("%s: %+v, want mode %#o, mtime 1700000000, uid 0", name, i, mode)
		}
	}
	if c := got["dev/console"]; c.Rmajor != 5 || c.Rminor != 1 {
		t.Errorf("dev/console is %d:%d", c.Rmajor, c.Rminor)
	}
	for i := 1; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Errorf("entries not sorted: %q before %q", names[i-1], names[i])
		}
	}
	if err := WriteInitramfs(&a, append(files, File{Name: "/init", Data: nil, Mode: 0o755}), 0); err == nil {
		t.Error("a file twice is accepted")
	}
}

func readerAt(t *testing.T, r interface{ Read([]byte) (int, error) }) *bytes.Reader {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r); err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(buf.Bytes())
}

// TestBuildReproducible builds the image twice, a few seconds apart, from the same inputs,
// and wants the same bytes, then checks the disk's GPT.
func TestBuildReproducible(t *testing.T) {
	if missing := MissingTools(DefaultEFIStub); len(missing) > 0 {
		t.Skipf("the disk image needs %v (make image-deps installs them as root)", missing)
	}
	k := kernelForTest(t)
	dir := t.TempDir()
	uvs := filepath.Join(dir, "uvs")
	if err := os.WriteFile(uvs, bytes.Repeat([]byte("not really uvs\n"), 1000), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "uvs.toml")
	if err := os.WriteFile(cfg, []byte("[[interface]]\nname = \"eth0\"\naddresses = [\"10.0.0.2/24\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var sums [2][]byte
	for i := range sums {
		if i == 1 {
			time.Sleep(1100 * time.Millisecond) // a tool that stamps the time of day would show
		}
		out := filepath.Join(dir, "out", string(rune('a'+i)))
		if _, err := Build(context.Background(), Options{Out: out, Uvs: uvs, Config: cfg, Kernel: k, Epoch: 1767225600, Version: "test"}); err != nil {
			t.Fatal(err)
		}
		var err error
		if sums[i], err = os.ReadFile(filepath.Join(out, FileSums)); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(sums[0], sums[1]) {
		t.Fatalf("two builds differ:\n%s\n%s", sums[0], sums[1])
	}
	t.Logf("SHA256SUMS:\n%s", sums[0])

	disk, err := os.ReadFile(filepath.Join(dir, "out", "a", FileDisk))
	if err != nil {
		t.Fatal(err)
	}
	if disk[510] != 0x55 || disk[511] != 0xaa || disk[446+4] != 0xee {
		t.Error("no protective MBR")
	}
	le := binary.LittleEndian
	last := uint64(len(disk)/sector - 1)
	for _, lba := range []uint64{1, last} {
		h := append([]byte(nil), disk[lba*sector:lba*sector+92]...)
		if string(h[:8]) != "EFI PART" || le.Uint64(h[24:]) != lba {
			t.Fatalf("GPT header at LBA %d: %q", lba, h[:8])
		}
		crc := le.Uint32(h[16:])
		le.PutUint32(h[16:], 0)
		if crc32.ChecksumIEEE(h) != crc {
			t.Errorf("GPT header at LBA %d: bad CRC", lba)
		}
		ent := le.Uint64(h[72:])
		entries := disk[ent*sector : ent*sector+gptEntries*gptEntry]
		if crc32.ChecksumIEEE(entries) != le.Uint32(h[88:]) {
			t.Errorf("GPT entries at LBA %d: bad CRC", ent)
		}
		if !bytes.Equal(entries[:16], espType[:]) || le.Uint64(entries[32:]) != espStart {
			t.Errorf("first partition is not the ESP at 1 MiB")
		}
	}
	fat := disk[espStart*sector:]
	if string(fat[82:90]) != "FAT32   " {
		t.Errorf("the ESP is not FAT32: %q", fat[82:90])
	}
}
