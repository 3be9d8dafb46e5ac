package main

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
)

// Frame layout: Ethernet (14) + IPv4 without options (20) + UDP (8) + payload. The smallest
// frame, 42 bytes, has no payload; the default 60 is the minimum Ethernet frame without its FCS.
const (
	ethLen   = 14
	ipv4Len  = 20
	udpLen   = 8
	minFrame = ethLen + ipv4Len + udpLen
	maxFrame = 1514
)

// flow is what makes one frame different from another: the generator cycles over flows.
type flow struct {
	src, dst     netip.Addr
	sport, dport uint16
}

// frameSpec is what every frame shares.
type frameSpec struct {
	dmac, smac net.HardwareAddr
	size       int // the whole frame, without FCS
	ttl        uint8
}

var errSize = errors.New("frame size out of range")

// buildFrame returns a complete, checksummed Ethernet/IPv4/UDP frame of s.size bytes for f.
// The payload is a counter pattern, so a capture shows which bytes are padding.
func buildFrame(s frameSpec, f flow) ([]byte, error) {
	if s.size < minFrame || s.size > maxFrame {
		return nil, errSize
	}
	if !f.src.Is4() || !f.dst.Is4() {
		return nil, errors.New("IPv4 addresses only")
	}
	b := make([]byte, s.size)
	copy(b[0:6], s.dmac)
	copy(b[6:12], s.smac)
	binary.BigEndian.PutUint16(b[12:14], 0x0800)

	ip := b[ethLen : ethLen+ipv4Len]
	ip[0] = 0x45 // version 4, 5 words
	binary.BigEndian.PutUint16(ip[2:4], uint16(s.size-ethLen))
	binary.BigEndian.PutUint16(ip[6:8], 0x4000) // DF, as a real UDP sender sets it
	ip[8] = s.ttl
	ip[9] = 17
	src, dst := f.src.As4(), f.dst.As4()
	copy(ip[12:16], src[:])
	copy(ip[16:20], dst[:])
	binary.BigEndian.PutUint16(ip[10:12], ^fold(sum(ip, 0)))

	u := b[ethLen+ipv4Len:]
	binary.BigEndian.PutUint16(u[0:2], f.sport)
	binary.BigEndian.PutUint16(u[2:4], f.dport)
	binary.BigEndian.PutUint16(u[4:6], uint16(len(u)))
	for i := udpLen; i < len(u); i++ {
		u[i] = byte(i - udpLen)
	}
	// pseudo-header: addresses, protocol, UDP length
	ph := sum(src[:], 0)
	ph = sum(dst[:], ph)
	ph += 17 + uint32(len(u))
	c := ^fold(sum(u, ph))
	if c == 0 {
		c = 0xffff // RFC 768: a computed zero is sent as all ones
	}
	binary.BigEndian.PutUint16(u[6:8], c)
	return b, nil
}

// sum adds b as big-endian 16-bit words to acc (one's complement, unfolded).
func sum(b []byte, acc uint32) uint32 {
	for len(b) >= 2 {
		acc += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint32(b[0]) << 8
	}
	return acc
}

// fold reduces a one's complement sum to 16 bits.
func fold(acc uint32) uint16 {
	for acc>>16 != 0 {
		acc = acc&0xffff + acc>>16
	}
	return uint16(acc)
}

// flows lists n source ports per destination, destinations interleaved, so consecutive frames
// go to different destinations and a batch spreads over all flows.
func flows(src netip.Addr, dsts []netip.Addr, sport, dport uint16, n int) []flow {
	out := make([]flow, 0, n*len(dsts))
	for i := 0; i < n; i++ {
		for _, d := range dsts {
			out = append(out, flow{src: src, dst: d, sport: sport + uint16(i), dport: dport})
		}
	}
	return out
}
