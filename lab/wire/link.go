package wire

import (
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uvs-lb/uvs/netstack/port"
)

// Impairment is what a link does to the frames of one direction, modelled on Linux netem.
// The zero value is a perfect cable. Percentages are clamped to 0..100 and negative
// durations count as zero.
//
// For each frame entering the direction, in this order:
//
//   - Loss: the frame is dropped with probability Loss %.
//   - Corrupt: with probability Corrupt %, one random bit is flipped after the 14-byte
//     Ethernet header (anywhere in a runt), so the frame still reaches its destination MAC
//     and the receiver's IP/TCP/UDP checksums are what catch it, which is what a lab wants to
//     exercise (a real NIC would drop a frame with a bad FCS silently).
//   - Duplicate: with probability Duplicate %, the frame is sent twice, the copy right after
//     the original (both carry the corruption, if any).
//   - Rate: each copy occupies the transmitter for len(frame)*8/Rate seconds (frame bytes as
//     the ports see them: no preamble, inter-frame gap or FCS); frames wait their turn in the
//     queue, so a direction carries at most Rate bits per second and a backlog beyond
//     QueueLimit frames is dropped.
//   - Delay and Jitter: a copy leaves when the transmitter is done with it plus Delay plus a
//     uniform draw in [-Jitter, +Jitter] (never before it entered). As with netem, jitter
//     reorders frames whose delays cross.
//   - Reorder: with probability Reorder %, the original is held back until the next frame of
//     the direction has been sent, then sent right after it (or after its own delay, if
//     later). A frame that releases a held frame is never held itself, so holds do not chain.
//     If no next frame arrives within 10 ms of the held frame's own departure time, it leaves
//     alone and does not count as reordered. (netem instead sends Reorder % of frames without
//     the delay; this form reorders even without a delay, which tests more.)
type Impairment struct {
	Delay, Jitter                     time.Duration
	Loss, Duplicate, Reorder, Corrupt float64 // percent, 0..100
	Rate                              uint64  // bits per second, 0 = unlimited
}

// LinkConfig describes a link.
type LinkConfig struct {
	Name       string // "lb1:eth0--sw1:p1", used for the pcap file name
	AtoB, BtoA Impairment
	// Seed makes the impairments reproducible: each direction draws from its own PCG seeded
	// from it, so the same seed and the same frames in the same order give the same losses,
	// duplicates, corruptions, holds and jitter.
	Seed int64
	// Pcap, if not nil, receives a pcap (LINKTYPE_ETHERNET) of both directions, written as
	// frames enter the link (before any impairment, so lost frames appear too), stamped
	// with the link's clock. NewLink writes the global header first; writes to it are
	// serialized (one Write per batch of frames), so it needs no locking of its own.
	Pcap io.Writer
	// QueueLimit is how many frames a direction holds in its delay/rate queue; 0 = 1024.
	// Frames beyond it are dropped and counted in DroppedQueue.
	QueueLimit int
}

// LinkStats counts a link's frames per direction.
type LinkStats struct{ AtoB, BtoA DirStats }

// DirStats counts the frames of one direction of a link, or of one switch port.
//
// For a link direction, Frames and Bytes counts what entered it; every copy (frame or
// duplicate) ends up Delivered, Lost, DroppedDown or DroppedQueue, so at rest
// Frames + Duplicated = Delivered + Lost + DroppedDown + DroppedQueue. Reordered and
// Corrupted count frames that were also delivered (or dropped later).
//
// For a switch port, Frames and Bytes are what the port received, Delivered what the switch
// sent out of it, Lost the runts it received (shorter than an Ethernet header), DroppedDown
// the frames received or to be sent while the port was down, DroppedQueue the frames the
// port refused (its Write failed).
type DirStats struct {
	Frames, Bytes, Delivered, Lost, Duplicated, Reordered, Corrupted, DroppedDown, DroppedQueue uint64
}

type dirCounters struct {
	frames, bytes, delivered, lost, duplicated, reordered, corrupted, droppedDown, droppedQueue atomic.Uint64
}

func (c *dirCounters) snapshot() DirStats {
	return DirStats{
		Frames: c.frames.Load(), Bytes: c.bytes.Load(), Delivered: c.delivered.Load(),
		Lost: c.lost.Load(), Duplicated: c.duplicated.Load(), Reordered: c.reordered.Load(),
		Corrupted: c.corrupted.Load(), DroppedDown: c.droppedDown.Load(),
		DroppedQueue: c.droppedQueue.Load(),
	}
}

const (
	defaultQueueLimit = 1024
	// reorderHold is how long past its own departure time a held frame waits for a
	// successor to overtake it: long enough for back-to-back traffic, short enough that a
	// lone frame (a SYN, an ARP request) is not stuck.
	reorderHold = 10 * time.Millisecond
	ethHeader   = 14
)

