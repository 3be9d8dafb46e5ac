//go:build linux

package afpacket

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"unsafe"

	"github.com/uvs-lb/uvs/netstack/afpacket/vnet"
	"github.com/uvs-lb/uvs/packet"
	"github.com/uvs-lb/uvs/packet/packettest"
	"golang.org/x/sys/unix"
)

// synthFrame is one frame of a synthetic ring block, as tpacket_rcv would have written it.
type synthFrame struct {
	data    []byte
	status  uint32 // extra tp_status bits
	tci     uint16 // with TP_STATUS_VLAN_VALID
	tpid    uint16 // with TP_STATUS_VLAN_TPID_VALID
	wireLen int    // tp_len when larger than data (a truncated frame)
	vh      vnet.Hdr
	noRoom  bool // V2, a frame longer than a slot: the receive buffer is full, nothing is queued
}

// fillBlock writes frames into block i of r with the layout of tpacket_rcv: frames from
// offset_to_first_pkt = 48, the Ethernet header at tp_mac = TPACKET_ALIGN(68 + 16) - 14 (+10
// with a virtio header, which sits right before it), tp_next_offset = TPACKET_ALIGN(mac+len).
// The block is handed to user space (TP_STATUS_USER) last.
func fillBlock(t *testing.T, r *ringV3, i int, frames []synthFrame) {
	t.Helper()
	blk := r.block(i)
	clear(blk)
	off := blockDescLen
	for k, f := range frames {
		mac := 96 - 14
		if r.vnetHdr {
			mac += vnet.Len
		}
		next := (mac + len(f.data) + 15) &^ 15
		if off+next > len(blk) {
			t.Fatalf("frame %d does not fit the block", k)
		}
		h := (*unix.Tpacket3Hdr)(unsafe.Pointer(&blk[off]))
		if k < len(frames)-1 {
			h.Next_offset = uint32(next)
		}
		h.Snaplen, h.Len = uint32(len(f.data)), uint32(max(len(f.data), f.wireLen))
		h.Status = unix.TP_STATUS_USER | f.status
		h.Mac, h.Net = uint16(mac), uint16(mac+14)
		h.Hv1.Vlan_tci, h.Hv1.Vlan_tpid = uint32(f.tci), f.tpid
		copy(blk[off+mac:], f.data)
		if r.vnetHdr {
			f.vh.Encode(blk[off+mac-vnet.Len:])
		}
		off += next
	}
	b := r.bh1(blk)
	b.Num_pkts = uint32(len(frames))
	b.Offset_to_first_pkt = uint32(blockDescLen)
	b.Blk_len = uint32(off)
	b.Block_status = unix.TP_STATUS_USER
}

func newSynthRing(nblocks, blockSize int, vnetHdr bool) *ringV3 {
	return &ringV3{mem: make([]byte, nblocks*blockSize), blockSize: blockSize, nblocks: nblocks, vnetHdr: vnetHdr}
}

func status(r *ringV3, i int) uint32 { return r.bh1(r.block(i)).Block_status }

func eth(tag byte, n int) []byte {
	f := make([]byte, n)
	copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, tag, 0x88, 0xb5})
	for i := 14; i < n; i++ {
		f[i] = tag
	}
	return f
}

func mkBufs(n, size int) ([][]byte, []int) {
	bufs := make([][]byte, n)
	for i := range bufs {
		bufs[i] = make([]byte, size)
	}
	return bufs, make([]int, n)
}

