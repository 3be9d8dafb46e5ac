package packet

import (
	"errors"
	"fmt"
	"testing"
)

type parseCase struct {
	name  string
	frame []byte
	err   error
	want  *Packet // compared whole when err is nil
}

func tcp4Frame() []byte {
	return eth(v4{src: cli4, dst: vip4, proto: ProtoTCP}.pkt(tcpSeg(40000, 80, TCPSyn, nil, nil)))
}

func tcp6ExtFrame() []byte {
	return eth(v6{src: cli6, dst: vip6, proto: ProtoTCP, ext: []ext{hbh(), dstOpts(2), routing()}}.
		pkt(tcpSeg(40000, 443, TCPAck|TCPPsh, nil, seq(10))))
}

// icmp4ErrFrame is an ICMPv4 error from rtr4 to cli4 quoting q.
func icmp4ErrFrame(typ, code uint8, rest uint32, q []byte) []byte {
	return eth(v4{src: rtr4, dst: cli4, proto: ProtoICMP}.pkt(icmpMsg(typ, code, rest, q)))
}

// icmp6ErrFrame is an ICMPv6 error from rtr6 to cli6 quoting q.
func icmp6ErrFrame(typ, code uint8, rest uint32, q []byte) []byte {
	return eth(v6{src: rtr6, dst: cli6, proto: ProtoICMPv6}.pkt(icmpMsg(typ, code, rest, q)))
}

// udpToRS4 is a packet a client sent that a real server's router may quote back.
func udpToRS4() []byte {
	return v4{src: cli4, dst: rs4, proto: ProtoUDP}.pkt(udpSeg(5000, 53, seq(20)))
}

