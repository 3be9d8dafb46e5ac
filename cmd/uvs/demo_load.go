package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"
)

// The two kinds of client traffic.
const (
	kindShort     = iota // a connection per request (Connection: close)
	kindKeepAlive        // requests one after the other on a long-lived connection
	numKinds
)

var kindNames = [numKinds]string{"short", "keep-alive"}

// demoResult is one HTTP request as its client saw it.
type demoResult struct {
	client int
	kind   int
	// at is when the request was sent, since the start: after its connection was up, or
	// when the connection was attempted if it never was. A request counts in the window of
	// its at, so a server that stopped cannot have answered anything sent after it stopped,
	// and a server put back cannot have answered anything sent before.
	at      time.Duration
	latency time.Duration // connect (if it had to) + request + response
	server  int           // the real server that answered, by index; -1 on error
	cause   string        // why it failed; "" when it did not
	natSrc  bool          // the server saw the client's own address
}

// demoLoad drives the clients: each sends requests at a fixed rate on short connections,
// and on one keep-alive connection.
type demoLoad struct {
	start   time.Time
	timeout time.Duration
	servers map[string]int   // name → index
	onError func(demoResult) // called with the first failed request

	firstErr sync.Once

	wg      sync.WaitGroup
	mu      sync.Mutex
	results []demoResult
	skipped int // short requests not sent: too many in flight
}

func (l *demoLoad) since() time.Duration { return time.Since(l.start) }

func (l *demoLoad) record(r demoResult) {
	if r.cause != "" && l.onError != nil {
		l.firstErr.Do(func() { l.onError(r) })
	}
	l.mu.Lock()
	l.results = append(l.results, r)
	l.mu.Unlock()
}

// run starts the client's generators; they stop when ctx ends, and wait waits for them and
// for their requests in flight (each bounded by the timeout).
func (l *demoLoad) run(ctx context.Context, ci int, c *demoClient, shortRate, kaRate float64) {
	if shortRate > 0 {
		l.wg.Add(1)
		go l.short(ctx, ci, c, shortRate)
	}
	if kaRate > 0 {
		l.wg.Add(1)
		go l.keepAlive(ctx, ci, c, kaRate)
	}
}

func (l *demoLoad) wait() { l.wg.Wait() }

// pacer paces a generator at a fixed mean rate: each interval is drawn uniformly from half to
// one and a half times the mean, so that clients do not fall into step with one another (with
// round robin, clients in step would each keep meeting the same real server). A generator
// that falls more than an interval behind skips what it missed, as a time.Ticker does.
type pacer struct {
	period time.Duration
	next   time.Time
	rng    *rand.Rand
	timer  *time.Timer
}

func newPacer(rate float64, seed uint64) *pacer {
	p := &pacer{period: time.Duration(float64(time.Second) / rate), rng: rand.New(rand.NewPCG(seed, 0x75767364656d6f))}
	p.next = time.Now().Add(p.interval())
	p.timer = time.NewTimer(time.Until(p.next))
	return p
}

func (p *pacer) interval() time.Duration {
	return p.period/2 + time.Duration(p.rng.Int64N(int64(p.period)+1))
}

// wait waits for the next send; false when ctx ended first.
func (p *pacer) wait(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return false
	case <-p.timer.C:
	}
	now := time.Now()
	p.next = p.next.Add(p.interval())
	if p.next.Before(now.Add(-p.period)) {
		p.next = now
	}
	p.timer.Reset(time.Until(p.next))
	return ctx.Err() == nil
}

func (p *pacer) stop() { p.timer.Stop() }

// maxInFlight bounds one client's short requests in flight, should the service stall.
const maxInFlight = 256

