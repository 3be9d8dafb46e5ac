// Command uvs-image builds the uvs VM appliance image (package image); `make image` runs it:
//
//	uvs-image -uvs bin/uvs-static -o out/image [-config FILE] [-kernel-version V] [-cmdline S] [-no-disk]
//
// SOURCE_DATE_EPOCH, when set, dates every file of the image.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/uvs-lb/uvs/image"
)

func main() {
	o := image.Options{}
	flag.StringVar(&o.Out, "o", "out/image", "output directory")
	flag.StringVar(&o.Uvs, "uvs", "", "the static uvs binary to make /init (CGO_ENABLED=0 go build ./cmd/uvs)")
	flag.StringVar(&o.Config, "config", "", "a configuration to bake in as /etc/uvs.toml")
	flag.StringVar(&o.Cmdline, "cmdline", image.DefaultCmdline, "the kernel command line of the unified kernel image")
	flag.StringVar(&o.Version, "version", "dev", "the image's version")
	flag.StringVar(&o.EFIStub, "efi-stub", image.DefaultEFIStub, "systemd's EFI stub (Debian package systemd-boot-efi)")
	flag.BoolVar(&o.NoDisk, "no-disk", false, "write the kernel and the initramfs only (no EFI image, no disk)")
	kv := flag.String("kernel-version", image.KernelVersion, "the version of "+image.KernelModule)
	flag.Parse()
	if o.Uvs == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	if e := os.Getenv("SOURCE_DATE_EPOCH"); e != "" {
		v, err := strconv.ParseInt(e, 10, 64)
		if err != nil {
			fmt.Fprintln(os.Stderr, "uvs-image: SOURCE_DATE_EPOCH:", err)
			os.Exit(2)
		}
		o.Epoch = v
	}
	ctx := context.Background()
	k, err := image.FetchKernel(ctx, os.Getenv("GO"), *kv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "uvs-image:", err)
		os.Exit(1)
	}
	o.Kernel = k
	files, err := image.Build(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "uvs-image:", err)
		os.Exit(1)
	}
	for _, f := range files {
		st, err := os.Stat(filepath.Join(o.Out, f))
		if err != nil {
			continue
		}
		fmt.Printf("%-20s %6.1f MiB\n", filepath.Join(o.Out, f), float64(st.Size())/(1<<20))
	}
}
