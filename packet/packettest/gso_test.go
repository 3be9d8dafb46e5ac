package packettest_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/uvs-lb/uvs/packet"
	"github.com/uvs-lb/uvs/packet/packettest"
)

// TestSegmentAgainstPacketTest checks packet.SegmentTCP and SegmentUDP against this package's
// independent builders: every segment of a super-frame built by Frame.Build must be, byte for
// byte, the frame Frame.Build makes of that segment's payload, sequence number and flags (with
// the IPv4 ID counted up from the super-frame's 0), and VerifyChecksums must accept it.
// (Package packet's own tests may not import this package: they are standard library only.)
func TestSegmentAgainstPacketTest(t *testing.T) {
	addrs := []struct{ src, dst netip.AddrPort }{
		{netip.MustParseAddrPort("198.51.100.7:40000"), netip.MustParseAddrPort("192.0.2.10:443")},
		{netip.MustParseAddrPort("[2001:db8:1::7]:40000"), netip.MustParseAddrPort("[2001:db8:2::10]:443")},
	}
	payload := make([]byte, 65000)
	for i := range payload {
		payload[i] = byte(i*13 + i>>8)
	}
	for _, a := range addrs {
		for _, vlan := range []uint16{0, 42} {
			for _, proto := range []uint8{6, 17} {
				for _, c := range []struct{ n, mss int }{{0, 1448}, {1, 1448}, {1448, 1448}, {1449, 1448}, {4344, 1448}, {65000, 1448}, {65000 - 1, 1000}, {101, 7}} {
					f := packettest.Frame{
						SrcMAC: [6]byte{2, 0, 0, 0, 0, 1}, DstMAC: [6]byte{2, 0, 0, 0, 0, 2},
						VLAN: vlan, Src: a.src, Dst: a.dst, Proto: proto,
						TCPFlags: packet.TCPAck | packet.TCPCwr | packet.TCPPsh | packet.TCPFin,
						Seq:      0xFFFFF000, Ack: 77, Payload: payload[:c.n], ZeroUDPChecksum: true,
					}
					checkAgainst(t, f, c.mss)
				}
			}
		}
	}
}

func checkAgainst(t *testing.T, f packettest.Frame, mss int) {
	t.Helper()
	super := f.Build()
	var p packet.Packet
	if err := packet.Parse(super, &p); err != nil {
		t.Fatal(err)
	}
	// The super-frame's L4 checksum is not to be trusted: make it wrong.
	ck := p.L4Off + 16
	if f.Proto == 17 {
		ck = p.L4Off + 6
	}
	binary.BigEndian.PutUint16(super[ck:], 0xBAD)

	n := packet.SegmentCount(&p, mss)
	out := make([][]byte, n)
	for i := range out {
		out[i] = make([]byte, 4+p.PayloadOff+mss)
	}
	sizes := make([]int, n)
	seg := packet.SegmentTCP
	if f.Proto == 17 {
		seg = packet.SegmentUDP
	}
	got, err := seg(super, &p, mss, out, 4, sizes)
	if err != nil || got != n {
		t.Fatalf("%v %v: n %d, want %d, err %v", f.Src, f.Proto, got, n, err)
	}
	for i := range n {
		b := out[i][4 : 4+sizes[i]]
		pos := i * mss
		g := f
		g.Payload = f.Payload[pos:min(pos+mss, len(f.Payload))]
		g.Seq = f.Seq + uint32(pos)
		g.ZeroUDPChecksum = false
		if i > 0 {
			g.TCPFlags &^= packet.TCPCwr
		}
		if i < n-1 {
			g.TCPFlags &^= packet.TCPPsh | packet.TCPFin
		}
		want := g.Build()
		if f.Src.Addr().Is4() {
			ip := want[p.L3Off:]
			binary.BigEndian.PutUint16(ip[4:], uint16(i))
			binary.BigEndian.PutUint16(ip[10:], 0)
			binary.BigEndian.PutUint16(ip[10:], packettest.Checksum(ip[:20], 0))
		}
		if !bytes.Equal(b, want) {
			t.Fatalf("%v proto %d vlan %d mss %d: segment %d of %d\n got % x\nwant % x", f.Src, f.Proto, f.VLAN, mss, i, n, b, want)
		}
		untagged := b
		if f.VLAN != 0 {
			untagged = append(append([]byte(nil), b[:12]...), b[16:]...)
		}
		if !packettest.VerifyChecksums(untagged) {
			t.Fatalf("segment %d: VerifyChecksums false", i)
		}
	}
}
