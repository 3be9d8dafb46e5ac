//go:build linux

package afpacket

import (
	"bytes"
	"sync/atomic"
	"testing"

	"github.com/uvs-lb/uvs/netstack/afpacket/vnet"
	"github.com/uvs-lb/uvs/packet"
	"golang.org/x/sys/unix"
)

// synthQueue stands in for the socket's receive queue behind a synthetic V2 ring: the frames
// longer than a slot, in order, in a fixed circular buffer (so that tests of allocations see
// none of its own).
type synthQueue struct {
	head int // the next slot fill writes
	q    [64]synthFrame
	r, n int // first queued frame, number queued
}

// newSynthRingV2 makes a V2 ring of nblocks blocks in ordinary memory with the default slot
// size for a 1500-byte MTU, and the queue its recv takes frames longer than a slot from.
func newSynthRingV2(nblocks, blockSize int, vnetHdr bool) (*ringV2, *synthQueue) {
	r := newRingV2(make([]byte, nblocks*blockSize), blockSize, v2FrameSize(1500), nblocks, vnetHdr)
	q := &synthQueue{}
	r.recv = func(vh, frame []byte) (int, bool) {
		if q.n == 0 {
			return 0, false
		}
		f := q.q[q.r]
		q.q[q.r] = synthFrame{}
		q.r, q.n = (q.r+1)%len(q.q), q.n-1
		if vh != nil {
			f.vh.Encode(vh)
		}
		copy(frame, f.data)
		return len(f.data), true
	}
	return r, q
}

// fill writes f into the next slot with the layout of tpacket_rcv: the Ethernet header at
// tp_mac = TPACKET_ALIGN(52 + 16) - 14 = 66 (+10 with a virtio header, which sits right before
// it). A frame longer than the slot leaves a truncated copy there, marked TP_STATUS_COPY, and
// is queued whole, unless f.noRoom (the receive buffer is full). The slot is handed to user
// space (TP_STATUS_USER) last.
func (q *synthQueue) fill(t *testing.T, r *ringV2, f synthFrame) {
	t.Helper()
	slot := r.slot(q.head)
	h := r.hdr(slot)
	if atomic.LoadUint32(&h.Status) != unix.TP_STATUS_KERNEL {
		t.Fatalf("slot %d is still with user space: the ring is full", q.head)
	}
	clear(slot)
	mac := 80 - 14
	if r.vnetHdr {
		mac += vnet.Len
	}
	st := unix.TP_STATUS_USER | f.status
	snap := len(f.data)
	if mac+snap > len(slot) {
		snap = len(slot) - mac
		if !f.noRoom {
			if q.n == len(q.q) {
				t.Fatal("synthetic socket queue full")
			}
			st |= unix.TP_STATUS_COPY
			q.q[(q.r+q.n)%len(q.q)] = f
			q.n++
		}
	}
	h.Len, h.Snaplen = uint32(max(len(f.data), f.wireLen)), uint32(snap)
	h.Mac, h.Net = uint16(mac), uint16(mac+14)
	h.Vlan_tci, h.Vlan_tpid = f.tci, f.tpid
	copy(slot[mac:], f.data[:snap])
	if r.vnetHdr {
		f.vh.Encode(slot[mac-vnet.Len:])
	}
	atomic.StoreUint32(&h.Status, st)
	q.head = (q.head + 1) % r.nframes
}

func slotStatus(r *ringV2, i int) uint32 { return r.hdr(r.slot(i)).Status }

func TestRingV2WalksSlotsAcrossBlocksAndHandsThemBack(t *testing.T) {
	// Two blocks of 4096 bytes hold two 1616-byte slots each: slot 2 starts the second block
	// (at 4096, not 2 × 1616), the tail of each block is unused.
	r, q := newSynthRingV2(2, 4096, false)
	if r.frameSize != 1616 || r.perBlock != 2 || r.nframes != 4 || &r.slot(2)[0] != &r.mem[4096] {
		t.Fatalf("frame size %d, %d per block, %d slots", r.frameSize, r.perBlock, r.nframes)
	}
	bufs, sizes := mkBufs(2, 1600)
	var c rxCounters
	want := func(n int, seqs ...byte) {
		t.Helper()
		if n != len(seqs) {
			t.Fatalf("read %d frames, want %d", n, len(seqs))
		}
		for i, s := range seqs {
			if !bytes.Equal(bufs[i][:sizes[i]], eth(s, 60+int(s))) {
				t.Fatalf("frame %d: % x, want frame %d", i, bufs[i][:sizes[i]], s)
			}
		}
	}
	for i := range 3 {
		q.fill(t, r, synthFrame{data: eth(byte(i), 60+i)})
	}
	want(r.read(bufs, sizes, 0, &c), 0, 1)
	if slotStatus(r, 0) != unix.TP_STATUS_KERNEL || slotStatus(r, 1) != unix.TP_STATUS_KERNEL || slotStatus(r, 2)&unix.TP_STATUS_USER == 0 {
		t.Fatalf("slot status %d %d %d: each slot goes back once copied, and no other", slotStatus(r, 0), slotStatus(r, 1), slotStatus(r, 2))
	}
	// Wrap around: slots 3, 0, 1.
	for i := 3; i < 6; i++ {
		q.fill(t, r, synthFrame{data: eth(byte(i), 60+i)})
	}
	want(r.read(bufs, sizes, 0, &c), 2, 3)
	want(r.read(bufs, sizes, 0, &c), 4, 5)
	want(r.read(bufs, sizes, 0, &c))
	if r.cur != 2 {
		t.Fatalf("cur %d", r.cur)
	}
	// The kernel fills slots in order but may finish them out of order (two CPUs): a slot
	// still being written stops the walk even when the next one is ready.
	q.head = 3
	q.fill(t, r, synthFrame{data: eth(7, 67)})
	want(r.read(bufs, sizes, 0, &c))
	q.head = 2
	q.fill(t, r, synthFrame{data: eth(6, 66)})
	want(r.read(bufs, sizes, 0, &c), 6, 7)
	if c != (rxCounters{}) {
		t.Fatalf("counters %+v", c)
	}
}

