package packet

import (
	"bytes"
	"net/netip"
	"testing"
)

func TestEthernetView(t *testing.T) {
	f := ethVLAN(300, EtherTypeIPv6, nil)
	e := Ethernet(f)
	if e.Dst() != macB || e.Src() != macA || e.EtherType() != EtherTypeVLAN || e.VLANTCI() != 0x2000|300 || e.InnerEtherType() != EtherTypeIPv6 {
		t.Errorf("% x", f)
	}
	e.SetDst(macA)
	e.SetSrc(macB)
	e.SetEtherType(EtherTypeARP)
	if e.Dst() != macA || e.Src() != macB || e.EtherType() != EtherTypeARP {
		t.Errorf("setters: % x", f)
	}
	b := make([]byte, 18)
	if PutEthernet(b, macA, macB, EtherTypeIPv4) != 14 || Ethernet(b).Dst() != macA || Ethernet(b).Src() != macB || Ethernet(b).EtherType() != EtherTypeIPv4 {
		t.Error("PutEthernet")
	}
	if PutEthernetVLAN(b, macA, macB, 0xF123, EtherTypeARP) != 18 || Ethernet(b).VLANTCI() != 0x0123 || Ethernet(b).InnerEtherType() != EtherTypeARP {
		t.Error("PutEthernetVLAN")
	}
}

func TestARPView(t *testing.T) {
	a := ARP(arpPkt(ARPRequest))
	if !a.IsEthernetIPv4() || a.HardwareType() != 1 || a.ProtocolType() != EtherTypeIPv4 || a.HardwareLen() != 6 || a.ProtocolLen() != 4 {
		t.Error("header")
	}
	if a.Op() != ARPRequest || a.SenderMAC() != macA || a.SenderIP() != cli4 || a.TargetMAC() != [6]byte{} || a.TargetIP() != vip4 {
		t.Error("fields")
	}
	a.SetOp(ARPReply)
	a.SetSenderMAC(macB)
	a.SetSenderIP(vip4)
	a.SetTargetMAC(macA)
	a.SetTargetIP(cli4)
	if a.Op() != ARPReply || a.SenderMAC() != macB || a.SenderIP() != vip4 || a.TargetMAC() != macA || a.TargetIP() != cli4 {
		t.Error("setters")
	}
}

func TestIPv4View(t *testing.T) {
	b := v4{src: cli4, dst: vip4, proto: ProtoUDP, ttl: 17, opts: []byte{1, 1, 1, 0}, frag: 0x2000 | 3}.pkt(seq(10))
	b = pad(b, 6)
	ip := IPv4(b)
	if ip.Version() != 4 || ip.HeaderLength() != 24 || ip.TotalLength() != 34 || ip.ID() != 0x1234 || ip.TOS() != 0 {
		t.Error("lengths")
	}
	if ip.DF() || !ip.MoreFragments() || ip.FragmentOffset() != 24 || !ip.IsFragment() {
		t.Error("fragment fields")
	}
	if ip.TTL() != 17 || ip.Protocol() != ProtoUDP || ip.Src() != cli4 || ip.Dst() != vip4 ||
		ip.SrcAddr() != netip.AddrFrom4(cli4) || ip.DstAddr() != netip.AddrFrom4(vip4) {
		t.Error("fields")
	}
	if !bytes.Equal(ip.Options(), []byte{1, 1, 1, 0}) || !bytes.Equal(ip.Payload(), seq(10)) {
		t.Error("options or payload")
	}
	if !ip.IsChecksumValid() || ip.ComputeChecksum() != ip.Checksum() {
		t.Error("checksum")
	}
	ip.SetHeaderLength(20)
	ip.SetTOS(0xB8)
	ip.SetTotalLength(30)
	ip.SetID(7)
	ip.SetFragment(true, false, 0)
	ip.SetTTL(1)
	ip.SetProtocol(ProtoTCP)
	ip.SetSrc(rs4)
	ip.SetDst(cli4)
	ip.SetChecksum(ip.ComputeChecksum())
	if ip.HeaderLength() != 20 || ip.TOS() != 0xB8 || ip.TotalLength() != 30 || ip.ID() != 7 || !ip.DF() || ip.IsFragment() ||
		ip.TTL() != 1 || ip.Protocol() != ProtoTCP || ip.Src() != rs4 || ip.Dst() != cli4 || !ip.IsChecksumValid() {
		t.Error("setters")
	}
	ip.SetFragment(false, true, 1480)
	if ip.DF() || !ip.MoreFragments() || ip.FragmentOffset() != 1480 {
		t.Error("SetFragment")
	}
}

