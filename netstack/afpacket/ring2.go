//go:build linux

package afpacket

import (
	"sync/atomic"
	"unsafe"

	"github.com/uvs-lb/uvs/netstack/afpacket/vnet"
	"golang.org/x/sys/unix"
)

// Layout of the TPACKET_V2 receive ring (linux/if_packet.h). The ring is NumBlocks blocks of
// BlockSize bytes, each cut into BlockSize/FrameSize slots of FrameSize bytes (the tail of a
// block stays unused): slot i is at block i/perBlock, offset (i%perBlock)*FrameSize. A slot
// starts with a struct tpacket2_hdr (tp_status, tp_len, tp_snaplen, tp_mac, tp_net, the
// timestamp, tp_vlan_tci, tp_vlan_tpid: 32 bytes) and a struct sockaddr_ll; tpacket_rcv puts
// the frame at
//
//	tp_net = TPACKET_ALIGN(TPACKET2_HDRLEN + max(16, maclen)) (+ 10 with PACKET_VNET_HDR)
//	tp_mac = tp_net - maclen
//
// where TPACKET2_HDRLEN = 32 + 20: tp_mac is 66 for an untagged Ethernet frame, 76 with
// PACKET_VNET_HDR, whose virtio_net_hdr sits right before the Ethernet header, at tp_mac - 10,
// as in V3. tp_status is TP_STATUS_KERNEL while the slot is free or being filled and
// TP_STATUS_USER once it holds a frame; user space hands it back by storing TP_STATUS_KERNEL.
// The kernel fills slots in ring order and wakes poll(2) after each one.
//
// A frame longer than a slot (a GSO super-frame, or any frame after the MTU was raised) does
// not fit: with PACKET_COPY_THRESH set and room in the socket's receive buffer (SO_RCVBUF),
// the kernel queues the whole frame on the socket and marks its slot, which holds a truncated
// copy, TP_STATUS_COPY. Slot and queue entry are made under the same lock, so the head of the
// queue is always the frame of the oldest TP_STATUS_COPY slot not yet read. Without room in
// the receive buffer the slot holds the truncated copy alone (tp_snaplen < tp_len).
const (
	tpacket2Len = int(unsafe.Sizeof(unix.Tpacket2Hdr{})) // 32
	// v2HdrRoom bounds tp_net, the slot bytes in front of a frame's network header, for link
	// headers of up to 44 bytes with the virtio header (96 + 10): a slot of v2HdrRoom + MTU
	// bytes holds every frame of MTU-sized packets.
	v2HdrRoom = 112
)

// v2FrameSize is the default slot size for an interface's MTU.
func v2FrameSize(mtu int) int {
	return (v2HdrRoom + mtu + unix.TPACKET_ALIGNMENT - 1) &^ (unix.TPACKET_ALIGNMENT - 1)
}

// ringV2 walks a TPACKET_V2 receive ring. Apart from recv it does no system calls, so tests
// drive it over a synthetic ring in ordinary memory. Only one goroutine uses it at a time
// (Port.Read holds rmu).
type ringV2 struct {
	mem       []byte // the mmap'ed ring: nblocks*blockSize bytes
	blockSize int
	frameSize int
	perBlock  int // slots per block
	nframes   int // slots in the ring
	vnetHdr   bool

	// recv takes the frame of a TP_STATUS_COPY slot from the socket's queue: its virtio header
	// into vh (with vnetHdr) and the frame into frame. It returns the frame's whole length,
	// more than len(frame) when the frame did not fit; ok is false when the queue held none.
	recv func(vh, frame []byte) (n int, ok bool)

	cur int            // the next slot to look at
	vh  [vnet.Len]byte // the virtio header of a queued frame
}

func newRingV2(mem []byte, blockSize, frameSize, nblocks int, vnetHdr bool) *ringV2 {
	per := blockSize / frameSize
	return &ringV2{mem: mem, blockSize: blockSize, frameSize: frameSize, perBlock: per, nframes: per * nblocks, vnetHdr: vnetHdr}
}

// slot returns the bytes of slot i.
func (r *ringV2) slot(i int) []byte {
	off := i/r.perBlock*r.blockSize + i%r.perBlock*r.frameSize
	return r.mem[off : off+r.frameSize : off+r.frameSize]
}

