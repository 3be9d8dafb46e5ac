//go:build linux

package afpacket

import (
	"sync/atomic"
	"unsafe"

	"github.com/uvs-lb/uvs/netstack/afpacket/vnet"
	"golang.org/x/sys/unix"
)

// rxRing is a receive ring as Port.Read uses it: ringV2 (TPACKET_V2, one slot per frame) or
// ringV3 (TPACKET_V3, blocks of variable-size frames). read copies up to len(bufs) waiting
// frames into bufs[i][offset:], sets sizes[i], and returns how many; it never blocks.
type rxRing interface {
	read(bufs [][]byte, sizes []int, offset int, c *rxCounters) int
}

// rxCounters are the receive-side drops and fix-ups of one Read, added to the port's atomics
// once per batch.
type rxCounters struct {
	oversize, truncated, malformed, partialCsum, completed, badVNet, queued uint64
	syn                                                                     uint64 // frames read from the SYN ring
}

const vlanTagLen = 4

// putTag writes the 802.1Q tag tpid/tci at frame[12:16].
func putTag(frame []byte, tpid, tci uint16) {
	frame[12], frame[13] = byte(tpid>>8), byte(tpid)
	frame[14], frame[15] = byte(tci>>8), byte(tci)
}

// vlanTPID is the TPID of a tag the driver stripped: the kernel's when it says, else 802.1Q.
func vlanTPID(status uint32, tpid uint16) uint16 {
	if status&unix.TP_STATUS_VLAN_TPID_VALID != 0 {
		return tpid
	}
	return 0x8100
}

// copyFrame copies src into dst, putting back between the MAC addresses and the rest the VLAN
// tag the driver stripped when tagged (dst is then len(src)+vlanTagLen bytes).
func copyFrame(dst, src []byte, tagged bool, tpid, tci uint16) {
	if !tagged {
		copy(dst, src)
		return
	}
	copy(dst, src[:12])
	putTag(dst, tpid, tci)
	copy(dst[16:], src[12:])
}

// finish does what every delivered frame needs once its bytes are in buf[offset:offset+size]:
// with vnetHdr, the frame's virtio header vh (as the kernel wrote it, its offsets relative to
// the untagged frame) is shifted for a re-inserted tag, a partial checksum is completed, and
// the header is stored in buf[offset-vnet.Len:offset]; without, a partial checksum is counted.
// It returns false when the frame must be dropped (a virtio header that does not fit it).
func finish(buf []byte, offset, size int, vnetHdr bool, vh []byte, tagged bool, status uint32, c *rxCounters) bool {
	if !vnetHdr {
		if status&unix.TP_STATUS_CSUMNOTREADY != 0 {
			c.partialCsum++
		}
		return true
	}
	h := vnet.Decode(vh)
	if tagged {
		h.ShiftForVLAN()
	}
	if h.Flags&vnet.FlagNeedsCsum != 0 {
		if !vnet.Complete(buf[offset:offset+size], &h) {
			c.badVNet++
			return false
		}
		c.completed++
	}
	h.Encode(buf[offset-vnet.Len : offset])
	return true
}

// Layout of the TPACKET_V3 receive ring (linux/if_packet.h). The ring is NumBlocks blocks of
// BlockSize bytes. Each block starts with a struct tpacket_block_desc whose hdr.bh1 says who
// owns the block (block_status: TP_STATUS_KERNEL while the kernel fills it, TP_STATUS_USER once
// it is retired, full or timed out), how many frames it holds and where the first one is. Each
// frame is a struct tpacket3_hdr (tp_next_offset to the next frame, tp_snaplen/tp_len, tp_status,
// tp_mac: offset of the Ethernet header from the frame start, hv1: the VLAN tag the driver
// stripped), then, with PACKET_VNET_HDR, the virtio_net_hdr right before the Ethernet header.
const (
	blockDescLen  = int(unsafe.Sizeof(unix.TpacketBlockDesc{})) // 48
	bh1Off        = 8                                           // offset of hdr.bh1 in the descriptor
	tpacket3Len   = int(unsafe.Sizeof(unix.Tpacket3Hdr{}))      // 48
	sockaddrLLLen = int(unsafe.Sizeof(unix.RawSockaddrLinklayer{}))
)

// ringV3 walks a TPACKET_V3 receive ring. It does no system calls, so tests drive it over a
// synthetic ring in ordinary memory. Only one goroutine uses it at a time (Port.Read holds rmu).
type ringV3 struct {
	mem       []byte // the mmap'ed ring: nblocks*blockSize bytes
	blockSize int
	nblocks   int
	vnetHdr   bool // frames are preceded by a virtio_net_hdr (PACKET_VNET_HDR)

	cur   int  // block being read, or the next one to look at
	taken bool // block cur is TP_STATUS_USER and being read
	left  int  // frames of block cur not yet read
	off   int  // offset in block cur of the next frame
}