func TestIPv6View(t *testing.T) {
	b := v6{src: cli6, dst: vip6, proto: ProtoUDP, hop: 9, ext: []ext{frag6(1232, true)}}.pkt(seq(16))
	ip := IPv6(pad(b, 3))
	if ip.Version() != 6 || ip.PayloadLength() != 24 || ip.NextHeader() != ProtoFragment || ip.HopLimit() != 9 ||
		ip.Src() != cli6 || ip.Dst() != vip6 || ip.SrcAddr() != netip.AddrFrom16(cli6) || ip.DstAddr() != netip.AddrFrom16(vip6) {
		t.Error("fields")
	}
	if len(ip.Payload()) != 24 {
		t.Error("payload excludes padding")
	}
	fr := IPv6Fragment(ip[40:])
	if fr.NextHeader() != ProtoUDP || fr.FragmentOffset() != 1232 || !fr.MoreFragments() || fr.ID() != 0xF00D {
		t.Error("fragment header")
	}
	ip.SetVersionClassFlow(0xB8, 0xFFFFF)
	ip.SetPayloadLength(5)
	ip.SetNextHeader(ProtoTCP)
	ip.SetHopLimit(1)
	ip.SetSrc(rs6)
	ip.SetDst(cli6)
	if ip.Version() != 6 || ip.TrafficClass() != 0xB8 || ip.FlowLabel() != 0xFFFFF || ip.PayloadLength() != 5 ||
		ip.NextHeader() != ProtoTCP || ip.HopLimit() != 1 || ip.Src() != rs6 || ip.Dst() != cli6 {
		t.Error("setters")
	}
}

func TestL4Views(t *testing.T) {
	tc := TCP(tcpSeg(40000, 80, TCPSyn|TCPEce, seq(4), seq(3)))
	tc.SetChecksum(0xABCD)
	if tc.SrcPort() != 40000 || tc.DstPort() != 80 || tc.Seq() != 0x01020304 || tc.Ack() != 0x0A0B0C0D || tc.DataOffset() != 24 ||
		tc.Flags() != TCPSyn|TCPEce || tc.Window() != 65535 || tc.Checksum() != 0xABCD || tc.UrgentPointer() != 0 ||
		!bytes.Equal(tc.Options(), seq(4)) || !bytes.Equal(tc.Payload(), seq(3)) {
		t.Error("tcp")
	}
	tc.SetSrcPort(1)
	tc.SetDstPort(2)
	tc.SetFlags(TCPRst)
	if tc.SrcPort() != 1 || tc.DstPort() != 2 || tc.Flags() != TCPRst {
		t.Error("tcp setters")
	}

	u := UDP(udpSeg(5353, 53, seq(5)))
	u.SetChecksum(0x1111)
	if u.SrcPort() != 5353 || u.DstPort() != 53 || u.Length() != 13 || u.Checksum() != 0x1111 || !bytes.Equal(u.Payload(), seq(5)) {
		t.Error("udp")
	}
	u.SetSrcPort(1)
	u.SetDstPort(2)
	u.SetLength(8)
	if u.SrcPort() != 1 || u.DstPort() != 2 || len(u.Payload()) != 0 {
		t.Error("udp setters")
	}

	s := SCTP(sctpSeg(1, 2, nil))
	s.SetChecksum(0x11223344)
	if s.SrcPort() != 1 || s.DstPort() != 2 || s.VerificationTag() != 0xCAFEF00D || s.Checksum() != 0x11223344 || s[8] != 0x44 {
		t.Error("sctp (checksum is little-endian on the wire)")
	}
	s.SetSrcPort(3)
	s.SetDstPort(4)
	if s.SrcPort() != 3 || s.DstPort() != 4 {
		t.Error("sctp setters")
	}

	m := ICMPv4(icmpMsg(ICMPv4EchoRequest, 0, 0x12340005, seq(2)))
	if m.Type() != ICMPv4EchoRequest || m.Code() != 0 || m.Ident() != 0x1234 || m.Sequence() != 5 || !bytes.Equal(m.Payload(), seq(2)) {
		t.Error("icmp echo")
	}
	m.SetType(ICMPv4DestUnreachable)
	m.SetCode(ICMPv4FragNeeded)
	m.SetMTU(1400)
	m.SetIdent(0)
	m.SetChecksum(7)
	if m.Type() != 3 || m.Code() != 4 || m.MTU() != 1400 || m.Checksum() != 7 || m.Gateway() != [4]byte{0, 0, 5, 120} {
		t.Error("icmp setters")
	}

	m6 := ICMPv6(icmpMsg(ICMPv6EchoReply, 0, 0x43210009, nil))
	if m6.Type() != ICMPv6EchoReply || m6.Ident() != 0x4321 || m6.Sequence() != 9 || len(m6.Payload()) != 0 {
		t.Error("icmpv6 echo")
	}
	m6.SetType(ICMPv6PacketTooBig)
	m6.SetCode(0)
	m6.SetMTU(9000)
	m6.SetChecksum(8)
	if m6.Type() != 2 || m6.Code() != 0 || m6.MTU() != 9000 || m6.Checksum() != 8 {
		t.Error("icmpv6 setters")
	}
	m6.SetIdent(77)
	if m6.Ident() != 77 {
		t.Error("icmpv6 ident")
	}

	g := GUE(gueHdr(ProtoIPv6, 3, true))
	g[3] = 0x80
	if g.Variant() != 0 || !g.Control() || g.HeaderLength() != 16 || g.Protocol() != ProtoIPv6 || g.Flags() != 0x80 {
		t.Error("gue")
	}
}
