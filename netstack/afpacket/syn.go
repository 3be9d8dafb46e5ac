//go:build linux

package afpacket

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// A port with a SYN ring (Config.SYNRing) has two receive sockets on its interface: the main
// one, whose ring takes every frame but the connection openings, and a second one whose ring
// takes only those: TCP segments with SYN set and ACK clear, over IPv4 (first fragments) or
// IPv6 (TCP right after the fixed header). Each socket carries a classic BPF filter, the same
// decision with its verdicts swapped, so every frame lands in exactly one of the two rings.
// The filters run in the kernel before tpacket_rcv copies anything, and a full ring drops
// without a copy.
//
// Why: under a SYN flood the SYNs and the established connections' segments otherwise share
// one ring, in arrival order. When the flood outruns the reader, the ring stands full (its
// frames wait tens of milliseconds) and the kernel drops whatever comes next, established
// segments as much as SYNs. With a ring of their own the SYNs overflow their own ring, and
// Read serves the main ring first (see readRings), so established traffic keeps its latency
// and its frames.

// SYN ring geometry: small V2 slots, since a SYN carries no payload. A SYN of 14 + 40 + 60
// bytes behind tp_mac (76 with the virtio header) fits in 256; a longer one (a SYN with data,
// as TCP Fast Open sends) is queued whole on the socket (PACKET_COPY_THRESH) like a GSO
// super-frame on the main ring.
const (
	synFrameSize = 256
	synBlockSize = 64 << 10
	// DefaultSYNRingFrames is the size of a SYN ring, in SYNs: 32 ms of a 500 kpps flood.
	DefaultSYNRingFrames = 16384
)

// synFilter returns the classic BPF program that keeps a frame when it is (syn) or is not
// (!syn) a TCP connection opening. Offsets are from the Ethernet header (the filter of a
// SOCK_RAW packet socket sees the frame from its MAC header, after the kernel has taken out
// its outer 802.1Q tag, so a tagged SYN is an opening too). A frame with a second tag, an IPv6
// packet with extension headers, a non-first IPv4 fragment or anything too short to hold the
// TCP flags goes to the main ring, where it would be without a SYN ring.
// Every load is preceded by a length check: a load past the end of the frame would end the
// program with 0, which on the main socket would drop the frame unseen, uncounted.
func synFilter(syn bool) []unix.SockFilter {
	const keepAll = 0xffffffff // snap length: the whole frame, GSO super-frames included
	var yes, no uint32 = keepAll, 0
	if !syn {
		yes, no = 0, keepAll
	}
	// Instruction indices, for the jumps (jt and jf count from the next instruction).
	const (
		iLen = iota
		iMin
		iEtype
		iIsIP4
		iIsIP6
		iIP4Proto
		iIP4IsTCP
		iIP4Frag
		iIP4First
		iIP4Hlen
		iIP4HlenA
		iIP4End
		iIP4EndX
		iIP4Len
		iIP4LenOK
		iIP4Hlen2
		iIP4Flags
		iIP4Mask
		iIP4Syn
		iIP6Len
		iIP6LenOK
		iIP6Next
		iIP6IsTCP
		iIP6Flags
		iIP6Mask
		iIP6Syn
		iYes
		iNo
	)
	j := func(from, to int) uint8 { return uint8(to - from - 1) }
	const (
		ld, ldx, jmp, alu, ret, misc = unix.BPF_LD, unix.BPF_LDX, unix.BPF_JMP, unix.BPF_ALU, unix.BPF_RET, unix.BPF_MISC
		b, h, w, abs, ind, msh, lenx = unix.BPF_B, unix.BPF_H, unix.BPF_W, unix.BPF_ABS, unix.BPF_IND, unix.BPF_MSH, unix.BPF_LEN
		k, x                         = unix.BPF_K, unix.BPF_X
		eth, ip4, ip6                = 14, 14 + 20, 14 + 40 // header ends
	)
	return []unix.SockFilter{
		iLen:      {Code: ld | w | lenx},
		iMin:      {Code: jmp | unix.BPF_JGE | k, K: ip4 + 20, Jf: j(iMin, iNo)}, // the shortest TCP/IPv4
		iEtype:    {Code: ld | h | abs, K: 12},
		iIsIP4:    {Code: jmp | unix.BPF_JEQ | k, K: unix.ETH_P_IP, Jt: j(iIsIP4, iIP4Proto)},
		iIsIP6:    {Code: jmp | unix.BPF_JEQ | k, K: unix.ETH_P_IPV6, Jt: j(iIsIP6, iIP6Len), Jf: j(iIsIP6, iNo)},
		iIP4Proto: {Code: ld | b | abs, K: eth + 9},
		iIP4IsTCP: {Code: jmp | unix.BPF_JEQ | k, K: unix.IPPROTO_TCP, Jf: j(iIP4IsTCP, iNo)},
		iIP4Frag:  {Code: ld | h | abs, K: eth + 6},
		iIP4First: {Code: jmp | unix.BPF_JSET | k, K: 0x1fff, Jt: j(iIP4First, iNo)}, // a fragment's offset
		iIP4Hlen:  {Code: ldx | b | msh, K: eth},                                     // X = IHL × 4
		iIP4HlenA: {Code: misc | unix.BPF_TXA},
		iIP4End:   {Code: alu | unix.BPF_ADD | k, K: eth + 14}, // up to and with the flags byte
		iIP4EndX:  {Code: misc | unix.BPF_TAX},
		iIP4Len:   {Code: ld | w | lenx},
		iIP4LenOK: {Code: jmp | unix.BPF_JGE | x, Jf: j(iIP4LenOK, iNo)},
		iIP4Hlen2: {Code: ldx | b | msh, K: eth},
		iIP4Flags: {Code: ld | b | ind, K: eth + 13},
		iIP4Mask:  {Code: alu | unix.BPF_AND | k, K: 0x12}, // SYN and ACK
		iIP4Syn:   {Code: jmp | unix.BPF_JEQ | k, K: 0x02, Jt: j(iIP4Syn, iYes), Jf: j(iIP4Syn, iNo)},
		iIP6Len:   {Code: ld | w | lenx},
		iIP6LenOK: {Code: jmp | unix.BPF_JGE | k, K: ip6 + 14, Jf: j(iIP6LenOK, iNo)},
		iIP6Next:  {Code: ld | b | abs, K: eth + 6},
		iIP6IsTCP: {Code: jmp | unix.BPF_JEQ | k, K: unix.IPPROTO_TCP, Jf: j(iIP6IsTCP, iNo)},
		iIP6Flags: {Code: ld | b | abs, K: ip6 + 13},
		iIP6Mask:  {Code: alu | unix.BPF_AND | k, K: 0x12},
		iIP6Syn:   {Code: jmp | unix.BPF_JEQ | k, K: 0x02, Jt: j(iIP6Syn, iYes), Jf: j(iIP6Syn, iNo)},
		iYes:      {Code: ret | k, K: yes},
		iNo:       {Code: ret | k, K: no},
	}
}

