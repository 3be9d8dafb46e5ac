//go:build linux

package realserver

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/uvs-lb/uvs/packet"
)

// system holds what Start opened: the TUN device, the sockets, and the eventfd that tells the
// receive goroutines to stop.
type system struct {
	tun      int
	efd      int
	socks    []int
	stopping atomic.Bool
}

// receiver is one socket and what its datagrams carry.
type receiver struct {
	name      string
	fd        int
	proto     uint8 // 4 or 41 (IPIP), 17 (GUE)
	outerIPv4 bool  // an AF_INET raw socket: the datagram starts with the outer IPv4 header
	cmsg      bool  // the outer ECN field comes in a control message (recvECN)
	c         counters
}

func (y *system) shutdown() {
	if y.stopping.Swap(true) {
		return
	}
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	unix.Write(y.efd, one[:])
}

func (y *system) close() error {
	var errs []error
	for _, fd := range y.socks {
		errs = append(errs, unix.Close(fd))
	}
	if y.tun >= 0 {
		errs = append(errs, unix.Close(y.tun))
	}
	if y.efd >= 0 {
		errs = append(errs, unix.Close(y.efd))
	}
	y.socks, y.tun, y.efd = nil, -1, -1
	return errors.Join(errs...)
}

// write hands one inner IP packet to the kernel through the TUN device. A TUN write never
// blocks: the kernel takes the packet into its receive path at once.
func (y *system) write(b []byte) error {
	_, err := unix.Write(y.tun, b)
	return err
}

// open creates the TUN device and the sockets Start needs.
func (s *Server) open() (_ *system, _ []*receiver, err error) {
	y := &system{tun: -1, efd: -1}
	defer func() {
		if err != nil {
			y.close()
		}
	}()
	v4, v6 := s.families()
	name, err := s.openTUN(y, v6)
	if err != nil {
		return nil, nil, err
	}
	if name != s.cfg.Device {
		return nil, nil, fmt.Errorf("realserver: the kernel named the TUN device %q, not %q", name, s.cfg.Device)
	}
	if y.efd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return nil, nil, fmt.Errorf("realserver: eventfd: %w", err)
	}
	var recv []*receiver
	add := func(name string, fd int, proto uint8, family int) {
		y.socks = append(y.socks, fd)
		r := &receiver{name: name, fd: fd, proto: proto, outerIPv4: family == unix.AF_INET && proto != packet.ProtoUDP}
		if !r.outerIPv4 {
			r.cmsg = recvECN(fd, family)
		}
		recv = append(recv, r)
	}
	ipv6OK := true
	if s.cfg.Types&IPIP != 0 {
		type rawSock struct {
			name   string
			family int
			proto  uint8
		}
		var want []rawSock
		if v4 {
			want = append(want, rawSock{"ip4in4", unix.AF_INET, packet.ProtoIPIP}, rawSock{"ip4in6", unix.AF_INET6, packet.ProtoIPIP})
		}
		if v6 {
			want = append(want, rawSock{"ip6in4", unix.AF_INET, packet.ProtoIPv6}, rawSock{"ip6in6", unix.AF_INET6, packet.ProtoIPv6})
		}
		for _, w := range want {
			if w.family == unix.AF_INET6 && !ipv6OK {
				continue
			}
			fd, err := unix.Socket(w.family, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, int(w.proto))
			if err == unix.EAFNOSUPPORT && w.family == unix.AF_INET6 {
				ipv6OK = false
				s.log.Warn().Msg("realserver: this kernel has no IPv6: tunnels with an IPv6 outer header are not received")
				continue
			}
			if err != nil {
				return nil, nil, fmt.Errorf("realserver: raw socket for IP protocol %d (%s): %w%s", w.proto, w.name, err, privilegeHint(err, "CAP_NET_RAW"))
			}
			setRcvBuf(fd)
			add(w.name, fd, w.proto, w.family)
		}
	}
	if s.cfg.Types&GUE != 0 {
		fd, err := udpSocket(unix.AF_INET, s.cfg.GUEPort)
		if err != nil {
			return nil, nil, err
		}
		add("gue4", fd, packet.ProtoUDP, unix.AF_INET)
		if ipv6OK {
			fd, err := udpSocket(unix.AF_INET6, s.cfg.GUEPort)
			switch {
			case err == unix.EAFNOSUPPORT:
				s.log.Warn().Msg("realserver: this kernel has no IPv6: GUE over IPv6 is not received")
			case err != nil:
				return nil, nil, err
			default:
				add("gue6", fd, packet.ProtoUDP, unix.AF_INET6)
			}
		}
	}
	return y, recv, nil
}

