package packet

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

func TestChecksumKnownValues(t *testing.T) {
	// RFC 1071 section 3: the sum of 0001 f203 f4f5 f6f7 is ddf2.
	if got := Checksum([]byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}, 0); got != 0xDDF2 {
		t.Errorf("RFC 1071 example: %#04x, want 0xddf2", got)
	}
	// A textbook IPv4 header whose checksum is b861.
	h := IPv4{0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61,
		0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7}
	if got := h.ComputeChecksum(); got != 0xB861 {
		t.Errorf("IPv4 header: %#04x, want 0xb861", got)
	}
	if !h.IsChecksumValid() {
		t.Error("IsChecksumValid false on a valid header")
	}
	h[15]++
	if h.IsChecksumValid() {
		t.Error("IsChecksumValid true on a corrupted header")
	}
	if Checksum(nil, 0) != 0 || Checksum(nil, 0x1234) != 0x1234 || Checksum([]byte{0xAB}, 0) != 0xAB00 {
		t.Error("degenerate inputs")
	}
}

func TestChecksumMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 2000)
	for i := 0; i < 5000; i++ {
		n := r.IntN(300)
		if i%50 == 0 {
			n = r.IntN(len(buf) - 1)
		}
		start := r.IntN(2) // also from odd addresses: alignment in memory must not matter
		b := buf[start : start+n]
		for j := range b {
			b[j] = byte(r.Uint32())
			if i%7 == 0 {
				b[j] = 0xFF // long runs of ones stress the carries
			}
		}
		init := uint16(r.Uint32())
		want := refSum([]byte{byte(init >> 8), byte(init)}, b)
		if got := Checksum(b, init); got != want {
			t.Fatalf("len %d init %#x: got %#04x want %#04x", n, init, got, want)
		}
	}
}

func TestPseudoHeaderAndCombine(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 1000; i++ {
		var s4, d4 [4]byte
		var s6, d6 [16]byte
		fill(r, s4[:], d4[:], s6[:], d6[:])
		proto, n := uint8(r.Uint32()), int(r.Uint32()>>16)
		if got, want := PseudoHeaderChecksum4(proto, s4, d4, uint16(n)), refSum(pseudo4(s4, d4, proto, n)); got != want {
			t.Fatalf("v4: %#x want %#x", got, want)
		}
		n6 := int(r.Uint32())
		if got, want := PseudoHeaderChecksum6(proto, &s6, &d6, uint32(n6)), refSum(pseudo6(s6, d6, proto, n6)); got != want {
			t.Fatalf("v6: %#x want %#x", got, want)
		}
		a, b := make([]byte, 2*r.IntN(20)), make([]byte, r.IntN(40))
		fill(r, a, b)
		if got, want := ChecksumCombine(Checksum(a, 0), Checksum(b, 0)), refSum(a, b); got != want {
			t.Fatalf("combine: %#x want %#x", got, want)
		}
	}
}

func fill(r *rand.Rand, bs ...[]byte) {
	for _, b := range bs {
		for i := range b {
			b[i] = byte(r.Uint32())
		}
	}
}

// field returns the checksum a buffer's first word should hold for the rest of it.
func field(b []byte) uint16 { return ^refSum(b[2:]) }

// TestIncrementalMatchesFull changes words, IPv4 and IPv6 addresses at random even offsets of
// random buffers and requires the incremental update to equal a full recomputation exactly
// (RFC 1624 eqn 3 gives the same representative of zero a full computation does).
func TestIncrementalMatchesFull(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 20000; i++ {
		b := make([]byte, 2+2*(8+r.IntN(60)))
		fill(r, b)
		if i%5 == 0 { // mostly ones, so sums sit near the 0/0xFFFF boundary
			for j := range b {
				b[j] |= 0xFE
			}
		}
		hc := field(b)
		off := 2 + 2*r.IntN((len(b)-2-16)/2+1)
		switch i % 3 {
		case 0:
			old := binary.BigEndian.Uint16(b[off:])
			nw := uint16(r.Uint32())
			binary.BigEndian.PutUint16(b[off:], nw)
			hc = ChecksumUpdate16(hc, old, nw)
		case 1:
			old := [4]byte(b[off:])
			var nw [4]byte
			fill(r, nw[:])
			copy(b[off:], nw[:])
			hc = ChecksumUpdateAddr4(hc, old, nw)
		case 2:
			old := [16]byte(b[off:])
			var nw [16]byte
			fill(r, nw[:])
			copy(b[off:], nw[:])
			hc = ChecksumUpdateAddr6(hc, &old, &nw)
		}
		if want := field(b); hc != want {
			t.Fatalf("case %d: incremental %#04x, full %#04x", i%3, hc, want)
		}
	}
}

