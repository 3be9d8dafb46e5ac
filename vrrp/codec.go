package vrrp

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/uvs-lb/uvs/packet"
)

// The advertisement on the wire (RFC 3768 5.1, RFC 5798 5.1, RFC 9568 5.1):
//
//	0: version (4 bits) | type (4 bits)   1: VRID   2: priority   3: count of addresses
//	v2: 4: auth type   5: advert interval (s)           6-7: checksum
//	v3: 4-5: reserved (4 bits) | max advert interval (12 bits, cs)   6-7: checksum
//	8: the addresses, 4 or 16 bytes each; v2: then 8 bytes of authentication data.
const (
	HeaderLen = 8 // the fixed header
	AuthLen   = 8 // version 2's authentication data, after the addresses

	typeAdvert = 1

	// Auth types of version 2 (RFC 3768 5.3.6; RFC 2338 for the two RFC 3768 retired).
	AuthNone = 0
	AuthPass = 1 // simple text password, keepalived's "auth_type PASS"
	AuthAH   = 2 // IPsec AH: a separate IP header keepalived builds; not supported here

	maxIntervalV2 = 255 * time.Second
	maxIntervalV3 = 0xFFF * 10 * time.Millisecond
)

// Len returns the length of the VRRP message that carries a (header, addresses, v2 auth
// data) when the addresses are of family v6 or not.
func Len(version uint8, v6 bool, naddr int) int {
	n := HeaderLen + naddr*4
	if v6 {
		n = HeaderLen + naddr*16
	}
	if version == 2 {
		n += AuthLen
	}
	return n
}

// Marshal writes the VRRP message for a into b (not the IP header, which the sender builds:
// protocol 112, TTL / hop limit 255, IPv4 TOS 0xc0 as keepalived) and returns its length.
// src and dst are the IP header's addresses, which the version 3 checksum covers (RFC 5798
// 5.2.8); version 2's covers the VRRP message only (RFC 3768 5.3.8). It checks that the
// advert is encodable: version 2 over IPv4 or version 3, VRID 1-255, at most 255 addresses
// all of src's family, an interval of whole seconds 1-255 s (v2) or whole centiseconds
// 10 ms-40.95 s (v3), auth type none or PASS (v2) and none (v3).
func Marshal(b []byte, a *Advert, src, dst netip.Addr) (int, error) {
	src, dst = src.Unmap(), dst.Unmap()
	if !src.IsValid() || !dst.IsValid() || src.Is4() != dst.Is4() {
		return 0, ErrAddrFamily
	}
	v6 := src.Is6()
	var ivl uint16
	switch a.Version {
	case 2:
		if v6 {
			return 0, ErrVersion
		}
		if a.Interval < time.Second || a.Interval > maxIntervalV2 || a.Interval%time.Second != 0 {
			return 0, ErrInterval
		}
		if a.AuthType != AuthNone && a.AuthType != AuthPass {
			return 0, ErrAuthType
		}
		ivl = uint16(a.Interval / time.Second)
	case 3:
		if a.Interval < 10*time.Millisecond || a.Interval > maxIntervalV3 || a.Interval%(10*time.Millisecond) != 0 {
			return 0, ErrInterval
		}
		if a.AuthType != AuthNone {
			return 0, ErrAuthType
		}
		ivl = uint16(a.Interval / (10 * time.Millisecond))
	default:
		return 0, ErrVersion
	}
	if a.VRID == 0 {
		return 0, ErrVRID
	}
	if len(a.Addrs) > 255 {
		return 0, ErrTooManyAddrs
	}
	n := Len(a.Version, v6, len(a.Addrs))
	if len(b) < n {
		return 0, ErrShortBuffer
	}
	b = b[:n]
	b[0] = a.Version<<4 | typeAdvert
	b[1] = a.VRID
	b[2] = a.Priority
	b[3] = uint8(len(a.Addrs))
	if a.Version == 2 {
		b[4] = a.AuthType
		b[5] = uint8(ivl)
	} else {
		binary.BigEndian.PutUint16(b[4:], ivl) // the 4 reserved bits are 0
	}
	b[6], b[7] = 0, 0
	off := HeaderLen
	for _, ip := range a.Addrs {
		if !v6 {
			// An IPv4 address may come as ::ffff:a.b.c.d; in an IPv6 advert that form is a
			// 16-byte address like any other (Parse returns it so), sent as it is.
			ip = ip.Unmap()
		}
		if !ip.IsValid() || ip.Is6() != v6 {
			return 0, ErrAddrFamily
		}
		if v6 {
			a16 := ip.As16()
			off += copy(b[off:], a16[:])
		} else {
			a4 := ip.As4()
			off += copy(b[off:], a4[:])
		}
	}
	if a.Version == 2 {
		if a.AuthType == AuthPass {
			copy(b[off:], a.AuthData[:])
		} else {
			clear(b[off : off+AuthLen]) // RFC 3768 5.3.10: zero on transmission
		}
	}
	binary.BigEndian.PutUint16(b[6:], ^packet.Checksum(b, pseudo(a.Version, src, dst, n)))
	return n, nil
}

