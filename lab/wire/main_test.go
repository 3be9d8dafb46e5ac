package wire

import (
	"encoding/binary"
	"errors"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/internal/leakcheck"
	"github.com/uvs-lb/uvs/netstack/port"
)

// TestMain fails the package when goroutines outlive its tests: links, switches and QEMU
// ports stop and wait for their goroutines on Close.
func TestMain(m *testing.M) { leakcheck.Main(m, 3*time.Second) }

var (
	macA  = net.HardwareAddr{2, 0, 0, 0, 0, 0xa}
	macB  = net.HardwareAddr{2, 0, 0, 0, 0, 0xb}
	macC  = net.HardwareAddr{2, 0, 0, 0, 0, 0xc}
	bcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
)

// testEpoch is the origin of the send times stamped into test frames.
var testEpoch = time.Now()

// testFrame builds an Ethernet frame of size bytes (at least 26) carrying seq and the time
// it is built, padded with a pattern that depends on seq.
func testFrame(dst, src net.HardwareAddr, seq uint32, size int) []byte {
	f := make([]byte, max(size, 26))
	copy(f[0:6], dst)
	copy(f[6:12], src)
	binary.BigEndian.PutUint16(f[12:], 0x88b5) // IEEE local experimental
	binary.BigEndian.PutUint32(f[14:], seq)
	binary.BigEndian.PutUint64(f[18:], uint64(time.Since(testEpoch)))
	for i := 26; i < len(f); i++ {
		f[i] = byte(int(seq) + i)
	}
	return f
}

func frameSeq(f []byte) uint32 { return binary.BigEndian.Uint32(f[14:]) }

func frameSent(f []byte) time.Duration { return time.Duration(binary.BigEndian.Uint64(f[18:])) }

// rxFrame is a frame a collector received, with when.
type rxFrame struct {
	data []byte
	at   time.Duration // since testEpoch
}

// collector reads a port in the background and keeps what arrives.
type collector struct {
	mu     sync.Mutex
	cond   *sync.Cond
	frames []rxFrame
	done   chan struct{}
	err    error
}

func collect(p port.Port) *collector {
	c := &collector{done: make(chan struct{})}
	c.cond = sync.NewCond(&c.mu)
	go func() {
		defer close(c.done)
		n := p.BatchSize()
		bufs, sizes := make([][]byte, n), make([]int, n)
		for i := range bufs {
			bufs[i] = make([]byte, p.Headroom()+p.MaxFrame())
		}
		for {
			k, err := p.Read(bufs, sizes, p.Headroom())
			at := time.Since(testEpoch)
			c.mu.Lock()
			for i := range k {
				c.frames = append(c.frames, rxFrame{data: slices.Clone(bufs[i][p.Headroom() : p.Headroom()+sizes[i]]), at: at})
			}
			if err != nil {
				c.err = err
			}
			c.cond.Broadcast()
			c.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return c
}

// wait waits until the collector has n frames or timeout passes, and returns what it has.
func (c *collector) wait(n int, timeout time.Duration) []rxFrame {
	timer := time.AfterFunc(timeout, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer timer.Stop()
	deadline := time.Now().Add(timeout)
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.frames) < n && c.err == nil && time.Now().Before(deadline) {
		c.cond.Wait()
	}
	return slices.Clone(c.frames)
}

// next returns the i-th frame received, waiting for it up to 2 s.
func (c *collector) next(t *testing.T, i int) []byte {
	t.Helper()
	got := c.wait(i+1, 2*time.Second)
	if len(got) <= i {
		t.Fatalf("frame %d never arrived (have %d)", i, len(got))
	}
	return got[i].data
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.frames)
}

// stopped checks that the collector's port reported ErrClosed.
func (c *collector) stopped(t *testing.T) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(2 * time.Second):
		t.Fatal("collector still reading after Close")
	}
	if !errors.Is(c.err, port.ErrClosed) {
		t.Errorf("Read ended with %v, want ErrClosed", c.err)
	}
}

// eventually polls cond until it holds or 2 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// writeFrames writes frames to p in one batch.
func writeFrames(t *testing.T, p port.Port, frames ...[]byte) {
	t.Helper()
	sizes := make([]int, len(frames))
	for i, f := range frames {
		sizes[i] = len(f)
	}
	if _, err := p.Write(frames, sizes, 0); err != nil {
		t.Fatalf("Write: %v", err)
	}
}
