package apps

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

func TestHTTPServerAnswers(t *testing.T) {
	t.Parallel()
	plain := &HTTPServer{Name: "rs1"}
	s := startHTTP(t, plain)
	resp, body := get(t, "http://"+s.addr()+"/any/path")
	if resp.StatusCode != 200 || resp.Header.Get("X-Served-By") != "rs1" || body != "rs1\n" {
		t.Errorf("default answer: %d %q %q, want 200 rs1 %q", resp.StatusCode, resp.Header.Get("X-Served-By"), body, "rs1\n")
	}

	custom := &HTTPServer{Name: "rs2", Body: "hello", Status: http.StatusAccepted, Latency: 100 * time.Millisecond}
	s2 := startHTTP(t, custom)
	start := time.Now()
	resp, body = get(t, "http://"+s2.addr()+"/")
	if took := time.Since(start); took < custom.Latency {
		t.Errorf("answered in %v, want at least the latency %v", took, custom.Latency)
	}
	if resp.StatusCode != http.StatusAccepted || resp.Header.Get("X-Served-By") != "rs2" || body != "hello" {
		t.Errorf("custom answer: %d %q %q, want 202 rs2 hello", resp.StatusCode, resp.Header.Get("X-Served-By"), body)
	}

	plain.SetFailing(true)
	if resp, _ := get(t, "http://"+s.addr()+"/"); resp.StatusCode != 500 || resp.Header.Get("X-Served-By") != "rs1" {
		t.Errorf("failing: %d from %q, want 500 from rs1", resp.StatusCode, resp.Header.Get("X-Served-By"))
	}
	plain.SetFailing(false)
	if resp, _ := get(t, "http://"+s.addr()+"/"); resp.StatusCode != 200 {
		t.Errorf("recovered: %d, want 200", resp.StatusCode)
	}
	if n := plain.Requests(); n != 3 {
		t.Errorf("Requests() = %d, want 3", n)
	}
	if n := custom.Requests(); n != 1 {
		t.Errorf("Requests() = %d, want 1", n)
	}
}

// A stopped server is gone: Serve returns nil, and its keep-alive connections are closed,
// even one whose request is waiting out the latency.
func TestHTTPServerStop(t *testing.T) {
	t.Parallel()
	h := &HTTPServer{Name: "rs1"}
	s := startHTTP(t, h)
	idle := dialHTTP(t, s.addr(), true)
	slow := &HTTPServer{Name: "slow", Latency: time.Minute}
	s2 := startHTTP(t, slow)
	busy := dialHTTP(t, s2.addr(), false)
	for slow.Requests() == 0 { // the handler is waiting out its latency
		time.Sleep(time.Millisecond)
	}

	start := time.Now()
	if err := s.stop(t); err != nil {
		t.Errorf("Serve after its listener closed: %v, want nil", err)
	}
	if err := s2.stop(t); err != nil {
		t.Errorf("Serve after its listener closed: %v, want nil", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("stopping took %v", took)
	}
	for _, c := range []*bufio.Reader{idle, busy} {
		if b, err := c.ReadByte(); err == nil {
			t.Errorf("read %q from a stopped server's connection, want EOF or reset", b)
		}
	}

	// Serve also ends with its context, closing the listener.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Serve(ctx, ln) }()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after its context ended: %v, want nil", err)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("listener still open after Serve returned")
	}
}

// dialHTTP opens a connection to addr and sends one request; if answered, it waits for the
// answer (leaving the connection idle, kept alive), otherwise it leaves it waiting.
func dialHTTP(t *testing.T, addr string, answered bool) *bufio.Reader {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	r := bufio.NewReader(c)
	if answered {
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.Close {
			t.Fatal("server closed a keep-alive connection")
		}
	}
	return r
}
