package image

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/uvs-lb/uvs/conf"
)

// DefaultCmdline is the kernel command line of the image: the console on the first serial
// port (and the screen), no kernel chatter on it, reboot 10 s after a kernel panic.
const DefaultCmdline = "console=tty0 console=ttyS0,115200 quiet panic=10"

// The files Build writes in its output directory.
const (
	FileKernel    = "vmlinuz"           // the kernel, for qemu -kernel / libvirt <kernel>
	FileInitramfs = "initramfs.cpio.gz" // uvs as /init, for qemu -initrd / libvirt <initrd>
	FileCmdline   = "cmdline.txt"       // the command line baked into the UKI
	FileUKI       = "uvs.efi"           // kernel + command line + initramfs, one EFI executable
	FileDisk      = "uvs.img"           // a GPT disk whose EFI system partition boots uvs.efi
	FileSums      = "SHA256SUMS"
)

// Options are Build's inputs; the same inputs give the same bytes.
type Options struct {
	Out     string // output directory, created if missing
	Uvs     string // a static uvs binary (CGO_ENABLED=0), which becomes /init
	Config  string // a configuration file to bake in as /etc/uvs.toml; "" for none
	Kernel  Kernel // from FetchKernel
	Cmdline string // "" means DefaultCmdline
	Version string // the image's version, in its os-release
	// Epoch is the time every file of the image carries (SOURCE_DATE_EPOCH, seconds);
	// the FAT file system cannot go below 1980, so it takes 1980-01-01 for earlier times.
	Epoch int64
	// EFIStub is systemd's EFI stub; "" means DefaultEFIStub. NoDisk skips the unified
	// kernel image and the disk (no systemd-boot-efi, binutils or mtools needed): only the
	// kernel and the initramfs are written.
	EFIStub string
	NoDisk  bool
}

