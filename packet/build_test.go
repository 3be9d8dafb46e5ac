package packet

import (
	"bytes"
	"testing"
)

// verifyBuilt parses a built IP packet and checks what every ICMP error must satisfy.
func verifyBuilt(t *testing.T, b []byte, orig []byte, typ, code uint8) *Packet {
	t.Helper()
	var p, o Packet
	if err := ParseIP(b, &p); err != nil {
		t.Fatalf("built packet does not parse: %v", err)
	}
	if err := ParseIP(orig, &o); err != nil {
		t.Fatalf("orig does not parse: %v", err)
	}
	if !p.Has(FlagICMPError) || p.ICMPType != typ || p.ICMPCode != code {
		t.Fatalf("type %d code %d flags %v", p.ICMPType, p.ICMPCode, p.Flags)
	}
	if p.Inner.Key != o.Key {
		t.Fatalf("quoted key %+v, want %+v", p.Inner.Key, o.Key)
	}
	if p.Key.Dst != o.Key.Src || p.IPLen != len(b) || p.TTL != 64 {
		t.Fatalf("outer header: %+v", p)
	}
	if !ChecksumsValid(b, &p) || !refValidL4(p.Key.Proto, b[p.L4Off:], icmpPseudo(b, &p)) {
		t.Fatal("checksums do not verify")
	}
	return &p
}

func icmpPseudo(b []byte, p *Packet) []byte {
	if p.Key.Family == FamilyIPv4 {
		return nil
	}
	return pseudo6(p.Key.Src, p.Key.Dst, ProtoICMPv6, len(b)-p.L4Off)
}

func TestBuildICMPv4(t *testing.T) {
	orig := v4{src: cli4, dst: vip4, proto: ProtoUDP, frag: 0x4000}.pkt(udpSeg(5000, 53, seq(100)))
	buf := make([]byte, 1500)

	n, err := BuildICMPv4DestUnreachable(buf, vip4, ICMPv4PortUnreachable, orig)
	if err != nil || n != 20+8+28 {
		t.Fatalf("n %d err %v", n, err)
	}
	b := buf[:n]
	verifyBuilt(t, b, orig, ICMPv4DestUnreachable, ICMPv4PortUnreachable)
	ip := IPv4(b)
	if ip.Src() != vip4 || ip.Dst() != cli4 || !ip.DF() || ip.TOS() != 0xC0 || ip.Protocol() != ProtoICMP ||
		!ip.IsChecksumValid() || refSum(b[:20]) != 0xFFFF {
		t.Errorf("ip header % x", b[:20])
	}
	if !bytes.Equal(ICMPv4(b[20:]).Payload(), orig[:28]) {
		t.Error("quote is not the IP header and 8 bytes")
	}

	n, err = BuildICMPv4FragNeeded(buf, rtr4, 1400, orig)
	if err != nil {
		t.Fatal(err)
	}
	verifyBuilt(t, buf[:n], orig, ICMPv4DestUnreachable, ICMPv4FragNeeded)
	if m := ICMPv4(buf[20:n]); m.MTU() != 1400 || be16(m[4:]) != 0 {
		t.Errorf("rest of header % x", m[4:8])
	}

	n, err = BuildICMPv4TimeExceeded(buf, rtr4, orig)
	if err != nil {
		t.Fatal(err)
	}
	verifyBuilt(t, buf[:n], orig, ICMPv4TimeExceeded, 0)

	// Options are part of the header, and all of it is quoted.
	opts := v4{src: cli4, dst: vip4, proto: ProtoTCP, opts: make([]byte, 40)}.pkt(tcpSeg(1, 2, TCPSyn, nil, seq(50)))
	if n, err = BuildICMPv4DestUnreachable(buf, vip4, ICMPv4AdminProhibited, opts); err != nil || n != 28+68 {
		t.Fatalf("options: n %d err %v", n, err)
	}
	verifyBuilt(t, buf[:n], opts, ICMPv4DestUnreachable, ICMPv4AdminProhibited)

	// A packet shorter than header + 8 is quoted whole, without the padding after it.
	tiny := pad(v4{src: cli4, dst: vip4, proto: 47}.pkt(seq(4)), 10)
	if n, err = BuildICMPv4DestUnreachable(buf, vip4, ICMPv4ProtoUnreachable, tiny); err != nil || n != 28+24 {
		t.Fatalf("tiny: n %d err %v", n, err)
	}
	verifyBuilt(t, buf[:n], tiny[:24], ICMPv4DestUnreachable, ICMPv4ProtoUnreachable)
}

