package vnet

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"unsafe"

	"github.com/uvs-lb/uvs/packet"
	"github.com/uvs-lb/uvs/packet/packettest"
)

func TestEncodeDecodeRoundTripAndLayout(t *testing.T) {
	h := Hdr{Flags: FlagNeedsCsum, GSOType: GSOTCPv4 | GSOECN, HdrLen: 54, GSOSize: 1448, CsumStart: 34, CsumOffset: 16}
	var b [Len]byte
	h.Encode(b[:])
	if got := Decode(b[:]); got != h {
		t.Fatalf("Decode(Encode(h)) = %+v, want %+v", got, h)
	}
	// struct virtio_net_hdr { u8 flags; u8 gso_type; u16 hdr_len, gso_size, csum_start, csum_offset; }
	// in the host's byte order.
	var want [Len]byte
	want[0], want[1] = FlagNeedsCsum, GSOTCPv4|GSOECN
	for i, v := range []uint16{54, 1448, 34, 16} {
		*(*uint16)(unsafe.Pointer(&want[2+2*i])) = v
	}
	if b != want {
		t.Fatalf("wire layout % x, want % x", b, want)
	}
	if !h.IsGSO() || (Hdr{GSOType: GSOECN}).IsGSO() || (Hdr{}).IsGSO() {
		t.Fatal("IsGSO")
	}
}

// partial turns a frame with a valid L4 checksum into what the kernel hands over with
// CHECKSUM_PARTIAL: the field holds the pseudo-header sum, and a header says where it is.
func partial(t *testing.T, frame []byte) Hdr {
	t.Helper()
	var p packet.Packet
	if err := packet.Parse(frame, &p); err != nil {
		t.Fatal(err)
	}
	l4 := frame[p.L4Off:p.L3End()]
	off := uint16(16)
	if p.Key.Proto == packet.ProtoUDP {
		off = 6
	}
	var ps uint16
	if p.Key.Family == packet.FamilyIPv4 {
		ip := packet.IPv4(frame[p.L3Off:])
		ps = packet.PseudoHeaderChecksum4(p.Key.Proto, ip.Src(), ip.Dst(), uint16(len(l4)))
	} else {
		ip := packet.IPv6(frame[p.L3Off:])
		src, dst := ip.Src(), ip.Dst()
		ps = packet.PseudoHeaderChecksum6(p.Key.Proto, &src, &dst, uint32(len(l4)))
	}
	binary.BigEndian.PutUint16(l4[off:], ps)
	return Hdr{Flags: FlagNeedsCsum, CsumStart: uint16(p.L4Off), CsumOffset: off}
}

func valid(frame []byte) bool {
	var p packet.Packet
	return packet.Parse(frame, &p) == nil && packet.ChecksumsValid(frame, &p)
}

func TestCompleteFinishesPartialChecksums(t *testing.T) {
	mac1, mac2 := [6]byte{2, 0, 0, 0, 0, 1}, [6]byte{2, 0, 0, 0, 0, 2}
	v4a, v4b := netip.MustParseAddrPort("10.0.0.1:1234"), netip.MustParseAddrPort("10.0.0.2:80")
	v6a, v6b := netip.MustParseAddrPort("[2001:db8::1]:1234"), netip.MustParseAddrPort("[2001:db8::2]:80")
	big := bytes.Repeat([]byte("0123456789abcdef"), 4000) // a 64000-byte GSO super-frame payload
	for _, tc := range []struct {
		name string
		f    packettest.Frame
	}{
		{"tcp4", packettest.Frame{Src: v4a, Dst: v4b, Proto: 6, TCPFlags: packet.TCPAck, Payload: []byte("hello")}},
		{"udp4", packettest.Frame{Src: v4a, Dst: v4b, Proto: 17, Payload: []byte("odd length")}},
		{"tcp6", packettest.Frame{Src: v6a, Dst: v6b, Proto: 6, Payload: []byte("hello, world")}},
		{"udp6", packettest.Frame{Src: v6a, Dst: v6b, Proto: 17, Payload: []byte("x")}},
		{"tcp4-vlan", packettest.Frame{VLAN: 7, Src: v4a, Dst: v4b, Proto: 6, Payload: []byte("tagged")}},
		{"tcp4-gso", packettest.Frame{Src: v4a, Dst: v4b, Proto: 6, Payload: big}},
		{"udp6-gso", packettest.Frame{Src: v6a, Dst: v6b, Proto: 17, Payload: big[:60000]}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.f.SrcMAC, tc.f.DstMAC = mac1, mac2
			frame := tc.f.Build()
			want := append([]byte(nil), frame...)
			h := partial(t, frame)
			if valid(frame) {
				t.Fatal("a partial checksum verified")
			}
			h.GSOType, h.GSOSize, h.HdrLen = GSOTCPv4, 1448, 54
			if !Complete(frame, &h) {
				t.Fatal("Complete refused valid offsets")
			}
			if !bytes.Equal(frame, want) || !valid(frame) {
				t.Fatal("checksum not completed to the value a full computation gives")
			}
			if h.Flags != FlagDataValid || h.GSOType != GSOTCPv4 || h.GSOSize != 1448 || h.HdrLen != 54 {
				t.Fatalf("header after Complete: %+v", h)
			}
		})
	}
}

