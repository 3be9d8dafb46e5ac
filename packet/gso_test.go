package packet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// Super-frames for the segmentation tests are built with the reference builders of
// helpers_test.go, and segments are checked with the reference checksum code there (refSum),
// not with the package's own. (packettest/gso_test.go checks against packettest's builders and
// VerifyChecksums as well: this package's tests may import nothing outside the standard library.)

// gsoShape is the header layout of a super-frame.
type gsoShape struct {
	name    string
	v6      bool
	vlan    bool
	ext     bool // IPv6: hop-by-hop, destination options, routing header (segments left 0)
	ipOpts  bool // IPv4: 4 bytes of options
	tcpOpts bool // TCP: 12 bytes (NOP NOP timestamps)
}

func gsoShapes() []gsoShape {
	return []gsoShape{
		{name: "v4"},
		{name: "v4-vlan", vlan: true},
		{name: "v4-opts", ipOpts: true, tcpOpts: true},
		{name: "v4-vlan-opts", vlan: true, ipOpts: true, tcpOpts: true},
		{name: "v6", v6: true},
		{name: "v6-vlan", v6: true, vlan: true},
		{name: "v6-ext", v6: true, ext: true, tcpOpts: true},
		{name: "v6-vlan-ext", v6: true, vlan: true, ext: true},
	}
}

var tsOpts = []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}

// build returns a super-frame of the shape carrying payload in a TCP segment with flags, or
// a UDP datagram (proto). Its L4 checksum field holds only the pseudo-header sum, as a
// super-frame with NEEDS_CSUM does.
func (s gsoShape) build(proto, flags uint8, payload []byte) []byte {
	var l4 []byte
	if proto == ProtoTCP {
		var opts []byte
		if s.tcpOpts {
			opts = tsOpts
		}
		l4 = tcpSeg(40000, 443, flags, opts, payload)
	} else {
		l4 = udpSeg(40000, 443, payload)
	}
	n := len(l4)
	var ip []byte
	var ps []byte
	et := EtherTypeIPv4
	if s.v6 {
		h := v6{src: cli6, dst: vip6, proto: proto}
		if s.ext {
			h.ext = []ext{hbh(), dstOpts(2), routing()}
		}
		ip, ps, et = h.pkt(l4), pseudo6(cli6, vip6, proto, n), EtherTypeIPv6
	} else {
		h := v4{src: cli4, dst: vip4, proto: proto, frag: 0x4000}
		if s.ipOpts {
			h.opts = []byte{1, 1, 1, 0}
		}
		ip, ps = h.pkt(l4), pseudo4(cli4, vip4, proto, n)
	}
	ckOff := len(ip) - n + 16
	if proto == ProtoUDP {
		ckOff = len(ip) - n + 6
	}
	binary.BigEndian.PutUint16(ip[ckOff:], refSum(ps)) // partial: pseudo-header only
	if s.vlan {
		return ethVLAN(100, et, ip)
	}
	return eth(ip)
}

// maxPayload is the largest payload a super-frame of the shape can carry (64 KiB IP).
func (s gsoShape) maxPayload(proto uint8) int {
	f := s.build(proto, 0, nil)
	var p Packet
	if err := Parse(f, &p); err != nil {
		panic(err)
	}
	if s.v6 {
		return 65535 - (p.PayloadOff - p.L3Off - IPv6Len)
	}
	return 65535 - (p.PayloadOff - p.L3Off)
}

const guard = 0xA5

// gsoBufs returns n buffers of size bytes with room for guard bytes after their length (in
// their capacity), all filled with the guard pattern.
func gsoBufs(n, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		b := bytes.Repeat([]byte{guard}, size+16)
		out[i] = b[:size]
	}
	return out
}

// untouched reports whether b (up to its capacity) still holds only the guard pattern.
func untouched(b []byte) bool {
	for _, c := range b[:cap(b)] {
		if c != guard {
			return false
		}
	}
	return true
}