// openTUN creates (or attaches to) the TUN device, sets its sysctls and brings it up.
func (s *Server) openTUN(y *system, v6 bool) (string, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENXIO):
		return "", fmt.Errorf("realserver: no /dev/net/tun (%v): the kernel needs TUN support (modprobe tun), and a container the device (docker run --device /dev/net/tun --cap-add NET_ADMIN --cap-add NET_RAW)", err)
	case err != nil:
		return "", fmt.Errorf("realserver: open /dev/net/tun: %w%s", err, privilegeHint(err, "CAP_NET_ADMIN"))
	}
	y.tun = fd
	ifr, err := unix.NewIfreq(s.cfg.Device)
	if err != nil {
		return "", fmt.Errorf("realserver: device name %q: %w", s.cfg.Device, err)
	}
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		switch err {
		case unix.EBUSY:
			return "", fmt.Errorf("realserver: TUN device %s is in use (another uvs realserver?): %w", s.cfg.Device, err)
		case unix.EINVAL:
			return "", fmt.Errorf("realserver: %s exists and is not a TUN device uvs can attach to (a TAP, or multiqueue): %w", s.cfg.Device, err)
		}
		return "", fmt.Errorf("realserver: create TUN device %s: %w%s", s.cfg.Device, err, privilegeHint(err, "CAP_NET_ADMIN"))
	}
	name := ifr.Name()
	// Reverse-path filtering: the inner source is the client, whose route is not via the
	// TUN device, so a strict filter on the device would drop every packet.
	if err := setSysctl("net/ipv4/conf/"+name+"/rp_filter", "0"); err != nil {
		return "", fmt.Errorf("realserver: %w", err)
	}
	if all, err := readSysctl("net/ipv4/conf/all/rp_filter"); err == nil && all == "1" {
		s.log.Warn().Str("device", name).Msg("realserver: net.ipv4.conf.all.rp_filter is 1 (strict) and the kernel uses max(all, device): " +
			"every IPv4 packet from the tunnel will be dropped, its source (the client) being routed via another interface; " +
			"set net.ipv4.conf.all.rp_filter=0, or 2 (loose) if this host has a route to the clients")
	}
	if v6 {
		if _, err := os.Stat("/proc/sys/net/ipv6"); err != nil {
			return "", fmt.Errorf("realserver: IPv6 VIPs, but IPv6 is disabled on this host (no /proc/sys/net/ipv6)")
		}
		// No link-local address (and so no router solicitation or MLD from it), but IPv6
		// input enabled even where net.ipv6.conf.default.disable_ipv6 is 1.
		if err := setSysctl("net/ipv6/conf/"+name+"/addr_gen_mode", "1"); err != nil {
			s.log.Warn().Err(err).Msg("realserver: the TUN device may get an IPv6 link-local address")
		}
		if err := setSysctl("net/ipv6/conf/"+name+"/disable_ipv6", "0"); err != nil {
			return "", fmt.Errorf("realserver: %w", err)
		}
		if all, err := readSysctl("net/ipv6/conf/all/disable_ipv6"); err == nil && all == "1" {
			s.log.Warn().Msg("realserver: net.ipv6.conf.all.disable_ipv6 is 1: IPv6 inner packets will be dropped by the kernel")
		}
	}
	if err := linkUp(name); err != nil {
		return "", fmt.Errorf("realserver: bring %s up: %w%s", name, err, privilegeHint(err, "CAP_NET_ADMIN"))
	}
	return name, nil
}

// linkUp sets IFF_UP on the interface.
func linkUp(name string) error {
	sock, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(sock)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(sock, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(sock, unix.SIOCSIFFLAGS, ifr)
}

// udpSocket opens a non-blocking UDP socket bound to port on every address of family (IPv6
// only, for AF_INET6, so that the IPv4 socket can have the same port).
func udpSocket(family int, port uint16) (int, error) {
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		if err == unix.EAFNOSUPPORT {
			return -1, err
		}
		return -1, fmt.Errorf("realserver: UDP socket for GUE: %w", err)
	}
	var sa unix.Sockaddr = &unix.SockaddrInet4{Port: int(port)}
	what := "0.0.0.0"
	if family == unix.AF_INET6 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("realserver: IPV6_V6ONLY: %w", err)
		}
		// A zero UDP checksum over IPv6 is what Linux IPVS sends with --tun-nocsum; RFC 6935
		// allows it for tunnels, whose inner packets carry their own checksums. The kernel
		// drops such datagrams unless told otherwise.
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_UDP, unix.UDP_NO_CHECK6_RX, 1); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("realserver: UDP_NO_CHECK6_RX: %w", err)
		}
		sa, what = &unix.SockaddrInet6{Port: int(port)}, "[::]"
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		hint := ""
		switch err {
		case unix.EADDRINUSE:
			hint = " (another program, or a kernel fou/GUE listener, has it)"
		case unix.EACCES:
			hint = " (a port below 1024 needs root or CAP_NET_BIND_SERVICE)"
		}
		return -1, fmt.Errorf("realserver: bind the GUE port %s:%d: %w%s", what, port, err, hint)
	}
	setRcvBuf(fd)
	return fd, nil
}

// setRcvBuf asks for a 4 MiB receive buffer: above net.core.rmem_max when privileged, up to
// it otherwise. Failing is harmless: the default buffer works, with less slack for bursts.
func setRcvBuf(fd int) {
	const size = 4 << 20
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size) != nil {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, size)
	}
}