func (r *ringV3) block(i int) []byte { return r.mem[i*r.blockSize : (i+1)*r.blockSize] }

// bh1 returns the block's struct tpacket_hdr_v1.
func (r *ringV3) bh1(blk []byte) *unix.TpacketHdrV1 {
	return (*unix.TpacketHdrV1)(unsafe.Pointer(&blk[bh1Off]))
}

// release hands block cur back to the kernel and moves on to the next block. The store is
// atomic (a release barrier): the kernel must not see the block free before we are done
// reading it.
func (r *ringV3) release() {
	atomic.StoreUint32(&r.bh1(r.block(r.cur)).Block_status, unix.TP_STATUS_KERNEL)
	r.taken, r.left, r.off = false, 0, 0
	r.cur++
	if r.cur == r.nblocks {
		r.cur = 0
	}
}

// next returns the next frame header and the block that holds it, taking the next block from
// the kernel when the current one is exhausted; ok is false when no retired block is waiting.
// A block is released on the call after its last frame was returned (or by flush), so the
// frame's bytes stay valid until then.
func (r *ringV3) next(c *rxCounters) (h *unix.Tpacket3Hdr, blk []byte, frameOff int, ok bool) {
	for {
		if r.taken && r.left == 0 {
			r.release()
		}
		blk = r.block(r.cur)
		if !r.taken {
			b := r.bh1(blk)
			// The load is atomic (an acquire barrier): the kernel writes the frames, then
			// the status (prb_close_block: smp_wmb, then block_status).
			if atomic.LoadUint32(&b.Block_status)&unix.TP_STATUS_USER == 0 {
				return nil, nil, 0, false
			}
			r.taken, r.left, r.off = true, int(b.Num_pkts), int(b.Offset_to_first_pkt)
			continue
		}
		off := r.off
		if off < blockDescLen || off > r.blockSize-tpacket3Len {
			c.malformed += uint64(r.left)
			r.left = 0
			continue
		}
		h = (*unix.Tpacket3Hdr)(unsafe.Pointer(&blk[off]))
		r.left--
		r.off = off + int(h.Next_offset)
		if r.left > 0 && h.Next_offset == 0 {
			c.malformed += uint64(r.left)
			r.left = 0
		}
		return h, blk, off, true
	}
}

// flush releases the current block if all its frames have been read, so that the kernel gets
// it back at the end of a Read rather than at the start of the next one.
func (r *ringV3) flush() {
	if r.taken && r.left == 0 {
		r.release()
	}
}

// read copies up to len(bufs) waiting frames into bufs[i][offset:], as Port.Read does, and
// returns how many. It never blocks. Frames that cannot be delivered whole are dropped and
// counted: longer than the buffer (oversize), cut short by the ring (truncated), with offsets
// that point outside their block (malformed) or with a virtio header whose checksum offsets do
// not fit the frame (badVNet). A VLAN tag the driver stripped is put back into the frame, so
// callers see the frame as it was on the wire. With vnetHdr, the frame's virtio_net_hdr is
// stored in bufs[i][offset-vnet.Len:offset] with any partial checksum completed.
func (r *ringV3) read(bufs [][]byte, sizes []int, offset int, c *rxCounters) int {
	n := 0
	for n < len(bufs) {
		h, blk, off, ok := r.next(c)
		if !ok {
			break
		}
		mac, snap := off+int(h.Mac), int(h.Snaplen)
		hdrOff := mac
		if r.vnetHdr {
			hdrOff -= vnet.Len
		}
		if hdrOff < off+tpacket3Len || mac+snap > len(blk) || snap < 14 {
			c.malformed++
			continue
		}
		if snap < int(h.Len) {
			c.truncated++
			continue
		}
		tagged := h.Status&unix.TP_STATUS_VLAN_VALID != 0
		size := snap
		if tagged {
			size += vlanTagLen
		}
		buf := bufs[n]
		if offset+size > len(buf) {
			c.oversize++
			continue
		}
		copyFrame(buf[offset:offset+size], blk[mac:mac+snap], tagged, vlanTPID(h.Status, h.Hv1.Vlan_tpid), uint16(h.Hv1.Vlan_tci))
		if !finish(buf, offset, size, r.vnetHdr, blk[hdrOff:mac], tagged, h.Status, c) {
			continue
		}
		sizes[n] = size
		n++
	}
	r.flush()
	return n
}