// Link is a point-to-point cable between two ports with per-direction impairments. It owns
// both ports. NewLink starts nothing; Start starts one reader per side and one scheduler per
// direction; Close stops them.
type Link struct {
	a, b  port.Port
	dirs  [2]*direction // a→b, b→a
	pcap  *PcapWriter
	epoch time.Time // the link's clock is time since epoch (monotonic)

	up  atomic.Bool
	gen atomic.Uint64 // bumped by every SetUp(false)

	carrierMu sync.Mutex // orders SetUp's notifications; guards subs and closed
	subs      []chan bool
	closed    bool

	done      chan struct{}
	start     sync.Once
	close     sync.Once
	wg        sync.WaitGroup
	startedMu sync.Mutex // orders Start's wg.Add against Close
}

// NewLink connects two ports: frames read from a are delivered to b and vice versa, through
// the impairments. a and b are the node-side ports' peers (e.g. the second end of a
// port.Pipe whose first end the node uses). The link is up.
func NewLink(a, b port.Port, cfg LinkConfig) *Link {
	l := &Link{a: a, b: b, epoch: time.Now(), done: make(chan struct{})}
	l.up.Store(true)
	if cfg.Pcap != nil {
		// A writer that fails on the global header would fail on every record too: the
		// link then runs without capture (the writer is the caller's, and so is its error).
		l.pcap, _ = NewPcapWriter(cfg.Pcap)
	}
	limit := cfg.QueueLimit
	if limit <= 0 {
		limit = defaultQueueLimit
	}
	// Distinct second PCG words keep the two directions' draws independent.
	l.dirs[0] = newDirection(l, a, b, cfg.AtoB, rand.NewPCG(uint64(cfg.Seed), 0x9e3779b97f4a7c15), limit)
	l.dirs[1] = newDirection(l, b, a, cfg.BtoA, rand.NewPCG(uint64(cfg.Seed), 0xd1b54a32d192ed03), limit)
	return l
}

// Start starts the link's goroutines: one reader per side and one scheduler per direction.
// Later calls do nothing.
func (l *Link) Start() {
	l.start.Do(func() {
		l.startedMu.Lock()
		defer l.startedMu.Unlock()
		select {
		case <-l.done:
			return // closed before it started
		default:
		}
		for _, d := range l.dirs {
			l.wg.Add(2)
			go d.read()
			go d.run()
		}
	})
}

// Close stops the link, closes both ports and waits for its goroutines. Frames still in
// flight are dropped and counted in DroppedDown. Carrier channels are closed.
func (l *Link) Close() {
	l.close.Do(func() {
		l.startedMu.Lock()
		close(l.done)
		l.startedMu.Unlock()
		l.a.Close()
		l.b.Close()
	})
	l.wg.Wait()
	for _, d := range l.dirs {
		d.flush()
	}
	l.carrierMu.Lock()
	if !l.closed {
		l.closed = true
		for _, ch := range l.subs {
			close(ch)
		}
		l.subs = nil
	}
	l.carrierMu.Unlock()
}

// SetUp plugs (true) or pulls (false) the cable. While down nothing crosses: frames entering
// either side, and those in flight when it goes down, are dropped and counted in
// DroppedDown. Subscribers of Carrier learn the change. It is cheap and safe to call from
// any goroutine; setting the state the link already has does nothing.
func (l *Link) SetUp(up bool) {
	if l.up.Load() == up {
		return // the common case when the runner re-applies a partition: no lock
	}
	l.carrierMu.Lock()
	defer l.carrierMu.Unlock()
	if l.up.Swap(up) == up {
		return
	}
	if !up {
		l.gen.Add(1)
		for _, d := range l.dirs {
			d.flush()
		}
	}
	for _, ch := range l.subs {
		select { // keep only the latest state: a slow subscriber skips flaps, not the end
		case <-ch:
		default:
		}
		ch <- up
	}
}

// Up reports whether the cable is plugged in.
func (l *Link) Up() bool { return l.up.Load() }

// Carrier is how the nodes at either end learn about carrier loss, which port.Port cannot
// express. Each call returns a new subscription: a channel of capacity one that holds the
// current state at once and, after every change, the latest state (a slow reader may miss
// a flap, never the final state). Both ends' nodes subscribe separately. The channel is
// closed by Close.
func (l *Link) Carrier() <-chan bool {
	ch := make(chan bool, 1)
	l.carrierMu.Lock()
	defer l.carrierMu.Unlock()
	ch <- l.up.Load()
	if l.closed {
		close(ch)
	} else {
		l.subs = append(l.subs, ch)
	}
	return ch
}

// SetImpairment replaces the impairments of both directions; frames already queued keep
// their departure times.
func (l *Link) SetImpairment(atob, btoa Impairment) {
	l.dirs[0].setImpairment(atob)
	l.dirs[1].setImpairment(btoa)
}