func TestRingV3WalksBlocksAcrossReadsAndReleasesThem(t *testing.T) {
	r := newSynthRing(3, 4096, false)
	var f0, f1 []synthFrame
	for i := range 5 {
		f0 = append(f0, synthFrame{data: eth(byte(i), 60+i)})
	}
	for i := range 3 {
		f1 = append(f1, synthFrame{data: eth(byte(10+i), 100)})
	}
	fillBlock(t, r, 0, f0)
	fillBlock(t, r, 1, f1)
	bufs, sizes := mkBufs(4, 1600)
	var c rxCounters
	want := append(append([]synthFrame{}, f0...), f1...)
	got := 0
	check := func(n int) {
		for i := 0; i < n; i++ {
			if w := want[got].data; !bytes.Equal(bufs[i][2:2+sizes[i]], w) {
				t.Fatalf("frame %d: got % x, want % x", got, bufs[i][2:2+sizes[i]], w)
			}
			got++
		}
	}
	n := r.read(bufs, sizes, 2, &c)
	if n != 4 || status(r, 0) != unix.TP_STATUS_USER {
		t.Fatalf("first read: %d frames, block 0 status %d (must stay with user space: one frame left)", n, status(r, 0))
	}
	check(n)
	n = r.read(bufs, sizes, 2, &c)
	if n != 4 || status(r, 0) != unix.TP_STATUS_KERNEL || status(r, 1) != unix.TP_STATUS_KERNEL || r.cur != 2 {
		t.Fatalf("second read: %d frames, status %d %d, cur %d", n, status(r, 0), status(r, 1), r.cur)
	}
	check(n)
	if n = r.read(bufs, sizes, 2, &c); n != 0 {
		t.Fatalf("read from a kernel-owned block: %d", n)
	}
	// Wrap around: blocks 2 and 0.
	fillBlock(t, r, 2, []synthFrame{{data: eth(20, 64)}})
	fillBlock(t, r, 0, []synthFrame{{data: eth(21, 64)}, {data: eth(22, 64)}})
	want = []synthFrame{{data: eth(20, 64)}, {data: eth(21, 64)}, {data: eth(22, 64)}}
	got = 0
	if n = r.read(bufs, sizes, 2, &c); n != 3 || r.cur != 1 {
		t.Fatalf("wrap-around read: %d frames, cur %d", n, r.cur)
	}
	check(n)
	if c != (rxCounters{}) {
		t.Fatalf("counters %+v", c)
	}
}

// partialFrame builds a TCP frame whose checksum field holds only the pseudo-header sum, as
// the kernel hands over a CHECKSUM_PARTIAL packet, and the virtio header describing it.
func partialFrame(t *testing.T, vlan uint16, payload int) ([]byte, vnet.Hdr) {
	f := packettest.Frame{SrcMAC: [6]byte{2, 0, 0, 0, 0, 1}, DstMAC: [6]byte{2, 0, 0, 0, 0, 2}, VLAN: vlan,
		Src: netip.MustParseAddrPort("10.1.0.1:40000"), Dst: netip.MustParseAddrPort("10.1.0.2:80"),
		Proto: 6, TCPFlags: packet.TCPAck, Payload: bytes.Repeat([]byte{0x5a, 0xa5, 0x17}, payload/3)}
	b := f.Build()
	var p packet.Packet
	if err := packet.Parse(b, &p); err != nil {
		t.Fatal(err)
	}
	ip := packet.IPv4(b[p.L3Off:])
	seg := b[p.L4Off:p.L3End()]
	binary.BigEndian.PutUint16(seg[16:], packet.PseudoHeaderChecksum4(6, ip.Src(), ip.Dst(), uint16(len(seg))))
	if packet.ChecksumsValid(b, &p) {
		t.Fatal("partial checksum verifies")
	}
	h := vnet.Hdr{Flags: vnet.FlagNeedsCsum, CsumStart: uint16(p.L4Off), CsumOffset: 16}
	if payload > 1448 {
		h.GSOType, h.GSOSize, h.HdrLen = vnet.GSOTCPv4, 1448, uint16(p.L4Off+20)
	}
	return b, h
}

func validFrame(b []byte) bool {
	var p packet.Packet
	return packet.Parse(b, &p) == nil && packet.ChecksumsValid(b, &p)
}

// ringVersions are the receive rings every test runs over.
var ringVersions = []RingVersion{RingV2, RingV3}

// eachRing runs f as a subtest for each ring version.
func eachRing(t *testing.T, f func(t *testing.T, v RingVersion)) {
	for _, v := range ringVersions {
		t.Run(string(v), func(t *testing.T) { f(t, v) })
	}
}