// segmentFn is SegmentTCP or SegmentUDP, by the protocol of p.
func segmentFn(p *Packet) func([]byte, *Packet, int, [][]byte, int, []int) (int, error) {
	if p.Key.Proto == ProtoUDP {
		return SegmentUDP
	}
	return SegmentTCP
}

// runSegment segments super with mss into buffers at offset off and checks every segment
// (checkSegments). It returns the segments.
func runSegment(t *testing.T, super []byte, mss, off int) [][]byte {
	t.Helper()
	var p Packet
	if err := Parse(super, &p); err != nil {
		t.Fatalf("super-frame does not parse: %v", err)
	}
	want := SegmentCount(&p, mss)
	out := gsoBufs(want+1, off+p.PayloadOff+mss)
	sizes := make([]int, want+1)
	n, err := segmentFn(&p)(super, &p, mss, out, off, sizes)
	if err != nil || n != want {
		t.Fatalf("segmenting %d payload bytes by %d: n %d (want %d), err %v", p.L3End()-p.PayloadOff, mss, n, want, err)
	}
	return checkSegments(t, super, &p, mss, out, off, sizes, n)
}

// checkSegments checks the n segments in out[i][off:off+sizes[i]] made of the super-frame
// super (parsed into sp) with mss: each parses as the super-frame does but for its lengths and
// TCP flags; its headers are the super-frame's with only the fields segmentation changes
// changed, to the values they must have; its checksums verify by the reference code and by
// ChecksumsValid; the payloads put together are the super-frame's; nothing outside the
// segments was written (out was filled with the guard pattern). It returns the segments.
func checkSegments(t *testing.T, super []byte, sp *Packet, mss int, out [][]byte, off int, sizes []int, n int) [][]byte {
	t.Helper()
	payload := super[sp.PayloadOff:sp.L3End()]
	hdr := sp.PayloadOff
	l3, l4 := sp.L3Off, sp.L4Off
	tcp := sp.Key.Proto == ProtoTCP
	v4 := sp.Key.Family == FamilyIPv4
	var id0 uint16
	if v4 {
		id0 = binary.BigEndian.Uint16(super[l3+4:])
	}
	var seq0 uint32
	var flags0 uint8
	if tcp {
		seq0, flags0 = binary.BigEndian.Uint32(super[l4+4:]), super[l4+13]
	}
	var got []byte
	segs := make([][]byte, n)
	for i := range n {
		b := out[i]
		size := sizes[i]
		if size < hdr || off+size > len(b) {
			t.Fatalf("segment %d: size %d, buffer %d at %d", i, size, len(b), off)
		}
		if !untouched(b[:off:off]) || !untouched(b[off+size:]) {
			t.Fatalf("segment %d: bytes outside the segment written", i)
		}
		seg := b[off : off+size]
		segs[i] = seg
		chunk := seg[hdr:]
		if i < n-1 && len(chunk) != mss || len(chunk) > mss || len(chunk) == 0 && len(payload) > 0 {
			t.Fatalf("segment %d of %d carries %d bytes (mss %d)", i, n, len(chunk), mss)
		}
		pos := len(got)
		got = append(got, chunk...)

		// The headers: the super-frame's, with the segment's lengths, ID, sequence number
		// and flags; the checksum fields are checked below.
		want := append([]byte(nil), super[:hdr]...)
		if v4 {
			binary.BigEndian.PutUint16(want[l3+2:], uint16(size-l3))
			binary.BigEndian.PutUint16(want[l3+4:], id0+uint16(i))
			copy(want[l3+10:l3+12], seg[l3+10:])
		} else {
			binary.BigEndian.PutUint16(want[l3+4:], uint16(size-l3-IPv6Len))
		}
		f := flags0
		if tcp {
			binary.BigEndian.PutUint32(want[l4+4:], seq0+uint32(pos))
			if i > 0 {
				f &^= TCPCwr
			}
			if i < n-1 {
				f &^= TCPFin | TCPPsh
			}
			want[l4+13] = f
			copy(want[l4+16:l4+18], seg[l4+16:])
		} else {
			binary.BigEndian.PutUint16(want[l4+4:], uint16(size-l4))
			copy(want[l4+6:l4+8], seg[l4+6:])
		}
		if !bytes.Equal(seg[:hdr], want) {
			t.Fatalf("segment %d headers\n got % x\nwant % x", i, seg[:hdr], want)
		}

		// Checksums, by the reference code.
		var ps []byte
		if v4 {
			if refSum(seg[l3:l4]) != 0xFFFF {
				t.Fatalf("segment %d: IPv4 header checksum wrong", i)
			}
			ps = pseudo4([4]byte(seg[l3+12:]), [4]byte(seg[l3+16:]), sp.Key.Proto, size-l4)
		} else {
			ps = pseudo6([16]byte(seg[l3+8:]), [16]byte(seg[l3+24:]), sp.Key.Proto, size-l4)
		}
		if refSum(ps, seg[l4:]) != 0xFFFF {
			t.Fatalf("segment %d: L4 checksum wrong", i)
		}
		if !tcp && binary.BigEndian.Uint16(seg[l4+6:]) == 0 {
			t.Fatalf("segment %d: UDP checksum 0", i)
		}

		// Parse reads it as the super-frame but for lengths and flags.
		var q Packet
		if err := Parse(seg, &q); err != nil {
			t.Fatalf("segment %d does not parse: %v", i, err)
		}
		wp := *sp
		wp.Len, wp.IPLen = size, size-l3
		if tcp {
			wp.TCPFlags = f
		}
		if q != wp {
			t.Fatalf("segment %d parses as\n%+v\nwant\n%+v", i, q, wp)
		}
		if !ChecksumsValid(seg, &q) {
			t.Fatalf("segment %d: ChecksumsValid false", i)
		}
	}
	for i := n; i < len(out); i++ {
		if !untouched(out[i]) {
			t.Fatalf("buffer %d beyond the %d segments written", i, n)
		}
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("payloads put together differ from the super-frame's (%d vs %d bytes)", len(got), len(payload))
	}
	return segs
}