func parseCases() []parseCase {
	var cs []parseCase
	add := func(name string, frame []byte, err error, want *Packet) {
		cs = append(cs, parseCase{name, frame, err, want})
	}

	// IPv4 transports.
	add("tcp4", tcp4Frame(), nil, &Packet{Len: 54, EtherType: EtherTypeIPv4, L3Off: 14, L4Off: 34,
		PayloadOff: 54, IPLen: 40, TTL: 64, Flags: FlagL4, TCPFlags: TCPSyn,
		Key: key4(cli4, vip4, ProtoTCP, 40000, 80)})
	add("tcp4 vlan, tcp options, payload",
		ethVLAN(100, EtherTypeIPv4, v4{src: cli4, dst: vip4, proto: ProtoTCP, ttl: 9}.
			pkt(tcpSeg(40000, 80, TCPAck|TCPEce|TCPCwr, seq(12), seq(10)))), nil,
		&Packet{Len: 80, EtherType: EtherTypeIPv4, VLAN: 100, L3Off: 18, L4Off: 38, PayloadOff: 70,
			IPLen: 62, TTL: 9, Flags: FlagVLAN | FlagL4, TCPFlags: TCPAck | TCPEce | TCPCwr,
			Key: key4(cli4, vip4, ProtoTCP, 40000, 80)})
	add("tcp4 ip options", eth(v4{src: cli4, dst: vip4, proto: ProtoTCP, opts: []byte{1, 1, 1, 0, 1, 1, 1, 0}}.
		pkt(tcpSeg(1, 2, TCPFin|TCPAck, nil, nil))), nil,
		&Packet{Len: 62, EtherType: EtherTypeIPv4, L3Off: 14, L4Off: 42, PayloadOff: 62, IPLen: 48,
			TTL: 64, Flags: FlagIPOptions | FlagL4, TCPFlags: TCPFin | TCPAck, Key: key4(cli4, vip4, ProtoTCP, 1, 2)})
	add("tcp4 max ip options", eth(v4{src: cli4, dst: vip4, proto: ProtoTCP, opts: make([]byte, 40)}.
		pkt(tcpSeg(1, 2, TCPRst, nil, nil))), nil,
		&Packet{Len: 94, EtherType: EtherTypeIPv4, L3Off: 14, L4Off: 74, PayloadOff: 94, IPLen: 80,
			TTL: 64, Flags: FlagIPOptions | FlagL4, TCPFlags: TCPRst, Key: key4(cli4, vip4, ProtoTCP, 1, 2)})
	add("udp4 with ethernet padding", pad(eth(v4{src: cli4, dst: vip4, proto: ProtoUDP}.pkt(udpSeg(5353, 53, seq(6)))), 12), nil,
		&Packet{Len: 60, EtherType: EtherTypeIPv4, L3Off: 14, L4Off: 34, PayloadOff: 42, IPLen: 34,
			TTL: 64, Flags: FlagL4, Key: key4(cli4, vip4, ProtoUDP, 5353, 53)})
	add("sctp4", eth(v4{src: cli4, dst: vip4, proto: ProtoSCTP}.pkt(sctpSeg(3868, 3868, seq(16)))), nil,
		&Packet{Len: 62, EtherType: EtherTypeIPv4, L3Off: 14, L4Off: 34, PayloadOff: 46, IPLen: 48,
			TTL: 64, Flags: FlagL4, Key: key4(cli4, vip4, ProtoSCTP, 3868, 3868)})
	add("unknown proto4 (GRE)", eth(v4{src: cli4, dst: vip4, proto: 47}.pkt(seq(8))), nil,
		&Packet{Len: 42, EtherType: EtherTypeIPv4, L3Off: 14, IPLen: 28, TTL: 64, Key: key4(cli4, vip4, 47, 0, 0)})
	add("icmpv6 over ipv4 has no L4", eth(v4{src: cli4, dst: vip4, proto: ProtoICMPv6}.pkt(icmpMsg(128, 0, 0, nil))), nil,
		&Packet{Len: 42, EtherType: EtherTypeIPv4, L3Off: 14, IPLen: 28, TTL: 64, Key: key4(cli4, vip4, ProtoICMPv6, 0, 0)})

	// IPv4 fragments.
	add("tcp4 first fragment", eth(v4{src: cli4, dst: vip4, proto: ProtoTCP, frag: 0x2000}.pkt(tcpSeg(40000, 80, TCPAck, nil, seq(100)))), nil,
		&Packet{Len: 154, EtherType: EtherTypeIPv4, L3Off: 14, L4Off: 34, PayloadOff: 54, IPLen: 140, TTL: 64,
			Flags: FlagFragment | FlagFirstFrag | FlagL4, TCPFlags: TCPAck, Key: key4(cli4, vip4, ProtoTCP, 40000, 80)})
	first := udpSeg(5000, 53, seq(100))
	first[4], first[5] = 0x10, 0 // the datagram is longer than this first fragment
	add("udp4 first fragment, length beyond it", eth(v4{src: cli4, dst: vip4, proto: ProtoUDP, frag: 0x2000}.pkt(first)), nil,
		&Packet{Len: 142, EtherType: EtherTypeIPv4, L3Off: 14, L4Off: 34, PayloadOff: 42, IPLen: 128, TTL: 64,
			Flags: FlagFragment | FlagFirstFrag | FlagL4, Key: key4(cli4, vip4, ProtoUDP, 5000, 53)})
	add("tcp4 middle fragment", eth(v4{src: cli4, dst: vip4, proto: ProtoTCP, frag: 0x2000 | 185}.pkt(seq(100))), nil,
		&Packet{Len: 134, EtherType: EtherTypeIPv4, L3Off: 14, IPLen: 120, TTL: 64, Flags: FlagFragment,
			Key: key4(cli4, vip4, ProtoTCP, 0, 0)})
	add("udp4 last fragment (DF clear, offset set)", eth(v4{src: cli4, dst: vip4, proto: ProtoUDP, frag: 185}.pkt(seq(3))), nil,
		&Packet{Len: 37, EtherType: EtherTypeIPv4, L3Off: 14, IPLen: 23, TTL: 64, Flags: FlagFragment,
			Key: key4(cli4, vip4, ProtoUDP, 0, 0)})
	add("DF alone is no fragment", eth(v4{src: cli4, dst: vip4, proto: ProtoUDP, frag: 0x4000}.pkt(udpSeg(1, 2, nil))), nil,
		&Packet{Len: 42, EtherType: EtherTypeIPv4, L3Off: 14, L4Off: 34, PayloadOff: 42, IPLen: 28, TTL: 64,
			Flags: FlagL4, Key: key4(cli4, vip4, ProtoUDP, 1, 2)})

	// ICMPv4.
	add("icmp4 echo request", eth(v4{src: cli4, dst: vip4, proto: ProtoICMP}.pkt(icmpMsg(ICMPv4EchoRequest, 0, 0xBEEF0001, seq(56)))), nil,
		&Packet{Len: 98, EtherType: EtherTypeIPv4, L3Off: 14, L4Off: 34, PayloadOff: 42, IPLen: 84, TTL: 64,
			Flags: FlagL4, ICMPType: ICMPv4EchoRequest, Key: key4(cli4, vip4, ProtoICMP, 0xBEEF, 0xBEEF)})
	add("icmp4 echo reply", eth(v4{src: vip4, dst: cli4, proto: ProtoICMP}.pkt(icmpMsg(ICMPv4EchoReply, 0, 0xBEEF0001, nil))), nil,
		&Packet{Len: 42, EtherType: EtherTypeIPv4, L3Off: 14, L4Off: 34, PayloadOff: 42, IPLen: 28, TTL: 64,
			Flags: FlagL4, ICMPType: ICMPv4EchoReply, Key: key4(vip4, cli4, ProtoICMP, 0xBEEF, 0xBEEF)})
	add("icmp4 timestamp: no ports", eth(v4{src: cli4, dst: vip4, proto: ProtoICMP}.pkt(icmpMsg(13, 0, 0x00010002, seq(12)))), nil,
		&Packet{Len: 54, EtherType: EtherTypeIPv4, L3Off: 14, L4Off: 34, PayloadOff: 42, IPLen: 40, TTL: 64,
			Flags: FlagL4, ICMPType: 13, Key: key4(cli4, vip4, ProtoICMP, 0, 0)})
	for _, e := range []struct {
		typ, code uint8
		rest      uint32
	}{
		{ICMPv4DestUnreachable, ICMPv4PortUnreachable, 0},
		{ICMPv4DestUnreachable, ICMPv4FragNeeded, 1400},
		{ICMPv4SourceQuench, 0, 0},
		{ICMPv4Redirect, 1, 0x0A0100FE},
		{ICMPv4TimeExceeded, 0, 0},
		{ICMPv4ParamProblem, 0, 0x0C000000},
	} {
		add(fmt.Sprintf("icmp4 error %d/%d quoting udp", e.typ, e.code), icmp4ErrFrame(e.typ, e.code, e.rest, udpToRS4()[:28]), nil,
			&Packet{Len: 70, EtherType: EtherTypeIPv4, L3Off: 14, L4Off: 34, PayloadOff: 42, IPLen: 56, TTL: 64,
				Flags: FlagL4 | FlagICMPError, ICMPType: e.typ, ICMPCode: e.code, Key: key4(rtr4, cli4, ProtoICMP, 0, 0),
				Inner: Inner{L3Off: 42, L4Off: 62, Key: key4(cli4, rs4, ProtoUDP, 5000, 53)}})
	}
	qopt := v4{src: cli4, dst: rs4, proto: ProtoTCP, opts: []byte{1, 1, 1, 0}}.pkt(tcpSeg(40000, 8080, TCPSyn, nil, nil))
	add("icmp4 error quoting tcp with ip options, 8 bytes of tcp", icmp4ErrFrame(ICMPv4TimeExceeded, 0, 0, qopt[:32]), nil,
		&Packet{Len: 74, EtherType: EtherTypeIPv4, L3Off: 14, L4Off: 34, PayloadOff: 42, IPLen: 60, TTL: 64,
			Flags: FlagL4 | FlagICMPError, ICMPType: ICMPv4TimeExceeded, Key: key4(rtr4, cli4, ProtoICMP, 0, 0),
			Inner: Inner{L3Off: 42, L4Off: 66, Key: key4(cli4, rs4, ProtoTCP, 40000, 8080)}})
	qecho := v4{src: cli4, dst: rs4, proto: ProtoICMP}.pkt(icmpMsg(ICMPv4EchoRequest, 0, 0x12340007, seq(8)))
	add("icmp4 error quoting echo", icmp4ErrFrame(ICMPv4DestUnreachable, ICMPv4HostUnreachable, 0, qecho), nil,
		&Packet{Len: 78, EtherType: EtherTypeIPv4, L3Off: 14, L4Off: 34, PayloadOff: 42, IPLen: 64, TTL: 64,
			Flags: FlagL4 | FlagICMPError, ICMPType: ICMPv4DestUnreachable, ICMPCode: ICMPv4HostUnreachable,
			Key: key4(rtr4, cli4, ProtoICMP, 0, 0), Inner: Inner{L3Off: 42, L4Off: 62, Key: key4(cli4, rs4, ProtoICMP, 0x1234, 0x1234)}})
	qfrag := v4{src: cli4, dst: rs4, proto: ProtoUDP, frag: 185}.pkt(seq(8))
	add("icmp4 error quoting a non-first fragment", icmp4ErrFrame(ICMPv4TimeExceeded, 1, 0, qfrag), nil,
		&Packet{Len: 70, EtherType: EtherTypeIPv4, L3Off: 14, L4Off: 34, PayloadOff: 42, IPLen: 56, TTL: 64,
			Flags: FlagL4 | FlagICMPError, ICMPType: ICMPv4TimeExceeded, ICMPCode: 1,
			Key: key4(rtr4, cli4, ProtoICMP, 0, 0), Inner: Inner{L3Off: 42, Key: key4(cli4, rs4, ProtoUDP, 0, 0)}})
	add("icmp4 error quoting 7 bytes of udp", icmp4ErrFrame(3, 3, 0, udpToRS4()[:27]), ErrTruncated, nil)
	add("icmp4 error quoting 19 bytes of ip", icmp4ErrFrame(3, 3, 0, udpToRS4()[:19]), ErrTruncated, nil)
	badIHL := udpToRS4()[:28]
	badIHL[0] = 0x44
	add("icmp4 error quoting ihl 4", icmp4ErrFrame(3, 3, 0, badIHL), ErrBadHeader, nil)
	add("icmp4 error quoting ihl beyond the quote", icmp4ErrFrame(3, 3, 0, qopt[:23]), ErrTruncated, nil)
	add("icmp4 error quoting ipv6", icmp4ErrFrame(3, 3, 0, v6{src: cli6, dst: rs6, proto: ProtoUDP}.pkt(udpSeg(1, 2, nil))), ErrBadHeader, nil)
	add("icmp4 7 bytes", eth(v4{src: cli4, dst: vip4, proto: ProtoICMP, noCk: true}.pkt(make([]byte, 7))), ErrTruncated, nil)

	// IPv6.
	add("tcp6", eth(v6{src: cli6, dst: vip6, proto: ProtoTCP}.pkt(tcpSeg(40000, 443, TCPSyn, nil, nil))), nil,
		&Packet{Len: 74, EtherType: EtherTypeIPv6, L3Off: 14, L4Off: 54, PayloadOff: 74, IPLen: 60, TTL: 64,
			Flags: FlagL4, TCPFlags: TCPSyn, Key: key6(cli6, vip6, ProtoTCP, 40000, 443)})
	add("tcp6 hbh, dstopts, routing", tcp6ExtFrame(), nil,
		&Packet{Len: 132, EtherType: EtherTypeIPv6, L3Off: 14, L4Off: 102, PayloadOff: 122, IPLen: 118, TTL: 64,
			Flags: FlagExtHdrs | FlagL4, TCPFlags: TCPAck | TCPPsh, Key: key6(cli6, vip6, ProtoTCP, 40000, 443)})
	add("udp6 vlan, padding", pad(ethVLAN(7, EtherTypeIPv6, v6{src: cli6, dst: vip6, proto: ProtoUDP, hop: 1}.pkt(udpSeg(1, 2, nil))), 4), nil,
		&Packet{Len: 70, EtherType: EtherTypeIPv6, VLAN: 7, L3Off: 18, L4Off: 58, PayloadOff: 66, IPLen: 48, TTL: 1,
			Flags: FlagVLAN | FlagL4, Key: key6(cli6, vip6, ProtoUDP, 1, 2)})
	add("udp6 first fragment", eth(v6{src: cli6, dst: vip6, proto: ProtoUDP, ext: []ext{frag6(0, true)}}.pkt(udpSeg(1, 2, seq(40)))), nil,
		&Packet{Len: 110, EtherType: EtherTypeIPv6, L3Off: 14, L4Off: 62, PayloadOff: 70, IPLen: 96, TTL: 64,
			Flags: FlagExtHdrs | FlagFragment | FlagFirstFrag | FlagL4, Key: key6(cli6, vip6, ProtoUDP, 1, 2)})
	add("udp6 atomic fragment", eth(v6{src: cli6, dst: vip6, proto: ProtoUDP, ext: []ext{frag6(0, false)}}.pkt(udpSeg(1, 2, nil))), nil,
		&Packet{Len: 70, EtherType: EtherTypeIPv6, L3Off: 14, L4Off: 62, PayloadOff: 70, IPLen: 56, TTL: 64,
			Flags: FlagExtHdrs | FlagFragment | FlagFirstFrag | FlagL4, Key: key6(cli6, vip6, ProtoUDP, 1, 2)})
	add("udp6 non-first fragment", eth(v6{src: cli6, dst: vip6, proto: ProtoUDP, ext: []ext{hbh(), frag6(1232, true)}}.pkt(seq(24))), nil,
		&Packet{Len: 94, EtherType: EtherTypeIPv6, L3Off: 14, IPLen: 80, TTL: 64,
			Flags: FlagExtHdrs | FlagFragment, Key: key6(cli6, vip6, ProtoUDP, 0, 0)})
	add("tcp6 after AH", eth(v6{src: cli6, dst: vip6, proto: ProtoTCP, ext: []ext{ahHdr()}}.pkt(tcpSeg(1, 2, TCPAck, nil, nil))), nil,
		&Packet{Len: 98, EtherType: EtherTypeIPv6, L3Off: 14, L4Off: 78, PayloadOff: 98, IPLen: 84, TTL: 64,
			Flags: FlagExtHdrs | FlagL4, TCPFlags: TCPAck, Key: key6(cli6, vip6, ProtoTCP, 1, 2)})
	add("esp6 ends the walk", eth(v6{src: cli6, dst: vip6, proto: ProtoESP, ext: []ext{dstOpts(1)}}.pkt(seq(32))), nil,
		&Packet{Len: 94, EtherType: EtherTypeIPv6, L3Off: 14, IPLen: 80, TTL: 64, Flags: FlagExtHdrs,
			Key: key6(cli6, vip6, ProtoESP, 0, 0)})
	add("no next header", eth(v6{src: cli6, dst: vip6, proto: ProtoNoNext}.pkt(nil)), nil,
		&Packet{Len: 54, EtherType: EtherTypeIPv6, L3Off: 14, IPLen: 40, TTL: 64, Key: key6(cli6, vip6, ProtoNoNext, 0, 0)})
	add("icmpv6 echo request", eth(v6{src: cli6, dst: vip6, proto: ProtoICMPv6}.pkt(icmpMsg(ICMPv6EchoRequest, 0, 0x77770001, seq(16)))), nil,
		&Packet{Len: 78, EtherType: EtherTypeIPv6, L3Off: 14, L4Off: 54, PayloadOff: 62, IPLen: 64, TTL: 64,
			Flags: FlagL4, ICMPType: ICMPv6EchoRequest, Key: key6(cli6, vip6, ProtoICMPv6, 0x7777, 0x7777)})
	add("icmpv6 echo reply", eth(v6{src: vip6, dst: cli6, proto: ProtoICMPv6}.pkt(icmpMsg(ICMPv6EchoReply, 0, 0x77770001, nil))), nil,
		&Packet{Len: 62, EtherType: EtherTypeIPv6, L3Off: 14, L4Off: 54, PayloadOff: 62, IPLen: 48, TTL: 64,
			Flags: FlagL4, ICMPType: ICMPv6EchoReply, Key: key6(vip6, cli6, ProtoICMPv6, 0x7777, 0x7777)})
	add("icmpv6 neighbor solicitation", eth(v6{src: cli6, dst: vip6, proto: ProtoICMPv6, hop: 255}.pkt(icmpMsg(135, 0, 0, vip6[:]))), nil,
		&Packet{Len: 78, EtherType: EtherTypeIPv6, L3Off: 14, L4Off: 54, PayloadOff: 62, IPLen: 64, TTL: 255,
			Flags: FlagL4, ICMPType: 135, Key: key6(cli6, vip6, ProtoICMPv6, 0, 0)})
	q6 := v6{src: cli6, dst: rs6, proto: ProtoUDP}.pkt(udpSeg(5000, 53, seq(20)))
	for _, e := range []struct {
		typ, code uint8
		rest      uint32
	}{
		{ICMPv6DestUnreachable, ICMPv6PortUnreachable, 0},
		{ICMPv6PacketTooBig, 0, 1280},
		{ICMPv6TimeExceeded, 0, 0},
		{ICMPv6ParamProblem, 1, 40},
	} {
		add(fmt.Sprintf("icmpv6 error %d/%d quoting udp", e.typ, e.code), icmp6ErrFrame(e.typ, e.code, e.rest, q6), nil,
			&Packet{Len: 130, EtherType: EtherTypeIPv6, L3Off: 14, L4Off: 54, PayloadOff: 62, IPLen: 116, TTL: 64,
				Flags: FlagL4 | FlagICMPError, ICMPType: e.typ, ICMPCode: e.code, Key: key6(rtr6, cli6, ProtoICMPv6, 0, 0),
				Inner: Inner{L3Off: 62, L4Off: 102, Key: key6(cli6, rs6, ProtoUDP, 5000, 53)}})
	}
	q6ext := v6{src: cli6, dst: rs6, proto: ProtoTCP, ext: []ext{hbh(), dstOpts(1)}}.pkt(tcpSeg(40000, 443, TCPSyn, nil, nil))
	add("icmpv6 packet too big quoting tcp behind ext headers, 8 bytes of tcp", icmp6ErrFrame(ICMPv6PacketTooBig, 0, 1400, q6ext[:64]), nil,
		&Packet{Len: 126, EtherType: EtherTypeIPv6, L3Off: 14, L4Off: 54, PayloadOff: 62, IPLen: 112, TTL: 64,
			Flags: FlagL4 | FlagICMPError, ICMPType: ICMPv6PacketTooBig, Key: key6(rtr6, cli6, ProtoICMPv6, 0, 0),
			Inner: Inner{L3Off: 62, L4Off: 118, Key: key6(cli6, rs6, ProtoTCP, 40000, 443)}})
	q6frag := v6{src: cli6, dst: rs6, proto: ProtoTCP, ext: []ext{frag6(8, false)}}.pkt(seq(8))
	add("icmpv6 error quoting a non-first fragment", icmp6ErrFrame(ICMPv6TimeExceeded, 1, 0, q6frag), nil,
		&Packet{Len: 118, EtherType: EtherTypeIPv6, L3Off: 14, L4Off: 54, PayloadOff: 62, IPLen: 104, TTL: 64,
			Flags: FlagL4 | FlagICMPError, ICMPType: ICMPv6TimeExceeded, ICMPCode: 1, Key: key6(rtr6, cli6, ProtoICMPv6, 0, 0),
			Inner: Inner{L3Off: 62, Key: key6(cli6, rs6, ProtoTCP, 0, 0)}})
	add("icmpv6 error quoting ipv4", icmp6ErrFrame(1, 4, 0, udpToRS4()), ErrBadHeader, nil)
	add("icmpv6 error quoting a cut extension header", icmp6ErrFrame(2, 0, 1280, q6ext[:50]), ErrTruncated, nil)
	add("icmpv6 error quoting 39 bytes", icmp6ErrFrame(1, 4, 0, q6[:39]), ErrTruncated, nil)
	add("icmpv6 error quoting 4 bytes of udp", icmp6ErrFrame(1, 4, 0, q6[:44]), ErrTruncated, nil)

	// Tunnels.
	in4 := v4{src: cli4, dst: vip4, proto: ProtoTCP}.pkt(tcpSeg(1, 80, TCPSyn, nil, nil))
	in6 := v6{src: cli6, dst: vip6, proto: ProtoTCP}.pkt(tcpSeg(1, 80, TCPSyn, nil, nil))
	add("ipip", eth(v4{src: vip4, dst: rs4, proto: ProtoIPIP}.pkt(append([]byte{}, in4...))), nil,
		&Packet{Len: 74, EtherType: EtherTypeIPv4, L3Off: 14, IPLen: 60, TTL: 64, Flags: FlagTunnel,
			Key: key4(vip4, rs4, ProtoIPIP, 0, 0), Tunnel: Tunnel{Proto: ProtoIPIP, InnerOff: 34, Family: FamilyIPv4}})
	add("6in4", eth(v4{src: vip4, dst: rs4, proto: ProtoIPv6}.pkt(append([]byte{}, in6...))), nil,
		&Packet{Len: 94, EtherType: EtherTypeIPv4, L3Off: 14, IPLen: 80, TTL: 64, Flags: FlagTunnel,
			Key: key4(vip4, rs4, ProtoIPv6, 0, 0), Tunnel: Tunnel{Proto: ProtoIPv6, InnerOff: 34, Family: FamilyIPv6}})
	add("4in6", eth(v6{src: vip6, dst: rs6, proto: ProtoIPIP}.pkt(append([]byte{}, in4...))), nil,
		&Packet{Len: 94, EtherType: EtherTypeIPv6, L3Off: 14, IPLen: 80, TTL: 64, Flags: FlagTunnel,
			Key: key6(vip6, rs6, ProtoIPIP, 0, 0), Tunnel: Tunnel{Proto: ProtoIPIP, InnerOff: 54, Family: FamilyIPv4}})
	add("6in6 behind dstopts", eth(v6{src: vip6, dst: rs6, proto: ProtoIPv6, ext: []ext{dstOpts(1)}}.pkt(append([]byte{}, in6...))), nil,
		&Packet{Len: 122, EtherType: EtherTypeIPv6, L3Off: 14, IPLen: 108, TTL: 64, Flags: FlagTunnel | FlagExtHdrs,
			Key: key6(vip6, rs6, ProtoIPv6, 0, 0), Tunnel: Tunnel{Proto: ProtoIPv6, InnerOff: 62, Family: FamilyIPv6}})
	add("ipip inner cut", eth(v4{src: vip4, dst: rs4, proto: ProtoIPIP}.pkt(append([]byte{}, in4[:19]...))), ErrTruncated, nil)
	add("ipip inner is ipv6", eth(v4{src: vip4, dst: rs4, proto: ProtoIPIP}.pkt(append([]byte{}, in6...))), ErrBadHeader, nil)

	// ARP and other EtherTypes.
	add("arp", ethT(EtherTypeARP, arpPkt(ARPRequest)), nil, &Packet{Len: 42, EtherType: EtherTypeARP, L3Off: 14})
	add("arp vlan, padded", pad(ethVLAN(5, EtherTypeARP, arpPkt(ARPReply)), 14), nil,
		&Packet{Len: 60, EtherType: EtherTypeARP, VLAN: 5, L3Off: 18, Flags: FlagVLAN})
	badARP := arpPkt(ARPRequest)
	badARP[4] = 8
	add("arp not ethernet/ipv4", ethT(EtherTypeARP, badARP), ErrUnsupported, nil)
	add("arp cut", ethT(EtherTypeARP, arpPkt(ARPRequest)[:27]), ErrTruncated, nil)
	add("lldp", ethT(0x88CC, seq(30)), ErrNotIP, nil)
	add("qinq", ethT(EtherTypeQinQ, ethVLAN(3, EtherTypeIPv4, tcp4Frame()[14:])[12:]), ErrUnsupported, nil)
	add("two 802.1q tags", ethVLAN(3, EtherTypeVLAN, seq(30)), ErrUnsupported, nil)

	// Malformed Ethernet and IPv4.
	add("13 bytes", tcp4Frame()[:13], ErrTruncated, nil)
	add("vlan tag cut", ethVLAN(3, EtherTypeIPv4, nil)[:16], ErrTruncated, nil)
	add("ipv4 header cut", tcp4Frame()[:33], ErrTruncated, nil)
	add("ipv4 total length beyond frame", tcp4Frame()[:53], ErrTruncated, nil)
	add("ihl 4", eth(v4{src: cli4, dst: vip4, proto: ProtoTCP, ihl: 4}.pkt(tcpSeg(1, 2, 0, nil, nil))), ErrBadHeader, nil)
	add("ihl 15 beyond total length", eth(v4{src: cli4, dst: vip4, proto: ProtoTCP, ihl: 15}.pkt(tcpSeg(1, 2, 0, nil, nil))), ErrBadHeader, nil)
	add("total length below ihl", eth(v4{src: cli4, dst: vip4, proto: ProtoTCP, tlen: 19}.pkt(tcpSeg(1, 2, 0, nil, nil))), ErrBadHeader, nil)
	add("total length 65535", eth(v4{src: cli4, dst: vip4, proto: ProtoTCP, tlen: 0xFFFF, noCk: true}.pkt(nil)), ErrTruncated, nil)
	add("version 6 under ipv4 ethertype", ethT(EtherTypeIPv4, v4{src: cli4, dst: vip4, proto: ProtoTCP, ver: 6}.pkt(tcpSeg(1, 2, 0, nil, nil))), ErrBadHeader, nil)
	short := v4{src: cli4, dst: vip4, proto: ProtoTCP, noCk: true}
	add("tcp 19 bytes", eth(short.pkt(make([]byte, 19))), ErrTruncated, nil)
	doff4 := tcpSeg(1, 2, 0, nil, nil)
	doff4[12] = 4 << 4
	add("tcp data offset 4", eth(short.pkt(doff4)), ErrBadHeader, nil)
	doff15 := tcpSeg(1, 2, 0, nil, seq(39))
	doff15[12] = 15 << 4
	add("tcp data offset beyond packet", eth(short.pkt(doff15)), ErrTruncated, nil)
	ulen7 := udpSeg(1, 2, nil)
	ulen7[5] = 7
	add("udp length 7", eth(v4{src: cli4, dst: vip4, proto: ProtoUDP, noCk: true}.pkt(ulen7)), ErrBadHeader, nil)
	ulong := udpSeg(1, 2, seq(4))
	ulong[5] = 13
	add("udp length beyond packet", eth(v4{src: cli4, dst: vip4, proto: ProtoUDP, noCk: true}.pkt(ulong)), ErrTruncated, nil)
	add("udp 7 bytes", eth(v4{src: cli4, dst: vip4, proto: ProtoUDP, noCk: true}.pkt(make([]byte, 7))), ErrTruncated, nil)
	add("sctp 11 bytes", eth(v4{src: cli4, dst: vip4, proto: ProtoSCTP, noCk: true}.pkt(make([]byte, 11))), ErrTruncated, nil)

	// Malformed IPv6.
	add("ipv6 header cut", eth(v6{src: cli6, dst: vip6, proto: ProtoNoNext}.pkt(nil))[:53], ErrTruncated, nil)
	add("ipv6 payload length beyond frame", eth(v6{src: cli6, dst: vip6, proto: ProtoUDP, plen: 9}.pkt(udpSeg(1, 2, nil))), ErrTruncated, nil)
	add("version 4 under ipv6 ethertype", ethT(EtherTypeIPv6, v6{src: cli6, dst: vip6, proto: ProtoUDP, ver: 4}.pkt(udpSeg(1, 2, nil))), ErrBadHeader, nil)
	add("hop-by-hop not first", eth(v6{src: cli6, dst: vip6, proto: ProtoTCP, ext: []ext{dstOpts(1), hbh()}}.pkt(tcpSeg(1, 2, 0, nil, nil))), ErrBadHeader, nil)
	add("extension header cut by payload length", eth(v6{src: cli6, dst: vip6, proto: ProtoTCP, ext: []ext{dstOpts(2)}, plen: 12, noCk: true}.pkt(nil)), ErrTruncated, nil)
	add("extension header under 8 bytes", eth(v6{src: cli6, dst: vip6, proto: ProtoTCP, ext: []ext{dstOpts(1)}, plen: 7, noCk: true}.pkt(nil)), ErrTruncated, nil)
	many := make([]ext, MaxExtHeaders+1)
	for i := range many {
		many[i] = dstOpts(1)
	}
	add("too many extension headers", eth(v6{src: cli6, dst: vip6, proto: ProtoUDP, ext: many}.pkt(udpSeg(1, 2, nil))), ErrUnsupported, nil)
	add("icmpv6 7 bytes", eth(v6{src: cli6, dst: vip6, proto: ProtoICMPv6, noCk: true}.pkt(make([]byte, 7))), ErrTruncated, nil)
	return cs
}

