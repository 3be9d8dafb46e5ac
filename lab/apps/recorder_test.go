package apps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Percentiles of a known set, within the histogram's precision: 1ms, 2ms, ... 1000ms.
func TestRecorderPercentiles(t *testing.T) {
	t.Parallel()
	start := time.Now()
	r := NewRecorder(start, time.Second)
	for _, i := range rand.Perm(1000) {
		r.Request(start, time.Duration(i+1)*time.Millisecond, "rs", nil)
	}
	s := r.Summary()
	for _, c := range []struct {
		name      string
		got, want time.Duration
	}{{"p50", s.P50, 500 * time.Millisecond}, {"p90", s.P90, 900 * time.Millisecond}, {"p99", s.P99, 990 * time.Millisecond}} {
		if !closeTo(c.got, c.want) {
			t.Errorf("%s = %v, want %v within 1/64", c.name, c.got, c.want)
		}
	}
	if s.Max != time.Second {
		t.Errorf("max = %v, want exactly 1s", s.Max)
	}
	if s.Requests != 1000 || s.Errors != 0 || s.PerServer["rs"] != 1000 {
		t.Errorf("counts: %+v", s)
	}
}

// Against the exact nearest-rank percentile of random samples over six decades.
func TestRecorderPercentilesRandom(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	r := NewRecorder(time.Now(), time.Second)
	var samples []time.Duration
	for range 10000 {
		d := time.Duration(1000 * float64(time.Nanosecond) * math.Pow(10, rng.Float64()*6)) // 1µs to 1s
		samples = append(samples, d)
		r.Request(time.Now(), d, "rs", nil)
	}
	slices.Sort(samples)
	s := r.Summary()
	for _, c := range []struct {
		q   float64
		got time.Duration
	}{{0.5, s.P50}, {0.9, s.P90}, {0.99, s.P99}} {
		want := samples[int(c.q*float64(len(samples)))-1]
		if !closeTo(c.got, want) {
			t.Errorf("q%v = %v, want %v within 1/64", c.q, c.got, want)
		}
	}
	if s.Max != samples[len(samples)-1] {
		t.Errorf("max %v, want %v", s.Max, samples[len(samples)-1])
	}
}

func closeTo(got, want time.Duration) bool {
	d := got - want
	return d.Abs() <= want/64+1
}

// Every value falls in a bucket that holds it and is at most 1/32 of its values wide.
func TestHistogramBuckets(t *testing.T) {
	t.Parallel()
	values := []uint64{0, 1, 63, 64, 65, 127, 128, 1000, 1 << 20, 1<<20 + 12345, 1<<62 + 1, 1<<63 - 1}
	for range 1000 {
		values = append(values, rand.Uint64()>>rand.IntN(64)>>1)
	}
	for _, v := range values {
		i := bucketOf(v)
		low, width := bucketRange(i)
		if i < 0 || i >= histSize || v < low || v-low >= width || v >= 64 && width > low/subBuckets {
			t.Fatalf("%d: bucket %d [%d, +%d)", v, i, low, width)
		}
	}
	var h histogram
	h.add(time.Duration(1<<63 - 1))
	h.add(-time.Second) // clamped, not a panic
}

func TestRecorderSeries(t *testing.T) {
	t.Parallel()
	start := time.Now()
	at := func(d time.Duration) time.Time { return start.Add(d) }
	r := NewRecorder(start, time.Second)
	r.Request(at(-time.Second), time.Millisecond, "a", nil) // before the start: first bucket
	r.Request(at(500*time.Millisecond), time.Millisecond, "a", nil)
	r.Request(at(1200*time.Millisecond), time.Millisecond, "b", nil)
	r.Request(at(1700*time.Millisecond), time.Millisecond, "a", nil)
	r.Request(at(1900*time.Millisecond), time.Millisecond, "b", io.EOF)
	r.Request(at(3100*time.Millisecond), time.Millisecond, "a", nil)
	s := r.Summary()
	want := []SeriesPoint{
		{0, map[string]uint64{"a": 2}, 0, 0, 0},
		{time.Second, map[string]uint64{"a": 1, "b": 1}, 1, 0, 0},
		{2 * time.Second, map[string]uint64{}, 0, 0, 0},
		{3 * time.Second, map[string]uint64{"a": 1}, 0, 0, 0},
	}
	if fmt.Sprint(s.Series) != fmt.Sprint(want) {
		t.Errorf("series\n%v, want\n%v", s.Series, want)
	}
	if s.Requests != 6 || s.Errors != 1 || s.ErrorKinds["eof"] != 1 || s.PerServer["a"] != 4 || s.PerServer["b"] != 1 {
		t.Errorf("summary %+v", s)
	}
	// A summary is a copy.
	s.Series[0].PerServer["a"] = 100
	s.PerServer["a"] = 100
	if s2 := r.Summary(); s2.Series[0].PerServer["a"] != 2 || s2.PerServer["a"] != 4 {
		t.Error("a Summary shares its maps with the Recorder")
	}
}