func TestCompleteWritesZeroAsFFFF(t *testing.T) {
	// Find a UDP payload whose checksum computes to 0: Complete must store 0xFFFF (0 means
	// "no checksum" for UDP over IPv4 and is invalid over IPv6).
	f := packettest.Frame{Src: netip.MustParseAddrPort("10.1.1.1:53"), Dst: netip.MustParseAddrPort("10.1.1.2:5353"),
		Proto: 17, Payload: make([]byte, 8)}
	for w := 0; w < 1<<16; w++ {
		binary.BigEndian.PutUint16(f.Payload, uint16(w))
		frame := f.Build()
		h := partial(t, frame)
		seg := frame[h.CsumStart:]
		if ^packet.Checksum(seg, 0) != 0 {
			continue
		}
		if !Complete(frame, &h) || binary.BigEndian.Uint16(seg[6:]) != 0xFFFF || !valid(frame) {
			t.Fatalf("checksum field %#04x, want 0xffff", binary.BigEndian.Uint16(seg[6:]))
		}
		return
	}
	t.Fatal("no payload word gives a zero checksum")
}

func TestCompleteRejectsBadOffsetsAndIgnoresFullChecksums(t *testing.T) {
	frame := make([]byte, 60)
	for _, h := range []Hdr{
		{Flags: FlagNeedsCsum, CsumStart: 60, CsumOffset: 0},
		{Flags: FlagNeedsCsum, CsumStart: 34, CsumOffset: 25},
		{Flags: FlagNeedsCsum, CsumStart: 0xFFFF, CsumOffset: 0xFFFF},
	} {
		h0 := h
		if Complete(frame, &h) || h != h0 || !bytes.Equal(frame, make([]byte, 60)) {
			t.Fatalf("Complete accepted %+v", h0)
		}
	}
	h := Hdr{Flags: FlagDataValid, CsumStart: 100}
	if !Complete(frame, &h) || h.Flags != FlagDataValid {
		t.Fatal("Complete touched a header without NEEDS_CSUM")
	}
}

func TestShiftForVLAN(t *testing.T) {
	h := Hdr{Flags: FlagNeedsCsum, GSOType: GSOTCPv4, HdrLen: 54, CsumStart: 34, CsumOffset: 16}
	h.ShiftForVLAN()
	if h.CsumStart != 38 || h.HdrLen != 58 || h.CsumOffset != 16 {
		t.Fatalf("%+v", h)
	}
	h = Hdr{}
	h.ShiftForVLAN()
	if h != (Hdr{}) {
		t.Fatalf("a header without offsets moved: %+v", h)
	}
}

func TestCompleteDoesNotAllocate(t *testing.T) {
	f := packettest.Frame{Src: netip.MustParseAddrPort("10.0.0.1:1"), Dst: netip.MustParseAddrPort("10.0.0.2:2"), Proto: 6, Payload: make([]byte, 1400)}
	frame := f.Build()
	h0 := partial(t, frame)
	var b [Len]byte
	if n := testing.AllocsPerRun(100, func() {
		h := h0
		h.Encode(b[:])
		h = Decode(b[:])
		Complete(frame, &h)
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}
