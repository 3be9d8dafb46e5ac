package apps

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Both stacks' dialers are Dialers (netstack.Host is checked in gvisor_test.go).
var _ Dialer = (*net.Dialer)(nil)

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	accepted atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

// server is a service on loopback, stopped at the end of the test.
type server struct {
	*countingListener
	done chan error
}

// stop closes the listener and returns what Serve returned.
func (s *server) stop(t *testing.T) error {
	t.Helper()
	s.Close()
	select {
	case err := <-s.done:
		s.done <- err // for the next stop
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after its listener was closed")
		return nil
	}
}

func (s *server) addr() string { return s.Addr().String() }

// listen serves with serve on a loopback port (addr "" for any free one).
func listen(t *testing.T, addr string, serve func(context.Context, net.Listener) error) *server {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{countingListener: &countingListener{Listener: ln}, done: make(chan error, 1)}
	go func() { s.done <- serve(context.Background(), s.countingListener) }()
	t.Cleanup(func() { s.stop(t) })
	return s
}

// listenEach starts a server on loopback that runs handle on each connection it accepts, in
// a goroutine of its own, and closes the connection when handle returns.
func listenEach(t *testing.T, handle func(net.Conn)) *server {
	return listen(t, "", func(ctx context.Context, ln net.Listener) error {
		stop := context.AfterFunc(ctx, func() { ln.Close() })
		defer stop()
		for {
			c, err := ln.Accept()
			if err != nil {
				return nil
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	})
}

func startHTTP(t *testing.T, h *HTTPServer) *server {
	return listen(t, "", h.Serve)
}

func startEcho(t *testing.T, addr, name string) *server {
	return listen(t, addr, func(ctx context.Context, ln net.Listener) error { return ServeTCPEcho(ctx, ln, name) })
}

// startProxy runs a round-robin TCP proxy to backends on loopback: the load balancer of
// these tests, in its simplest form (one backend per connection, in turn).
func startProxy(t *testing.T, backends ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
		next  int
	)
	track := func(c net.Conn) {
		mu.Lock()
		conns[c] = struct{}{}
		mu.Unlock()
	}
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			backend := backends[next%len(backends)]
			next++
			track(c)
			wg.Go(func() {
				defer c.Close()
				b, err := net.Dial("tcp", backend)
				if err != nil {
					return
				}
				track(b)
				defer b.Close()
				var pipes sync.WaitGroup
				pipes.Go(func() { io.Copy(b, c); b.Close() })
				pipes.Go(func() { io.Copy(c, b); c.Close() })
				pipes.Wait()
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// get fetches url on a connection of its own.
func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// client is what the load generators have in common.
type client interface {
	Run(context.Context, Dialer, *Recorder) error
}

// run runs c on loopback for d and returns what it recorded, in buckets of bucket.
func run(t *testing.T, d time.Duration, bucket time.Duration, c client) Summary {
	t.Helper()
	return runOn(t, &net.Dialer{}, d, bucket, c)
}

// runOn runs c with dialer for d and returns what it recorded, in buckets of bucket.
func runOn(t *testing.T, dialer Dialer, d time.Duration, bucket time.Duration, c client) Summary {
	t.Helper()
	rec := NewRecorder(time.Now(), bucket)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := c.Run(ctx, dialer, rec); err != nil {
		t.Fatal(err)
	}
	s := rec.Summary()
	t.Logf("requests %d errors %d %v p50 %v p90 %v p99 %v max %v servers %v",
		s.Requests, s.Errors, s.ErrorKinds, s.P50, s.P90, s.P99, s.Max, s.PerServer)
	return s
}

// within reports whether got is want ± tolerance (a fraction of want).
func within(got, want uint64, tolerance float64) bool {
	d := float64(got) - float64(want)
	return d >= -tolerance*float64(want) && d <= tolerance*float64(want)
}
