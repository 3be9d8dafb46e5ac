//go:build linux

package afpacket

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/uvs-lb/uvs/netstack/afpacket/vnet"
	"github.com/uvs-lb/uvs/netstack/port"
	"golang.org/x/sys/unix"
)

// RingVersion selects the kind of receive ring: see the package documentation ("Receive
// ring: V2 or V3").
type RingVersion string

const (
	// RingV2 is a TPACKET_V2 ring, the default: one fixed-size slot per frame, each handed to
	// user space (and poll(2) woken) as soon as it is written. Latency is microseconds;
	// under load one Read still takes up to BatchSize frames. Frames longer than a slot (GSO
	// super-frames) come whole through the socket's receive queue.
	RingV2 RingVersion = "v2"
	// RingV3 is a TPACKET_V3 ring: variable-size frames packed into blocks that are handed over
	// when full or FrameTimeout after their first frame. Fewer wakeups and denser memory at
	// high rates, but a lone frame waits up to FrameTimeout (1 ms at least).
	RingV3 RingVersion = "v3"
)

// Defaults; see the package documentation for the arithmetic behind them.
const (
	DefaultRingVersion  = RingV2
	DefaultBlockSize    = 256 << 10 // bytes per ring block
	DefaultNumBlocks    = 256       // blocks: a 64 MiB ring
	DefaultFrameTimeout = time.Millisecond
	DefaultBatchSize    = 64
	DefaultSndBuf       = 4 << 20
	DefaultRcvBuf       = 32 << 20 // V2: the socket queue of frames longer than a slot

	// MaxGSOFrame is the largest frame Read returns with VNetHdr: an IP packet of 65535 bytes
	// (GSO super-frames are bounded by the 16-bit IP length) behind an Ethernet header and
	// one VLAN tag.
	MaxGSOFrame = 65535 + 14 + vlanTagLen

	ethPAll       = 0x0003 // ETH_P_ALL
	ringFrameSize = 2048   // V3's tp_frame_size: only checked for consistency
	// frameOverhead bounds the ring bytes in front of a frame: the macoff of tpacket_rcv
	// (TPACKET_ALIGN(tpacket3_hdr + sockaddr_ll + 16) + virtio header) and the block descriptor.
	frameOverhead = 128 + blockDescLen
)

// Config says which interface to open and how.
type Config struct {
	// Name of an existing interface ("eth1", "veth-lb0"). The port takes it whole: see
	// Warning.
	Name string
	// RingVersion is the kind of receive ring, RingV2 or RingV3. "" = DefaultRingVersion (V2).
	RingVersion RingVersion
	// BlockSize is the size of one receive ring block: a power of two, at least the page size.
	// V2 cuts it into slots of FrameSize; in V3 it must hold the largest frame (128 KiB with
	// VNetHdr). 0 = DefaultBlockSize.
	BlockSize int
	// NumBlocks is the number of ring blocks: the ring is NumBlocks × BlockSize bytes.
	// 0 = DefaultNumBlocks.
	NumBlocks int
	// FrameSize (V2) is the size of one ring slot: a multiple of 16, at most BlockSize, and
	// at least 112 + MTU, which holds a frame of an MTU-sized packet behind the slot's headers.
	// 0 = 112 + MTU rounded up to 16 (1616 bytes for an MTU of 1500).
	FrameSize int
	// RcvBuf (V2) is the socket receive buffer, where the kernel queues frames longer than a
	// slot (GSO super-frames, with VNetHdr and offloads on) for Read to take whole
	// (SO_RCVBUFFORCE when permitted, else SO_RCVBUF, which the kernel caps at
	// net.core.rmem_max). 0 = DefaultRcvBuf; -1 leaves the default.
	RcvBuf int
	// FrameTimeout (V3) is how long the kernel keeps a partly filled block before handing it
	// over (tp_retire_blk_tov, whole milliseconds, at least 1): the longest a frame waits in
	// the ring when traffic is light. 0 = DefaultFrameTimeout.
	FrameTimeout time.Duration
	// BatchSize is the most frames one Read returns and one sendmmsg carries. 0 = 64.
	BatchSize int
	// VNetHdr turns on PACKET_VNET_HDR: frames carry a virtio_net_hdr in their headroom, GSO
	// super-frames are received whole (with their checksums completed by Read) and can be
	// sent for the kernel to segment. Without it, turn the link's offloads off (see
	// DisableOffloads).
	VNetHdr bool
	// QdiscBypass sets PACKET_QDISC_BYPASS: transmit straight to the driver, skipping the
	// qdisc (no shaping, and other packet sockets such as tcpdump do not see our frames).
	QdiscBypass bool
	// Promisc adds a PACKET_MR_PROMISC membership: the interface is promiscuous while the
	// port is open (the kernel counts memberships, so it is undone on Close or exit).
	Promisc bool
	// SYNRing gives the port a second receive ring, for TCP connection openings only (SYN
	// set, ACK clear), which Read serves after the main ring: a SYN flood then overflows its
	// own ring rather than the one established traffic comes in by. See syn.go.
	SYNRing bool
	// SYNRingFrames is the SYN ring's size in frames (256-byte slots). 0 =
	// DefaultSYNRingFrames.
	SYNRingFrames int
	// SndBuf is the socket send buffer (SO_SNDBUFFORCE when permitted, else SO_SNDBUF, which
	// the kernel caps at net.core.wmem_max). 0 = DefaultSndBuf; -1 leaves the default.
	SndBuf int
}