// Stats returns the link's counters.
func (l *Link) Stats() LinkStats {
	return LinkStats{AtoB: l.dirs[0].st.snapshot(), BtoA: l.dirs[1].st.snapshot()}
}

// now is the link's clock.
func (l *Link) now() int64 { return int64(time.Since(l.epoch)) }

// frame is a link-owned copy of a frame in flight, recycled through its direction's free
// list.
type frame struct {
	buf []byte // headroom of the egress port, then the frame
	n   int
	due int64  // when it leaves, on the link's clock
	own int64  // its departure time before a reorder hold
	seq uint64 // arrival order, to keep equal due times in order
	gen uint64 // the link's generation when it entered
	idx int    // position in the heap
}

// direction carries frames from one port to the other.
type direction struct {
	l        *Link
	from, to port.Port
	hr       int // to.Headroom(): where frames start in their buffers
	frameCap int
	limit    int
	imp      atomic.Pointer[Impairment]
	rng      *rand.Rand // used by the reader goroutine only
	wake     chan struct{}
	st       dirCounters

	mu   sync.Mutex
	q    frameHeap
	free []*frame
	held *frame // held back for reordering, still in q
	seq  uint64
	busy int64 // when the rate-limited transmitter is free again
}

func newDirection(l *Link, from, to port.Port, imp Impairment, src rand.Source, limit int) *direction {
	d := &direction{
		l: l, from: from, to: to, hr: to.Headroom(),
		frameCap: max(from.MaxFrame(), to.MaxFrame()),
		limit:    limit, rng: rand.New(src), wake: make(chan struct{}, 1),
	}
	d.setImpairment(imp)
	return d
}

func (d *direction) setImpairment(imp Impairment) {
	clampPct := func(p float64) float64 { return min(max(p, 0), 100) }
	imp.Loss, imp.Duplicate = clampPct(imp.Loss), clampPct(imp.Duplicate)
	imp.Reorder, imp.Corrupt = clampPct(imp.Reorder), clampPct(imp.Corrupt)
	imp.Delay, imp.Jitter = max(imp.Delay, 0), max(imp.Jitter, 0)
	d.imp.Store(&imp)
}

// read copies frames from the ingress port into the direction's queue until the port closes.
func (d *direction) read() {
	defer d.l.wg.Done()
	off, n := d.from.Headroom(), max(d.from.BatchSize(), 1)
	bufs, sizes := make([][]byte, n), make([]int, n)
	for i := range bufs {
		bufs[i] = make([]byte, off+d.from.MaxFrame())
	}
	for {
		k, err := d.from.Read(bufs, sizes, off)
		if k > 0 {
			d.input(bufs[:k], sizes[:k], off)
		}
		if err != nil {
			// ErrClosed, or a port that failed for good: this direction carries no more.
			return
		}
	}
}

// chance draws whether an event of probability pct percent happens. It draws nothing for 0,
// so a run's draws depend only on the impairments in force and the frames, in order.
func (d *direction) chance(pct float64) bool {
	return pct > 0 && d.rng.Float64()*100 < pct
}

// input puts one batch read from the ingress port through the impairments and into the
// queue.
func (d *direction) input(bufs [][]byte, sizes []int, off int) {
	now := d.l.now()
	if d.l.pcap != nil {
		d.l.pcap.writeFrames(d.l.epoch.Add(time.Duration(now)), bufs, sizes, off)
	}
	var bytes uint64
	for _, s := range sizes {
		bytes += uint64(s)
	}
	d.st.frames.Add(uint64(len(bufs)))
	d.st.bytes.Add(bytes)
	imp := d.imp.Load()

	d.mu.Lock()
	defer d.mu.Unlock()
	var head *frame
	if len(d.q) > 0 {
		head = d.q[0]
	}
	for i, b := range bufs {
		data := b[off : off+sizes[i]]
		gen := d.l.gen.Load()
		if !d.l.up.Load() {
			d.st.droppedDown.Add(1)
			continue
		}
		if d.chance(imp.Loss) {
			d.st.lost.Add(1)
			continue
		}
		corrupt := d.chance(imp.Corrupt)
		dup := d.chance(imp.Duplicate)
		hold := d.chance(imp.Reorder)
		var jitter int64
		if imp.Jitter > 0 {
			jitter = d.rng.Int64N(2*int64(imp.Jitter)+1) - int64(imp.Jitter)
		}
		if corrupt && len(data) > 0 {
			// In place: the read buffer is ours until the next Read, and the capture
			// already has the frame as it entered.
			d.corrupt(data)
			d.st.corrupted.Add(1)
		}
		copies := 1
		if dup {
			copies = 2
			d.st.duplicated.Add(1)
		}
		var first, last *frame
		for range copies {
			if len(d.q) >= d.limit {
				d.st.droppedQueue.Add(1)
				continue
			}
			f := d.get(len(data))
			copy(f.buf[d.hr:], data)
			depart := now
			if imp.Rate > 0 {
				// Serialization: the frame leaves the transmitter len*8/Rate after it is free.
				depart = max(now, d.busy) + int64(len(data))*8*int64(time.Second)/int64(imp.Rate)
				d.busy = depart
			}
			f.own = max(depart+int64(imp.Delay)+jitter, now)
			f.due, f.gen = f.own, gen
			f.seq = d.seq
			d.seq++
			d.q.push(f)
			if first == nil {
				first = f
			}
			last = f
		}
		if last == nil {
			continue
		}
		if h := d.held; h != nil {
			// This frame releases the held one, which now leaves right after it.
			d.held = nil
			h.due, h.seq = max(h.own, last.due), d.seq
			d.seq++
			d.q.fix(h.idx)
			d.st.reordered.Add(1)
		} else if hold && first != nil {
			first.due = first.own + int64(reorderHold)
			d.q.fix(first.idx)
			d.held = first
		}
	}
	if len(d.q) > 0 && (head == nil || d.q[0] != head) {
		select { // the earliest departure changed: the scheduler may need to wake earlier
		case d.wake <- struct{}{}:
		default:
		}
	}
}

