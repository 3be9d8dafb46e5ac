package realserver

import (
	"encoding/binary"
	"net/netip"

	"github.com/uvs-lb/uvs/packet"
	"github.com/uvs-lb/uvs/tunnel"
)

// Drop is why a received packet was not handed to the kernel.
type Drop uint8

const (
	DropNone      Drop = iota
	DropMalformed      // outer or inner header impossible or truncated, bad inner IPv4 header checksum
	DropGUE            // GUE control message, unknown GUE version or payload protocol
	DropNested         // the inner packet is itself IPIP / IPv6-in-IP: never sent by a balancer
	DropNotVIP         // the inner destination is not one of the VIPs: no open relay
	DropECN            // outer congestion experienced over a not-ECN-capable inner packet (RFC 6040)
	DropOversize       // larger than the receive buffer (MaxPacket)
	DropWrite          // the TUN device refused the inner packet (device down, ...)
	NumDrops           // the number of Drop values: the length of Stats.Dropped
)

var dropNames = [NumDrops]string{"none", "malformed", "gue", "nested", "not_vip", "ecn", "oversize", "write"}

func (d Drop) String() string {
	if d < NumDrops {
		return dropNames[d]
	}
	return "unknown"
}

// ecnUnknown stands for an outer ECN field the socket did not report.
const ecnUnknown = 0xFF

// ECN codepoints (RFC 3168), the low two bits of the TOS / traffic class byte.
const (
	ecnNotECT = 0
	ecnECT1   = 1
	ecnCE     = 3
	ecnMask   = 3
)

// decapsulator checks tunnel payloads: tunnel.Decapsulator's checks (a whole inner packet of
// the announced family, GUE data of a known version, a VIP as inner destination), plus what a
// socket receiver needs on top: the inner IPv4 header checksum (so that what the kernel would
// drop silently is counted here), no nested tunnels, and the outer ECN field applied to the
// inner header as RFC 6040 says (the kernel's ip_tunnel does the same).
type decapsulator struct {
	d *tunnel.Decapsulator
}

func newDecapsulator(vips []netip.Addr) decapsulator {
	return decapsulator{d: tunnel.NewDecapsulator(tunnel.DecapConfig{VIPs: vips})}
}

// stripIPv4 returns the payload of the IPv4 packet b (as an AF_INET raw socket delivers it,
// outer header included, already reassembled), trimmed to its total length, and its ECN field.
func stripIPv4(b []byte) ([]byte, uint8, Drop) {
	if len(b) < packet.IPv4MinLen || b[0]>>4 != 4 {
		return nil, 0, DropMalformed
	}
	hl := int(b[0]&0x0F) * 4
	tl := int(binary.BigEndian.Uint16(b[2:]))
	if hl < packet.IPv4MinLen || tl < hl || tl > len(b) {
		return nil, 0, DropMalformed
	}
	return b[hl:tl], b[1] & ecnMask, DropNone
}

// inner validates the payload b of an outer packet whose outer IP header is already gone, of
// outer protocol proto: 4 (IPv4 inside), 41 (IPv6 inside) or 17 (b is a GUE UDP payload:
// variant 0 with payload protocol 4 or 41, optional fields skipped, or variant 1, a bare IP
// packet). ecn is the outer header's ECN field, or ecnUnknown. It returns the inner IP
// packet, trimmed to the length its header gives and with the outer congestion mark applied,
// or why it must be dropped. It never allocates.
func (x decapsulator) inner(b []byte, proto uint8, ecn uint8) ([]byte, Drop) {
	in, err := x.d.Inner(b, proto)
	switch err {
	case nil:
	case tunnel.ErrNotVIP:
		return nil, DropNotVIP
	case tunnel.ErrGUEControl, tunnel.ErrGUEVersion:
		return nil, DropGUE
	case tunnel.ErrProtocol:
		if proto == packet.ProtoUDP {
			return nil, DropGUE
		}
		return nil, DropMalformed
	default:
		return nil, DropMalformed
	}
	var next uint8
	if in[0]>>4 == 4 {
		hl := int(in[0]&0x0F) * 4
		if packet.Checksum(in[:hl], 0) != 0xFFFF {
			return nil, DropMalformed
		}
		next = in[9]
	} else {
		next = in[6]
	}
	if next == packet.ProtoIPIP || next == packet.ProtoIPv6 {
		return nil, DropNested
	}
	if ecn != ecnUnknown && !tunnel.DecapECN(in, ecn) {
		return nil, DropECN
	}
	return in, DropNone
}