// short opens a connection per request at a fixed rate (open loop: a slow answer does not
// slow the next request down).
func (l *demoLoad) short(ctx context.Context, ci int, c *demoClient, rate float64) {
	defer l.wg.Done()
	p := newPacer(rate, uint64(2*ci))
	defer p.stop()
	sem := make(chan struct{}, maxInFlight)
	for p.wait(ctx) {
		select {
		case sem <- struct{}{}:
		default:
			l.mu.Lock()
			l.skipped++
			l.mu.Unlock()
			continue
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			defer func() { <-sem }()
			l.record(l.shortRequest(ci, c))
		}()
	}
}

func (l *demoLoad) shortRequest(ci int, c *demoClient) demoResult {
	r := demoResult{client: ci, kind: kindShort, server: -1}
	t0 := time.Now()
	r.at = t0.Sub(l.start)
	dctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	conn, err := c.host.DialContext(dctx, "tcp", demoVIP.String())
	cancel()
	if err != nil {
		r.cause = "connect: " + cause(err)
		return r
	}
	defer conn.Close()
	r.at = l.since()
	conn.SetDeadline(t0.Add(l.timeout))
	r.server, r.natSrc, err = l.exchange(conn, bufio.NewReader(conn), c, true)
	if err != nil {
		r.server, r.cause = -1, cause(err)
		return r
	}
	r.latency = time.Since(t0)
	return r
}

// keepAlive sends requests at a fixed rate on one connection, one at a time (a send that
// comes due while a request is out waits for it, or is skipped if it is late by more than an
// interval). When the connection fails, the
// failure is counted and the next tick opens a new one.
func (l *demoLoad) keepAlive(ctx context.Context, ci int, c *demoClient, rate float64) {
	defer l.wg.Done()
	p := newPacer(rate, uint64(2*ci+1))
	defer p.stop()
	var (
		conn net.Conn
		br   *bufio.Reader
	)
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	for p.wait(ctx) {
		r := demoResult{client: ci, kind: kindKeepAlive, server: -1}
		t0 := time.Now()
		r.at = t0.Sub(l.start)
		if conn == nil {
			dctx, cancel := context.WithTimeout(ctx, l.timeout)
			var err error
			conn, err = c.host.DialContext(dctx, "tcp", demoVIP.String())
			cancel()
			if err != nil {
				conn = nil
				if ctx.Err() == nil {
					r.cause = "connect: " + cause(err)
					l.record(r)
				}
				continue
			}
			br = bufio.NewReader(conn)
			r.at = l.since()
		}
		conn.SetDeadline(t0.Add(l.timeout))
		var err error
		r.server, r.natSrc, err = l.exchange(conn, br, c, false)
		if err != nil {
			r.server, r.cause = -1, cause(err)
			conn.Close()
			conn = nil
		} else {
			r.latency = time.Since(t0)
		}
		l.record(r)
	}
}

// exchange sends one GET and reads the answer: "<server name> <client address it saw>".
func (l *demoLoad) exchange(conn net.Conn, br *bufio.Reader, c *demoClient, closing bool) (int, bool, error) {
	req := "GET / HTTP/1.1\r\nHost: " + demoVIP.Addr().String() + "\r\nUser-Agent: uvs-demo/" + c.name + "\r\n"
	if closing {
		req += "Connection: close\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		return -1, false, err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return -1, false, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return -1, false, err
	}
	if resp.StatusCode != http.StatusOK {
		return -1, false, fmt.Errorf("HTTP %s", resp.Status)
	}
	f := strings.Fields(string(body))
	if len(f) != 2 {
		return -1, false, fmt.Errorf("unexpected answer %q", body)
	}
	i, ok := l.servers[f[0]]
	if !ok {
		return -1, false, fmt.Errorf("answer from unknown server %q", f[0])
	}
	src, err := netip.ParseAddrPort(f[1])
	return i, err == nil && src.Addr() == c.addr, nil
}

// cause names why a request failed, in a client's words.
func cause(err error) string {
	var ne net.Error
	switch s := err.Error(); {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by the server"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case strings.Contains(s, "refused"):
		return "connection refused"
	case strings.Contains(s, "reset"):
		return "connection reset"
	default:
		return s
	}
}
