package image

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// The kernel: gokrazy's build of upstream Linux for PCs and VMs (x86_64 defconfig plus
// virtio, e1000 and more built in, no modules needed), fetched from the Go module proxy and
// checked against the Go checksum database like any module.
const (
	KernelModule = "github.com/gokrazy/kernel.amd64"
	// KernelVersion is the version `make image` pins (KERNEL_VERSION overrides it): Linux
	// 7.1.3, built by gokrazy on 2026-07-05.
	KernelVersion = "v0.0.0-20260705070735-de680abf072b"
	// KernelSource says where the kernel's source is, shipped beside the image as the GPL
	// asks: the upstream tarball and gokrazy's configuration addendum and patches.
	KernelSource = "https://cdn.kernel.org/pub/linux/kernel/v7.x/linux-7.1.3.tar.xz, configured with x86_64 defconfig plus _build/config.addendum.txt and patched with _build/*.patch of " + KernelModule + " (https://github.com/gokrazy/kernel.amd64)"
)

// Kernel is a fetched kernel module.
type Kernel struct {
	Version string
	Dir     string // the module's directory in the module cache
	Sum     string // the module's go.sum hash
}

// Vmlinuz is the path of the kernel image (a bzImage that is also an EFI executable).
func (k Kernel) Vmlinuz() string { return filepath.Join(k.Dir, "vmlinuz") }

// FetchKernel downloads KernelModule@version into the module cache with `go mod download`
// (GOPROXY, GOFLAGS=-mod=mod and GONOSUMDB apply as for any module) and returns where it is.
// goCmd is the go command ("" means "go").
func FetchKernel(ctx context.Context, goCmd, version string) (Kernel, error) {
	if goCmd == "" {
		goCmd = "go"
	}
	if version == "" {
		version = KernelVersion
	}
	cmd := exec.CommandContext(ctx, goCmd, "mod", "download", "-json", KernelModule+"@"+version)
	cmd.Dir = os.TempDir() // outside any module: the download does not touch a go.mod
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var m struct{ Version, Dir, Sum, Error string }
	if jerr := json.Unmarshal(out.Bytes(), &m); jerr == nil && m.Error != "" {
		return Kernel{}, fmt.Errorf("image: fetching the kernel %s@%s: %s", KernelModule, version, m.Error)
	}
	if err != nil {
		return Kernel{}, fmt.Errorf("image: go mod download %s@%s: %v: %s", KernelModule, version, err, bytes.TrimSpace(errb.Bytes()))
	}
	if m.Dir == "" {
		return Kernel{}, fmt.Errorf("image: go mod download %s@%s gave no directory", KernelModule, version)
	}
	k := Kernel{Version: m.Version, Dir: m.Dir, Sum: m.Sum}
	if _, err := os.Stat(k.Vmlinuz()); err != nil {
		return Kernel{}, fmt.Errorf("image: the kernel module has no vmlinuz: %w", err)
	}
	return k, nil
}