// Many goroutines recording and summarising at once (run with -race).
func TestRecorderConcurrent(t *testing.T) {
	t.Parallel()
	start := time.Now()
	r := NewRecorder(start, 10*time.Millisecond)
	const workers, each = 8, 5000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				at := start.Add(time.Duration(i) * time.Millisecond / 10)
				if i%10 == 0 {
					r.Request(at, 0, "", errOverloaded)
				} else {
					r.Request(at, time.Duration(i)*time.Microsecond, fmt.Sprint("rs", w%3), nil)
				}
			}
		})
	}
	wg.Go(func() {
		for range 100 {
			r.Summary()
		}
	})
	wg.Wait()
	s := r.Summary()
	if s.Requests != workers*each || s.Errors != workers*each/10 || s.ErrorKinds["overloaded"] != s.Errors {
		t.Errorf("requests %d errors %d %v", s.Requests, s.Errors, s.ErrorKinds)
	}
	var series uint64
	for _, p := range s.Series {
		series += p.Errors
		for _, n := range p.PerServer {
			series += n
		}
	}
	if series != s.Requests || len(s.Series) != 50 {
		t.Errorf("series: %d points holding %d requests", len(s.Series), series)
	}
}

// gonetTimeout is how gVisor's gonet reports a deadline: a type of its own with Timeout().
type gonetTimeout struct{}

func (gonetTimeout) Error() string { return "i/o timeout" }
func (gonetTimeout) Timeout() bool { return true }

func TestClassify(t *testing.T) {
	t.Parallel()
	// What gonet returns: the tcpip error's text in a net.OpError.
	gvisor := func(op, text string) error { return &net.OpError{Op: op, Net: "tcp", Err: errors.New(text)} }
	kernel := func(op string, errno syscall.Errno) error {
		return &net.OpError{Op: op, Net: "tcp", Err: os.NewSyscallError(op, errno)}
	}
	get := func(err error) error { return &url.Error{Op: "Get", URL: "http://10.0.0.1:80/", Err: err} }
	for _, c := range []struct {
		err  error
		want string
	}{
		{kernel("dial", syscall.ECONNREFUSED), "refused"},
		{get(kernel("dial", syscall.ECONNREFUSED)), "refused"},
		{gvisor("connect", "connection was refused"), "refused"},
		{get(gvisor("connect", "connection was refused")), "refused"},
		{kernel("read", syscall.ECONNRESET), "reset"},
		{gvisor("read", "connection reset by peer"), "reset"},
		{gvisor("write", "connection aborted"), "reset"},
		{kernel("write", syscall.EPIPE), "reset"},
		{&net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, "timeout"},
		{get(context.DeadlineExceeded), "timeout"},
		{&net.OpError{Op: "read", Err: gonetTimeout{}}, "timeout"},
		{gvisor("connect", "operation timed out"), "timeout"},
		{kernel("connect", syscall.ETIMEDOUT), "timeout"},
		{errUDPTimeout, "timeout"},
		{io.EOF, "eof"},
		{get(io.ErrUnexpectedEOF), "eof"},
		{kernel("connect", syscall.EHOSTUNREACH), "unreachable"},
		{gvisor("connect", "no route to host"), "unreachable"},
		{gvisor("connect", "network is unreachable"), "unreachable"},
		{net.ErrClosed, "closed"},
		{gvisor("write", "endpoint is closed for send"), "closed"},
		{statusError(503), "status 503"},
		{fmt.Errorf("wrapped: %w", statusError(500)), "status 500"},
		{errOverloaded, "overloaded"},
		{errMismatch, "mismatch"},
		{errors.New("something else"), "other"},
		// Only the innermost error's text counts: not an address or a path.
		{&url.Error{Op: "Get", URL: "http://10.0.0.1/connection refused/reset", Err: errors.New("odd")}, "other"},
	} {
		if got := classify(c.err); got != c.want {
			t.Errorf("classify(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

func TestClosedListener(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "accept", Err: net.ErrClosed}, true},
		{&net.OpError{Op: "accept", Err: errors.New("endpoint is in invalid state")}, true}, // gonet
		{io.EOF, true}, // gonet UDP after Close
		{errors.New("operation canceled"), true},
		{&net.OpError{Op: "accept", Err: errors.New("too many open files")}, false},
	} {
		if got := closedListener(c.err); got != c.want {
			t.Errorf("closedListener(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// pace keeps its schedule through a stall: the calls it owes are made at once, with their
// own due times.
func TestPaceKeepsSchedule(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	var dues []time.Time
	var caughtUp time.Duration // how long the 10 calls after the stall took
	pace(ctx, start, 10*time.Millisecond, func(due time.Time) {
		switch len(dues) {
		case 5:
			time.Sleep(100 * time.Millisecond)
		case 6:
			caughtUp = -time.Since(start)
		case 16:
			caughtUp += time.Since(start)
		case 30:
			cancel()
		}
		dues = append(dues, due)
	})
	if len(dues) != 31 {
		t.Errorf("%d calls, want 31: pace went on after its context ended", len(dues))
	}
	if caughtUp > 50*time.Millisecond {
		t.Errorf("the calls owed after a stall took %v, want them at once", caughtUp)
	}
	for i, due := range dues {
		if want := start.Add(time.Duration(i) * 10 * time.Millisecond); !due.Equal(want) {
			t.Fatalf("call %d due at %v, want %v", i, due.Sub(start), want.Sub(start))
		}
	}
}