// gsoLengths returns the payload lengths to try with mss: empty, around one and three
// segments, odd, and (for big enough mss) the largest.
func gsoLengths(mss, maxLen int) []int {
	ls := []int{0, 1, 7, mss - 1, mss, mss + 1, 2*mss - 1, 3 * mss, 3*mss + 7}
	if mss >= 500 {
		ls = append(ls, maxLen, maxLen-1, (maxLen/mss)*mss)
	}
	return ls
}

func testSegment(t *testing.T, proto uint8) {
	for _, s := range gsoShapes() {
		maxLen := s.maxPayload(proto)
		for _, mss := range []int{1448, 1000, 536, 7, 1} {
			for _, n := range gsoLengths(mss, maxLen) {
				if n < 0 {
					continue
				}
				for _, off := range []int{0, 10} {
					super := s.build(proto, TCPAck, seq(n))
					runSegment(t, super, mss, off)
				}
			}
		}
		if t.Failed() {
			t.Fatalf("shape %s", s.name)
		}
	}
}

func TestSegmentTCP(t *testing.T) { testSegment(t, ProtoTCP) }

func TestSegmentUDP(t *testing.T) { testSegment(t, ProtoUDP) }

// TestSegmentTCPFlags: CWR stays on the first segment, PSH and FIN go to the last, the others
// are on every segment; one segment keeps them all.
func TestSegmentTCPFlags(t *testing.T) {
	all := TCPCwr | TCPEce | TCPUrg | TCPAck | TCPPsh | TCPFin
	for _, s := range gsoShapes() {
		segs := runSegment(t, s.build(ProtoTCP, all, seq(3000)), 1448, 0)
		if len(segs) != 3 {
			t.Fatalf("%s: %d segments", s.name, len(segs))
		}
		var p Packet
		_ = Parse(segs[0], &p)
		want := []uint8{TCPCwr | TCPEce | TCPUrg | TCPAck, TCPEce | TCPUrg | TCPAck, TCPEce | TCPUrg | TCPAck | TCPPsh | TCPFin}
		for i, seg := range segs {
			if f := seg[p.L4Off+13]; f != want[i] {
				t.Errorf("%s: segment %d flags %#x, want %#x", s.name, i, f, want[i])
			}
		}
		one := runSegment(t, s.build(ProtoTCP, all, seq(1448)), 1448, 0)
		if len(one) != 1 || one[0][p.L4Off+13] != all {
			t.Errorf("%s: single segment flags %#x", s.name, one[0][p.L4Off+13])
		}
	}
}

