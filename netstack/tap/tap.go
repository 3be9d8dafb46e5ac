//go:build linux

package tap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/songgao/water"
	"github.com/uvs-lb/uvs/netstack/afpacket/vnet"
	"github.com/uvs-lb/uvs/netstack/port"
	"golang.org/x/sys/unix"
)

// DefaultBatchSize is the most frames one Read returns unless configured.
const DefaultBatchSize = 64

// MaxGSOFrame is the largest frame Read returns with VNetHdr: an IP packet of 65535 bytes
// behind an Ethernet header and one VLAN tag.
const MaxGSOFrame = 65535 + 14 + 4

// offloads asked of the kernel with TUNSETOFFLOAD: what the TAP device may hand us unfinished.
// USO (UDP segmentation, Linux >= 6.2) is dropped when the kernel refuses it.
const (
	offloadBase = unix.TUN_F_CSUM | unix.TUN_F_TSO4 | unix.TUN_F_TSO6 | unix.TUN_F_TSO_ECN
	offloadUSO  = unix.TUN_F_USO4 | unix.TUN_F_USO6
)

// Config says which TAP device to create or attach to.
type Config struct {
	// Name of the TAP device: created when absent, attached to when it exists (it must then
	// be a TAP without multiqueue, and the caller allowed to use it). "" lets the kernel pick
	// tapN.
	Name string
	// Persist sets the device's persist flag (TUNSETPERSIST) as Open's last step, either way:
	// true keeps the device after Close; false makes even a persistent device vanish on the
	// last Close (water behaves the same).
	Persist bool
	// VNetHdr opens the device with IFF_VNET_HDR and turns on checksum and segmentation
	// offload (TUNSETOFFLOAD): the kernel hands over GSO super-frames and partial checksums
	// (Read completes the checksums), and Write may send super-frames for the kernel to
	// segment. Without it every frame is at most MTU-sized with complete checksums.
	VNetHdr bool
	// MAC is this port's own address, the uvs end of the wire (the kernel's TAP interface has
	// another). nil: DeriveMAC(name).
	MAC net.HardwareAddr
	// BatchSize is the most frames one Read returns. 0 = DefaultBatchSize.
	BatchSize int
}

// Stats are the port's counters. Frames the kernel dropped because uvs did not read them in
// time are counted by the kernel as tx_dropped of the TAP interface (ip -s link).
type Stats struct {
	RxPackets     uint64 // frames delivered by Read
	Oversize      uint64 // frames longer than the caller's buffer: dropped
	BadVNetHdr    uint64 // virtio headers whose checksum offsets do not fit the frame: dropped
	CsumCompleted uint64 // partial checksums Read completed
	TxPackets     uint64 // frames the kernel accepted
	TxDropped     uint64 // frames the kernel refused (bad virtio header, link down, ...)
}

// Port is a TAP port. Read is for one goroutine at a time; Write is safe from several. It
// implements port.Port.
type Port struct {
	name     string
	mac      net.HardwareAddr
	mtu      int
	batch    int
	vnetHdr  bool
	headroom int
	maxFrame int
	offloads int

	fd  int // the /dev/net/tun file descriptor, non-blocking
	efd int // eventfd: readable once Close has begun

	life   sync.RWMutex // held shared by Read/Write, exclusively by Close (see afpacket)
	closed atomic.Bool
	rmu    sync.Mutex // one Read at a time; guards rxPoll, rxIov, spill
	rxPoll [2]unix.PollFd
	rxIov  [2]unix.Iovec
	spill  [1]byte

	rxPackets, oversize, badVNet, completed, txPackets, txDropped atomic.Uint64
}

var _ port.Port = (*Port)(nil)

// DeriveMAC returns the locally administered unicast address a TAP port named name uses
// unless configured: 02-style, from a hash of the name, so it is stable across restarts.
func DeriveMAC(name string) net.HardwareAddr {
	h := fnv.New64a()
	h.Write([]byte("uvs/tap/" + name))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], h.Sum64())
	mac := net.HardwareAddr(b[:6])
	mac[0] = mac[0]&^0x01 | 0x02 // unicast, locally administered
	return mac
}

// Open creates or attaches to a TAP device, in the network namespace of the calling thread.
// It needs CAP_NET_ADMIN and access to /dev/net/tun (mode 0600 on many systems: root only).
// The kernel side of the device (its addresses, link state) is left to the caller.
func Open(cfg Config) (*Port, error) {
	if cfg.BatchSize == 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.BatchSize < 1 {
		return nil, errors.New("tap: BatchSize must be positive")
	}
	if len(cfg.Name) >= unix.IFNAMSIZ {
		return nil, fmt.Errorf("tap: name %q longer than %d bytes", cfg.Name, unix.IFNAMSIZ-1)
	}
	p := &Port{batch: cfg.BatchSize, vnetHdr: cfg.VNetHdr, fd: -1, efd: -1}
	var err error
	if cfg.VNetHdr {
		err = p.openVNet(cfg)
	} else {
		err = p.openWater(cfg)
	}
	if err == nil {
		p.efd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	}
	var ifi *net.Interface
	if err == nil {
		ifi, err = net.InterfaceByName(p.name)
	}
	if err != nil {
		p.release()
		return nil, fmt.Errorf("tap %s: %w", cfg.Name, err)
	}
	p.mtu = ifi.MTU
	p.maxFrame = p.mtu + 14 + 4
	if cfg.VNetHdr {
		p.headroom, p.maxFrame = vnet.Len, MaxGSOFrame
	}
	p.mac = cfg.MAC
	if p.mac == nil {
		p.mac = DeriveMAC(p.name)
	}
	p.rxPoll = [2]unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}, {Fd: int32(p.efd), Events: unix.POLLIN}}
	return p, nil
}