// Stats are the port's counters. Rx counters from the kernel (Packets, Drops, Freezes) come from
// PACKET_STATISTICS, which resets on each read; Stats accumulates them.
type Stats struct {
	Packets uint64 // frames the kernel offered the socket, including those it dropped
	Drops   uint64 // frames the kernel dropped because the ring was full
	Freezes uint64 // V3: times the ring filled up and the kernel stopped filling it

	Queued        uint64 // V2: frames longer than a slot, taken whole from the socket queue
	Oversize      uint64 // frames longer than the caller's buffer: dropped
	Truncated     uint64 // V3: frames longer than a block; V2: longer than a slot with the receive buffer (RcvBuf) full: dropped
	Malformed     uint64 // ring entries with impossible offsets: dropped
	BadVNetHdr    uint64 // virtio headers whose checksum offsets do not fit the frame: dropped
	PartialCsum   uint64 // without VNetHdr: frames whose L4 checksum was left to offload (delivered as is)
	CsumCompleted uint64 // with VNetHdr: partial checksums Read completed
	LinkDown      uint64 // times the socket reported the interface down

	// With a SYN ring, Packets and Drops count both rings; these count the SYN ring alone.
	SYNPackets uint64 // TCP connection openings the kernel offered the SYN ring
	SYNDrops   uint64 // ... and dropped because the SYN ring was full
	SYNRead    uint64 // frames Read took from the SYN ring

	TxPackets uint64 // frames the kernel accepted
	TxDropped uint64 // frames the kernel refused (ENOBUFS, EMSGSIZE, EINVAL, ENETDOWN, ...)
}

// Port is an AF_PACKET port on one interface. Read is for one goroutine at a time; Write is
// safe from several. It implements port.Port.
type Port struct {
	name      string
	ifindex   int
	mac       net.HardwareAddr
	mtu       int
	batch     int
	vnetHdr   bool
	headroom  int
	maxFrame  int
	version   RingVersion
	blockSize int
	numBlocks int
	frameSize int           // V2
	timeout   time.Duration // V3

	fd  int // the packet socket
	efd int // eventfd: readable once Close has begun

	// life guards fd, efd and the ring: Read, Write and Stats hold it shared, Close takes it
	// exclusively after waking them through efd, so nothing is closed or unmapped under them.
	life   sync.RWMutex
	closed atomic.Bool

	rmu    sync.Mutex    // one Read at a time
	mem    []byte        // the mmap'ed receive ring
	rx     rxRing        // *ringV2 or *ringV3 over mem
	syn    *synSocket    // the SYN ring, or nil (Config.SYNRing)
	rxPoll []unix.PollFd // efd, the main socket, and the SYN socket if any: a view of pollFd
	pollFd [3]unix.PollFd
	rxc    rxCounters // one Read's counters, under rmu
	rxMsg  rxMsg      // V2: recvmsg of a queued frame, under rmu
	txPool sync.Pool  // *txBatch

	statsMu                    sync.Mutex
	kPackets, kDrops, kFreezes uint64 // accumulated PACKET_STATISTICS, under statsMu
	kSYNPackets, kSYNDrops     uint64 // the same of the SYN ring, under statsMu
	queued, synRead, oversize, truncated, malformed, badVNet, partialCsum, completed, linkDown,
	txPackets, txDropped atomic.Uint64
}