// TestSegmentWrap: the sequence number and the IPv4 ID wrap around.
func TestSegmentWrap(t *testing.T) {
	super := gsoShape{}.build(ProtoTCP, TCPAck, seq(4*1448))
	var p Packet
	_ = Parse(super, &p)
	binary.BigEndian.PutUint16(super[p.L3Off+4:], 0xFFFE)
	binary.BigEndian.PutUint32(super[p.L4Off+4:], 0xFFFFFFFF-1448)
	segs := runSegment(t, super, 1448, 0)
	for i, w := range []struct {
		id  uint16
		seq uint32
	}{{0xFFFE, 0xFFFFFFFF - 1448}, {0xFFFF, 0xFFFFFFFF}, {0, 1447}, {1, 2895}} {
		if id, sq := IPv4(segs[i][p.L3Off:]).ID(), TCP(segs[i][p.L4Off:]).Seq(); id != w.id || sq != w.seq {
			t.Errorf("segment %d: id %#x seq %#x, want %#x %#x", i, id, sq, w.id, w.seq)
		}
	}
}

// TestSegmentUntrustedChecksums: whatever the super-frame's checksum fields hold (a partial
// sum, zero, garbage, a UDP "no checksum"), every segment gets full, right checksums.
func TestSegmentUntrustedChecksums(t *testing.T) {
	for _, proto := range []uint8{ProtoTCP, ProtoUDP} {
		for _, s := range gsoShapes() {
			for _, v := range []uint16{0, 0xFFFF, 0x1234} {
				super := s.build(proto, TCPAck|TCPPsh, seq(5000))
				var p Packet
				_ = Parse(super, &p)
				ck := p.L4Off + 16
				if proto == ProtoUDP {
					ck = p.L4Off + 6
				}
				binary.BigEndian.PutUint16(super[ck:], v)
				if !s.v6 {
					binary.BigEndian.PutUint16(super[p.L3Off+10:], v)
				}
				runSegment(t, super, 1448, 0)
				runSegment(t, super, 5000, 0)
			}
		}
	}
}

// TestSegmentUDPChecksumZero: a UDP datagram whose checksum computes to 0 is sent with 0xFFFF.
func TestSegmentUDPChecksumZero(t *testing.T) {
	for _, s := range []gsoShape{{name: "v4"}, {name: "v6", v6: true}} {
		super := s.build(ProtoUDP, 0, seq(100))
		var p Packet
		_ = Parse(super, &p)
		// Make the last two payload bytes bring the full sum to 0xFFFF: checksum 0.
		end := p.L3End()
		binary.BigEndian.PutUint16(super[end-2:], 0)
		var ps []byte
		if s.v6 {
			ps = pseudo6(cli6, vip6, ProtoUDP, end-p.L4Off)
		} else {
			ps = pseudo4(cli4, vip4, ProtoUDP, end-p.L4Off)
		}
		l4 := append([]byte(nil), super[p.L4Off:end]...)
		l4[6], l4[7] = 0, 0
		binary.BigEndian.PutUint16(super[end-2:], ^refSum(ps, l4))
		segs := runSegment(t, super, 1448, 0)
		if ck := UDP(segs[0][p.L4Off:]).Checksum(); ck != 0xFFFF {
			t.Errorf("%s: checksum %#x, want 0xFFFF", s.name, ck)
		}
	}
}