// synSocket is the receive socket of a port's SYN ring: always TPACKET_V2, so that a lone
// SYN is handed over at once (a V3 block would hold it up to FrameTimeout), with the main
// socket's virtio-header setting, since Read hands its frames out the same way.
type synSocket struct {
	fd  int
	mem []byte
	rx  *ringV2
	msg rxMsg // recvmsg of a SYN longer than a slot, under Port.rmu
}

// attachFilter sets prog as fd's socket filter.
func attachFilter(fd int, prog []unix.SockFilter) error {
	fp := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fp); err != nil {
		return fmt.Errorf("SO_ATTACH_FILTER: %w", err)
	}
	return nil
}

// openSYN makes and binds the SYN ring's socket, before the main socket is bound (which
// takes everything else from then on): no SYN is ever in both rings.
func (p *Port) openSYN(cfg Config) error {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("SYN ring: socket: %w", err)
	}
	s := &synSocket{fd: fd}
	p.syn = s
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V2); err != nil {
		return fmt.Errorf("SYN ring: PACKET_VERSION: %w", err)
	}
	if cfg.VNetHdr {
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1); err != nil {
			return fmt.Errorf("SYN ring: PACKET_VNET_HDR: %w", err)
		}
	}
	if err := attachFilter(fd, synFilter(true)); err != nil {
		return fmt.Errorf("SYN ring: %w", err)
	}
	per := synBlockSize / synFrameSize
	nblocks := (cfg.SYNRingFrames + per - 1) / per
	req := unix.TpacketReq{Block_size: synBlockSize, Block_nr: uint32(nblocks), Frame_size: synFrameSize, Frame_nr: uint32(per * nblocks)}
	if err := unix.SetsockoptTpacketReq(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return fmt.Errorf("SYN ring: PACKET_RX_RING (%d x %d bytes): %w", nblocks, synBlockSize, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_COPY_THRESH, 1); err != nil {
		return fmt.Errorf("SYN ring: PACKET_COPY_THRESH: %w", err)
	}
	if s.mem, err = unix.Mmap(fd, 0, synBlockSize*nblocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED); err != nil {
		return fmt.Errorf("SYN ring: mmap: %w", err)
	}
	s.rx = newRingV2(s.mem, synBlockSize, synFrameSize, nblocks, cfg.VNetHdr)
	s.rx.recv = func(vh, frame []byte) (int, bool) { return recvQueued(s.fd, &s.msg, vh, frame) }
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); err != nil {
		return fmt.Errorf("SYN ring: PACKET_IGNORE_OUTGOING (Linux >= 4.20): %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(ethPAll), Ifindex: p.ifindex}); err != nil {
		return fmt.Errorf("SYN ring: bind: %w", err)
	}
	return nil
}

// releaseSYN frees what openSYN made.
func (p *Port) releaseSYN() {
	if s := p.syn; s != nil {
		s.rx = nil
		unmapClose(&s.mem, &s.fd)
	}
}

// readRings copies up to len(bufs) waiting frames, as Read does. With a SYN ring, the main
// ring goes first, for at most three quarters of the batch; then the SYN ring, for what is
// left; then the main ring again. Established traffic is served before connection openings
// and a flood of them cannot delay it by more than a quarter batch, while SYNs still get a
// quarter of every full batch, so a port busy with established traffic keeps accepting new
// connections.
func (p *Port) readRings(bufs [][]byte, sizes []int, offset int, c *rxCounters) int {
	if p.syn == nil {
		return p.rx.read(bufs, sizes, offset, c)
	}
	k := len(bufs)
	n := p.rx.read(bufs[:k-k/4], sizes, offset, c)
	m := p.syn.rx.read(bufs[n:], sizes[n:], offset, c)
	n += m
	if n < k {
		n += p.rx.read(bufs[n:], sizes[n:], offset, c)
	}
	c.syn += uint64(m)
	return n
}

// SYNRingFrames is the number of slots of the SYN ring, 0 without one.
func (p *Port) SYNRingFrames() int {
	if p.syn == nil || p.syn.rx == nil {
		return 0
	}
	return p.syn.rx.nframes
}
