package wire

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uvs-lb/uvs/netstack/port"
)

const (
	// fdbAge is how long a learned address stays without being seen again (the IEEE 802.1D
	// default, as Linux bridges use).
	fdbAge = 300 * time.Second
	// fdbRefresh is how stale an entry's last-seen time may get before a frame from it
	// takes the write lock to refresh it: learning costs a read lock per frame, not a write.
	fdbRefresh = time.Second
	// swHeadroom is where the switch puts frames in its buffers. It must be at least the
	// headroom of every port it writes to (ports with virtio-net headers need 10), and a
	// frame read from a port with such headers keeps its header in front of it.
	swHeadroom = 64
)

// Switch is a learning L2 switch: it remembers on which port each source MAC was last seen,
// sends unicast to that port only, and floods broadcast, multicast and unknown unicast to
// every other port that is up. Entries age out after 300 s, and those on a port are
// forgotten when it goes down. It owns its ports.
type Switch struct {
	name  string
	epoch time.Time

	mu      sync.Mutex // guards byName, started, closed and updates of ports
	byName  map[string]*swPort
	ports   atomic.Pointer[[]*swPort] // read per batch by the forwarding goroutines
	started bool
	closed  bool
	wg      sync.WaitGroup

	fdbMu sync.RWMutex
	fdb   map[[6]byte]fdbEntry
}

type swPort struct {
	name string
	id   int // index in ports, which only grows
	p    port.Port
	up   atomic.Bool
	st   dirCounters
}

type fdbEntry struct {
	p    *swPort
	seen time.Duration // on the switch's clock
}

// NewSwitch returns a switch without ports. It starts nothing.
func NewSwitch(name string) *Switch {
	s := &Switch{name: name, epoch: time.Now(), byName: make(map[string]*swPort), fdb: make(map[[6]byte]fdbEntry)}
	s.ports.Store(new([]*swPort))
	return s
}

// AddPort connects p to the switch as port name, up. It may be called before or after
// Start; on a closed switch it closes p. A name used twice, or a port that needs more than
// 64 bytes of headroom, is a programming error and panics.
func (s *Switch) AddPort(name string, p port.Port) {
	if p.Headroom() > swHeadroom {
		panic(fmt.Sprintf("wire: switch %s: port %s needs %d bytes of headroom, more than %d", s.name, name, p.Headroom(), swHeadroom))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		p.Close()
		return
	}
	if _, dup := s.byName[name]; dup {
		panic(fmt.Sprintf("wire: switch %s: port %s added twice", s.name, name))
	}
	old := *s.ports.Load()
	sp := &swPort{name: name, id: len(old), p: p}
	sp.up.Store(true)
	s.byName[name] = sp
	ports := append(old[:len(old):len(old)], sp) // copy on write: readers hold old
	s.ports.Store(&ports)
	if s.started {
		s.wg.Add(1)
		go s.serve(sp)
	}
}

// SetPortUp enables or disables a port, like an administrative shutdown: a disabled port
// neither receives nor sends, and the addresses learned on it are forgotten. Unknown names
// are ignored.
func (s *Switch) SetPortUp(name string, up bool) {
	s.mu.Lock()
	sp := s.byName[name]
	s.mu.Unlock()
	if sp == nil || sp.up.Swap(up) == up || up {
		return
	}
	s.fdbMu.Lock()
	for mac, e := range s.fdb {
		if e.p == sp {
			delete(s.fdb, mac)
		}
	}
	s.fdbMu.Unlock()
}

// Start starts one forwarding goroutine per port. Later calls do nothing.
func (s *Switch) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return
	}
	s.started = true
	for _, sp := range *s.ports.Load() {
		s.wg.Add(1)
		go s.serve(sp)
	}
}

// Close closes the ports and waits for the forwarding goroutines.
func (s *Switch) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		for _, sp := range *s.ports.Load() {
			sp.p.Close()
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// Stats returns each port's counters by name (see DirStats).
func (s *Switch) Stats() map[string]DirStats {
	ports := *s.ports.Load()
	m := make(map[string]DirStats, len(ports))
	for _, sp := range ports {
		m[sp.name] = sp.st.snapshot()
	}
	return m
}

// txBatch collects the frames one forwarding goroutine sends out of one port per batch:
// views into its receive buffers, written once the batch is switched.
type txBatch struct {
	bufs  [][]byte
	sizes []int
}

// serve forwards the frames received on in until it closes.
func (s *Switch) serve(in *swPort) {
	defer s.wg.Done()
	n := max(in.p.BatchSize(), 1)
	bufs, sizes := make([][]byte, n), make([]int, n)
	for i := range bufs {
		bufs[i] = make([]byte, swHeadroom+in.p.MaxFrame())
	}
	var tx []txBatch  // by output port id
	var touched []int // ids with frames in tx
	for {
		k, err := in.p.Read(bufs, sizes, swHeadroom)
		if k > 0 {
			ports := *s.ports.Load()
			if len(tx) < len(ports) {
				tx = append(tx, make([]txBatch, len(ports)-len(tx))...)
			}
			now := time.Since(s.epoch)
			for i := range k {
				touched = s.forward(in, ports, bufs[i], sizes[i], now, tx, touched)
			}
			for _, id := range touched {
				s.send(ports[id], &tx[id])
			}
			touched = touched[:0]
		}
		if err != nil {
			return
		}
	}
}

// forward decides where one frame goes and queues it in tx; it returns touched with the
// ids of the ports it queued to added.
func (s *Switch) forward(in *swPort, ports []*swPort, buf []byte, size int, now time.Duration, tx []txBatch, touched []int) []int {
	in.st.frames.Add(1)
	in.st.bytes.Add(uint64(size))
	if !in.up.Load() {
		in.st.droppedDown.Add(1)
		return touched
	}
	if size < ethHeader {
		in.st.lost.Add(1)
		return touched
	}
	f := buf[swHeadroom : swHeadroom+size]
	dst, src := [6]byte(f[0:6]), [6]byte(f[6:12])

	s.fdbMu.RLock()
	se, known := s.fdb[src]
	de, found := s.fdb[dst]
	s.fdbMu.RUnlock()
	if src[0]&1 == 0 && (!known || se.p != in || now-se.seen > fdbRefresh) {
		s.fdbMu.Lock()
		s.fdb[src] = fdbEntry{p: in, seen: now}
		s.fdbMu.Unlock()
	}

	queue := func(out *swPort) {
		t := &tx[out.id]
		if len(t.bufs) == 0 {
			touched = append(touched, out.id)
		}
		t.bufs = append(t.bufs, buf)
		t.sizes = append(t.sizes, size)
	}
	if dst[0]&1 == 0 && found && now-de.seen <= fdbAge {
		if out := de.p; out != in { // a frame for its own segment is filtered
			if out.up.Load() {
				queue(out)
			} else {
				out.st.droppedDown.Add(1)
			}
		}
		return touched
	}
	for _, out := range ports {
		if out != in && out.up.Load() {
			queue(out)
		}
	}
	return touched
}

// send writes one port's batch and empties it.
func (s *Switch) send(out *swPort, t *txBatch) {
	n, err := out.p.Write(t.bufs, t.sizes, swHeadroom)
	if err != nil {
		n = 0
	}
	out.st.delivered.Add(uint64(n))
	out.st.droppedQueue.Add(uint64(len(t.bufs) - n))
	clear(t.bufs)
	t.bufs, t.sizes = t.bufs[:0], t.sizes[:0]
}