// rxMsg is the msghdr with which Read takes a frame longer than a V2 slot from the socket
// queue: the virtio header, then the frame, each straight into place.
type rxMsg struct {
	hdr unix.Msghdr
	iov [2]unix.Iovec
}

var _ port.Port = (*Port)(nil)

// mmsghdr is struct mmsghdr: a msghdr and the length the kernel reports (Go pads the struct to
// the alignment of Msghdr, as C does).
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
}

// txBatch is the scratch one Write uses: one message with one iovec per frame.
type txBatch struct {
	msgs []mmsghdr
	iov  []unix.Iovec
	poll [2]unix.PollFd
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Open opens an AF_PACKET port on the interface cfg.Name, in the network namespace of the
// calling thread (lock the thread and setns to open one in another namespace). It needs
// CAP_NET_RAW there, which an unprivileged user has inside its own user+network namespace.
func Open(cfg Config) (*Port, error) {
	if cfg.Name == "" {
		return nil, errors.New("afpacket: no interface name")
	}
	switch cfg.RingVersion {
	case "":
		cfg.RingVersion = DefaultRingVersion
	case RingV2, RingV3:
	default:
		return nil, fmt.Errorf("afpacket: RingVersion %q is neither %q nor %q", cfg.RingVersion, RingV2, RingV3)
	}
	if cfg.BlockSize == 0 {
		cfg.BlockSize = DefaultBlockSize
	}
	if cfg.NumBlocks == 0 {
		cfg.NumBlocks = DefaultNumBlocks
	}
	if cfg.FrameTimeout == 0 {
		cfg.FrameTimeout = DefaultFrameTimeout
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.SndBuf == 0 {
		cfg.SndBuf = DefaultSndBuf
	}
	if cfg.RcvBuf == 0 {
		cfg.RcvBuf = DefaultRcvBuf
	}
	if cfg.SYNRingFrames == 0 {
		cfg.SYNRingFrames = DefaultSYNRingFrames
	}
	ifi, err := net.InterfaceByName(cfg.Name)
	if err != nil {
		return nil, fmt.Errorf("afpacket: %w", err)
	}
	p := &Port{
		name: ifi.Name, ifindex: ifi.Index, mac: ifi.HardwareAddr, mtu: ifi.MTU,
		batch: cfg.BatchSize, vnetHdr: cfg.VNetHdr, version: cfg.RingVersion,
		blockSize: cfg.BlockSize, numBlocks: cfg.NumBlocks, fd: -1, efd: -1,
	}
	p.maxFrame = p.mtu + 14 + vlanTagLen
	if cfg.VNetHdr {
		p.headroom = vnet.Len
		p.maxFrame = MaxGSOFrame
	}
	page := os.Getpagesize()
	switch {
	case cfg.BlockSize < page || cfg.BlockSize&(cfg.BlockSize-1) != 0:
		return nil, fmt.Errorf("afpacket: BlockSize %d is not a power of two >= the page size %d", cfg.BlockSize, page)
	case cfg.NumBlocks < 1 || cfg.BatchSize < 1 || cfg.SYNRingFrames < 0:
		return nil, errors.New("afpacket: NumBlocks, BatchSize and SYNRingFrames must be positive")
	case cfg.SYNRingFrames > 1<<22:
		return nil, fmt.Errorf("afpacket: SYNRingFrames %d is over %d", cfg.SYNRingFrames, 1<<22)
	case int64(cfg.BlockSize)*int64(cfg.NumBlocks) > 1<<31:
		return nil, errors.New("afpacket: ring larger than 2 GiB")
	}
	var tov time.Duration
	if cfg.RingVersion == RingV3 {
		if cfg.BlockSize < p.maxFrame+frameOverhead {
			return nil, fmt.Errorf("afpacket: BlockSize %d cannot hold a %d-byte frame", cfg.BlockSize, p.maxFrame)
		}
		tov = (cfg.FrameTimeout + time.Millisecond - 1) / time.Millisecond
		p.timeout = tov * time.Millisecond
	} else {
		if cfg.FrameSize == 0 {
			cfg.FrameSize = v2FrameSize(p.mtu)
		}
		switch {
		case cfg.FrameSize%unix.TPACKET_ALIGNMENT != 0 || cfg.FrameSize < v2HdrRoom+p.mtu:
			return nil, fmt.Errorf("afpacket: FrameSize %d is not a multiple of %d of at least %d (MTU %d)",
				cfg.FrameSize, unix.TPACKET_ALIGNMENT, v2HdrRoom+p.mtu, p.mtu)
		case cfg.FrameSize > cfg.BlockSize:
			return nil, fmt.Errorf("afpacket: FrameSize %d is larger than BlockSize %d", cfg.FrameSize, cfg.BlockSize)
		}
		p.frameSize = cfg.FrameSize
	}
	if cfg.SYNRing {
		// Bound before the main socket, which from its bind on takes everything else.
		if err := p.openSYN(cfg); err != nil {
			p.release()
			return nil, fmt.Errorf("afpacket %s: %w", cfg.Name, err)
		}
	}
	if err := p.open(cfg, uint32(tov)); err != nil {
		p.release()
		return nil, fmt.Errorf("afpacket %s: %w", cfg.Name, err)
	}
	p.pollFd[0] = unix.PollFd{Fd: int32(p.efd), Events: unix.POLLIN}
	p.pollFd[1] = unix.PollFd{Fd: int32(p.fd), Events: unix.POLLIN}
	p.rxPoll = p.pollFd[:2]
	if p.syn != nil {
		p.pollFd[2] = unix.PollFd{Fd: int32(p.syn.fd), Events: unix.POLLIN}
		p.rxPoll = p.pollFd[:3]
	}
	batch := cfg.BatchSize
	p.txPool.New = func() any {
		b := &txBatch{msgs: make([]mmsghdr, batch), iov: make([]unix.Iovec, batch)}
		for i := range b.msgs {
			b.msgs[i].hdr.Iov = &b.iov[i]
			b.msgs[i].hdr.SetIovlen(1)
		}
		return b
	}
	return p, nil
}

// open makes the socket: options and ring first, bound last, so that no frame of another
// interface ever lands in the ring (a socket with protocol 0 receives nothing until bind).
func (p *Port) open(cfg Config, tov uint32) error {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	p.fd = fd
	v3 := cfg.RingVersion == RingV3
	version := unix.TPACKET_V2
	if v3 {
		version = unix.TPACKET_V3
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, version); err != nil {
		return fmt.Errorf("PACKET_VERSION: %w", err)
	}
	if cfg.VNetHdr {
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1); err != nil {
			return fmt.Errorf("PACKET_VNET_HDR: %w", err)
		}
	}
	if cfg.SYNRing {
		if err := attachFilter(fd, synFilter(false)); err != nil {
			return err
		}
	}
	if v3 {
		req := unix.TpacketReq3{
			Block_size:     uint32(cfg.BlockSize),
			Block_nr:       uint32(cfg.NumBlocks),
			Frame_size:     ringFrameSize,
			Frame_nr:       uint32(cfg.BlockSize / ringFrameSize * cfg.NumBlocks),
			Retire_blk_tov: tov,
		}
		if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
			return fmt.Errorf("PACKET_RX_RING (v3, %d x %d bytes): %w", cfg.NumBlocks, cfg.BlockSize, err)
		}
	} else {
		req := unix.TpacketReq{
			Block_size: uint32(cfg.BlockSize),
			Block_nr:   uint32(cfg.NumBlocks),
			Frame_size: uint32(cfg.FrameSize),
			Frame_nr:   uint32(cfg.BlockSize / cfg.FrameSize * cfg.NumBlocks),
		}
		if err := unix.SetsockoptTpacketReq(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
			return fmt.Errorf("PACKET_RX_RING (v2, %d x %d bytes, %d-byte slots): %w", cfg.NumBlocks, cfg.BlockSize, cfg.FrameSize, err)
		}
		// Frames longer than a slot are queued whole on the socket, for Read to take.
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_COPY_THRESH, 1); err != nil {
			return fmt.Errorf("PACKET_COPY_THRESH: %w", err)
		}
		if cfg.RcvBuf > 0 {
			if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, cfg.RcvBuf) != nil {
				if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, cfg.RcvBuf); err != nil {
					return fmt.Errorf("SO_RCVBUF: %w", err)
				}
			}
		}
	}
	mem, err := unix.Mmap(fd, 0, cfg.BlockSize*cfg.NumBlocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("mmap ring: %w", err)
	}
	p.mem = mem
	if v3 {
		p.rx = &ringV3{mem: mem, blockSize: cfg.BlockSize, nblocks: cfg.NumBlocks, vnetHdr: cfg.VNetHdr}
	} else {
		r := newRingV2(mem, cfg.BlockSize, cfg.FrameSize, cfg.NumBlocks, cfg.VNetHdr)
		r.recv = func(vh, frame []byte) (int, bool) { return recvQueued(p.fd, &p.rxMsg, vh, frame) }
		p.rx = r
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); err != nil {
		return fmt.Errorf("PACKET_IGNORE_OUTGOING (Linux >= 4.20): %w", err)
	}
	if cfg.QdiscBypass {
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1); err != nil {
			return fmt.Errorf("PACKET_QDISC_BYPASS: %w", err)
		}
	}
	if cfg.SndBuf > 0 {
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, cfg.SndBuf) != nil {
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, cfg.SndBuf); err != nil {
				return fmt.Errorf("SO_SNDBUF: %w", err)
			}
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(ethPAll), Ifindex: p.ifindex}); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	if cfg.Promisc {
		mreq := unix.PacketMreq{Ifindex: int32(p.ifindex), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
			return fmt.Errorf("PACKET_ADD_MEMBERSHIP promisc: %w", err)
		}
	}
	if p.efd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return fmt.Errorf("eventfd: %w", err)
	}
	return nil
}

