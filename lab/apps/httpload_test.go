package apps

import (
	"context"
	"testing"
	"time"
)

// The open loop keeps its rate, and the round-robin proxy shares it between two servers.
//
// Not parallel: a rate is a matter of time, and this test needs the CPU when its requests
// are due.
func TestHTTPLoadOpenLoopRate(t *testing.T) {
	a, b := &HTTPServer{Name: "a"}, &HTTPServer{Name: "b"}
	proxy := startProxy(t, startHTTP(t, a).addr(), startHTTP(t, b).addr())
	const rate, seconds = 200, 2
	// A cap high enough that a slow machine shows as latency, not as "overloaded".
	s := run(t, seconds*time.Second, time.Second, &HTTPLoad{Target: proxy, Rate: rate, Concurrency: rate * seconds})
	if !within(s.Requests, rate*seconds, 0.1) {
		t.Errorf("%d requests in %ds at %d/s, want ±10%%", s.Requests, seconds, rate)
	}
	if s.Errors != 0 {
		t.Errorf("errors: %v", s.ErrorKinds)
	}
	if d := int64(s.PerServer["a"]) - int64(s.PerServer["b"]); d < -5 || d > 5 || s.PerServer["a"]+s.PerServer["b"] != s.Requests {
		t.Errorf("per server %v of %d, want an even split", s.PerServer, s.Requests)
	}
	if got := a.Requests() + b.Requests(); got < s.Requests {
		t.Errorf("servers saw %d requests, the client recorded %d answered", got, s.Requests)
	}
	if s.P50 <= 0 || s.P99 < s.P50 || s.Max < s.P99 {
		t.Errorf("latency p50 %v p99 %v max %v", s.P50, s.P99, s.Max)
	}
	if len(s.Series) < seconds {
		t.Fatalf("series of %d points, want %d", len(s.Series), seconds)
	}
	for _, p := range s.Series[:seconds] {
		if n := p.PerServer["a"] + p.PerServer["b"]; !within(n, rate, 0.1) {
			t.Errorf("%v: %d requests, want %d ± 10%%", p.Start, n, rate)
		}
	}
}

// Without keep-alive every request has its own connection; with it, a closed-loop worker
// keeps one.
func TestHTTPLoadKeepAlive(t *testing.T) {
	t.Parallel()
	for _, keepAlive := range []bool{false, true} {
		s := startHTTP(t, &HTTPServer{Name: "rs"})
		sum := run(t, 500*time.Millisecond, time.Second, &HTTPLoad{Target: s.addr(), Concurrency: 2, KeepAlive: keepAlive})
		accepted := s.accepted.Load()
		if sum.Errors != 0 || sum.Requests < 20 {
			t.Fatalf("keep-alive %v: %d requests, %v errors", keepAlive, sum.Requests, sum.ErrorKinds)
		}
		if keepAlive {
			if accepted > 4 && accepted*10 > int64(sum.Requests) {
				t.Errorf("keep-alive: %d connections for %d requests by 2 workers", accepted, sum.Requests)
			}
		} else if accepted < int64(sum.Requests) || accepted > int64(sum.Requests)+2 {
			// +2: the requests in flight when the run ended were accepted but not recorded.
			t.Errorf("close: %d connections for %d requests, want one each", accepted, sum.Requests)
		}
	}
}

// A stopped server: requests on its connections fail, then connections are refused.
func TestHTTPLoadServerStopped(t *testing.T) {
	t.Parallel()
	s := startHTTP(t, &HTTPServer{Name: "rs"})
	start := time.Now()
	stopped := make(chan time.Duration, 1)
	time.AfterFunc(300*time.Millisecond, func() {
		s.Close()
		stopped <- time.Since(start)
	})
	sum := run(t, time.Second, 100*time.Millisecond, &HTTPLoad{Target: s.addr(), Concurrency: 2, KeepAlive: true})
	stop := <-stopped
	if sum.PerServer["rs"] == 0 || sum.ErrorKinds["refused"] == 0 {
		t.Errorf("want answers, then refused connections")
	}
	checkKinds(t, sum)
	// Closed loop with a pause after each failure: about 2 workers × 700ms / 10ms.
	if sum.Errors > 300 {
		t.Errorf("%d errors: the workers spin on failures", sum.Errors)
	}
	for _, p := range sum.Series {
		// A margin of a bucket: requests sent just before the stop are answered.
		if p.Start > stop+100*time.Millisecond && p.PerServer["rs"] != 0 {
			t.Errorf("%v: answers from a stopped server: %v", p.Start, p.PerServer)
		}
	}
}

