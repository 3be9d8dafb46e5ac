package apps

import (
	"io"
	"net"
	"testing"
	"time"
)

// Bulk streams through a proxy to two echoes: every connection is made once and kept, the
// bytes read back are counted (in the series too), and none failed.
func TestBulkStreams(t *testing.T) {
	a, b := startEcho(t, "", "a"), startEcho(t, "", "b")
	proxy := startProxy(t, a.addr(), b.addr())
	s := run(t, 500*time.Millisecond, 100*time.Millisecond, &Bulk{Target: proxy, Conns: 4, Timeout: time.Second})
	if s.Errors != 0 || s.Requests != 4 || s.Connects != 4 || s.Reconnects != 0 || s.Broken != 0 {
		t.Fatalf("%d connections, %d errors %v, %d made, %d made again, %d broken; want 4 made and kept",
			s.Requests, s.Errors, s.ErrorKinds, s.Connects, s.Reconnects, s.Broken)
	}
	if s.Sessions != 4 || s.Kept != 4 || s.PerServer["a"] != 2 || s.PerServer["b"] != 2 {
		t.Errorf("sessions %d, kept %d, per server %v", s.Sessions, s.Kept, s.PerServer)
	}
	if s.Bytes < 1<<20 {
		t.Errorf("%d bytes echoed in 0.5 s on loopback", s.Bytes)
	}
	var inSeries uint64
	for _, p := range s.Series {
		inSeries += p.Bytes
	}
	if inSeries != s.Bytes {
		t.Errorf("the series has %d bytes, the total %d", inSeries, s.Bytes)
	}
}

// An echo that changes a byte is a mismatch, and the session makes a new connection.
func TestBulkDetectsCorruption(t *testing.T) {
	srv := listenEach(t, func(c net.Conn) {
		c.Write([]byte("bad\n"))
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			buf[n/2] ^= 1
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
	})
	s := run(t, 400*time.Millisecond, time.Second, &Bulk{Target: srv.addr(), Conns: 1, Timeout: time.Second})
	if s.ErrorKinds["mismatch"] == 0 || s.Broken == 0 || s.Reconnects == 0 || s.Kept != 0 {
		t.Errorf("errors %v, broken %d, made again %d, kept %d: want mismatches, broken and made again", s.ErrorKinds, s.Broken, s.Reconnects, s.Kept)
	}
}

// An echo that stops answering breaks the connection after the timeout.
func TestBulkTimesOut(t *testing.T) {
	srv := listenEach(t, func(c net.Conn) {
		c.Write([]byte("mute\n"))
		io.Copy(io.Discard, c)
	})
	s := run(t, 600*time.Millisecond, time.Second, &Bulk{Target: srv.addr(), Conns: 1, Timeout: 200 * time.Millisecond})
	if s.ErrorKinds["timeout"] == 0 || s.Broken == 0 || s.Bytes != 0 {
		t.Errorf("errors %v, broken %d, %d bytes: want timeouts", s.ErrorKinds, s.Broken, s.Bytes)
	}
}

// With a rate, the connections write their share of it on a schedule, and what comes back
// is the rate.
func TestBulkRate(t *testing.T) {
	a := startEcho(t, "", "a")
	const rate, d = 4e6, time.Second
	s := run(t, d, 250*time.Millisecond, &Bulk{Target: a.addr(), Conns: 2, Rate: rate, Timeout: time.Second})
	if s.Errors != 0 || !within(s.Bytes, uint64(rate*d.Seconds()), 0.1) {
		t.Errorf("%d bytes (%d errors) in %v at %v bytes/s", s.Bytes, s.Errors, d, rate)
	}
	for _, p := range s.Series[1 : len(s.Series)-1] { // whole buckets
		if !within(p.Bytes, uint64(rate/4), 0.25) {
			t.Errorf("%v: %d bytes, want about %v", p.Start, p.Bytes, rate/4)
		}
	}
}