// unmapClose unmaps a receive ring and closes its socket, if they are there.
func unmapClose(mem *[]byte, fd *int) {
	if *mem != nil {
		unix.Munmap(*mem)
		*mem = nil
	}
	if *fd >= 0 {
		unix.Close(*fd)
		*fd = -1
	}
}

// release frees what open and openSYN made (on a failed Open, or from Close).
func (p *Port) release() {
	p.releaseSYN()
	p.rx = nil
	unmapClose(&p.mem, &p.fd)
	if p.efd >= 0 {
		unix.Close(p.efd)
		p.efd = -1
	}
}

var errOffset = errors.New("afpacket: offset below Headroom()")

// Read implements port.Port. It returns at once with up to len(bufs) frames when the ring
// holds any, and otherwise sleeps in poll(2) until the kernel hands over a frame (V2: as soon
// as it is written; V3: a block, when full or FrameTimeout after its first frame) or Close is
// called. Frames that cannot be delivered whole are dropped and counted (Stats).
func (p *Port) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	if offset < p.headroom {
		return 0, errOffset
	}
	if len(bufs) == 0 {
		return 0, nil
	}
	p.rmu.Lock()
	defer p.rmu.Unlock()
	p.life.RLock()
	defer p.life.RUnlock()
	for {
		if p.closed.Load() {
			return 0, port.ErrClosed
		}
		c := &p.rxc // in the Port: through the rxRing interface, a local would escape
		*c = rxCounters{}
		n := p.readRings(bufs, sizes, offset, c)
		p.count(c)
		if n > 0 {
			return n, nil
		}
		if err := p.waitRx(); err != nil {
			return 0, err
		}
	}
}