// privilegeHint explains a permission error: who uvs realserver needs to be.
func privilegeHint(err error, capability string) string {
	if !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EACCES) {
		return ""
	}
	if euid := os.Geteuid(); euid != 0 {
		return fmt.Sprintf(" (not root: euid %d; uvs realserver needs root, or CAP_NET_RAW and CAP_NET_ADMIN)", euid)
	}
	return fmt.Sprintf(" (root, but without %s: a container or systemd unit dropping capabilities?)", capability)
}

// setSysctl writes value to /proc/sys/key (key with slashes). When the write fails but the
// value is already what was asked (a read-only /proc/sys that happens to be right), it is
// not an error.
func setSysctl(key, value string) error {
	err := os.WriteFile("/proc/sys/"+key, []byte(value), 0)
	if err == nil {
		return nil
	}
	if cur, rerr := readSysctl(key); rerr == nil && cur == value {
		return nil
	}
	return fmt.Errorf("set %s=%s: %w", strings.ReplaceAll(key, "/", "."), value, err)
}

// readSysctl reads /proc/sys/key, trimmed.
func readSysctl(key string) (string, error) {
	b, err := os.ReadFile("/proc/sys/" + key)
	return strings.TrimSpace(string(b)), err
}

// ctlLen is the control buffer of one message: room for one IP_TOS or IPV6_TCLASS message.
const ctlLen = 64

// receive reads batches of datagrams from r until shutdown and hands each to handle.
func (s *Server) receive(r *receiver) {
	y := s.sys
	size, batch := s.cfg.MaxPacket, s.cfg.Batch
	buf := make([]byte, size*batch)
	ctl := make([]byte, ctlLen*batch)
	iov := make([]unix.Iovec, batch)
	msgs := make([]unix.Mmsghdr, batch)
	for i := range msgs {
		iov[i].Base = &buf[i*size]
		iov[i].SetLen(size)
		msgs[i].Hdr.Iov = &iov[i]
		msgs[i].Hdr.Iovlen = 1
	}
	pfd := []unix.PollFd{{Fd: int32(r.fd), Events: unix.POLLIN}, {Fd: int32(y.efd), Events: unix.POLLIN}}
	loggedErr := false
	for !y.stopping.Load() {
		if r.cmsg {
			for i := range msgs {
				msgs[i].Hdr.Control = &ctl[i*ctlLen]
				msgs[i].Hdr.SetControllen(ctlLen)
			}
		}
		n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(r.fd), uintptr(unsafe.Pointer(&msgs[0])),
			uintptr(batch), unix.MSG_DONTWAIT, 0, 0)
		if e == 0 {
			for i := 0; i < int(n); i++ {
				m := &msgs[i]
				ecn := uint8(ecnUnknown)
				if r.cmsg {
					ecn = cmsgECN(ctl[i*ctlLen : i*ctlLen+int(m.Hdr.Controllen)])
				}
				s.handle(r, buf[i*size:i*size+int(m.Len)], m.Hdr.Flags&unix.MSG_TRUNC != 0, ecn)
				m.Hdr.Flags = 0
			}
			continue
		}
		timeout := -1
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
		default:
			if !loggedErr {
				loggedErr = true
				s.log.Error().Err(e).Str("socket", r.name).Msg("realserver: receive failed; retrying")
			}
			timeout = int((10 * time.Millisecond).Milliseconds())
		}
		if _, err := unix.Poll(pfd, timeout); err != nil && err != unix.EINTR {
			time.Sleep(10 * time.Millisecond)
		}
		if pfd[1].Revents != 0 {
			return
		}
	}
}

// cmsgECN returns the ECN field of the outer header from the IP_TOS (one byte) or
// IPV6_TCLASS (an int) control message in b, or ecnUnknown. It parses by hand:
// unix.ParseSocketControlMessage allocates.
func cmsgECN(b []byte) uint8 {
	for len(b) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
		l := int(h.Len)
		if l < unix.SizeofCmsghdr || l > len(b) {
			break
		}
		data := b[unix.CmsgLen(0):l]
		switch {
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_TOS && len(data) >= 1:
			return data[0] & ecnMask
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_TCLASS && len(data) >= 4:
			return uint8(binary.NativeEndian.Uint32(data)) & ecnMask
		}
		if sp := unix.CmsgSpace(l - unix.CmsgLen(0)); sp < len(b) {
			b = b[sp:]
		} else {
			break
		}
	}
	return ecnUnknown
}

// recvECN asks the kernel for the outer TOS / traffic class of every datagram on a socket
// that does not deliver the outer header (AF_INET6 raw sockets, UDP sockets), for RFC 6040.
// It reports whether the kernel agreed.
func recvECN(fd, family int) bool {
	if family == unix.AF_INET6 {
		return unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_RECVTCLASS, 1) == nil
	}
	return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_RECVTOS, 1) == nil
}