// openWater opens the device through songgao/water (IFF_TAP | IFF_NO_PI, non-blocking), then
// keeps a duplicate of its descriptor and closes water's *os.File: that file is registered
// with the Go runtime's netpoller, and every frame would also wake the poller for nothing
// (measured: 1.9 µs instead of 1.3 µs per request/reply). The duplicate shares the open file
// (and its O_NONBLOCK), so the device stays attached.
func (p *Port) openWater(cfg Config) error {
	ifce, err := water.New(water.Config{DeviceType: water.TAP,
		PlatformSpecificParams: water.PlatformSpecificParams{Name: cfg.Name, Persist: cfg.Persist}})
	if err != nil {
		return err
	}
	defer ifce.Close()
	p.name = ifce.Name()
	sc, ok := ifce.ReadWriteCloser.(syscall.Conn)
	if !ok {
		return errors.New("water returned no file descriptor")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	// Control, not (*os.File).Fd: Fd would switch the descriptor to blocking mode.
	if cerr := rc.Control(func(fd uintptr) { p.fd, err = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) }); cerr != nil {
		return cerr
	}
	if err != nil {
		p.fd = -1
		return fmt.Errorf("dup: %w", err)
	}
	return nil
}

// openVNet opens /dev/net/tun itself. water cannot be used here: it issues TUNSETIFF with
// flags it fixes (IFF_TAP|IFF_NO_PI, optionally IFF_MULTI_QUEUE) in an unexported function,
// IFF_VNET_HDR can only be set by that same TUNSETIFF, and a descriptor takes one TUNSETIFF
// (a second returns EEXIST).
func (p *Port) openVNet(cfg Config) error {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	p.fd = fd
	ifr, err := unix.NewIfreq(cfg.Name)
	if err != nil {
		return err
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		return fmt.Errorf("TUNSETIFF: %w", err)
	}
	p.name = ifr.Name()
	hdrLen := vnet.Len
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TUNSETVNETHDRSZ, uintptr(unsafe.Pointer(&hdrLen))); e != 0 {
		return fmt.Errorf("TUNSETVNETHDRSZ: %w", e)
	}
	p.offloads = offloadBase | offloadUSO
	if err := unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, p.offloads); err != nil {
		p.offloads = offloadBase
		if err := unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, p.offloads); err != nil {
			return fmt.Errorf("TUNSETOFFLOAD: %w", err)
		}
	}
	persist := 0
	if cfg.Persist {
		persist = 1
	}
	if err := unix.IoctlSetInt(fd, unix.TUNSETPERSIST, persist); err != nil {
		return fmt.Errorf("TUNSETPERSIST: %w", err)
	}
	return nil
}

func (p *Port) release() {
	if p.fd >= 0 {
		unix.Close(p.fd)
		p.fd = -1
	}
	if p.efd >= 0 {
		unix.Close(p.efd)
		p.efd = -1
	}
}

var errOffset = errors.New("tap: offset below Headroom()")

// Read implements port.Port. A TAP gives one frame per read(2): Read reads frames until the
// device has no more or bufs are full, and sleeps in poll(2) only while it has none (woken by
// a frame or Close). With VNetHdr the kernel writes the virtio header and the frame straight
// into bufs[i][offset-port.VNetHdrLen:], and partial checksums are completed in place.
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
		n, err := p.drain(bufs, sizes, offset)
		if n > 0 || err != nil {
			return n, err
		}
		if err := p.waitRx(); err != nil {
			return 0, err
		}
	}
}