// Build writes the image's files to o.Out: the kernel, the initramfs, the unified kernel
// image and the disk (unless NoDisk), the kernel's licences and where its source is, and
// SHA256SUMS. It returns the names of the files written.
func Build(ctx context.Context, o Options) ([]string, error) {
	if o.Cmdline == "" {
		o.Cmdline = DefaultCmdline
	}
	if o.EFIStub == "" {
		o.EFIStub = DefaultEFIStub
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	if !o.NoDisk {
		if missing := MissingTools(o.EFIStub); len(missing) > 0 {
			return nil, fmt.Errorf("image: the disk image needs %s (or build without it: -no-disk)", strings.Join(missing, ", "))
		}
	}
	uvs, err := os.ReadFile(o.Uvs)
	if err != nil {
		return nil, fmt.Errorf("image: the uvs binary: %w", err)
	}
	osRelease := []byte(fmt.Sprintf("NAME=uvs\nID=uvs\nPRETTY_NAME=\"uvs appliance %s\"\nVERSION_ID=%s\nHOME_URL=https://github.com/uvs-lb/uvs\n", o.Version, o.Version))
	files := []File{{Name: "init", Data: uvs, Mode: 0o755}, {Name: "etc/os-release", Data: osRelease, Mode: 0o644}}
	if o.Config != "" {
		data, err := os.ReadFile(o.Config)
		if err != nil {
			return nil, fmt.Errorf("image: the configuration: %w", err)
		}
		if _, err := conf.Parse(o.Config, data); err != nil {
			return nil, fmt.Errorf("image: the configuration to bake in is not valid: %w", err)
		}
		files = append(files, File{Name: "etc/uvs.toml", Data: data, Mode: 0o644})
	}
	var written []string
	put := func(name string, write func(w io.Writer) error) error {
		f, err := os.Create(filepath.Join(o.Out, name))
		if err != nil {
			return err
		}
		if err := write(f); err != nil {
			f.Close()
			return err
		}
		written = append(written, name)
		return f.Close()
	}
	copyIn := func(name, src string) error {
		return put(name, func(w io.Writer) error {
			r, err := os.Open(src)
			if err != nil {
				return err
			}
			defer r.Close()
			_, err = io.Copy(w, r)
			return err
		})
	}
	if err := copyIn(FileKernel, o.Kernel.Vmlinuz()); err != nil {
		return nil, err
	}
	if err := put(FileInitramfs, func(w io.Writer) error { return WriteInitramfs(w, files, o.Epoch) }); err != nil {
		return nil, err
	}
	if err := put(FileCmdline, func(w io.Writer) error { _, err := io.WriteString(w, o.Cmdline+"\n"); return err }); err != nil {
		return nil, err
	}
	for _, l := range []struct{ name, src string }{{"LICENSE.linux", "LICENSE.linux"}, {"LICENSE.gokrazy-kernel", "LICENSE"}} {
		if err := copyIn(l.name, filepath.Join(o.Kernel.Dir, l.src)); err != nil {
			return nil, fmt.Errorf("image: the kernel's licence: %w", err)
		}
	}
	source := fmt.Sprintf("# The image's kernel\n\n%s@%s (go.sum %s), from the Go module proxy.\nIts source: %s.\nLinux is under the GPL version 2 (LICENSE.linux); gokrazy's build files under LICENSE.gokrazy-kernel.\n",
		KernelModule, o.Kernel.Version, o.Kernel.Sum, KernelSource)
	if err := put("SOURCE.md", func(w io.Writer) error { _, err := io.WriteString(w, source); return err }); err != nil {
		return nil, err
	}
	if !o.NoDisk {
		uki := filepath.Join(o.Out, FileUKI)
		if err := WriteUKI(ctx, uki, o.EFIStub, osRelease, []byte(o.Cmdline), o.Kernel.Vmlinuz(), filepath.Join(o.Out, FileInitramfs)); err != nil {
			return nil, err
		}
		written = append(written, FileUKI)
		st, err := os.Stat(uki)
		if err != nil {
			return nil, err
		}
		sum, err := fileSum(uki)
		if err != nil {
			return nil, err
		}
		esp := filepath.Join(o.Out, "esp.fat")
		defer os.Remove(esp)
		// Room for the UKI and a little more, in whole MiB; FAT32 wants at least 65525
		// clusters, which mformat gets with its small clusters at these sizes.
		size := max((st.Size()+st.Size()/8+(4<<20))&^(1<<20-1), 40<<20)
		mtime := time.Unix(max(o.Epoch, 315532800), 0).UTC()
		serial := uint32(sum[0])<<24 | uint32(sum[1])<<16 | uint32(sum[2])<<8 | uint32(sum[3])
		if err := WriteFAT(ctx, esp, size, serial, mtime, map[string]string{"EFI/BOOT/BOOTX64.EFI": uki}); err != nil {
			return nil, err
		}
		if err := WriteGPTDisk(filepath.Join(o.Out, FileDisk), esp, sum[:]); err != nil {
			return nil, err
		}
		written = append(written, FileDisk)
	}
	sort.Strings(written)
	var sums strings.Builder
	for _, n := range written {
		s, err := fileSum(filepath.Join(o.Out, n))
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&sums, "%x  %s\n", s, n)
	}
	if err := put(FileSums, func(w io.Writer) error { _, err := io.WriteString(w, sums.String()); return err }); err != nil {
		return nil, err
	}
	return written, nil
}

// MissingTools lists what the disk image needs and this machine lacks, as Debian packages.
func MissingTools(stub string) []string {
	var missing []string
	if _, err := os.Stat(stub); err != nil {
		missing = append(missing, stub+" (systemd-boot-efi)")
	}
	for _, t := range []struct{ cmd, pkg string }{{"objcopy", "binutils"}, {"mformat", "mtools"}, {"mcopy", "mtools"}, {"mmd", "mtools"}} {
		if _, err := exec.LookPath(t.cmd); err != nil {
			missing = append(missing, t.cmd+" ("+t.pkg+")")
		}
	}
	return missing
}

func fileSum(path string) ([32]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return [32]byte{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return [32]byte{}, err
	}
	var s [32]byte
	copy(s[:], h.Sum(nil))
	return s, nil
}