func TestBuildICMPv4InPlace(t *testing.T) {
	frame := eth(v4{src: cli4, dst: vip4, proto: ProtoTCP}.pkt(tcpSeg(40000, 80, TCPSyn, nil, seq(200))))
	var p Packet
	if err := Parse(frame, &p); err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 100)
	wn, _ := BuildICMPv4FragNeeded(want, vip4, 1280, append([]byte{}, p.IP(frame)...))
	n, err := BuildICMPv4FragNeeded(frame[EthernetLen:], vip4, 1280, p.IP(frame))
	if err != nil || !bytes.Equal(frame[EthernetLen:EthernetLen+n], want[:wn]) {
		t.Fatalf("in place: err %v\n got % x\nwant % x", err, frame[EthernetLen:EthernetLen+n], want[:wn])
	}
	PutEthernet(frame, macA, macB, EtherTypeIPv4)
	if err := Parse(frame[:EthernetLen+n], &p); err != nil || !p.Has(FlagICMPError) || !ChecksumsValid(frame, &p) {
		t.Fatalf("with ethernet: %v %+v", err, p)
	}
	if e := Ethernet(frame); e.Dst() != macA || e.Src() != macB || e.EtherType() != EtherTypeIPv4 {
		t.Error("ethernet header")
	}
}