func (p *Port) count(c *rxCounters) {
	if *c == (rxCounters{}) {
		return
	}
	add := func(a *atomic.Uint64, v uint64) {
		if v != 0 {
			a.Add(v)
		}
	}
	add(&p.queued, c.queued)
	add(&p.oversize, c.oversize)
	add(&p.truncated, c.truncated)
	add(&p.malformed, c.malformed)
	add(&p.badVNet, c.badVNet)
	add(&p.partialCsum, c.partialCsum)
	add(&p.completed, c.completed)
	add(&p.synRead, c.syn)
}

// recvQueued is ringV2's recv: it takes the frame at the head of socket fd's queue with
// recvmsg(2) through m, the virtio header into vh and the frame into frame, and returns the
// frame's whole length (MSG_TRUNC). The caller holds rmu and life.
func recvQueued(fd int, m *rxMsg, vh, frame []byte) (int, bool) {
	k := 0
	for _, b := range [2][]byte{vh, frame} {
		if len(b) > 0 {
			m.iov[k].Base = &b[0]
			m.iov[k].SetLen(len(b))
			k++
		}
	}
	m.hdr.Iov = &m.iov[0]
	m.hdr.SetIovlen(k)
	defer func() { m.iov[0].Base, m.iov[1].Base = nil, nil }() // do not keep callers' buffers alive
	for {
		n, _, e := unix.Syscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&m.hdr)), unix.MSG_DONTWAIT|unix.MSG_TRUNC)
		switch e {
		case 0:
			return int(n) - len(vh), int(n) >= len(vh)
		case unix.EINTR:
			continue
		default:
			return 0, false
		}
	}
}

