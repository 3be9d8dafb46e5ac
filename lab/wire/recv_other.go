//go:build !linux

package wire

import "syscall"

// recvTrunc receives one datagram into b. Without Linux's MSG_TRUNC a datagram longer than
// b is silently cut to len(b); those are not valid frames for the port anyway.
func recvTrunc(fd int, b []byte) (int, error) {
	return syscall.Read(fd, b)
}