// synth is a receive ring of either version in ordinary memory; fill hands it frames as
// tpacket_rcv would: a block of them (V3), or one slot each (V2, with frames longer than a
// slot queued for recv).
type synth struct {
	rxRing
	fill func(t *testing.T, frames []synthFrame)
}

func newSynth(v RingVersion, nblocks, blockSize int, vnetHdr bool) synth {
	if v == RingV3 {
		r := newSynthRing(nblocks, blockSize, vnetHdr)
		next := 0
		return synth{r, func(t *testing.T, frames []synthFrame) {
			t.Helper()
			fillBlock(t, r, next, frames)
			next = (next + 1) % nblocks
		}}
	}
	r, q := newSynthRingV2(nblocks, blockSize, vnetHdr)
	return synth{r, func(t *testing.T, frames []synthFrame) {
		t.Helper()
		for _, f := range frames {
			q.fill(t, r, f)
		}
	}}
}

func TestRingReinsertsVLANTags(t *testing.T) {
	eachRing(t, func(t *testing.T, v RingVersion) {
		r := newSynth(v, 1, 4096, false)
		inner := eth(1, 60)
		r.fill(t, []synthFrame{
			{data: inner, status: unix.TP_STATUS_VLAN_VALID | unix.TP_STATUS_VLAN_TPID_VALID, tci: 0x2123, tpid: 0x88a8},
			{data: inner, status: unix.TP_STATUS_VLAN_VALID, tci: 7},
		})
		bufs, sizes := mkBufs(2, 1600)
		var c rxCounters
		if n := r.read(bufs, sizes, 0, &c); n != 2 {
			t.Fatalf("read %d", n)
		}
		for i, tag := range [][]byte{{0x88, 0xa8, 0x21, 0x23}, {0x81, 0x00, 0x00, 0x07}} {
			w := append(append(append([]byte{}, inner[:12]...), tag...), inner[12:]...)
			if !bytes.Equal(bufs[i][:sizes[i]], w) {
				t.Fatalf("frame %d: % x, want % x", i, bufs[i][:sizes[i]], w)
			}
		}
	})
}

func TestRingVNetHeaderAndChecksumCompletion(t *testing.T) {
	eachRing(t, func(t *testing.T, v RingVersion) {
		r := newSynth(v, 1, 128<<10, true)
		plain, ph := partialFrame(t, 0, 300)
		gso, gh := partialFrame(t, 0, 30000) // V2: longer than a slot, taken from the socket queue
		// The kernel strips the tag into tp_vlan_tci, and the virtio header's offsets are
		// relative to the untagged frame; Read puts the tag back and shifts them.
		tagged, th := partialFrame(t, 0, 90)
		full := packettest.Frame{Src: netip.MustParseAddrPort("10.1.0.1:1"), Dst: netip.MustParseAddrPort("10.1.0.2:2"), Proto: 17, Payload: []byte("complete")}.Build()
		r.fill(t, []synthFrame{
			{data: plain, vh: ph},
			{data: gso, vh: gh},
			{data: tagged, vh: th, status: unix.TP_STATUS_VLAN_VALID, tci: 5},
			{data: full, vh: vnet.Hdr{Flags: vnet.FlagDataValid}},
		})
		bufs, sizes := mkBufs(4, MaxGSOFrame+16)
		var c rxCounters
		if n := r.read(bufs, sizes, 16, &c); n != 4 {
			t.Fatalf("read %d (%+v)", n, c)
		}
		for i := range 4 {
			fr := bufs[i][16 : 16+sizes[i]]
			h := vnet.Decode(bufs[i][16-vnet.Len : 16])
			if !validFrame(fr) {
				t.Errorf("frame %d: checksums do not verify", i)
			}
			if h.Flags != vnet.FlagDataValid {
				t.Errorf("frame %d: flags %#x, want DATA_VALID only", i, h.Flags)
			}
			switch i {
			case 1:
				if h.GSOType != vnet.GSOTCPv4 || h.GSOSize != 1448 || sizes[i] != len(gso) {
					t.Errorf("GSO frame: header %+v, size %d", h, sizes[i])
				}
			case 2:
				var p packet.Packet
				packet.Parse(fr, &p)
				if p.VLAN != 5 || h.CsumStart != th.CsumStart+4 {
					t.Errorf("tagged frame: vlan %d, csum_start %d", p.VLAN, h.CsumStart)
				}
			}
		}
		want := rxCounters{completed: 3}
		if v == RingV2 {
			want.queued = 1
		}
		if c != want {
			t.Fatalf("counters %+v, want %+v", c, want)
		}
	})
}

