package main

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net/netip"
)

// SYN frames: Ethernet (14) + IPv4 without options (20) + TCP with one option, MSS (24), as a
// SYN-flood tool sends them; 58 bytes, padded to the frame size (the padding is not part of
// the IP packet).
const (
	tcpSynLen  = 24
	minSYN     = ethLen + ipv4Len + tcpSynLen
	synMSS     = 1460
	synWindow  = 64240
	protoTCP   = 6
	tcpFlagSYN = 0x02
)

// synTemplate writes spoofed SYNs into frame buffers in place: the source address (drawn
// from a prefix), the source port, the sequence number and the IP ID change per frame; the
// rest is fixed. The checksums are the fixed part's sums, computed once, plus the changed
// words, so writing a frame costs a few additions and no allocation.
type synTemplate struct {
	base    []byte // the fixed frame: MACs, headers with the varying fields and checksums zero
	src     uint32 // the source prefix's address ...
	hostMsk uint32 // ... and the bits drawn at random
	ipSum   uint32 // IPv4 header's sum without the source address and the ID
	tcpSum  uint32 // TCP pseudo-header + header's sum without source address, port and sequence
}

// newSYNTemplate returns the template of SYNs to dst:dport from random sources in srcPrefix,
// frames of s.size bytes (at least 58).
func newSYNTemplate(s frameSpec, srcPrefix netip.Prefix, dst netip.Addr, dport uint16) (*synTemplate, error) {
	if s.size < minSYN || s.size > maxFrame {
		return nil, errSize
	}
	if !srcPrefix.Addr().Is4() || !dst.Is4() {
		return nil, errors.New("IPv4 addresses only")
	}
	srcPrefix = srcPrefix.Masked()
	b := make([]byte, s.size)
	copy(b[0:6], s.dmac)
	copy(b[6:12], s.smac)
	binary.BigEndian.PutUint16(b[12:14], 0x0800)

	ip := b[ethLen : ethLen+ipv4Len]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:4], ipv4Len+tcpSynLen)
	binary.BigEndian.PutUint16(ip[6:8], 0x4000) // DF
	ip[8] = s.ttl
	ip[9] = protoTCP
	d := dst.As4()
	copy(ip[16:20], d[:])

	t := b[ethLen+ipv4Len : ethLen+ipv4Len+tcpSynLen]
	binary.BigEndian.PutUint16(t[2:4], dport)
	t[12] = (tcpSynLen / 4) << 4
	t[13] = tcpFlagSYN
	binary.BigEndian.PutUint16(t[14:16], synWindow)
	t[20], t[21] = 2, 4 // MSS
	binary.BigEndian.PutUint16(t[22:24], synMSS)

	p := srcPrefix.Addr().As4()
	tp := &synTemplate{
		base:    b,
		src:     binary.BigEndian.Uint32(p[:]),
		hostMsk: uint32(1<<(32-srcPrefix.Bits()) - 1),
		ipSum:   sum(ip, 0),
		tcpSum:  sum(t, sum(d[:], 0)+protoTCP+tcpSynLen),
	}
	if srcPrefix.Bits() == 0 {
		tp.hostMsk = ^uint32(0)
	}
	return tp, nil
}

// frame returns a new buffer holding the template (fill it with write before sending).
func (t *synTemplate) frame() []byte { return append([]byte(nil), t.base...) }

// write turns b, a copy of the template, into the SYN from source address prefix|host (host
// masked to the prefix's host bits), source port sport, sequence number seq, IP ID id.
func (t *synTemplate) write(b []byte, host uint32, sport uint16, seq uint32, id uint16) {
	src := t.src | host&t.hostMsk
	ip := b[ethLen : ethLen+ipv4Len]
	tc := b[ethLen+ipv4Len : ethLen+ipv4Len+tcpSynLen]
	binary.BigEndian.PutUint16(ip[4:6], id)
	binary.BigEndian.PutUint32(ip[12:16], src)
	binary.BigEndian.PutUint16(tc[0:2], sport)
	binary.BigEndian.PutUint32(tc[4:8], seq)
	s := src>>16 + src&0xffff
	binary.BigEndian.PutUint16(ip[10:12], ^fold(t.ipSum+s+uint32(id)))
	binary.BigEndian.PutUint16(tc[16:18], ^fold(t.tcpSum+s+uint32(sport)+seq>>16+seq&0xffff))
}

// fill writes a fresh random SYN into b: source address and port (1024-65535), sequence
// number and IP ID all drawn from r.
func (t *synTemplate) fill(b []byte, r *rand.PCG) {
	x, y := r.Uint64(), r.Uint64()
	t.write(b, uint32(x), uint16(1024+(x>>32)%64512), uint32(y), uint16(y>>32))
}