func TestParse(t *testing.T) {
	for _, c := range parseCases() {
		t.Run(c.name, func(t *testing.T) {
			var p Packet
			err := Parse(c.frame, &p)
			if !errors.Is(err, c.err) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			if c.err != nil {
				if p.Len != len(c.frame) {
					t.Errorf("Len = %d after error, want %d", p.Len, len(c.frame))
				}
				return
			}
			if p != *c.want {
				t.Errorf("got  %+v\nwant %+v", p, *c.want)
			}
			if p.IPLen > 0 && p.L3End() > len(c.frame) {
				t.Errorf("L3End %d beyond frame %d", p.L3End(), len(c.frame))
			}
		})
	}
}

// TestParseIP parses the IP part of every valid IP case on its own: same result, shifted.
func TestParseIP(t *testing.T) {
	for _, c := range parseCases() {
		if c.err != nil || c.want.IPLen == 0 {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			var p Packet
			b := c.frame[c.want.L3Off:]
			if err := ParseIP(b, &p); err != nil {
				t.Fatal(err)
			}
			w := *c.want
			shift := func(o *int) {
				if *o != 0 {
					*o -= w.L3Off
				}
			}
			shift(&w.L4Off)
			shift(&w.PayloadOff)
			shift(&w.Inner.L3Off)
			shift(&w.Inner.L4Off)
			shift(&w.Tunnel.InnerOff)
			w.L3Off, w.Len, w.VLAN, w.Flags = 0, len(b), 0, w.Flags&^FlagVLAN
			if p != w {
				t.Errorf("got  %+v\nwant %+v", p, w)
			}
		})
	}
}

