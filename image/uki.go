package image

import (
	"bytes"
	"context"
	"debug/pe"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// DefaultEFIStub is systemd's EFI stub for unified kernel images (Debian's systemd-boot-efi).
const DefaultEFIStub = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"

// WriteUKI writes a unified kernel image to out: stub (systemd's linuxx64.efi.stub) with the
// sections .osrel, .cmdline, .linux and .initrd added by objcopy (GNU binutils), each at the
// next 4 KiB boundary after the stub's last section, as ukify lays them out. The stub then
// boots the kernel with that command line and initramfs, from any EFI firmware, with no boot
// loader. objcopy stamps the PE header with the time of day: WriteUKI puts the stub's own
// timestamp back and recomputes the checksum, so the output depends only on the inputs.
func WriteUKI(ctx context.Context, out, stub string, osRelease, cmdline []byte, kernel, initrd string) error {
	f, err := pe.Open(stub)
	if err != nil {
		return fmt.Errorf("image: the EFI stub %s (Debian package systemd-boot-efi): %w", stub, err)
	}
	var base, end uint64
	switch oh := f.OptionalHeader.(type) {
	case *pe.OptionalHeader64:
		base = oh.ImageBase
	case *pe.OptionalHeader32:
		base = uint64(oh.ImageBase)
	}
	for _, s := range f.Sections {
		if e := uint64(s.VirtualAddress) + uint64(max(s.VirtualSize, s.Size)); e > end {
			end = e
		}
	}
	f.Close()
	tmp, err := os.MkdirTemp("", "uvs-uki")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	osrel, cmd := filepath.Join(tmp, "os-release"), filepath.Join(tmp, "cmdline")
	if err := os.WriteFile(osrel, osRelease, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(cmd, append(bytes.TrimSpace(cmdline), 0), 0o644); err != nil {
		return err
	}
	args := []string{}
	vma := base + end
	for _, s := range []struct{ name, path string }{{".osrel", osrel}, {".cmdline", cmd}, {".linux", kernel}, {".initrd", initrd}} {
		st, err := os.Stat(s.path)
		if err != nil {
			return err
		}
		vma = (vma + 0xfff) &^ 0xfff
		args = append(args, "--add-section", s.name+"="+s.path, "--change-section-vma", fmt.Sprintf("%s=%#x", s.name, vma))
		vma += uint64(st.Size())
	}
	args = append(args, stub, out)
	c := exec.CommandContext(ctx, "objcopy", args...)
	if b, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("image: objcopy (Debian package binutils): %v: %s", err, bytes.TrimSpace(b))
	}
	return restamp(out, stub)
}

// restamp gives the PE file at path the COFF timestamp of ref and a correct checksum.
func restamp(path, ref string) error {
	r, err := os.ReadFile(ref)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	hdr := func(b []byte) (int, error) {
		if len(b) < 0x40 {
			return 0, errors.New("not a PE file")
		}
		off := int(le.Uint32(b[0x3c:]))
		if off+24+68 > len(b) || string(b[off:off+4]) != "PE\x00\x00" {
			return 0, errors.New("not a PE file")
		}
		return off, nil
	}
	ro, err := hdr(r)
	if err != nil {
		return fmt.Errorf("image: %s: %w", ref, err)
	}
	off, err := hdr(b)
	if err != nil {
		return fmt.Errorf("image: %s: %w", path, err)
	}
	copy(b[off+8:off+12], r[ro+8:ro+12])
	sumAt := off + 24 + 64 // the optional header's CheckSum
	le.PutUint32(b[sumAt:], 0)
	le.PutUint32(b[sumAt:], peChecksum(b, sumAt))
	return os.WriteFile(path, b, 0o644)
}

// peChecksum is the PE image checksum (as IMAGEHLP's CheckSumMappedFile): the 16-bit
// one's-complement-style sum of the file, the checksum field counted as zero, plus its length.
func peChecksum(b []byte, sumAt int) uint32 {
	var sum uint64
	for i := 0; i+1 < len(b); i += 2 {
		if i == sumAt || i == sumAt+2 {
			continue
		}
		sum += uint64(binary.LittleEndian.Uint16(b[i:]))
		sum = (sum & 0xffff) + (sum >> 16)
	}
	if len(b)%2 == 1 {
		sum += uint64(b[len(b)-1])
		sum = (sum & 0xffff) + (sum >> 16)
	}
	sum = (sum & 0xffff) + (sum >> 16)
	return uint32(sum) + uint32(len(b))
}
