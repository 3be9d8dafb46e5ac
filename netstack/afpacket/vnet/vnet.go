// Package vnet is the virtio-net header (struct virtio_net_hdr, 10 bytes) as the afpacket
// (PACKET_VNET_HDR) and tap (IFF_VNET_HDR) ports exchange it with the kernel, and the one
// thing a port must do with it on receive: finish a partial checksum.
//
// The header travels in a frame's headroom: a port keeps it in bufs[i][offset-port.VNetHdrLen:
// offset] on Read and sends it from there on Write (see port.Port). Both ports hand callers
// frames whose L4 checksum is complete: Complete finishes the checksum a NEEDS_CSUM header
// describes (over a GSO super-frame too), then clears NEEDS_CSUM and sets DATA_VALID. The GSO
// fields are left alone, so a super-frame written back out is segmented by the kernel.
//
// Byte order. The kernel reads and writes these fields in "virtio legacy" order: native on
// AF_PACKET, and native on a TAP unless TUNSETVNETLE/BE says otherwise (the tap port never
// sets it). Decode and Encode therefore use the host's byte order.
//
// This package is shared by netstack/afpacket and netstack/tap; it does no I/O and imports only
// package packet, where all checksum math lives.
package vnet

import (
	"encoding/binary"

	"github.com/uvs-lb/uvs/packet"
)

// Len is the size of struct virtio_net_hdr (without num_buffers): port.VNetHdrLen.
const Len = 10

// Flags (virtio_net_hdr.flags).
const (
	FlagNeedsCsum uint8 = 1 // VIRTIO_NET_HDR_F_NEEDS_CSUM: L4 checksum to be finished from CsumStart
	FlagDataValid uint8 = 2 // VIRTIO_NET_HDR_F_DATA_VALID: checksum known to be good
)

// GSO types (virtio_net_hdr.gso_type).
const (
	GSONone  uint8 = 0    // not a GSO frame
	GSOTCPv4 uint8 = 1    // TSO over IPv4
	GSOUDP   uint8 = 3    // UFO (IP fragmentation; legacy)
	GSOTCPv6 uint8 = 4    // TSO over IPv6
	GSOUDPL4 uint8 = 5    // UDP segmentation (USO), Linux >= 6.2 on TAP
	GSOECN   uint8 = 0x80 // TCP ECN bit, or'ed into the type
)

// Hdr is a decoded virtio_net_hdr.
type Hdr struct {
	Flags      uint8
	GSOType    uint8
	HdrLen     uint16 // length of the headers (Ethernet + IP + L4) of a GSO frame
	GSOSize    uint16 // payload bytes per segment of a GSO frame
	CsumStart  uint16 // with FlagNeedsCsum: offset in the frame where checksumming starts
	CsumOffset uint16 // with FlagNeedsCsum: offset of the checksum field after CsumStart
}

// Decode reads a header from b[:Len].
func Decode(b []byte) Hdr {
	_ = b[Len-1]
	return Hdr{
		Flags:      b[0],
		GSOType:    b[1],
		HdrLen:     binary.NativeEndian.Uint16(b[2:]),
		GSOSize:    binary.NativeEndian.Uint16(b[4:]),
		CsumStart:  binary.NativeEndian.Uint16(b[6:]),
		CsumOffset: binary.NativeEndian.Uint16(b[8:]),
	}
}

// Encode writes h into b[:Len].
func (h Hdr) Encode(b []byte) {
	_ = b[Len-1]
	b[0] = h.Flags
	b[1] = h.GSOType
	binary.NativeEndian.PutUint16(b[2:], h.HdrLen)
	binary.NativeEndian.PutUint16(b[4:], h.GSOSize)
	binary.NativeEndian.PutUint16(b[6:], h.CsumStart)
	binary.NativeEndian.PutUint16(b[8:], h.CsumOffset)
}

// IsGSO reports whether the header describes a GSO super-frame.
func (h Hdr) IsGSO() bool { return h.GSOType&^GSOECN != GSONone }

// Complete finishes the partial checksum of frame that h describes, in place, as the kernel's
// skb_checksum_help does: the field at CsumStart+CsumOffset holds the pseudo-header sum (not
// complemented), and the checksum of everything from CsumStart to the end of the frame goes
// there, 0 written as 0xFFFF. It then clears FlagNeedsCsum and sets FlagDataValid in h. The
// frame must be exactly the packet (no trailing padding): the kernel's CHECKSUM_PARTIAL covers
// skb->len, which is what a port receives. A header without FlagNeedsCsum is left as it is.
// It reports false, and changes nothing, when the offsets do not fit in frame.
func Complete(frame []byte, h *Hdr) bool {
	if h.Flags&FlagNeedsCsum == 0 {
		return true
	}
	start, field := int(h.CsumStart), int(h.CsumStart)+int(h.CsumOffset)
	if start >= len(frame) || field+2 > len(frame) {
		return false
	}
	ck := ^packet.Checksum(frame[start:], 0)
	if ck == 0 {
		ck = 0xFFFF
	}
	binary.BigEndian.PutUint16(frame[field:], ck)
	h.Flags = h.Flags&^FlagNeedsCsum | FlagDataValid
	return true
}

// ShiftForVLAN adjusts h's offsets for a 4-byte 802.1Q tag inserted after the MAC addresses
// (offsets are measured from the start of the frame, and the tag precedes every header they
// point into). AF_PACKET reports a tag the driver stripped out of band; the afpacket port puts
// it back in the frame.
func (h *Hdr) ShiftForVLAN() {
	if h.Flags&FlagNeedsCsum != 0 {
		h.CsumStart += 4
	}
	if h.HdrLen != 0 {
		h.HdrLen += 4
	}
}
