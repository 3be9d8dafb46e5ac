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

// Defaults; see the package documentation for the arithmetic behind them.
const (
	DefaultBlockSize    = 256 << 10 // bytes per ring block
	DefaultNumBlocks    = 256       // blocks: a 64 MiB ring
	DefaultFrameTimeout = time.Millisecond
	DefaultBatchSize    = 64
	DefaultSndBuf       = 4 << 20

	// MaxGSOFrame is the largest frame Read returns with VNetHdr: an IP packet of 65535 bytes
	// (GSO super-frames are bounded by the 16-bit IP length) behind an Ethernet header and
	// one VLAN tag.
	MaxGSOFrame = 65535 + 14 + vlanTagLen

	ethPAll       = 0x0003 // ETH_P_ALL
	ringFrameSize = 2048   // tp_frame_size: only checked for consistency with TPACKET_V3
	// frameOverhead bounds the ring bytes in front of a frame: the macoff of tpacket_rcv
	// (TPACKET_ALIGN(tpacket3_hdr + sockaddr_ll + 16) + virtio header) and the block descriptor.
	frameOverhead = 128 + blockDescLen
)

// Config says which interface to open and how.
type Config struct {
	// Name of an existing interface ("eth1", "veth-lb0"). The port takes it whole: see
	// Warning.
	Name string
	// BlockSize is the size of one receive ring block: a power of two, at least the page size,
	// and big enough for the largest frame (128 KiB with VNetHdr). 0 = DefaultBlockSize.
	BlockSize int
	// NumBlocks is the number of ring blocks. 0 = DefaultNumBlocks.
	NumBlocks int
	// FrameTimeout is how long the kernel keeps a partly filled block before handing it over
	// (tp_retire_blk_tov, whole milliseconds, at least 1): the longest a frame waits in the
	// ring when traffic is light. 0 = DefaultFrameTimeout.
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
	// SndBuf is the socket send buffer (SO_SNDBUFFORCE when permitted, else SO_SNDBUF, which
	// the kernel caps at net.core.wmem_max). 0 = DefaultSndBuf; -1 leaves the default.
	SndBuf int
}

// Stats are the port's counters. Rx counters from the kernel (Packets, Drops, Freezes) come from
// PACKET_STATISTICS, which resets on each read; Stats accumulates them.
type Stats struct {
	Packets uint64 // frames the kernel offered the socket, including those it dropped
	Drops   uint64 // frames the kernel dropped because the ring was full
	Freezes uint64 // times the ring filled up and the kernel stopped filling it

	Oversize      uint64 // frames longer than the caller's buffer: dropped
	Truncated     uint64 // frames longer than a ring block: dropped (BlockSize too small)
	Malformed     uint64 // ring entries with impossible offsets: dropped
	BadVNetHdr    uint64 // virtio headers whose checksum offsets do not fit the frame: dropped
	PartialCsum   uint64 // without VNetHdr: frames whose L4 checksum was left to offload (delivered as is)
	CsumCompleted uint64 // with VNetHdr: partial checksums Read completed
	LinkDown      uint64 // times the socket reported the interface down

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
	blockSize int
	numBlocks int
	timeout   time.Duration

	fd  int // the packet socket
	efd int // eventfd: readable once Close has begun

	// life guards fd, efd and the ring: Read, Write and Stats hold it shared, Close takes it
	// exclusively after waking them through efd, so nothing is closed or unmapped under them.
	life   sync.RWMutex
	closed atomic.Bool

	rmu    sync.Mutex // one Read at a time
	ring   ring
	rxPoll [2]unix.PollFd
	txPool sync.Pool // *txBatch

	statsMu                    sync.Mutex
	kPackets, kDrops, kFreezes uint64 // accumulated PACKET_STATISTICS, under statsMu
	oversize, truncated, malformed, badVNet, partialCsum, completed, linkDown,
	txPackets, txDropped atomic.Uint64
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
	ifi, err := net.InterfaceByName(cfg.Name)
	if err != nil {
		return nil, fmt.Errorf("afpacket: %w", err)
	}
	p := &Port{
		name: ifi.Name, ifindex: ifi.Index, mac: ifi.HardwareAddr, mtu: ifi.MTU,
		batch: cfg.BatchSize, vnetHdr: cfg.VNetHdr, blockSize: cfg.BlockSize, numBlocks: cfg.NumBlocks,
		fd: -1, efd: -1,
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
	case cfg.BlockSize < p.maxFrame+frameOverhead:
		return nil, fmt.Errorf("afpacket: BlockSize %d cannot hold a %d-byte frame", cfg.BlockSize, p.maxFrame)
	case cfg.NumBlocks < 1 || cfg.BatchSize < 1:
		return nil, errors.New("afpacket: NumBlocks and BatchSize must be positive")
	case int64(cfg.BlockSize)*int64(cfg.NumBlocks) > 1<<31:
		return nil, errors.New("afpacket: ring larger than 2 GiB")
	}
	tov := (cfg.FrameTimeout + time.Millisecond - 1) / time.Millisecond
	p.timeout = tov * time.Millisecond
	if err := p.open(cfg, uint32(tov)); err != nil {
		p.release()
		return nil, fmt.Errorf("afpacket %s: %w", cfg.Name, err)
	}
	p.rxPoll = [2]unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}, {Fd: int32(p.efd), Events: unix.POLLIN}}
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
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return fmt.Errorf("PACKET_VERSION: %w", err)
	}
	if cfg.VNetHdr {
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1); err != nil {
			return fmt.Errorf("PACKET_VNET_HDR: %w", err)
		}
	}
	req := unix.TpacketReq3{
		Block_size:     uint32(cfg.BlockSize),
		Block_nr:       uint32(cfg.NumBlocks),
		Frame_size:     ringFrameSize,
		Frame_nr:       uint32(cfg.BlockSize / ringFrameSize * cfg.NumBlocks),
		Retire_blk_tov: tov,
	}
	if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return fmt.Errorf("PACKET_RX_RING (%d x %d bytes): %w", cfg.NumBlocks, cfg.BlockSize, err)
	}
	mem, err := unix.Mmap(fd, 0, cfg.BlockSize*cfg.NumBlocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("mmap ring: %w", err)
	}
	p.ring = ring{mem: mem, blockSize: cfg.BlockSize, nblocks: cfg.NumBlocks, vnetHdr: cfg.VNetHdr}
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

