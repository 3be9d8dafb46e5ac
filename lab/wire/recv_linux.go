//go:build linux

package wire

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// recvTrunc receives one datagram into b and returns its real length, which is more than
// len(b) if it was truncated (Linux's MSG_TRUNC), so that an oversized frame is dropped
// rather than passed on cut short. It allocates nothing, unlike unix.Recvfrom.
func recvTrunc(fd int, b []byte) (int, error) {
	n, _, errno := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), unix.MSG_TRUNC, 0, 0)
	if errno != 0 {
		return 0, syscall.Errno(errno)
	}
	return int(n), nil
}