// pseudo returns the sum a checksum starts from: 0 for version 2, the IPv4 or IPv6
// pseudo-header's for version 3.
func pseudo(version uint8, src, dst netip.Addr, n int) uint16 {
	if version == 2 {
		return 0
	}
	if src.Is4() {
		return packet.PseudoHeaderChecksum4(Protocol, src.As4(), dst.As4(), uint16(n))
	}
	s, d := src.As16(), dst.As16()
	return packet.PseudoHeaderChecksum6(Protocol, &s, &d, uint32(n))
}

// Parse decodes and validates the VRRP message b (the IP payload, as long as the IP header
// says: no Ethernet padding) that came from src to dst with TTL / hop limit ttl, into a.
//
// It checks, in this order, returning the first failure as one of the package's errors:
// src and dst of one family (ErrAddrFamily); at least a header (ErrLength); the TTL is 255
// when dst is multicast (ErrTTL, see below); version 2 or 3, and 2 only over IPv4
// (ErrVersion); type advertisement (ErrType); VRID not 0 (ErrVRID); exactly the length the
// address count gives (ErrLength); a version 2 auth type of none, PASS or AH (ErrAuthType);
// an interval not 0 (ErrInterval); the checksum (ErrChecksum).
//
// TTL: RFC 3768 / 5798 require 255 on every advert. keepalived requires it only on adverts to
// the multicast group and accepts any TTL from unicast peers (which may be routed), unless
// told otherwise per peer; Parse does what keepalived does by default. A caller that wants
// the RFC's rule for unicast too checks ttl itself.
//
// Parse does not allocate, except to grow a.Addrs beyond its capacity. On error, a.Version
// and a.VRID hold the header's if b was at least 8 bytes long, so that the caller can count
// the error against that virtual router (keepalived counts per instance, see
// Router.CountError); a's other fields are then unspecified.
func Parse(b []byte, src, dst netip.Addr, ttl uint8, a *Advert) error {
	src, dst = src.Unmap(), dst.Unmap()
	if !src.IsValid() || !dst.IsValid() || src.Is4() != dst.Is4() {
		return ErrAddrFamily
	}
	if len(b) < HeaderLen {
		return ErrLength
	}
	a.Version, a.VRID = b[0]>>4, b[1]
	if dst.IsMulticast() && ttl != 255 {
		return ErrTTL
	}
	v6 := src.Is6()
	if (a.Version != 2 && a.Version != 3) || (a.Version == 2 && v6) {
		return ErrVersion
	}
	if b[0]&0x0F != typeAdvert {
		return ErrType
	}
	if a.VRID == 0 {
		return ErrVRID
	}
	naddr := int(b[3])
	n := Len(a.Version, v6, naddr)
	if len(b) != n {
		return ErrLength
	}
	a.AuthType, a.AuthData = AuthNone, [AuthLen]byte{}
	if a.Version == 2 {
		if b[4] > AuthAH {
			return ErrAuthType
		}
		a.AuthType = b[4]
		a.Interval = time.Duration(b[5]) * time.Second
	} else {
		a.Interval = time.Duration(binary.BigEndian.Uint16(b[4:])&0xFFF) * 10 * time.Millisecond
	}
	if a.Interval == 0 {
		return ErrInterval
	}
	if packet.Checksum(b, pseudo(a.Version, src, dst, n)) != 0xFFFF {
		return ErrChecksum
	}
	a.Priority = b[2]
	a.Addrs = a.Addrs[:0]
	off := HeaderLen
	for range naddr {
		if v6 {
			a.Addrs = append(a.Addrs, netip.AddrFrom16([16]byte(b[off:off+16])))
			off += 16
		} else {
			a.Addrs = append(a.Addrs, netip.AddrFrom4([4]byte(b[off:off+4])))
			off += 4
		}
	}
	if a.Version == 2 && a.AuthType != AuthNone {
		// RFC 3768 5.3.10: ignored (and so kept zero here) with no authentication.
		a.AuthData = [AuthLen]byte(b[off:])
	}
	return nil
}
