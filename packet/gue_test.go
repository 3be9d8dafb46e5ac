package packet

import "testing"

const guePort = 6080

func gueHdr(proto uint8, hlen int, control bool) []byte {
	b := make([]byte, 4+hlen*4)
	b[0] = byte(hlen)
	if control {
		b[0] |= 0x20
	}
	b[1] = proto
	return b
}

func gueFrame4(sport, dport uint16, payload []byte) []byte {
	return eth(v4{src: vip4, dst: rs4, proto: ProtoUDP}.pkt(udpSeg(sport, dport, payload)))
}

func cat(bs ...[]byte) (r []byte) {
	for _, b := range bs {
		r = append(r, b...)
	}
	return r
}

func TestParseGUE(t *testing.T) {
	in4 := v4{src: cli4, dst: vip4, proto: ProtoTCP}.pkt(tcpSeg(1, 80, TCPSyn, nil, nil))
	in6 := v6{src: cli6, dst: vip6, proto: ProtoTCP}.pkt(tcpSeg(1, 80, TCPSyn, nil, nil))
	ok := []struct {
		name  string
		frame []byte
		want  Tunnel
	}{
		{"variant 0 ipv4", gueFrame4(40000, guePort, cat(gueHdr(ProtoIPIP, 0, false), in4)), Tunnel{ProtoUDP, 46, FamilyIPv4}},
		{"variant 0 ipv6 with 8 bytes of fields", gueFrame4(40000, guePort, cat(gueHdr(ProtoIPv6, 2, false), in6)), Tunnel{ProtoUDP, 54, FamilyIPv6}},
		{"variant 1 ipv4", gueFrame4(40000, guePort, in4), Tunnel{ProtoUDP, 42, FamilyIPv4}},
		{"variant 1 ipv6", gueFrame4(40000, guePort, in6), Tunnel{ProtoUDP, 42, FamilyIPv6}},
		{"ipv6 outer", eth(v6{src: vip6, dst: rs6, proto: ProtoUDP}.pkt(udpSeg(1, guePort, cat(gueHdr(ProtoIPIP, 0, false), in4)))),
			Tunnel{ProtoUDP, 66, FamilyIPv4}},
	}
	for _, c := range ok {
		var p Packet
		if err := Parse(c.frame, &p); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		key := p.Key
		if !ParseGUE(c.frame, &p, guePort) {
			t.Errorf("%s: not GUE", c.name)
			continue
		}
		if p.Tunnel != c.want || !p.Has(FlagTunnel) || p.Key != key {
			t.Errorf("%s: tunnel %+v flags %v key changed %v, want %+v", c.name, p.Tunnel, p.Flags, p.Key != key, c.want)
		}
		var ip Packet
		if err := ParseIP(c.frame[p.Tunnel.InnerOff:], &ip); err != nil || ip.Key.DstPort != 80 {
			t.Errorf("%s: inner packet: %v %+v", c.name, err, ip.Key)
		}
	}

	frag := eth(v4{src: vip4, dst: rs4, proto: ProtoUDP, frag: 0x2000}.pkt(udpSeg(1, guePort, cat(gueHdr(ProtoIPIP, 0, false), in4))))
	bad := []struct {
		name  string
		frame []byte
	}{
		{"other port", gueFrame4(40000, guePort+1, cat(gueHdr(ProtoIPIP, 0, false), in4))},
		{"source port only", gueFrame4(guePort, 40000, cat(gueHdr(ProtoIPIP, 0, false), in4))},
		{"tcp", eth(v4{src: vip4, dst: rs4, proto: ProtoTCP}.pkt(tcpSeg(1, guePort, 0, nil, in4)))},
		{"control message", gueFrame4(1, guePort, cat(gueHdr(ProtoIPIP, 0, true), in4))},
		{"gre payload", gueFrame4(1, guePort, cat(gueHdr(47, 0, false), in4))},
		{"fields beyond datagram", gueFrame4(1, guePort, gueHdr(ProtoIPIP, 3, false)[:8])},
		{"inner cut", gueFrame4(1, guePort, cat(gueHdr(ProtoIPIP, 0, false), in4[:19]))},
		{"inner version mismatch", gueFrame4(1, guePort, cat(gueHdr(ProtoIPIP, 0, false), in6))},
		{"variant 1 with version 5", gueFrame4(1, guePort, append([]byte{0x50}, in4[1:]...))},
		{"variant 2", gueFrame4(1, guePort, append([]byte{0x80}, in4[1:]...))},
		{"empty", gueFrame4(1, guePort, nil)},
		{"base header cut", gueFrame4(1, guePort, []byte{0, 4, 0})},
		{"fragment", frag},
	}
	for _, c := range bad {
		var p Packet
		if err := Parse(c.frame, &p); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		before := p
		if ParseGUE(c.frame, &p, guePort) || p != before {
			t.Errorf("%s: taken for GUE or p changed: %+v", c.name, p)
		}
	}
}
