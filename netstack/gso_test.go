package netstack

import (
	"bytes"
	"testing"

	"github.com/uvs-lb/uvs/netstack/afpacket/vnet"
	"github.com/uvs-lb/uvs/packet"
	"github.com/uvs-lb/uvs/packet/packettest"
)

// superFrame builds a TCP GSO super-frame of payload bytes as a kernel peer with TSO sends
// it: one frame, its virtio-net header asking for segments of mss bytes and a partial
// checksum (the field holds the pseudo-header sum only, so it is wrong as a full one).
func superFrame(t *testing.T, src, dst [6]byte, f packettest.Frame, payload []byte, mss int) (frame, hdr []byte) {
	t.Helper()
	f.SrcMAC, f.DstMAC, f.Payload = src, dst, payload
	frame = f.Build()
	var p packet.Packet
	if err := packet.Parse(frame, &p); err != nil {
		t.Fatal(err)
	}
	frame[p.L4Off+16], frame[p.L4Off+17] = 0x12, 0x34 // not a valid checksum: must be recomputed
	h := vnet.Hdr{Flags: vnet.FlagNeedsCsum, GSOType: vnet.GSOTCPv4, GSOSize: uint16(mss),
		HdrLen: uint16(p.PayloadOff), CsumStart: uint16(p.L4Off), CsumOffset: 16}
	if p.Key.Family == packet.FamilyIPv6 {
		h.GSOType = vnet.GSOTCPv6
	}
	hdr = make([]byte, vnet.Len)
	h.Encode(hdr)
	return frame, hdr
}

// TestGSOSuperFrameSegmentedForPlainPort: a super-frame from a port with virtio-net headers,
// NATed to a port without, reaches the real server as MTU-sized segments with full
// checksums and the whole payload in order.
func TestGSOSuperFrameSegmentedForPlainPort(t *testing.T) {
	r := newRawRigVNet(t, natConfig(rsAddrs[:1]), true)
	resolve(t, r.host, 1, rawServer.Addr())
	resolve(t, r.host, 0, rawClient.Addr())
	r.client.send(t, tcpFrame(macClient, macLB0, rawClient, rawVIP, packet.TCPSyn).Build())
	r.server.expect(t, "the SYN", isTCP(rawClient, rawServer))

	payload := make([]byte, 5000)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	seg := tcpFrame(macClient, macLB0, rawClient, rawVIP, packet.TCPAck|packet.TCPPsh)
	frame, hdr := superFrame(t, macClient, macLB0, seg, payload, 1448)
	if err := r.client.write(frame, hdr); err != nil {
		t.Fatal(err)
	}
	var got []byte
	for i := 0; len(got) < len(payload); i++ {
		f, p := r.server.expect(t, "a segment", isTCP(rawClient, rawServer))
		if p.IPLen > 1500 || !packettest.VerifyChecksums(f) {
			t.Fatalf("segment %d: IP length %d, checksums right: %v", i, p.IPLen, packettest.VerifyChecksums(f))
		}
		if last := len(got)+p.L3End()-p.PayloadOff == len(payload); (p.TCPFlags&packet.TCPPsh != 0) != last {
			t.Errorf("segment %d: PSH %v, last %v", i, p.TCPFlags&packet.TCPPsh != 0, last)
		}
		got = append(got, f[p.PayloadOff:p.L3End()]...)
	}
	if !bytes.Equal(got, payload) {
		t.Fatal("the segments do not carry the payload in order")
	}
	s := waitStats(t, r.dp, "one super-frame segmented", func(s Stats) bool { return s.Ports[0].Segmented == 1 })
	if s.Ports[0].Forwarded != 2 || s.Ports[0].Dropped != 0 {
		t.Errorf("client port %+v (want the SYN and the super-frame forwarded)", s.Ports[0])
	}
}