// waitRx sleeps until the ring may hold a frame or the port is closing. A pending socket error
// (ENETDOWN when the link goes down) is read, which clears it, and counted; the wait goes on,
// since the kernel resumes delivery when the link comes back.
func (p *Port) waitRx() error {
	for {
		for i := range p.rxPoll {
			p.rxPoll[i].Revents = 0
		}
		_, err := unix.Poll(p.rxPoll, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("afpacket %s: poll: %w", p.name, err)
		}
		if p.rxPoll[0].Revents != 0 || p.closed.Load() {
			return port.ErrClosed
		}
		readable := false
		for i, pfd := range p.rxPoll[1:] {
			ev := pfd.Revents
			if ev&unix.POLLERR != 0 {
				// Both sockets report the link going down: count it once, on the main one.
				p.sockError(int(pfd.Fd), i == 0)
			}
			if ev&(unix.POLLHUP|unix.POLLNVAL) != 0 {
				return fmt.Errorf("afpacket %s: socket hung up (revents %#x)", p.name, ev)
			}
			readable = readable || ev&unix.POLLIN != 0
		}
		if readable {
			return nil
		}
	}
}

// sockError reads and clears fd's SO_ERROR, counting ENETDOWN when count is set.
func (p *Port) sockError(fd int, count bool) {
	if e, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR); err == nil && e == int(unix.ENETDOWN) && count {
		p.linkDown.Add(1)
	}
}