func (r *ringV2) hdr(slot []byte) *unix.Tpacket2Hdr {
	return (*unix.Tpacket2Hdr)(unsafe.Pointer(&slot[0]))
}

// read copies up to len(bufs) waiting frames into bufs[i][offset:], as Port.Read does, and
// returns how many; it hands each slot back to the kernel as soon as it is copied, and never
// blocks. Drops, counters, VLAN tags and virtio headers are as in ringV3.read; frames of
// TP_STATUS_COPY slots are taken whole from the socket queue (recv) straight into bufs.
func (r *ringV2) read(bufs [][]byte, sizes []int, offset int, c *rxCounters) int {
	n := 0
	for n < len(bufs) {
		slot := r.slot(r.cur)
		h := r.hdr(slot)
		// The load is atomic (an acquire barrier): tpacket_rcv writes the frame, then (smp_mb)
		// the status.
		st := atomic.LoadUint32(&h.Status)
		if st&unix.TP_STATUS_USER == 0 {
			break
		}
		if size, ok := r.frame(slot, h, st, bufs[n], offset, c); ok {
			sizes[n] = size
			n++
		}
		// A release store: the kernel must not see the slot free before we are done with it.
		atomic.StoreUint32(&h.Status, unix.TP_STATUS_KERNEL)
		if r.cur++; r.cur == r.nframes {
			r.cur = 0
		}
	}
	return n
}

// frame delivers the frame of one TP_STATUS_USER slot into buf[offset:] and returns its size;
// ok is false when it was dropped (and counted).
func (r *ringV2) frame(slot []byte, h *unix.Tpacket2Hdr, st uint32, buf []byte, offset int, c *rxCounters) (size int, ok bool) {
	tagged := st&unix.TP_STATUS_VLAN_VALID != 0
	tpid, tci := vlanTPID(st, h.Vlan_tpid), h.Vlan_tci
	if st&unix.TP_STATUS_COPY != 0 {
		return r.queued(st, tagged, tpid, tci, buf, offset, c)
	}
	mac, snap := int(h.Mac), int(h.Snaplen)
	hdrOff := mac
	if r.vnetHdr {
		hdrOff -= vnet.Len
	}
	if hdrOff < tpacket2Len || mac+snap > len(slot) || snap < 14 {
		c.malformed++
		return 0, false
	}
	if snap < int(h.Len) {
		c.truncated++
		return 0, false
	}
	size = snap
	if tagged {
		size += vlanTagLen
	}
	if offset+size > len(buf) {
		c.oversize++
		return 0, false
	}
	copyFrame(buf[offset:offset+size], slot[mac:mac+snap], tagged, tpid, tci)
	if !finish(buf, offset, size, r.vnetHdr, slot[hdrOff:mac], tagged, st, c) {
		return 0, false
	}
	return size, true
}

// queued takes the frame of a TP_STATUS_COPY slot from the socket queue, whatever else
// happens to it (an entry left behind would be handed to the next such slot), straight into
// buf: at buf[offset+vlanTagLen:] when a stripped tag is to be put back, after which the MAC
// addresses move down and the tag goes between them and the rest.
func (r *ringV2) queued(st uint32, tagged bool, tpid, tci uint16, buf []byte, offset int, c *rxCounters) (int, bool) {
	c.queued++
	shift := 0
	if tagged {
		shift = vlanTagLen
	}
	var dst, vh []byte
	if offset+shift < len(buf) {
		dst = buf[offset+shift:]
	}
	if r.vnetHdr {
		vh = r.vh[:]
	}
	if r.recv == nil {
		c.malformed++
		return 0, false
	}
	n, ok := r.recv(vh, dst)
	switch {
	case !ok || n < 14:
		c.malformed++
		return 0, false
	case n > len(dst):
		c.oversize++
		return 0, false
	}
	size := n + shift
	if tagged {
		copy(buf[offset:offset+12], buf[offset+shift:offset+shift+12])
		putTag(buf[offset:], tpid, tci)
	}
	if !finish(buf, offset, size, r.vnetHdr, r.vh[:], tagged, st, c) {
		return 0, false
	}
	return size, true
}
