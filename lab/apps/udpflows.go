package apps

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// UDPFlows is a load of UDP flows to an echo service (ServeUDPEcho): Flows sockets, each
// with its own source port (so a load balancer sees Flows distinct flows), sending Rate
// datagrams per second between them on a fixed schedule. Each datagram is a request: its
// reply names the real server; no reply within Timeout is a "timeout", and an ICMP error
// that the socket reports (port unreachable: "refused") fails the oldest datagram awaiting
// its reply, the likeliest to have caused it.
//
// Latency runs from when the datagram was due to when its reply arrived.
type UDPFlows struct {
	Target  string        // host:port
	Flows   int           // 0 = 1
	Rate    float64       // datagrams per second, all flows together; 0 = 10 per flow
	Timeout time.Duration // for each reply, 0 = 2s
}

// Run sends the flows until ctx ends, recording every datagram into rec, and returns nil
// once its sockets are closed; it returns an error at once if the configuration is unusable.
func (l *UDPFlows) Run(ctx context.Context, d Dialer, rec *Recorder) error {
	if err := checkTarget(l.Target, l.Rate); err != nil {
		return err
	}
	if l.Flows < 0 || l.Timeout < 0 {
		return errNegative
	}
	flows, rate, timeout := l.Flows, l.Rate, l.Timeout
	if flows == 0 {
		flows = 1
	}
	if rate == 0 {
		rate = 10 * float64(flows)
	}
	if timeout == 0 {
		timeout = defaultTimeout
	}
	if err := checkTarget(l.Target, rate/float64(flows)); err != nil {
		return err
	}
	period := periodOf(rate / float64(flows))
	start := time.Now()
	var wg sync.WaitGroup
	for i := range flows {
		f := &udpFlow{id: i, target: l.Target, timeout: timeout, d: d, rec: rec, pending: make(map[uint64]time.Time)}
		// Stagger the flows over one period, so that the total rate is even.
		first := start.Add(time.Duration(float64(period) * float64(i) / float64(flows)))
		wg.Go(func() { f.run(ctx, first, period) })
	}
	wg.Wait()
	return nil
}

// udpFlow is one of UDPFlows' sockets. The sending goroutine owns conn; the reader matches
// replies to the datagrams in pending.
type udpFlow struct {
	id      int
	target  string
	timeout time.Duration
	d       Dialer
	rec     *Recorder

	conn    net.Conn
	closing atomic.Bool // set before the sender closes conn, so the reader stops quietly
	broken  atomic.Bool // set by the reader when conn failed: the sender makes it again
	reader  sync.WaitGroup
	seq     uint64
	out     []byte

	mu      sync.Mutex
	pending map[uint64]time.Time // sequence number → when it was due
}

func (f *udpFlow) run(ctx context.Context, first time.Time, period time.Duration) {
	pace(ctx, first, period, func(due time.Time) { f.send(ctx, due) })
	f.disconnect()
	f.expire(time.Now()) // what timed out before the end, but after the last send
}

// send expires what waited too long, and sends the datagram due at due.
func (f *udpFlow) send(ctx context.Context, due time.Time) {
	f.expire(time.Now())
	if f.broken.Load() {
		f.disconnect()
	}
	if f.conn == nil {
		c, err := f.d.DialContext(ctx, "udp", f.target)
		if err != nil {
			if ctx.Err() == nil {
				f.rec.Request(due, 0, "", err)
			}
			return
		}
		f.conn = c
		f.closing.Store(false)
		f.broken.Store(false)
		f.reader.Go(func() { f.read(ctx, c) })
	}
	f.seq++
	f.out = strconv.AppendInt(f.out[:0], int64(f.id), 10)
	f.out = strconv.AppendUint(append(f.out, ' '), f.seq, 10)
	// Pending before sending: the reply may arrive before Write returns.
	f.mu.Lock()
	f.pending[f.seq] = due
	f.mu.Unlock()
	if _, err := f.conn.Write(f.out); err != nil {
		f.mu.Lock()
		delete(f.pending, f.seq)
		f.mu.Unlock()
		if ctx.Err() == nil {
			f.rec.Request(due, 0, "", err)
		}
	}
}

// read matches replies ("<server> <flow> <seq>") to pending datagrams until conn is closed.
func (f *udpFlow) read(ctx context.Context, c net.Conn) {
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if err != nil {
			if f.closing.Load() || ctx.Err() != nil || closedListener(err) {
				return
			}
			f.failOldest(err)
			if k := classify(err); k != kindRefused && k != kindUnreachable {
				// Not an ICMP error reported on a working socket: the socket itself is in
				// trouble. Let the sender make a new one rather than read errors in a loop.
				f.broken.Store(true)
				return
			}
			continue
		}
		f.reply(buf[:n])
	}
}

func (f *udpFlow) reply(b []byte) {
	now := time.Now()
	server, flow, seq, ok := parseReply(b)
	if !ok || flow != uint64(f.id) {
		// A reply that is not ours: the load balancer crossed two flows.
		f.rec.Request(now, 0, "", errMismatch)
		return
	}
	f.mu.Lock()
	due, ok := f.pending[seq]
	delete(f.pending, seq)
	f.mu.Unlock()
	if ok { // otherwise late (already counted as a timeout) or duplicated
		f.rec.Request(due, now.Sub(due), server, nil)
	}
}

// parseReply splits "<server> <flow> <seq>"; the server's name may contain spaces.
func parseReply(b []byte) (server string, flow, seq uint64, ok bool) {
	i := bytes.LastIndexByte(b, ' ')
	if i < 0 {
		return "", 0, 0, false
	}
	j := bytes.LastIndexByte(b[:i], ' ')
	if j < 0 {
		return "", 0, 0, false
	}
	flow, err1 := strconv.ParseUint(string(b[j+1:i]), 10, 64)
	seq, err2 := strconv.ParseUint(string(b[i+1:]), 10, 64)
	return string(b[:j]), flow, seq, err1 == nil && err2 == nil
}

// expire records as timeouts the datagrams that have waited for their reply since before
// now-timeout.
func (f *udpFlow) expire(now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for seq, due := range f.pending {
		if now.Sub(due) >= f.timeout {
			delete(f.pending, seq)
			f.rec.Request(due, 0, "", errUDPTimeout)
		}
	}
}

// errUDPTimeout is a datagram whose reply did not come in time.
var errUDPTimeout = fmt.Errorf("no reply in time: %w", os.ErrDeadlineExceeded)

// failOldest records err against the oldest datagram awaiting its reply, if any.
func (f *udpFlow) failOldest(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var oldest uint64
	for seq := range f.pending {
		if oldest == 0 || seq < oldest {
			oldest = seq
		}
	}
	if oldest == 0 {
		return
	}
	due := f.pending[oldest]
	delete(f.pending, oldest)
	f.rec.Request(due, 0, "", err)
}

// disconnect closes conn and waits for its reader.
func (f *udpFlow) disconnect() {
	if f.conn == nil {
		return
	}
	f.closing.Store(true)
	f.conn.Close()
	f.reader.Wait()
	f.conn = nil
}
