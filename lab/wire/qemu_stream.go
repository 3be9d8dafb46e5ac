package wire

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uvs-lb/uvs/netstack/port"
)

const (
	qemuMTU = 1500
	// qemuMaxLen bounds the length prefix accepted from QEMU: its network buffers are
	// 4096+65536 bytes. A longer prefix means the stream lost sync, so the connection is
	// dropped and redialled.
	qemuMaxLen = 4096 + 65536
	// streamPending bounds the bytes queued for a slow VM (one that is booting does not read
	// its socket until its NIC driver runs); beyond it frames are dropped, as a full NIC
	// ring would.
	streamPending = 1 << 20
	qemuBatch     = 64
	backoffMin    = 50 * time.Millisecond
	backoffMax    = time.Second
)

// qemuStream is a port over QEMU's stream socket netdev (-netdev stream,server=on or the
// older -netdev socket,listen=): each frame is a 4-byte big-endian length, then the frame.
type qemuStream struct {
	network, addr string
	name          string
	dialer        net.Dialer
	ctx           context.Context // cancelled by Close, ends redialling
	cancel        context.CancelFunc

	mu       sync.Mutex
	cond     *sync.Cond // signalled on a new connection, a lost one, pending data, Close
	cur      *streamConn
	closed   bool
	pending  []byte // framed bytes for the writer goroutine
	pendingN int    // frames in pending
	spare    []byte // the writer's buffer, swapped with pending

	rmu     sync.Mutex // serializes Read
	hdr     [4]byte
	dropped atomic.Uint64
	wg      sync.WaitGroup
}

type streamConn struct {
	c net.Conn
	r *bufio.Reader
}

// DialQEMUStream returns a port connected to a QEMU VM whose stream netdev listens on addr
// ("tcp" host:port, or "unix" socket path), e.g.
//
//	-netdev stream,id=n0,server=on,wait=off,addr.type=inet,addr.host=127.0.0.1,addr.port=10000
//
// Frames use QEMU's framing: a 4-byte big-endian length, then the frame. QEMU (7.2 at least)
// does not reconnect as a client, so the lab is the client: DialQEMUStream retries with
// backoff until the first connection succeeds or ctx is done (QEMU creates its socket a
// moment after it starts), and after that the port redials whenever the VM closes the
// connection (a reboot, QEMU restarted) until Close; ctx does not bound that. While
// disconnected, frames written are dropped and Read waits for the next connection.
//
// The port has no MAC address (it is a cable to the VM's NIC); its MTU is 1500. Besides
// port.Port it has Dropped() uint64 (frames dropped: written while disconnected or lost
// with a connection, more than 1 MiB queued for a VM that does not read, or received too
// long for the reader's buffer) and Connected() bool.
func DialQEMUStream(ctx context.Context, network, addr string) (port.Port, error) {
	switch network {
	case "tcp", "tcp4", "tcp6", "unix":
	default:
		return nil, fmt.Errorf("wire: qemu stream %s: network %q is not tcp or unix", addr, network)
	}
	s := &qemuStream{network: network, addr: addr, name: "qemu:" + addr}
	s.cond = sync.NewCond(&s.mu)
	c, err := s.dialLoop(ctx)
	if err != nil {
		return nil, fmt.Errorf("wire: qemu stream %s %s: %w", network, addr, err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.setConn(c)
	s.wg.Add(2)
	go s.redialer()
	go s.writer()
	return s, nil
}

// dialLoop dials until it succeeds or ctx is done, backing off between attempts.
func (s *qemuStream) dialLoop(ctx context.Context) (net.Conn, error) {
	wait := backoffMin
	for {
		c, err := s.dialer.DialContext(ctx, s.network, s.addr)
		if err == nil {
			return c, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, errors.Join(ctx.Err(), err)
		case <-t.C:
		}
		wait = min(2*wait, backoffMax)
	}
}

func (s *qemuStream) setConn(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return
	}
	s.cur = &streamConn{c: c, r: bufio.NewReaderSize(c, 64<<10)}
	s.cond.Broadcast()
}

// lost retires sc after an error on it, unless it was already replaced; the redialer then
// dials again. Frames queued for it are dropped.
func (s *qemuStream) lost(sc *streamConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != sc {
		return
	}
	s.cur = nil
	sc.c.Close()
	s.dropped.Add(uint64(s.pendingN))
	s.pending, s.pendingN = s.pending[:0], 0
	s.cond.Broadcast()
}

// redialer dials again each time the connection is lost, until Close.
func (s *qemuStream) redialer() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		for s.cur != nil && !s.closed {
			s.cond.Wait()
		}
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return
		}
		c, err := s.dialLoop(s.ctx)
		if err != nil {
			return // cancelled: closed
		}
		s.setConn(c)
	}
}