// release frees what open made (on a failed Open, or from Close).
func (p *Port) release() {
	if p.ring.mem != nil {
		unix.Munmap(p.ring.mem)
		p.ring.mem = nil
	}
	if p.fd >= 0 {
		unix.Close(p.fd)
		p.fd = -1
	}
	if p.efd >= 0 {
		unix.Close(p.efd)
		p.efd = -1
	}
}

var errOffset = errors.New("afpacket: offset below Headroom()")

// Read implements port.Port. It returns at once with up to len(bufs) frames when the ring
// holds any, and otherwise sleeps in poll(2) until the kernel hands over a block (a block is
// handed over when full or FrameTimeout after its first frame) or Close is called. Frames that
// cannot be delivered whole are dropped and counted (Stats).
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
		var c rxCounters
		n := p.ring.read(bufs, sizes, offset, &c)
		p.count(&c)
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
	add(&p.oversize, c.oversize)
	add(&p.truncated, c.truncated)
	add(&p.malformed, c.malformed)
	add(&p.badVNet, c.badVNet)
	add(&p.partialCsum, c.partialCsum)
	add(&p.completed, c.completed)
}

// waitRx sleeps until the ring may hold a block or the port is closing. A pending socket error
// (ENETDOWN when the link goes down) is read, which clears it, and counted; the wait goes on,
// since the kernel resumes delivery when the link comes back.
func (p *Port) waitRx() error {
	for {
		p.rxPoll[0].Revents, p.rxPoll[1].Revents = 0, 0
		_, err := unix.Poll(p.rxPoll[:], -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("afpacket %s: poll: %w", p.name, err)
		}
		if p.rxPoll[1].Revents != 0 || p.closed.Load() {
			return port.ErrClosed
		}
		if p.rxPoll[0].Revents&unix.POLLERR != 0 {
			p.sockError()
			if p.rxPoll[0].Revents&unix.POLLIN == 0 {
				continue
			}
		}
		if p.rxPoll[0].Revents&(unix.POLLHUP|unix.POLLNVAL) != 0 {
			return fmt.Errorf("afpacket %s: socket hung up (revents %#x)", p.name, p.rxPoll[0].Revents)
		}
		return nil
	}
}

// sockError reads and clears SO_ERROR.
func (p *Port) sockError() {
	if e, err := unix.GetsockoptInt(p.fd, unix.SOL_SOCKET, unix.SO_ERROR); err == nil && e == int(unix.ENETDOWN) {
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
			p.sockError()
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
	kp, kd, kf := p.kPackets, p.kDrops, p.kFreezes
	p.statsMu.Unlock()
	return Stats{
		Packets: kp, Drops: kd, Freezes: kf,
		Oversize: p.oversize.Load(), Truncated: p.truncated.Load(), Malformed: p.malformed.Load(),
		BadVNetHdr: p.badVNet.Load(), PartialCsum: p.partialCsum.Load(), CsumCompleted: p.completed.Load(),
		LinkDown: p.linkDown.Load(), TxPackets: p.txPackets.Load(), TxDropped: p.txDropped.Load(),
	}
}

// harvest adds the kernel's counters (reset by each read) to ours. The caller holds life.
func (p *Port) harvest() {
	s, err := unix.GetsockoptTpacketStatsV3(p.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return
	}
	p.statsMu.Lock()
	p.kPackets += uint64(s.Packets)
	p.kDrops += uint64(s.Drops)
	p.kFreezes += uint64(s.Freeze_q_cnt)
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

// FrameTimeout is the block retire timeout in effect (FrameTimeout rounded up to milliseconds).
func (p *Port) FrameTimeout() time.Duration { return p.timeout }

// RingBytes is the size of the receive ring.
func (p *Port) RingBytes() int { return p.blockSize * p.numBlocks }