// Write implements port.Port. Frames go out with sendmmsg, BatchSize per system call. When
// the socket buffer is full Write waits in poll(2) (woken by Close). Frames the kernel refuses
// (too big for the link without GSO, a bad virtio header, link down, no buffer at the driver)
// are dropped and counted in Stats().TxDropped; Write returns the number accepted, with an
// error only when the port is closed or the socket fails.
func (p *Port) Write(bufs [][]byte, sizes []int, offset int) (int, error) {
	if offset < p.headroom {
		return 0, errOffset
	}
	p.life.RLock()
	defer p.life.RUnlock()
	if p.closed.Load() {
		return 0, port.ErrClosed
	}
	tb := p.txPool.Get().(*txBatch)
	defer p.txPool.Put(tb)
	sent, dropped := 0, 0
	var err error
	for i := 0; i < len(bufs) && err == nil; {
		k := min(len(bufs)-i, len(tb.msgs))
		for j := 0; j < k; j++ {
			b := bufs[i+j][offset-p.headroom : offset+sizes[i+j]]
			tb.iov[j].Base = nil // an empty frame: the kernel refuses it (EINVAL), counted
			if len(b) > 0 {
				tb.iov[j].Base = &b[0]
			}
			tb.iov[j].SetLen(len(b))
		}
		var s, d int
		s, d, err = p.send(tb, k)
		sent, dropped = sent+s, dropped+d
		for j := 0; j < k; j++ {
			tb.iov[j].Base = nil // do not keep callers' buffers alive from the pool
		}
		i += k
	}
	p.txPackets.Add(uint64(sent))
	if dropped > 0 {
		p.txDropped.Add(uint64(dropped))
	}
	return sent, err
}

// send sends tb.msgs[:k] and returns how many the kernel took and how many it refused.
func (p *Port) send(tb *txBatch, k int) (sent, dropped int, err error) {
	for j := 0; j < k; {
		n, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(p.fd), uintptr(unsafe.Pointer(&tb.msgs[j])),
			uintptr(k-j), unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			j += int(n)
			sent += int(n)
		case unix.EINTR:
		case unix.EAGAIN:
			if err := p.waitTx(tb); err != nil {
				return sent, dropped + k - j, err
			}
		case unix.ENOBUFS, unix.EMSGSIZE, unix.EINVAL:
			j++ // this frame only: the kernel reports the first failing message
			dropped++
		case unix.ENETDOWN, unix.ENXIO:
			return sent, dropped + k - j, nil // the link is down: the rest would fail the same way
		default:
			return sent, dropped + k - j, fmt.Errorf("afpacket %s: sendmmsg: %w", p.name, e)
		}
	}
	return sent, dropped, nil
}

// waitTx sleeps until the socket can take more or the port is closing.
func (p *Port) waitTx(tb *txBatch) error {
	tb.poll = [2]unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLOUT}, {Fd: int32(p.efd), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(tb.poll[:], -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("afpacket %s: poll: %w", p.name, err)
		}
		if tb.poll[1].Revents != 0 || p.closed.Load() {
			return port.ErrClosed
		}
		if tb.poll[0].Revents&unix.POLLERR != 0 {
			p.sockError(p.fd, true)
		}
		return nil
	}
}

// Stats returns the port's counters. It makes one getsockopt call; do not call it per packet.
func (p *Port) Stats() Stats {
	p.life.RLock()
	if !p.closed.Load() {
		p.harvest()
	}
	p.life.RUnlock()
	p.statsMu.Lock()
	kp, kd, kf, sp, sd := p.kPackets, p.kDrops, p.kFreezes, p.kSYNPackets, p.kSYNDrops
	p.statsMu.Unlock()
	return Stats{
		Packets: kp + sp, Drops: kd + sd, Freezes: kf, SYNPackets: sp, SYNDrops: sd, SYNRead: p.synRead.Load(),
		Queued:   p.queued.Load(),
		Oversize: p.oversize.Load(), Truncated: p.truncated.Load(), Malformed: p.malformed.Load(),
		BadVNetHdr: p.badVNet.Load(), PartialCsum: p.partialCsum.Load(), CsumCompleted: p.completed.Load(),
		LinkDown: p.linkDown.Load(), TxPackets: p.txPackets.Load(), TxDropped: p.txDropped.Load(),
	}
}

