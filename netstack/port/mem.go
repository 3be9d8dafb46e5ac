package port

import (
	"net"
	"sync"
)

// Mem is one end of an in-memory link made by Pipe. Frames written to one end are read from
// the other, copied, in order. The link holds at most Queue frames per direction; a Write to
// a full queue drops the frames that do not fit (and counts them), as a real link would.
type Mem struct {
	name  string
	mac   net.HardwareAddr
	mtu   int
	vnet  bool
	in    *queue // frames for this end
	out   *queue // frames for the peer
	close sync.Once
}

type queue struct {
	mu      sync.Mutex
	cond    *sync.Cond
	frames  [][]byte // frames[head:] are queued; the slice is reused from 0 once drained
	head    int
	free    [][]byte // recycled buffers
	limit   int
	closed  bool
	dropped uint64
}

// MemConfig describes one end of a Pipe.
type MemConfig struct {
	Name string
	MAC  net.HardwareAddr
	MTU  int // 0 = 1500
	// VNetHdr makes the end keep a virtio-net header in front of each frame, as AF_PACKET
	// and TAP ports do with offloads on, so tests can send GSO super-frames (up to 64 KiB)
	// and partial checksums through a Pipe. The link carries each frame's header; an end
	// without VNetHdr writes a zero one and reads none.
	VNetHdr bool
	// Queue is how many frames this end's receive queue holds, its ring (0 = DefaultQueue):
	// frames written to it beyond that are dropped and counted (Dropped).
	Queue int
}

// DefaultQueue is the per-direction frame limit of a Pipe.
const DefaultQueue = 1024

// Pipe returns two connected in-memory ports.
func Pipe(a, b MemConfig) (*Mem, *Mem) {
	limit := func(c MemConfig) int {
		if c.Queue > 0 {
			return c.Queue
		}
		return DefaultQueue
	}
	qa, qb := newQueue(limit(a)), newQueue(limit(b))
	return newMem(a, qa, qb), newMem(b, qb, qa)
}

func newQueue(limit int) *queue {
	q := &queue{limit: limit}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func newMem(c MemConfig, in, out *queue) *Mem {
	if c.MTU == 0 {
		c.MTU = 1500
	}
	return &Mem{name: c.Name, mac: c.MAC, mtu: c.MTU, vnet: c.VNetHdr, in: in, out: out}
}

// Read implements Port.
func (m *Mem) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	q := m.in
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.head == len(q.frames) && !q.closed {
		q.cond.Wait()
	}
	if q.head == len(q.frames) {
		return 0, ErrClosed
	}
	n := 0
	for n < len(bufs) && q.head < len(q.frames) {
		f := q.frames[q.head]
		q.frames[q.head] = nil
		q.head++
		if m.vnet {
			copy(bufs[n][offset-VNetHdrLen:offset], f[:VNetHdrLen])
		}
		sizes[n] = copy(bufs[n][offset:], f[VNetHdrLen:])
		q.free = append(q.free, f[:0])
		n++
	}
	if q.head == len(q.frames) {
		q.frames, q.head = q.frames[:0], 0
	}
	return n, nil
}

// Write implements Port.
func (m *Mem) Write(bufs [][]byte, sizes []int, offset int) (int, error) {
	q := m.out
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return 0, ErrClosed
	}
	for i, b := range bufs {
		if len(q.frames)-q.head >= q.limit {
			q.dropped += uint64(len(bufs) - i)
			break
		}
		var f []byte
		if n := len(q.free); n > 0 {
			f, q.free = q.free[n-1], q.free[:n-1]
		}
		if m.vnet {
			f = append(f, b[offset-VNetHdrLen:offset]...)
		} else {
			f = append(f, zeroVNetHdr[:]...)
		}
		q.frames = append(q.frames, append(f, b[offset:offset+sizes[i]]...))
	}
	q.cond.Signal()
	return len(bufs), nil
}

// Dropped returns how many frames written towards this end were dropped on a full queue.
func (m *Mem) Dropped() uint64 {
	m.in.mu.Lock()
	defer m.in.mu.Unlock()
	return m.in.dropped
}

// RxDropped implements RxDropper: the frames dropped on this end's full queue.
func (m *Mem) RxDropped() uint64 { return m.Dropped() }

// BatchSize implements Port.
func (m *Mem) BatchSize() int { return 64 }

// MTU implements Port.
func (m *Mem) MTU() int { return m.mtu }

// MaxFrame implements Port: with VNetHdr, a GSO super-frame.
func (m *Mem) MaxFrame() int {
	if m.vnet {
		return maxGSOFrame
	}
	return m.mtu + 18
}

// maxGSOFrame is the largest super-frame: a 64 KiB IP packet behind Ethernet and a tag.
const maxGSOFrame = 65535 + 18

var zeroVNetHdr [VNetHdrLen]byte

// Headroom implements Port: room for the virtio-net header with VNetHdr.
func (m *Mem) Headroom() int {
	if m.vnet {
		return VNetHdrLen
	}
	return 0
}

// HardwareAddr implements Port.
func (m *Mem) HardwareAddr() net.HardwareAddr { return m.mac }

// Name implements Port.
func (m *Mem) Name() string { return m.name }

// Close closes both directions of this end: its Read returns ErrClosed, and so do the
// peer's Writes (carrier lost).
func (m *Mem) Close() error {
	m.close.Do(func() {
		for _, q := range []*queue{m.in, m.out} {
			q.mu.Lock()
			q.closed = true
			q.cond.Broadcast()
			q.mu.Unlock()
		}
	})
	return nil
}