// TestRingV2QueuedFrames: frames longer than a slot come whole from the socket queue, in
// order, with their virtio header and a stripped tag put back; one longer than the caller's
// buffer is still taken off the queue, so the next such slot gets its own frame.
func TestRingV2QueuedFrames(t *testing.T) {
	r, q := newSynthRingV2(2, 64<<10, true)
	gso, gh := partialFrame(t, 0, 9000)
	big := eth(3, 3000)
	huge := eth(4, 50000)
	q.fill(t, r, synthFrame{data: gso, vh: gh, status: unix.TP_STATUS_VLAN_VALID, tci: 9})
	q.fill(t, r, synthFrame{data: huge, vh: vnet.Hdr{GSOType: vnet.GSOTCPv4, GSOSize: 1000, HdrLen: 54}}) // longer than bufs[1]
	q.fill(t, r, synthFrame{data: big})
	q.fill(t, r, synthFrame{data: eth(5, 5000), noRoom: true}) // the receive buffer was full: truncated
	q.fill(t, r, synthFrame{data: eth(6, 60)})
	bufs, sizes := mkBufs(4, 20000)
	bufs[0] = make([]byte, MaxGSOFrame+16)
	var c rxCounters
	if n := r.read(bufs, sizes, 16, &c); n != 3 {
		t.Fatalf("read %d (%+v)", n, c)
	}
	if c != (rxCounters{queued: 3, oversize: 1, truncated: 1, completed: 1}) {
		t.Fatalf("counters %+v", c)
	}
	f := bufs[0][16 : 16+sizes[0]]
	var p packet.Packet
	if err := packet.Parse(f, &p); err != nil || p.VLAN != 9 || sizes[0] != len(gso)+4 || !validFrame(f) {
		t.Fatalf("GSO frame: %v, vlan %d, size %d of %d, valid %v", err, p.VLAN, sizes[0], len(gso), validFrame(f))
	}
	if h := vnet.Decode(bufs[0][16-vnet.Len : 16]); h.Flags != vnet.FlagDataValid || h.CsumStart != gh.CsumStart+4 || h.HdrLen != gh.HdrLen+4 || h.GSOSize != gh.GSOSize {
		t.Fatalf("GSO frame header %+v (sent %+v)", h, gh)
	}
	if !bytes.Equal(bufs[1][16:16+sizes[1]], big) || !bytes.Equal(bufs[2][16:16+sizes[2]], eth(6, 60)) {
		t.Fatalf("frames 1, 2: sizes %d %d", sizes[1], sizes[2])
	}
	// A TP_STATUS_COPY slot with nothing queued is counted, and handed back.
	q.fill(t, r, synthFrame{data: big})
	q.n, q.r = 0, 0
	q.fill(t, r, synthFrame{data: eth(7, 60)})
	c = rxCounters{}
	if n := r.read(bufs, sizes, 16, &c); n != 1 || c != (rxCounters{queued: 1, malformed: 1}) || bufs[0][16+20] != 7 {
		t.Fatalf("read %d, %+v", n, c)
	}
}

func TestRingV2DropsMalformedSlots(t *testing.T) {
	r, q := newSynthRingV2(1, 8192, true)
	q.fill(t, r, synthFrame{data: eth(1, 60)})
	q.fill(t, r, synthFrame{data: eth(2, 60)})
	q.fill(t, r, synthFrame{data: eth(3, 60)})
	r.hdr(r.slot(0)).Mac = 30                      // the virtio header would overlap tpacket2_hdr
	r.hdr(r.slot(1)).Snaplen = uint32(r.frameSize) // past the end of the slot
	bufs, sizes := mkBufs(4, 2048)
	var c rxCounters
	if n := r.read(bufs, sizes, vnet.Len, &c); n != 1 || c.malformed != 2 || bufs[0][vnet.Len+20] != 3 ||
		slotStatus(r, 0) != unix.TP_STATUS_KERNEL || slotStatus(r, 1) != unix.TP_STATUS_KERNEL {
		t.Fatalf("read %d, %+v", n, c)
	}
}

func TestV2FrameSize(t *testing.T) {
	for _, c := range []struct{ mtu, want int }{{1500, 1616}, {1400, 1520}, {9000, 9120}, {65536, 65648}} {
		if got := v2FrameSize(c.mtu); got != c.want {
			t.Errorf("v2FrameSize(%d) = %d, want %d", c.mtu, got, c.want)
		}
	}
	// tp_net for the largest link header v2HdrRoom allows, with a virtio header.
	if netoff := (52+44+15)&^15 + vnet.Len; netoff > v2HdrRoom {
		t.Fatalf("tp_net %d > %d", netoff, v2HdrRoom)
	}
}
