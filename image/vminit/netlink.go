package vminit

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// rtnl is a NETLINK_ROUTE socket for the few requests /init makes: a link up, an address,
// a route. Each request asks for an acknowledgement and waits for it.
type rtnl struct {
	fd  int
	seq atomic.Uint32
}

func openRtnl() (*rtnl, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netlink: %w", err)
	}
	return &rtnl{fd: fd}, nil
}

func (r *rtnl) Close() error { return unix.Close(r.fd) }

// request sends one message (header type typ, flags besides REQUEST|ACK, payload body) and
// returns the kernel's answer as an error (nil for success).
func (r *rtnl) request(typ, flags uint16, body []byte) error {
	seq := r.seq.Add(1)
	msg := make([]byte, unix.NLMSG_HDRLEN, unix.NLMSG_HDRLEN+len(body))
	msg = append(msg, body...)
	ne := binary.NativeEndian
	ne.PutUint32(msg[0:], uint32(len(msg)))
	ne.PutUint16(msg[4:], typ)
	ne.PutUint16(msg[6:], flags|unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	ne.PutUint32(msg[8:], seq)
	if err := unix.Sendto(r.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 8192)
	for {
		n, _, err := unix.Recvfrom(r.fd, buf, 0)
		if err != nil {
			return err
		}
		for b := buf[:n]; len(b) >= unix.NLMSG_HDRLEN; {
			l := int(ne.Uint32(b[0:]))
			if l < unix.NLMSG_HDRLEN || l > len(b) {
				return fmt.Errorf("netlink: malformed answer")
			}
			if ne.Uint16(b[4:]) == unix.NLMSG_ERROR && ne.Uint32(b[8:]) == seq && l >= unix.NLMSG_HDRLEN+4 {
				if errno := int32(ne.Uint32(b[unix.NLMSG_HDRLEN:])); errno != 0 {
					return unix.Errno(-errno)
				}
				return nil
			}
			b = b[nlAlign(l):]
		}
	}
}

func nlAlign(n int) int { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }

// attr appends a route attribute.
func attr(b []byte, typ uint16, data []byte) []byte {
	l := unix.SizeofRtAttr + len(data)
	b = binary.NativeEndian.AppendUint16(b, uint16(l))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, data...)
	for len(b)%unix.RTA_ALIGNTO != 0 {
		b = append(b, 0)
	}
	return b
}

func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

// linkUp sets IFF_UP on the link with index idx.
func (r *rtnl) linkUp(idx int) error {
	b := make([]byte, unix.SizeofIfInfomsg)
	ne := binary.NativeEndian
	b[0] = unix.AF_UNSPEC
	ne.PutUint32(b[4:], uint32(idx))
	ne.PutUint32(b[8:], unix.IFF_UP)  // flags
	ne.PutUint32(b[12:], unix.IFF_UP) // change
	return r.request(unix.RTM_NEWLINK, 0, b)
}

// addAddr adds pf to the link idx, as `ip addr add`.
func (r *rtnl) addAddr(idx int, pf netip.Prefix) error {
	fam := byte(unix.AF_INET6)
	if pf.Addr().Is4() {
		fam = unix.AF_INET
	}
	b := make([]byte, unix.SizeofIfAddrmsg)
	b[0], b[1], b[2], b[3] = fam, byte(pf.Bits()), 0, unix.RT_SCOPE_UNIVERSE
	binary.NativeEndian.PutUint32(b[4:], uint32(idx))
	a := pf.Addr().AsSlice()
	b = attr(b, unix.IFA_LOCAL, a)
	b = attr(b, unix.IFA_ADDRESS, a)
	if pf.Addr().Is4() && pf.Bits() < 31 {
		bc := pf.Masked().Addr().As4()
		for i := pf.Bits(); i < 32; i++ {
			bc[i/8] |= 0x80 >> (i % 8)
		}
		b = attr(b, unix.IFA_BROADCAST, bc[:])
	}
	return r.request(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL, b)
}

// addRoute adds a route to dst through the link idx, via gw when valid, as `ip route add`.
func (r *rtnl) addRoute(idx int, dst netip.Prefix, gw netip.Addr) error {
	fam := byte(unix.AF_INET6)
	if dst.Addr().Is4() {
		fam = unix.AF_INET
	}
	scope := byte(unix.RT_SCOPE_UNIVERSE)
	if !gw.IsValid() {
		scope = unix.RT_SCOPE_LINK
	}
	b := make([]byte, unix.SizeofRtMsg)
	b[0], b[1] = fam, byte(dst.Bits())
	b[4], b[5], b[6], b[7] = unix.RT_TABLE_MAIN, unix.RTPROT_BOOT, scope, unix.RTN_UNICAST
	if dst.Bits() > 0 {
		b = attr(b, unix.RTA_DST, dst.Masked().Addr().AsSlice())
	}
	if gw.IsValid() {
		b = attr(b, unix.RTA_GATEWAY, gw.AsSlice())
	}
	b = attr(b, unix.RTA_OIF, u32(uint32(idx)))
	return r.request(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_EXCL, b)
}

// ifIndex returns the index of the link named name.
func ifIndex(name string) (int, error) {
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		return 0, err
	}
	return ifc.Index, nil
}