var _ port.RxDropper = (*Port)(nil)

// RxDropped implements port.RxDropper: the frames the kernel dropped because a ring was
// full (Stats.Drops, the SYN ring's included). It makes one or two getsockopt calls.
func (p *Port) RxDropped() uint64 { return p.Stats().Drops }

var _ port.SYNDropper = (*Port)(nil)

// RxSYNDropped implements port.SYNDropper: Stats.Drops and, of those, the connection
// openings the kernel dropped because the SYN ring was full (Stats.SYNDrops; 0 without a SYN
// ring), from one Stats.
func (p *Port) RxSYNDropped() (dropped, syn uint64) {
	s := p.Stats()
	return s.Drops, s.SYNDrops
}

// harvest adds the kernel's counters (reset by each read) to ours. The caller holds life.
func (p *Port) harvest() {
	var packets, drops, freezes uint32
	if p.version == RingV3 {
		s, err := unix.GetsockoptTpacketStatsV3(p.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
		if err != nil {
			return
		}
		packets, drops, freezes = s.Packets, s.Drops, s.Freeze_q_cnt
	} else {
		s, err := unix.GetsockoptTpacketStats(p.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
		if err != nil {
			return
		}
		packets, drops = s.Packets, s.Drops
	}
	var synPackets, synDrops uint32
	if p.syn != nil {
		if s, err := unix.GetsockoptTpacketStats(p.syn.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
			synPackets, synDrops = s.Packets, s.Drops
		}
	}
	p.statsMu.Lock()
	p.kPackets += uint64(packets)
	p.kDrops += uint64(drops)
	p.kFreezes += uint64(freezes)
	p.kSYNPackets += uint64(synPackets)
	p.kSYNDrops += uint64(synDrops)
	p.statsMu.Unlock()
}

// Close implements port.Port: it wakes a Read or Write blocked in poll, waits for them to
// leave, then unmaps the ring and closes the socket. Later calls return ErrClosed.
func (p *Port) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	var one = [8]byte{1}
	unix.Write(p.efd, one[:])
	p.life.Lock()
	defer p.life.Unlock()
	p.harvest()
	p.release()
	return nil
}

// BatchSize implements port.Port.
func (p *Port) BatchSize() int { return p.batch }

// MTU implements port.Port: the interface's MTU when the port was opened.
func (p *Port) MTU() int { return p.mtu }

// MaxFrame implements port.Port: MTU plus Ethernet header and one VLAN tag, or MaxGSOFrame
// with VNetHdr.
func (p *Port) MaxFrame() int { return p.maxFrame }

// Headroom implements port.Port: port.VNetHdrLen with VNetHdr, else 0.
func (p *Port) Headroom() int { return p.headroom }

// HardwareAddr implements port.Port: the interface's MAC address.
func (p *Port) HardwareAddr() net.HardwareAddr { return p.mac }

// Name implements port.Port.
func (p *Port) Name() string { return p.name }

// Ifindex is the interface index in its network namespace.
func (p *Port) Ifindex() int { return p.ifindex }

// RingVersion is the kind of receive ring: RingV2 or RingV3.
func (p *Port) RingVersion() RingVersion { return p.version }

// FrameTimeout is the V3 block retire timeout in effect (FrameTimeout rounded up to
// milliseconds): the longest a frame waits in the ring. It is 0 with V2, whose frames are
// handed over one at a time, as soon as they are written.
func (p *Port) FrameTimeout() time.Duration { return p.timeout }

// FrameSize is the size of a V2 ring slot (0 with V3).
func (p *Port) FrameSize() int { return p.frameSize }

// RingFrames is the number of frames the ring holds: its slots with V2; with V3 it depends on
// the frames' sizes, and RingFrames is 0.
func (p *Port) RingFrames() int {
	if p.frameSize == 0 {
		return 0
	}
	return p.blockSize / p.frameSize * p.numBlocks
}

// RingBytes is the size of the receive ring.
func (p *Port) RingBytes() int { return p.blockSize * p.numBlocks }
