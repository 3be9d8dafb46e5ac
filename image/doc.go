// Package image builds the uvs VM appliance: a Linux kernel (gokrazy's kernel.amd64, a Go
// module on the proxy), an initramfs in which a static uvs is /init, a unified kernel image
// (the kernel, its command line and the initramfs in one EFI executable, on systemd's EFI
// stub), and a GPT disk whose EFI system partition boots it. Build is reproducible: the same
// inputs (kernel, uvs binary, configuration, command line, SOURCE_DATE_EPOCH) give the same
// bytes. docs/image.md says how to boot the result.
//
// The machine side, what /init does in the VM, is image/vminit; cmd/uvs runs it when it is
// process 1.
package image