// TestSegmentPadding: Ethernet padding after the IP packet goes into no segment.
func TestSegmentPadding(t *testing.T) {
	for _, proto := range []uint8{ProtoTCP, ProtoUDP} {
		for _, s := range gsoShapes() {
			super := pad(s.build(proto, TCPAck, seq(3)), 40)
			for _, mss := range []int{1, 2, 3, 1448} {
				for _, seg := range runSegment(t, super, mss, 4) {
					var p Packet
					if err := Parse(seg, &p); err != nil || p.L3End() != len(seg) {
						t.Fatalf("%s: segment of %d bytes, IP ends at %d (%v)", s.name, len(seg), p.L3End(), err)
					}
				}
			}
		}
	}
}

func TestSegmentCount(t *testing.T) {
	super := gsoShape{}.build(ProtoTCP, TCPAck, seq(3000))
	var p Packet
	_ = Parse(super, &p)
	for _, c := range []struct{ mss, want int }{{0, 0}, {-1, 0}, {1, 3000}, {1000, 3}, {1001, 3}, {1500, 2}, {2999, 2}, {3000, 1}, {1 << 40, 1}} {
		if got := SegmentCount(&p, c.mss); got != c.want {
			t.Errorf("SegmentCount(3000 bytes, %d) = %d, want %d", c.mss, got, c.want)
		}
	}
	empty := gsoShape{v6: true}.build(ProtoUDP, 0, nil)
	_ = Parse(empty, &p)
	if got := SegmentCount(&p, 1); got != 1 {
		t.Errorf("SegmentCount(empty) = %d", got)
	}
	_ = Parse(eth(v4{src: cli4, dst: vip4, proto: ProtoICMP}.pkt(icmpMsg(8, 0, 1, seq(10)))), &p)
	p.Flags &^= FlagL4
	if got := SegmentCount(&p, 1); got != 0 {
		t.Errorf("SegmentCount(no L4) = %d", got)
	}
}