// A hung server: every request times out, on schedule.
func TestHTTPLoadServerHung(t *testing.T) {
	t.Parallel()
	s := startHTTP(t, &HTTPServer{Name: "rs", Latency: time.Minute})
	sum := run(t, time.Second, time.Second, &HTTPLoad{Target: s.addr(), Rate: 20, Timeout: 200 * time.Millisecond})
	// Due before 800ms: 16 requests, all timed out (fewer recorded if the machine is slow).
	if sum.ErrorKinds["timeout"] < 8 || sum.Errors != sum.Requests {
		t.Errorf("want only timeouts, about 16")
	}
	checkKinds(t, sum)
}

// A failing server answers 500, which is an error of its own kind.
func TestHTTPLoadServerFailing(t *testing.T) {
	t.Parallel()
	h := &HTTPServer{Name: "rs"}
	h.SetFailing(true)
	s := startHTTP(t, h)
	sum := run(t, 300*time.Millisecond, time.Second, &HTTPLoad{Target: s.addr(), Rate: 50, KeepAlive: true})
	if sum.ErrorKinds["status 500"] == 0 || sum.Errors != sum.Requests || len(sum.PerServer) != 0 {
		t.Errorf("want only status 500")
	}
}

// The open loop does not wait for a slow server: what is due while the cap is in flight is
// "overloaded", and latency counts from when a request was due.
func TestHTTPLoadOverloaded(t *testing.T) {
	t.Parallel()
	s := startHTTP(t, &HTTPServer{Name: "rs", Latency: 100 * time.Millisecond})
	sum := run(t, time.Second, time.Second, &HTTPLoad{Target: s.addr(), Rate: 100, Concurrency: 2, KeepAlive: true})
	// 2 in flight, 100ms each: at most 20 answered of about 100 due.
	if n := sum.PerServer["rs"]; n == 0 || n > 20 || sum.ErrorKinds["overloaded"] < 60 {
		t.Errorf("want up to 20 answered and about 80 overloaded")
	}
	if sum.P50 < 100*time.Millisecond {
		t.Errorf("p50 %v, below the server's latency", sum.P50)
	}
	checkKinds(t, sum)
}

func TestHTTPLoadRejectsBadConfig(t *testing.T) {
	t.Parallel()
	rec := NewRecorder(time.Now(), time.Second)
	for _, l := range []*HTTPLoad{
		{Target: "nowhere"},
		{Target: "127.0.0.1:1", Rate: -1},
		{Target: "127.0.0.1:1", Rate: 1e12},
		{Target: "127.0.0.1:1", Concurrency: -1},
	} {
		if err := l.Run(context.Background(), nil, rec); err == nil {
			t.Errorf("%+v: no error", *l)
		}
	}
}

// checkKinds checks that the error kinds add up to the errors.
func checkKinds(t *testing.T, s Summary) {
	t.Helper()
	var n uint64
	for _, c := range s.ErrorKinds {
		n += c
	}
	if n != s.Errors {
		t.Errorf("error kinds %v add up to %d, not %d", s.ErrorKinds, n, s.Errors)
	}
	var ok uint64
	for _, c := range s.PerServer {
		ok += c
	}
	if ok+s.Errors != s.Requests {
		t.Errorf("%d answered + %d errors != %d requests", ok, s.Errors, s.Requests)
	}
}