// TestIncrementalEveryValue tries every new value of one word, which passes through the
// results 0x0000 and the boundary sums.
func TestIncrementalEveryValue(t *testing.T) {
	b := []byte{0, 0, 0x12, 0x34, 0xFF, 0xFF, 0xAB, 0xCD, 0x00, 0x01}
	for v := 0; v <= 0xFFFF; v++ {
		hc := field(b)
		old := binary.BigEndian.Uint16(b[4:])
		binary.BigEndian.PutUint16(b[4:], uint16(v))
		if got, want := ChecksumUpdate16(hc, old, uint16(v)), field(b); got != want {
			t.Fatalf("%#04x -> %#04x: incremental %#04x, full %#04x", old, v, got, want)
		}
	}
}

func TestSCTPChecksum(t *testing.T) {
	seg := sctpSeg(1, 2, seq(33))
	fillL4(ProtoSCTP, seg, nil)
	if got, want := SCTPChecksum(seg), refSCTP(seg); got != want || SCTP(seg).Checksum() != want {
		t.Errorf("got %#x, want %#x, field %#x", got, want, SCTP(seg).Checksum())
	}
}

// TestChecksumsValid checks every valid parse case whose checksums the helpers computed, then
// breaks and refills them.
func TestChecksumsValid(t *testing.T) {
	for _, c := range parseCases() {
		if c.err != nil || c.want.IPLen == 0 {
			continue
		}
		f := append([]byte{}, c.frame...)
		var p Packet
		if err := Parse(f, &p); err != nil {
			t.Fatal(err)
		}
		if !ChecksumsValid(f, &p) {
			t.Errorf("%s: ChecksumsValid false on a built frame", c.name)
			continue
		}
		if p.Key.Family == FamilyIPv4 {
			f[p.L3Off+8]-- // TTL without checksum update
			if ChecksumsValid(f, &p) {
				t.Errorf("%s: bad IPv4 header checksum accepted", c.name)
			}
			f[p.L3Off+8]++
		}
		verifiable := p.Has(FlagL4) && !p.Has(FlagFragment)
		if verifiable && p.L3End()-p.L4Off > 4 {
			f[p.L3End()-1] ^= 0x5A // last payload byte
			if ChecksumsValid(f, &p) {
				t.Errorf("%s: corrupted L4 accepted", c.name)
			}
			FillChecksums(f, &p)
			if !ChecksumsValid(f, &p) {
				t.Errorf("%s: FillChecksums did not fix it", c.name)
			}
			f[p.L3End()-1] ^= 0x5A
			FillChecksums(f, &p)
			if string(f) != string(c.frame) {
				t.Errorf("%s: FillChecksums gives other bytes than the reference", c.name)
			}
		}
	}
}

func TestChecksumsValidUDPZero(t *testing.T) {
	f := eth(v4{src: cli4, dst: vip4, proto: ProtoUDP}.pkt(udpSeg(1, 2, seq(9))))
	f[14+20+6], f[14+20+7] = 0, 0
	var p Packet
	if err := Parse(f, &p); err != nil {
		t.Fatal(err)
	}
	if !ChecksumsValid(f, &p) {
		t.Error("IPv4 UDP without checksum is valid")
	}
	f6 := eth(v6{src: cli6, dst: vip6, proto: ProtoUDP}.pkt(udpSeg(1, 2, seq(9))))
	f6[14+40+6], f6[14+40+7] = 0, 0
	if err := Parse(f6, &p); err != nil {
		t.Fatal(err)
	}
	if ChecksumsValid(f6, &p) {
		t.Error("IPv6 UDP without checksum is invalid")
	}
}

// TestChecksumsValidUDP6ZeroField is the input FuzzParse found: an IPv6 UDP datagram whose
// checksum computes to 0, carrying 0 instead of 0xFFFF. The sum verifies, the datagram does not.
func TestChecksumsValidUDP6ZeroField(t *testing.T) {
	f := []byte("000000000000\x86\xdda000\x004\x110 \x01\r\xb8\x00\x02\x00\x00\x00\x00\x00\x00x\x95\x00\x10 \x01\r\xb8" +
		"\x00\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x05\x00\x01\x17\xc0\x004\x00\x00\x00\x04\x00\x00E\x00\x00(\x124\x00" +
		"\x00@\x06|W\xc63d\a\xc0\x00\x02\n\x00\x01\x00P\x01\x02\x03\x04\n\v\f\rP\x02\xff\xff\xa9.\x00\x00")
	var p Packet
	if err := Parse(f, &p); err != nil {
		t.Fatal(err)
	}
	if ChecksumsValid(f, &p) {
		t.Fatal("IPv6 UDP checksum field 0 accepted")
	}
	FillChecksums(f, &p)
	if ck := UDP(f[p.L4Off:]).Checksum(); ck != 0xFFFF || !ChecksumsValid(f, &p) {
		t.Fatalf("FillChecksums wrote %#04x", ck)
	}
	if err := RewriteDst6(f, &p, rs6, 4242); err != nil || !ChecksumsValid(f, &p) {
		t.Fatal("rewrite of a 0xFFFF checksum")
	}
}