func TestParseIPErrors(t *testing.T) {
	var p Packet
	for _, c := range []struct {
		b   []byte
		err error
	}{
		{nil, ErrTruncated},
		{[]byte{0x50, 0, 0, 0}, ErrNotIP},
		{[]byte{0x45, 0, 0}, ErrTruncated},
		{[]byte{0x60}, ErrTruncated},
	} {
		if err := ParseIP(c.b, &p); err != c.err {
			t.Errorf("ParseIP(% x) = %v, want %v", c.b, err, c.err)
		}
	}
}

func TestParseNotIPKeepsL2(t *testing.T) {
	var p Packet
	if err := Parse(ethVLAN(42, 0x88CC, seq(30)), &p); err != ErrNotIP {
		t.Fatal(err)
	}
	if p.EtherType != 0x88CC || p.L3Off != 18 || p.VLAN != 42 || !p.Has(FlagVLAN) {
		t.Errorf("got %+v", p)
	}
}

// TestParseResets makes sure nothing of an earlier packet survives in a reused Packet.
func TestParseResets(t *testing.T) {
	var p Packet
	if err := Parse(icmp4ErrFrame(3, 3, 0, udpToRS4()[:28]), &p); err != nil {
		t.Fatal(err)
	}
	if err := Parse(tcp4Frame(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Flags != FlagL4 || p.Inner != (Inner{}) || p.ICMPType != 0 {
		t.Errorf("stale fields: %+v", p)
	}
}

func TestPacketIP(t *testing.T) {
	f := pad(tcp4Frame(), 6)
	var p Packet
	if err := Parse(f, &p); err != nil {
		t.Fatal(err)
	}
	if ip := p.IP(f); len(ip) != 40 || &ip[0] != &f[14] {
		t.Errorf("IP() = %d bytes at wrong place", len(ip))
	}
}

func TestParseAllocs(t *testing.T) {
	for _, c := range []struct {
		name  string
		frame []byte
	}{
		{"tcp4", tcp4Frame()},
		{"tcp6 ext headers", tcp6ExtFrame()},
		{"icmp4 error", icmp4ErrFrame(3, 3, 0, udpToRS4()[:28])},
		{"icmpv6 error", icmp6ErrFrame(2, 0, 1280, v6{src: cli6, dst: rs6, proto: ProtoUDP}.pkt(udpSeg(1, 2, nil)))},
	} {
		var p Packet
		n := testing.AllocsPerRun(100, func() {
			if err := Parse(c.frame, &p); err != nil {
				t.Fatal(err)
			}
		})
		if n != 0 {
			t.Errorf("%s: %v allocations per Parse", c.name, n)
		}
	}
}