func TestSegmentErrors(t *testing.T) {
	tcp4 := gsoShape{}.build(ProtoTCP, TCPAck, seq(3000))
	udp6 := gsoShape{v6: true}.build(ProtoUDP, 0, seq(3000))
	parse := func(f []byte) *Packet {
		var p Packet
		if err := Parse(f, &p); err != nil {
			t.Fatal(err)
		}
		return &p
	}
	p4, p6 := parse(tcp4), parse(udp6)
	type tc struct {
		name  string
		frame []byte
		p     *Packet
		udp   bool
		mss   int
		nout  int // buffers
		size  int // buffer length (0: enough)
		off   int
		nsize int // sizes entries (0: nout)
		want  error
	}
	withIP := func(f []byte, at int, v uint16) []byte {
		f = append([]byte(nil), f...)
		binary.BigEndian.PutUint16(f[at:], v)
		return f
	}
	frag4 := eth(v4{src: cli4, dst: vip4, proto: ProtoTCP, frag: 0x2000}.pkt(tcpSeg(1, 2, TCPAck, nil, seq(3000))))
	frag6 := eth(v6{src: cli6, dst: vip6, proto: ProtoTCP, ext: []ext{frag6(0, true)}}.pkt(tcpSeg(1, 2, TCPAck, nil, seq(3000))))
	rt := eth(v6{src: cli6, dst: vip6, proto: ProtoTCP, ext: []ext{routing()}}.pkt(tcpSeg(1, 2, TCPAck, nil, seq(3000))))
	rtp := parse(rt)
	rt[rtp.L3Off+IPv6Len+3] = 1 // segments left
	icmp := eth(v4{src: cli4, dst: vip4, proto: ProtoICMP}.pkt(icmpMsg(8, 0, 1, seq(3000))))
	syn := gsoShape{}.build(ProtoTCP, TCPSyn, seq(3000))
	rst := gsoShape{v6: true}.build(ProtoTCP, TCPRst|TCPAck, seq(3000))
	badUDPLen := withIP(udp6, p6.L4Off+4, 3007)
	cut := tcp4[:len(tcp4)-1]
	// p says IPv4 but the frame was changed under it.
	tl0 := withIP(tcp4, p4.L3Off+2, 0)
	tlShort := withIP(tcp4, p4.L3Off+2, uint16(p4.IPLen-1))
	pl0 := withIP(udp6, p6.L3Off+4, 0)
	dataOff := append([]byte(nil), tcp4...)
	dataOff[p4.L4Off+12] = 6 << 4
	stale := *p4
	stale.PayloadOff = stale.L3End() + 1
	for _, c := range []tc{
		{name: "mss 0", frame: tcp4, p: p4, mss: 0, nout: 8, want: ErrUnsupported},
		{name: "mss -1", frame: tcp4, p: p4, mss: -1, nout: 8, want: ErrUnsupported},
		{name: "UDP to SegmentTCP", frame: udp6, p: p6, mss: 1000, nout: 8, want: ErrUnsupported},
		{name: "TCP to SegmentUDP", frame: tcp4, p: p4, udp: true, mss: 1000, nout: 8, want: ErrUnsupported},
		{name: "ICMP", frame: icmp, p: parse(icmp), mss: 1000, nout: 8, want: ErrUnsupported},
		{name: "ICMP to UDP", frame: icmp, p: parse(icmp), udp: true, mss: 1000, nout: 8, want: ErrUnsupported},
		{name: "IPv4 fragment", frame: frag4, p: parse(frag4), mss: 1000, nout: 8, want: ErrUnsupported},
		{name: "IPv6 fragment", frame: frag6, p: parse(frag6), mss: 1000, nout: 8, want: ErrUnsupported},
		{name: "routing header underway", frame: rt, p: parse(rt), mss: 1000, nout: 8, want: ErrUnsupported},
		{name: "SYN", frame: syn, p: parse(syn), mss: 1000, nout: 8, want: ErrUnsupported},
		{name: "RST", frame: rst, p: parse(rst), mss: 1000, nout: 8, want: ErrUnsupported},
		{name: "too few buffers", frame: tcp4, p: p4, mss: 1000, nout: 2, want: ErrShortBuffer},
		{name: "no buffers", frame: tcp4, p: p4, mss: 1000, nout: 0, want: ErrShortBuffer},
		{name: "too few sizes", frame: tcp4, p: p4, mss: 1000, nout: 3, nsize: 2, want: ErrShortBuffer},
		{name: "buffers short by one", frame: tcp4, p: p4, mss: 1000, nout: 3, size: p4.PayloadOff + 999, want: ErrShortBuffer},
		{name: "offset too far", frame: tcp4, p: p4, mss: 1000, nout: 3, size: p4.PayloadOff + 1000, off: 1, want: ErrShortBuffer},
		{name: "negative offset", frame: tcp4, p: p4, mss: 1000, nout: 3, off: -1, want: ErrShortBuffer},
		{name: "UDP length", frame: badUDPLen, p: p6, udp: true, mss: 1000, nout: 8, want: ErrBadHeader},
		{name: "frame cut short", frame: cut, p: p4, mss: 1000, nout: 8, want: ErrTruncated},
		{name: "IPv4 total length 0", frame: tl0, p: p4, mss: 1000, nout: 8, want: ErrBadHeader},
		{name: "IPv4 total length disagrees", frame: tlShort, p: p4, mss: 1000, nout: 8, want: ErrBadHeader},
		{name: "IPv6 payload length 0", frame: pl0, p: p6, udp: true, mss: 1000, nout: 8, want: ErrBadHeader},
		{name: "TCP data offset disagrees", frame: dataOff, p: p4, mss: 1000, nout: 8, want: ErrBadHeader},
		{name: "offsets out of order", frame: tcp4, p: &stale, mss: 1000, nout: 8, want: ErrBadHeader},
	} {
		size := c.size
		if size == 0 {
			size = 2000 + max(c.off, 0)
		}
		out := gsoBufs(c.nout, size)
		ns := c.nsize
		if ns == 0 {
			ns = c.nout
		}
		sizes := make([]int, ns)
		seg := SegmentTCP
		if c.udp {
			seg = SegmentUDP
		}
		before := append([]byte(nil), c.frame...)
		n, err := seg(c.frame, c.p, c.mss, out, c.off, sizes)
		if !errors.Is(err, c.want) || n != 0 {
			t.Errorf("%s: n %d err %v, want %v", c.name, n, err, c.want)
		}
		for i := range out {
			if !untouched(out[i]) {
				t.Errorf("%s: buffer %d written", c.name, i)
			}
		}
		if !bytes.Equal(before, c.frame) {
			t.Errorf("%s: super-frame changed", c.name)
		}
	}

	// Just big enough works: the counterpart of the short cases above.
	out := gsoBufs(3, p4.PayloadOff+1000)
	if n, err := SegmentTCP(tcp4, p4, 1000, out, 0, make([]int, 3)); n != 3 || err != nil {
		t.Errorf("exact buffers: n %d err %v", n, err)
	}
	// A SYN or RST that fits in one segment is copied with its checksums fixed.
	runSegment(t, syn, 3000, 0)
	runSegment(t, rst, 4000, 0)
}