func (p *Port) drain(bufs [][]byte, sizes []int, offset int) (int, error) {
	n := 0
	var oversize, bad, completed uint64
	defer func() {
		p.rxPackets.Add(uint64(n))
		if oversize|bad|completed != 0 {
			p.oversize.Add(oversize)
			p.badVNet.Add(bad)
			p.completed.Add(completed)
		}
	}()
	for n < len(bufs) {
		b := bufs[n][offset-p.headroom:]
		if len(b) == 0 {
			return n, errors.New("tap: empty read buffer")
		}
		// A TAP cuts a frame to the buffer and says nothing: read one spill byte past the
		// buffer to tell a frame that fits exactly from one that was cut.
		p.rxIov[0].Base, p.rxIov[1].Base = &b[0], &p.spill[0]
		p.rxIov[0].SetLen(len(b))
		p.rxIov[1].SetLen(len(p.spill))
		r, _, e := unix.Syscall(unix.SYS_READV, uintptr(p.fd), uintptr(unsafe.Pointer(&p.rxIov[0])), 2)
		p.rxIov[0].Base = nil
		switch e {
		case 0:
		case unix.EAGAIN:
			return n, nil
		case unix.EINTR:
			continue
		default:
			if n > 0 {
				return n, nil // report it on the next call
			}
			return 0, fmt.Errorf("tap %s: read: %w", p.name, e)
		}
		if int(r) > len(b) || int(r) < p.headroom+14 {
			oversize++ // longer than the buffer (or a runt): dropped
			continue
		}
		size := int(r) - p.headroom
		if p.vnetHdr {
			h := vnet.Decode(b)
			if h.Flags&vnet.FlagNeedsCsum != 0 {
				if !vnet.Complete(b[vnet.Len:r], &h) {
					bad++
					continue
				}
				h.Encode(b)
				completed++
			}
		}
		sizes[n] = size
		n++
	}
	return n, nil
}

func (p *Port) waitRx() error {
	for {
		p.rxPoll[0].Revents, p.rxPoll[1].Revents = 0, 0
		_, err := unix.Poll(p.rxPoll[:], -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("tap %s: poll: %w", p.name, err)
		}
		if p.rxPoll[1].Revents != 0 || p.closed.Load() {
			return port.ErrClosed
		}
		if p.rxPoll[0].Revents&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 && p.rxPoll[0].Revents&unix.POLLIN == 0 {
			return fmt.Errorf("tap %s: device gone (revents %#x)", p.name, p.rxPoll[0].Revents)
		}
		return nil
	}
}

// Write implements port.Port: one write(2) per frame (a TAP has no batched write; with
// VNetHdr, GSO super-frames are how to send more per call). Frames the kernel refuses are
// dropped and counted in Stats().TxDropped; Write returns how many it accepted.
func (p *Port) Write(bufs [][]byte, sizes []int, offset int) (int, error) {
	if offset < p.headroom {
		return 0, errOffset
	}
	p.life.RLock()
	defer p.life.RUnlock()
	if p.closed.Load() {
		return 0, port.ErrClosed
	}
	sent, dropped := 0, 0
	defer func() {
		p.txPackets.Add(uint64(sent))
		if dropped > 0 {
			p.txDropped.Add(uint64(dropped))
		}
	}()
	for i := 0; i < len(bufs); {
		b := bufs[i][offset-p.headroom : offset+sizes[i]]
		if len(b) == 0 {
			dropped++
			i++
			continue
		}
		_, _, e := unix.Syscall(unix.SYS_WRITE, uintptr(p.fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		switch e {
		case 0:
			sent++
			i++
		case unix.EINTR:
		case unix.EAGAIN:
			if err := p.waitTx(); err != nil {
				return sent, err
			}
		case unix.EBADFD:
			return sent, fmt.Errorf("tap %s: write: %w", p.name, e)
		default: // EINVAL (bad virtio header, runt), EIO (interface down), ENOMEM, EFAULT
			dropped++
			i++
		}
	}
	return sent, nil
}

func (p *Port) waitTx() error {
	fds := [2]unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLOUT}, {Fd: int32(p.efd), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds[:], -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("tap %s: poll: %w", p.name, err)
		}
		if fds[1].Revents != 0 || p.closed.Load() {
			return port.ErrClosed
		}
		return nil
	}
}

// Close implements port.Port: it wakes a Read or Write blocked in poll, waits for them to
// leave, and closes the device (which disappears unless persistent).
func (p *Port) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	one := [8]byte{1}
	unix.Write(p.efd, one[:])
	p.life.Lock()
	defer p.life.Unlock()
	p.release()
	return nil
}

// Stats returns the port's counters.
func (p *Port) Stats() Stats {
	return Stats{RxPackets: p.rxPackets.Load(), Oversize: p.oversize.Load(), BadVNetHdr: p.badVNet.Load(),
		CsumCompleted: p.completed.Load(), TxPackets: p.txPackets.Load(), TxDropped: p.txDropped.Load()}
}

// Offloads returns the TUN_F_* flags set with TUNSETOFFLOAD (0 without VNetHdr).
func (p *Port) Offloads() int { return p.offloads }

// BatchSize implements port.Port.
func (p *Port) BatchSize() int { return p.batch }

// MTU implements port.Port: the TAP interface's MTU when the port was opened.
func (p *Port) MTU() int { return p.mtu }

// MaxFrame implements port.Port: MTU plus Ethernet header and one VLAN tag, or MaxGSOFrame
// with VNetHdr.
func (p *Port) MaxFrame() int { return p.maxFrame }

// Headroom implements port.Port: port.VNetHdrLen with VNetHdr, else 0.
func (p *Port) Headroom() int { return p.headroom }

// HardwareAddr implements port.Port: this port's MAC (not the kernel interface's).
func (p *Port) HardwareAddr() net.HardwareAddr { return p.mac }

// Name implements port.Port: the TAP device's name.
func (p *Port) Name() string { return p.name }
