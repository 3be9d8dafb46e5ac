package health

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"github.com/uvs-lb/uvs/packet"
)

// kernelPing pings raddr from laddr through an ICMP socket of the kernel's.
func kernelPing(ctx context.Context, laddr, raddr netip.Addr) error {
	laddr, raddr = laddr.Unmap(), raddr.Unmap()
	if !raddr.IsValid() {
		return errors.New("health: ping: no destination address")
	}
	bind := laddr.IsValid() && !laddr.IsUnspecified()
	if bind && laddr.Is4() != raddr.Is4() {
		return fmt.Errorf("health: ping %s from %s: different address families", raddr, laddr)
	}
	v6 := raddr.Is6()
	family, proto, echo, reply := syscall.AF_INET, syscall.IPPROTO_ICMP, byte(8), byte(0)
	if v6 {
		family, proto, echo, reply = syscall.AF_INET6, syscall.IPPROTO_ICMPV6, 128, 129
	}
	conn, raw, err := icmpSocket(family, proto, laddr, raddr, bind)
	if err != nil {
		return err
	}
	defer conn.Close()
	defer context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Unix(1, 0)) })()

	// A ping socket sets the identifier and filters the replies by it; on a raw socket
	// both are the caller's. The kernel computes the checksum but of a raw ICMP (IPv4)
	// socket's requests.
	id := uint16(rand.Uint32())
	req := make([]byte, 8+len(pingText))
	req[0] = echo
	binary.BigEndian.PutUint16(req[4:], id)
	copy(req[8:], pingText)
	buf := make([]byte, 1500)
	var seq uint16
	var next time.Time
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("health: no echo reply from %s to %d requests: %w", raddr, seq, err)
		}
		if now := time.Now(); !now.Before(next) {
			seq++
			binary.BigEndian.PutUint16(req[6:], seq)
			if raw && !v6 {
				binary.BigEndian.PutUint16(req[2:], 0)
				binary.BigEndian.PutUint16(req[2:], ^packet.Checksum(req, 0))
			}
			conn.Write(req) // a request lost here is lost as a datagram is
			next = now.Add(time.Second)
		}
		deadline := next
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		conn.SetReadDeadline(deadline)
		n, err := conn.Read(buf)
		if err != nil {
			var ne net.Error
			switch {
			case errors.As(err, &ne) && ne.Timeout():
			case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.ECONNREFUSED):
				// An ICMP error to one request: the next may be answered.
			default:
				return fmt.Errorf("health: ping %s: %w", raddr, err)
			}
			continue
		}
		m := buf[:n]
		if raw && !v6 && len(m) > 0 { // a raw IPv4 socket reads the IP header too
			m = m[min(int(m[0]&0x0f)*4, len(m)):]
		}
		if len(m) < 8 || m[0] != reply || (raw && binary.BigEndian.Uint16(m[4:]) != id) {
			continue
		}
		if s := binary.BigEndian.Uint16(m[6:]); s >= 1 && s <= seq {
			return nil
		}
	}
}

// pingText follows the echo header in KernelNet's requests.
const pingText = "uvs health check"

// icmpSocket opens an ICMP socket bound to laddr (if bind) and connected to raddr: a ping
// socket if the kernel allows the process one, else a raw socket.
func icmpSocket(family, proto int, laddr, raddr netip.Addr, bind bool) (conn net.Conn, raw bool, err error) {
	fd, err := syscall.Socket(family, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, proto)
	if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
		fd, err = syscall.Socket(family, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, proto)
		raw = true
	}
	if err != nil {
		return nil, false, fmt.Errorf("health: ping needs an ICMP socket: an unprivileged ping socket (sysctl net.ipv4.ping_group_range) or a raw socket (CAP_NET_RAW): %w", os.NewSyscallError("socket", err))
	}
	f := os.NewFile(uintptr(fd), "icmp")
	defer f.Close()
	if bind {
		if err := syscall.Bind(fd, sockaddrOf(laddr)); err != nil {
			return nil, false, fmt.Errorf("health: ping from %s: %w", laddr, os.NewSyscallError("bind", err))
		}
	}
	if err := syscall.Connect(fd, sockaddrOf(raddr)); err != nil {
		return nil, false, fmt.Errorf("health: ping %s: %w", raddr, os.NewSyscallError("connect", err))
	}
	conn, err = net.FileConn(f) // a copy of fd: f's is closed on return
	if err != nil {
		return nil, false, fmt.Errorf("health: ping %s: %w", raddr, err)
	}
	return conn, raw, nil
}

func sockaddrOf(a netip.Addr) syscall.Sockaddr {
	if a.Is4() {
		return &syscall.SockaddrInet4{Addr: a.As4()}
	}
	sa := &syscall.SockaddrInet6{Addr: a.As16()}
	if a.Zone() != "" {
		if ifi, err := net.InterfaceByName(a.Zone()); err == nil {
			sa.ZoneId = uint32(ifi.Index)
		}
	}
	return sa
}