func TestSegmentAllocs(t *testing.T) {
	for _, c := range []struct {
		name  string
		proto uint8
		s     gsoShape
	}{
		{"tcp4", ProtoTCP, gsoShape{}},
		{"tcp6-vlan-ext", ProtoTCP, gsoShape{v6: true, vlan: true, ext: true}},
		{"udp4", ProtoUDP, gsoShape{vlan: true}},
		{"udp6", ProtoUDP, gsoShape{v6: true}},
	} {
		super := c.s.build(c.proto, TCPAck, seq(20000))
		var p Packet
		_ = Parse(super, &p)
		out := gsoBufs(14, 10+p.PayloadOff+1448)
		sizes := make([]int, 14)
		seg := segmentFn(&p)
		allocs := testing.AllocsPerRun(100, func() {
			if n, err := seg(super, &p, 1448, out, 10, sizes); n != 14 || err != nil {
				t.Fatal(n, err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per call", c.name, allocs)
		}
	}
}

// FuzzSegment segments arbitrary frames: never a panic, never a write outside the segments
// (buffers carry guard bytes before off and past their length, in their capacity), and
// whatever is produced parses, verifies and carries the super-frame's payload in order. With
// fix, the IP and UDP length fields are first set from the frame's length: mutations that
// insert or delete bytes would otherwise leave almost nothing for Parse to accept.
func FuzzSegment(f *testing.F) {
	for _, s := range gsoShapes() {
		f.Add(s.build(ProtoTCP, TCPAck|TCPPsh|TCPCwr, seq(3000)), int16(1448), int8(0), uint8(10), true)
		f.Add(s.build(ProtoUDP, 0, seq(777)), int16(100), int8(0), uint8(0), true)
		f.Add(pad(s.build(ProtoTCP, TCPFin, seq(5)), 30), int16(2), int8(1), uint8(4), false)
		f.Add(s.build(ProtoTCP, TCPAck, seq(300)), int16(100), int8(-1), uint8(0), false)
	}
	for _, s := range seedFrames() {
		f.Add(s, int16(1448), int8(0), uint8(0), false)
		f.Add(s, int16(3), int8(0), uint8(2), true)
	}
	f.Fuzz(func(t *testing.T, frame []byte, mss16 int16, extra int8, off8 uint8, fix bool) {
		if fix {
			frame = append([]byte(nil), frame...)
			fixLengths(frame)
		}
		var p Packet
		if err := Parse(frame, &p); err != nil {
			return
		}
		mss, off := int(mss16), int(off8)
		count := SegmentCount(&p, mss)
		nbuf := min(count, 256)
		size := off + p.PayloadOff + int(extra)
		if count > 0 {
			size += min(mss, p.L3End()-p.PayloadOff)
		}
		size = max(size, 0)
		out := gsoBufs(nbuf, size)
		sizes := make([]int, nbuf)
		before := append([]byte(nil), frame...)
		n, err := segmentFn(&p)(frame, &p, mss, out, off, sizes)
		if !bytes.Equal(before, frame) {
			t.Fatal("super-frame changed")
		}
		if err != nil {
			if n != 0 {
				t.Fatalf("n %d with error %v", n, err)
			}
			for i := range out {
				if !untouched(out[i]) {
					t.Fatalf("error %v, yet buffer %d written", err, i)
				}
			}
			if err == ErrShortBuffer && extra >= 0 && count <= nbuf {
				t.Fatalf("ErrShortBuffer with %d buffers of %d bytes for %d segments", nbuf, size, count)
			}
			return
		}
		if n != count || mss < 1 {
			t.Fatalf("n %d, SegmentCount %d, mss %d", n, count, mss)
		}
		checkSegments(t, frame, &p, mss, out, off, sizes, n)
	})
}

// fixLengths sets the IPv4 total length or IPv6 payload length in frame to cover the rest of
// the frame (up to 64 KiB) and, when it then parses as UDP, the UDP length to cover the IP payload.
func fixLengths(frame []byte) {
	l3 := EthernetLen
	if len(frame) < l3 {
		return
	}
	et := be16(frame[12:])
	if et == EtherTypeVLAN && len(frame) >= l3+VLANTagLen {
		l3 += VLANTagLen
		et = be16(frame[16:])
	}
	n := len(frame) - l3
	switch {
	case et == EtherTypeIPv4 && n >= IPv4MinLen:
		put16(frame[l3+2:], uint16(min(n, 65535)))
	case et == EtherTypeIPv6 && n >= IPv6Len:
		put16(frame[l3+4:], uint16(min(n-IPv6Len, 65535)))
	}
	var p Packet
	if Parse(frame, &p) == nil && p.Key.Proto == ProtoUDP && p.Has(FlagL4) && !p.Has(FlagFragment) {
		put16(frame[p.L4Off+4:], uint16(p.L3End()-p.L4Off))
	}
}

func benchSegment(b *testing.B, s gsoShape) {
	super := s.build(ProtoTCP, TCPAck|TCPPsh, seq(s.maxPayload(ProtoTCP)))
	var p Packet
	if err := Parse(super, &p); err != nil {
		b.Fatal(err)
	}
	const mss = 1448
	n := SegmentCount(&p, mss)
	out := gsoBufs(n, p.PayloadOff+mss)
	sizes := make([]int, n)
	b.SetBytes(int64(p.L3End() - p.PayloadOff))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := SegmentTCP(super, &p, mss, out, 0, sizes); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/segment")
}

// BenchmarkSegmentTCP4 cuts a 64 KiB IPv4 TCP super-frame (65495 payload bytes) into 46
// segments of up to 1448 bytes.
func BenchmarkSegmentTCP4(b *testing.B) { benchSegment(b, gsoShape{}) }

// BenchmarkSegmentTCP6 does the same over IPv6 (65515 payload bytes, 46 segments).
func BenchmarkSegmentTCP6(b *testing.B) { benchSegment(b, gsoShape{v6: true}) }