// writer sends what Write queued, so that a VM that does not read its socket blocks neither
// the link nor the switch writing to this port.
func (s *qemuStream) writer() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		for !s.closed && (s.cur == nil || len(s.pending) == 0) {
			s.cond.Wait()
		}
		if s.closed {
			s.mu.Unlock()
			return
		}
		sc, buf, n := s.cur, s.pending, s.pendingN
		s.pending, s.pendingN, s.spare = s.spare[:0], 0, nil
		s.mu.Unlock()

		if _, err := sc.c.Write(buf); err != nil {
			s.dropped.Add(uint64(n))
			s.lost(sc)
		}
		s.mu.Lock()
		s.spare = buf[:0]
		s.mu.Unlock()
	}
}

// Read implements port.Port. It returns the frames QEMU sent, blocking across reconnects.
func (s *qemuStream) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	for {
		s.mu.Lock()
		for s.cur == nil && !s.closed {
			s.cond.Wait()
		}
		sc, closed := s.cur, s.closed
		s.mu.Unlock()
		if closed {
			return 0, port.ErrClosed
		}
		n, err := s.readFrames(sc, bufs, sizes, offset)
		if err != nil {
			s.lost(sc)
		}
		if n > 0 {
			return n, nil
		}
	}
}

// readFrames blocks for one frame, then takes the frames already buffered, up to len(bufs).
func (s *qemuStream) readFrames(sc *streamConn, bufs [][]byte, sizes []int, offset int) (int, error) {
	n := 0
	for n < len(bufs) {
		if n > 0 {
			// Only frames already complete in the buffer: never block with frames in hand.
			if sc.r.Buffered() < 4 {
				break
			}
			h, _ := sc.r.Peek(4)
			if sc.r.Buffered() < 4+int(binary.BigEndian.Uint32(h)) {
				break
			}
		}
		if _, err := io.ReadFull(sc.r, s.hdr[:]); err != nil {
			return n, err
		}
		size := int(binary.BigEndian.Uint32(s.hdr[:]))
		if size > qemuMaxLen {
			return n, fmt.Errorf("frame length %d: stream out of sync", size)
		}
		dst := bufs[n][offset:]
		if size > len(dst) {
			if _, err := sc.r.Discard(size); err != nil {
				return n, err
			}
			s.dropped.Add(1)
			continue
		}
		if _, err := io.ReadFull(sc.r, dst[:size]); err != nil {
			return n, err
		}
		sizes[n] = size
		n++
	}
	return n, nil
}

// Write implements port.Port. It queues the frames for the writer goroutine and never blocks
// on the VM; frames it cannot queue (disconnected, or too much pending) are dropped.
func (s *qemuStream) Write(bufs [][]byte, sizes []int, offset int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, port.ErrClosed
	}
	if s.cur == nil {
		s.dropped.Add(uint64(len(bufs)))
		return len(bufs), nil
	}
	queued := 0
	for i, b := range bufs {
		if len(s.pending)+4+sizes[i] > streamPending {
			s.dropped.Add(uint64(len(bufs) - i))
			break
		}
		s.pending = binary.BigEndian.AppendUint32(s.pending, uint32(sizes[i]))
		s.pending = append(s.pending, b[offset:offset+sizes[i]]...)
		queued++
	}
	if queued > 0 {
		s.pendingN += queued
		s.cond.Broadcast()
	}
	return len(bufs), nil
}

// Dropped returns how many frames the port dropped (see DialQEMUStream).
func (s *qemuStream) Dropped() uint64 { return s.dropped.Load() }

// Connected reports whether the port has a connection to QEMU now.
func (s *qemuStream) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur != nil
}

// BatchSize implements port.Port.
func (s *qemuStream) BatchSize() int { return qemuBatch }

// MTU implements port.Port.
func (s *qemuStream) MTU() int { return qemuMTU }

// MaxFrame implements port.Port: an Ethernet frame with a VLAN tag and FCS room, as Mem.
func (s *qemuStream) MaxFrame() int { return qemuMTU + 18 }

// Headroom implements port.Port.
func (s *qemuStream) Headroom() int { return 0 }

// HardwareAddr implements port.Port: nil, the MAC is the VM's.
func (s *qemuStream) HardwareAddr() net.HardwareAddr { return nil }

// Name implements port.Port.
func (s *qemuStream) Name() string { return s.name }

// Close stops redialling, closes the connection and waits for the port's goroutines. Read
// and Write return port.ErrClosed after it.
func (s *qemuStream) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	if s.cur != nil {
		s.cur.c.Close()
		s.cur = nil
	}
	s.cond.Broadcast()
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}