func TestRingDropsAndCountsUndeliverableFrames(t *testing.T) {
	eachRing(t, func(t *testing.T, v RingVersion) {
		r := newSynth(v, 2, 8192, false)
		r.fill(t, []synthFrame{
			{data: eth(1, 1000)},                                     // longer than the buffer below
			{data: eth(2, 100), wireLen: 5000},                       // truncated by the ring
			{data: eth(3, 10)},                                       // shorter than an Ethernet header
			{data: eth(4, 100), status: unix.TP_STATUS_CSUMNOTREADY}, // delivered, counted
			{data: eth(5, 100)},
		})
		bufs, sizes := mkBufs(4, 500)
		var c rxCounters
		n := r.read(bufs, sizes, 0, &c)
		if n != 2 || bufs[0][20] != 4 || bufs[1][20] != 5 {
			t.Fatalf("read %d frames", n)
		}
		if c != (rxCounters{oversize: 1, truncated: 1, malformed: 1, partialCsum: 1}) {
			t.Fatalf("counters %+v", c)
		}
		// A virtio header whose checksum offsets point outside the frame.
		r = newSynth(v, 1, 8192, true)
		r.fill(t, []synthFrame{{data: eth(8, 60), vh: vnet.Hdr{Flags: vnet.FlagNeedsCsum, CsumStart: 50, CsumOffset: 16}}})
		c = rxCounters{}
		if n = r.read(bufs, sizes, vnet.Len, &c); n != 0 || c.badVNet != 1 {
			t.Fatalf("bad virtio header: %d frames, %+v", n, c)
		}
	})
}

func TestRingV3DropsMalformedBlocks(t *testing.T) {
	// A block whose first-frame offset points past its end is dropped whole, and released.
	r := newSynthRing(2, 8192, false)
	fillBlock(t, r, 0, []synthFrame{{data: eth(6, 60)}, {data: eth(7, 60)}})
	r.bh1(r.block(0)).Offset_to_first_pkt = 9000
	bufs, sizes := mkBufs(4, 500)
	var c rxCounters
	if n := r.read(bufs, sizes, 0, &c); n != 0 || c.malformed != 2 || status(r, 0) != unix.TP_STATUS_KERNEL {
		t.Fatalf("bad block: %d frames, %+v, status %d", n, c, status(r, 0))
	}
}

func TestRingReadDoesNotAllocate(t *testing.T) {
	eachRing(t, func(t *testing.T, v RingVersion) {
		r := newSynth(v, 2, 64<<10, true)
		b, h := partialFrame(t, 0, 1200)
		frames := make([]synthFrame, 32)
		for i := range frames {
			frames[i] = synthFrame{data: b, vh: h}
		}
		bufs, sizes := mkBufs(64, 2048)
		if v == RingV2 {
			// Two GSO super-frames per batch, taken from the socket queue.
			g, gh := partialFrame(t, 0, 20000)
			for _, i := range []int{5, 20} {
				frames[i] = synthFrame{data: g, vh: gh}
				bufs[i] = make([]byte, MaxGSOFrame+vnet.Len)
			}
		}
		var c rxCounters
		allocs := testing.AllocsPerRun(100, func() {
			r.fill(t, frames)
			if n := r.read(bufs, sizes, vnet.Len, &c); n != 32 {
				t.Fatalf("read %d (%+v)", n, c)
			}
		})
		if allocs != 0 {
			t.Fatalf("%v allocations per Read", allocs)
		}
		if c.badVNet != 0 || c.malformed != 0 || c.completed != 101*32 {
			t.Fatalf("counters %+v", c)
		}
	})
}