// corrupt flips one bit of b after the Ethernet header, or anywhere in a runt.
func (d *direction) corrupt(b []byte) {
	if len(b) == 0 {
		return
	}
	start := 0
	if len(b) > ethHeader {
		start = ethHeader
	}
	bit := d.rng.IntN((len(b) - start) * 8)
	b[start+bit/8] ^= 1 << (bit % 8)
}

// get returns a frame from the free list (or a new one while the pool grows to the queue
// limit) sized for n bytes. d.mu is held.
func (d *direction) get(n int) *frame {
	var f *frame
	if k := len(d.free); k > 0 {
		f, d.free = d.free[k-1], d.free[:k-1]
	} else {
		f = &frame{buf: make([]byte, d.hr+d.frameCap)}
	}
	if len(f.buf) < d.hr+n {
		f.buf = make([]byte, d.hr+n) // a frame bigger than both ports' MaxFrame: rare
	}
	f.n = n
	return f
}

// run is the direction's scheduler: it sleeps until the earliest departure time, then writes
// every frame that is due to the egress port in one batch.
func (d *direction) run() {
	defer d.l.wg.Done()
	batch := max(d.to.BatchSize(), 1)
	out := make([]*frame, 0, batch)
	bufs, sizes := make([][]byte, batch), make([]int, batch)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-d.l.done:
			return
		default:
		}
		out = out[:0]
		wait := time.Duration(-1)
		d.mu.Lock()
		now := d.l.now()
		for len(d.q) > 0 && d.q[0].due <= now && len(out) < batch {
			f := d.q.pop()
			if f == d.held {
				d.held = nil // its successor never came
			}
			out = append(out, f)
		}
		if len(out) == 0 && len(d.q) > 0 {
			wait = time.Duration(d.q[0].due - now)
		}
		d.mu.Unlock()

		if len(out) > 0 {
			d.deliver(out, bufs, sizes)
			continue
		}
		if wait >= 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-d.wake:
				timer.Stop()
			case <-d.l.done:
				timer.Stop()
				return
			}
		} else {
			select {
			case <-d.wake:
			case <-d.l.done:
				return
			}
		}
	}
}

// deliver writes out's frames to the egress port and recycles them.
func (d *direction) deliver(out []*frame, bufs [][]byte, sizes []int) {
	gen, up := d.l.gen.Load(), d.l.up.Load()
	k := 0
	for _, f := range out {
		if !up || f.gen != gen {
			d.st.droppedDown.Add(1) // the cable was pulled while it was on the wire
			continue
		}
		bufs[k], sizes[k] = f.buf, f.n
		k++
	}
	if k > 0 {
		n, err := d.to.Write(bufs[:k], sizes[:k], d.hr)
		if err != nil {
			n = 0
		}
		d.st.delivered.Add(uint64(n))
		d.st.droppedDown.Add(uint64(k - n)) // the far end is gone
		clear(bufs[:k])
	}
	d.mu.Lock()
	d.free = append(d.free, out...)
	d.mu.Unlock()
}

// flush drops every queued frame (link down, or closed), counting them in DroppedDown.
func (d *direction) flush() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.st.droppedDown.Add(uint64(len(d.q)))
	for _, f := range d.q {
		d.free = append(d.free, f)
	}
	clear(d.q)
	d.q = d.q[:0]
	d.held = nil
	d.busy = 0
}