func TestBuildICMPv4Refusals(t *testing.T) {
	buf := make([]byte, 1500)
	u := func(src, dst [4]byte) []byte { return v4{src: src, dst: dst, proto: ProtoUDP}.pkt(udpSeg(1, 2, nil)) }
	err4 := v4{src: cli4, dst: vip4, proto: ProtoICMP}.pkt(icmpMsg(ICMPv4TimeExceeded, 0, 0, u(vip4, cli4)))
	for _, c := range []struct {
		name string
		orig []byte
		want error
	}{
		{"icmp error", err4, ErrICMPNotAllowed},
		{"non-first fragment", v4{src: cli4, dst: vip4, proto: ProtoUDP, frag: 3}.pkt(seq(8)), ErrICMPNotAllowed},
		{"multicast destination", u(cli4, [4]byte{224, 0, 0, 5}), ErrICMPNotAllowed},
		{"broadcast destination", u(cli4, [4]byte{255, 255, 255, 255}), ErrICMPNotAllowed},
		{"unspecified source", u([4]byte{}, vip4), ErrICMPNotAllowed},
		{"loopback source", u([4]byte{127, 0, 0, 1}, vip4), ErrICMPNotAllowed},
		{"multicast source", u([4]byte{239, 1, 1, 1}, vip4), ErrICMPNotAllowed},
		{"echo request is fine", v4{src: cli4, dst: vip4, proto: ProtoICMP}.pkt(icmpMsg(8, 0, 0, nil)), nil},
		{"first fragment is fine", v4{src: cli4, dst: vip4, proto: ProtoUDP, frag: 0x2000, noCk: true}.pkt(udpSeg(1, 2, seq(8))), nil},
		{"19 bytes", u(cli4, vip4)[:19], ErrTruncated},
		{"ihl beyond", v4{src: cli4, dst: vip4, proto: 47, ihl: 15}.pkt(seq(8)), ErrTruncated},
		{"ihl 4", v4{src: cli4, dst: vip4, proto: 47, ihl: 4}.pkt(seq(8)), ErrBadHeader},
		{"ipv6", v6{src: cli6, dst: vip6, proto: ProtoUDP}.pkt(udpSeg(1, 2, nil)), ErrBadHeader},
	} {
		if _, err := BuildICMPv4DestUnreachable(buf, vip4, 3, c.orig); err != c.want {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := BuildICMPv4DestUnreachable(buf[:55], vip4, 3, u(cli4, vip4)); err != ErrShortBuffer {
		t.Errorf("short buffer: %v", err)
	}
}

func TestBuildICMPv6(t *testing.T) {
	big := v6{src: cli6, dst: vip6, proto: ProtoTCP, ext: []ext{dstOpts(1)}}.pkt(tcpSeg(40000, 443, TCPAck, nil, seq(1432)))
	buf := make([]byte, 2000)
	n, err := BuildICMPv6PacketTooBig(buf, vip6, 1400, big)
	if err != nil || n != 1280 {
		t.Fatalf("n %d err %v", n, err)
	}
	verifyBuilt(t, buf[:n], big, ICMPv6PacketTooBig, 0)
	m := ICMPv6(buf[40:n])
	if m.MTU() != 1400 || !bytes.Equal(m.Payload(), big[:1232]) {
		t.Error("mtu or quote")
	}
	if ip := IPv6(buf); ip.Src() != vip6 || ip.Dst() != cli6 || ip.HopLimit() != 64 || ip.NextHeader() != ProtoICMPv6 ||
		ip.TrafficClass() != 0 || ip.FlowLabel() != 0 || ip.Version() != 6 {
		t.Errorf("ip header % x", buf[:40])
	}

	small := pad(v6{src: cli6, dst: vip6, proto: ProtoUDP}.pkt(udpSeg(5000, 53, seq(10))), 7)
	if n, err = BuildICMPv6DestUnreachable(buf, vip6, ICMPv6PortUnreachable, small); err != nil || n != 48+58 {
		t.Fatalf("small: n %d err %v", n, err)
	}
	verifyBuilt(t, buf[:n], small[:58], ICMPv6DestUnreachable, ICMPv6PortUnreachable)

	if n, err = BuildICMPv6TimeExceeded(buf, rtr6, small); err != nil {
		t.Fatal(err)
	}
	verifyBuilt(t, buf[:n], small[:58], ICMPv6TimeExceeded, 0)

	// In place over the offending frame, then with an 802.1Q header.
	frame := append(make([]byte, 18), big...)
	want := make([]byte, 1280)
	wn, _ := BuildICMPv6PacketTooBig(want, vip6, 1280, big)
	n, err = BuildICMPv6PacketTooBig(frame[18:], vip6, 1280, frame[18:])
	if err != nil || !bytes.Equal(frame[18:18+n], want[:wn]) {
		t.Fatalf("in place: %v", err)
	}
	PutEthernetVLAN(frame, macA, macB, 12, EtherTypeIPv6)
	var p Packet
	if err := Parse(frame[:18+n], &p); err != nil || p.VLAN != 12 || !p.Has(FlagICMPError) || p.L3Off != 18 {
		t.Fatalf("with vlan: %v %+v", err, p)
	}
}

func TestBuildICMPv6Refusals(t *testing.T) {
	buf := make([]byte, 1500)
	u := func(src, dst [16]byte) []byte { return v6{src: src, dst: dst, proto: ProtoUDP}.pkt(udpSeg(1, 2, nil)) }
	mc := a16("ff02::1")
	errInExt := v6{src: cli6, dst: vip6, proto: ProtoICMPv6, ext: []ext{hbh(), dstOpts(1)}}.pkt(icmpMsg(1, 4, 0, u(vip6, cli6)))
	for _, c := range []struct {
		name    string
		typ     uint8
		code    uint8
		orig    []byte
		wantErr error
	}{
		{"icmpv6 error", 1, 4, v6{src: cli6, dst: vip6, proto: ProtoICMPv6}.pkt(icmpMsg(3, 0, 0, u(vip6, cli6))), ErrICMPNotAllowed},
		{"icmpv6 error behind ext headers", 2, 0, errInExt, ErrICMPNotAllowed},
		{"non-first fragment", 1, 4, v6{src: cli6, dst: vip6, proto: ProtoUDP, ext: []ext{frag6(8, false)}}.pkt(seq(8)), ErrICMPNotAllowed},
		{"multicast destination", 1, 4, u(cli6, mc), ErrICMPNotAllowed},
		{"multicast destination, too big", 2, 0, u(cli6, mc), nil},
		{"multicast destination, param problem code 2", 4, 2, u(cli6, mc), nil},
		{"multicast destination, param problem code 1", 4, 1, u(cli6, mc), ErrICMPNotAllowed},
		{"unspecified source", 1, 4, u([16]byte{}, vip6), ErrICMPNotAllowed},
		{"multicast source", 1, 4, u(mc, vip6), ErrICMPNotAllowed},
		{"echo request is fine", 1, 4, v6{src: cli6, dst: vip6, proto: ProtoICMPv6}.pkt(icmpMsg(128, 0, 0, nil)), nil},
		{"first fragment is fine", 2, 0, v6{src: cli6, dst: vip6, proto: ProtoUDP, ext: []ext{frag6(0, true)}}.pkt(udpSeg(1, 2, nil)), nil},
		{"39 bytes", 1, 4, u(cli6, vip6)[:39], ErrTruncated},
		{"ipv4", 1, 4, udpToRS4()[:40], ErrBadHeader},
	} {
		if _, err := BuildICMPv6Error(buf, vip6, c.typ, c.code, 0, c.orig); err != c.wantErr {
			t.Errorf("%s: %v, want %v", c.name, err, c.wantErr)
		}
	}
	if _, err := BuildICMPv6DestUnreachable(buf[:95], vip6, 4, u(cli6, vip6)); err != ErrShortBuffer {
		t.Errorf("short buffer: %v", err)
	}
}

func TestBuildAllocs(t *testing.T) {
	o4 := udpToRS4()
	o6 := v6{src: cli6, dst: rs6, proto: ProtoUDP}.pkt(udpSeg(1, 2, seq(1400)))
	buf := make([]byte, 1500)
	n := testing.AllocsPerRun(100, func() {
		_, _ = BuildICMPv4FragNeeded(buf, rtr4, 1400, o4)
		_, _ = BuildICMPv6PacketTooBig(buf, rtr6, 1280, o6)
	})
	if n != 0 {
		t.Errorf("%v allocations per build", n)
	}
}
