package apps

import (
	"math"
	"math/bits"
	"sync"
	"time"
)

// Recorder collects what clients saw: per-request outcome, latency and serving server. It is
// safe for concurrent use, costs one uncontended lock and no allocation per sample (once a
// server's name and a time bucket have been seen), and its memory is bounded by the number of
// time buckets and servers, not by the number of requests.
type Recorder struct {
	start  time.Time
	bucket time.Duration

	mu        sync.Mutex
	requests  uint64
	errors    uint64
	kinds     map[string]uint64
	perServer map[string]uint64
	latency   histogram // successful requests only
	series    []seriesBucket
	conns     connCounts
	sent      uint64 // frames a raw load wrote (SYNFlood)
	bytes     uint64 // bytes a streaming load received (Bulk)
}

// connCounts are what long-lived connections did (see Summary).
type connCounts struct {
	connects, reconnects, broken, sessions, kept uint64
}

type seriesBucket struct {
	perServer map[string]uint64
	errors    uint64
	sent      uint64
	bytes     uint64
}

// Summary is what a Recorder has seen so far.
type Summary struct {
	Requests   uint64            // every recorded request, failed ones included
	Errors     uint64            // failed requests
	ErrorKinds map[string]uint64 // failed requests by kind (see the package documentation)

	// Latency percentiles of successful requests, within the histogram's precision (about
	// 1.6%); Max is exact. Failed requests are left out: a refused connection is fast and a
	// timeout is the configured timeout, and neither says how fast the servers answer.
	P50, P90, P99, Max time.Duration

	PerServer map[string]uint64 // successful requests by server name
	Series    []SeriesPoint     // one point per time bucket from the start to the last sample

	// Long-lived connections (LongTCP), which a client keeps and makes again when one fails:
	// Connects counts the connections made, Reconnects those a session made after it had had
	// one (its last broke, or could not be made); Broken counts the connections that failed
	// once made (an exchange on them failed: a reset, a timeout, an end). Sessions counts the
	// sessions at their end, Kept those that ran on the one connection they ever made, which
	// still worked then.
	Connects, Reconnects, Broken uint64
	Sessions, Kept               uint64

	// Sent counts the frames a load wrote on its own, below the host's stack (SYNFlood's
	// SYNs); Bytes the bytes a streaming load received back (Bulk's echoed bytes). Each
	// SeriesPoint has its bucket's share of both.
	Sent, Bytes uint64
}

// SeriesPoint is one time bucket of a Summary.
type SeriesPoint struct {
	Start     time.Duration     // since the Recorder's start
	PerServer map[string]uint64 // successful requests by server name
	Errors    uint64            // failed requests
	Sent      uint64            // frames written (Recorder.Sent)
	Bytes     uint64            // bytes received (Recorder.Received)
}

// NewRecorder returns a Recorder whose time series starts at start, in buckets of bucket
// (1s if bucket is not positive).
func NewRecorder(start time.Time, bucket time.Duration) *Recorder {
	if bucket <= 0 {
		bucket = time.Second
	}
	return &Recorder{start: start, bucket: bucket, kinds: make(map[string]uint64), perServer: make(map[string]uint64)}
}

// maxSeries bounds the time series: a million buckets, 11 days at 1s, so that a sample
// timed against the wrong clock (a zero start) cannot ask for terabytes.
const maxSeries = 1 << 20

// Request records one request issued at at (for the series), that took latency and was
// answered by server, or failed with err (then latency and server are ignored). Samples
// before the start count in the first bucket, and samples beyond maxSeries buckets in the
// last.
func (r *Recorder) Request(at time.Time, latency time.Duration, server string, err error) {
	var kind string
	if err != nil {
		kind = classify(err) // outside the lock: it walks the error chain
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	b := r.bucketAt(at)
	if err != nil {
		r.errors++
		r.kinds[kind]++
		b.errors++
		return
	}
	r.perServer[server]++
	if b.perServer == nil {
		b.perServer = make(map[string]uint64)
	}
	b.perServer[server]++
	r.latency.add(latency)
}

// bucketAt returns the series bucket of at, growing the series to it; r.mu is held.
// Samples before the start count in the first bucket, and samples beyond maxSeries buckets
// in the last.
func (r *Recorder) bucketAt(at time.Time) *seriesBucket {
	i := 0
	if d := at.Sub(r.start); d > 0 {
		i = int(min(d/r.bucket, maxSeries-1))
	}
	for len(r.series) <= i {
		r.series = append(r.series, seriesBucket{})
	}
	return &r.series[i]
}

// Sent records n frames written at at by a load that writes its own (SYNFlood).
func (r *Recorder) Sent(at time.Time, n uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent += n
	r.bucketAt(at).sent += n
}

// Received records n bytes received at at by a streaming load (Bulk): its goodput.
func (r *Recorder) Received(at time.Time, n uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bytes += n
	r.bucketAt(at).bytes += n
}

// Connected records a connection a long-lived session made: again when the session had
// made one before.
func (r *Recorder) Connected(again bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.conns.connects++
	if again {
		r.conns.reconnects++
	}
}

// Broke records a connection that failed once made.
func (r *Recorder) Broke() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.conns.broken++
}

// SessionEnded records a long-lived session at its end: kept when it ran on the one
// connection it made, which still worked.
func (r *Recorder) SessionEnded(kept bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.conns.sessions++
	if kept {
		r.conns.kept++
	}
}

// Summary returns a copy of what has been recorded so far; it may be called while requests
// are still being recorded.
func (r *Recorder) Summary() Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Summary{
		Requests:   r.requests,
		Errors:     r.errors,
		ErrorKinds: copyCounts(r.kinds),
		P50:        r.latency.quantile(0.50),
		P90:        r.latency.quantile(0.90),
		P99:        r.latency.quantile(0.99),
		Max:        r.latency.max,
		PerServer:  copyCounts(r.perServer),
		Series:     make([]SeriesPoint, len(r.series)),
		Connects:   r.conns.connects,
		Reconnects: r.conns.reconnects,
		Broken:     r.conns.broken,
		Sessions:   r.conns.sessions,
		Kept:       r.conns.kept,
		Sent:       r.sent,
		Bytes:      r.bytes,
	}
	for i, b := range r.series {
		s.Series[i] = SeriesPoint{Start: time.Duration(i) * r.bucket, PerServer: copyCounts(b.perServer), Errors: b.errors,
			Sent: b.sent, Bytes: b.bytes}
	}
	return s
}

func copyCounts(m map[string]uint64) map[string]uint64 {
	c := make(map[string]uint64, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// The latency histogram is log-linear, as HdrHistogram's: each power of two of nanoseconds
// is split into subBuckets equal buckets, so a bucket is at most 1/subBuckets of its values
// wide (reported at its middle: ±1/(2·subBuckets) ≈ 1.6%), and values below 2·subBuckets
// ns get a bucket each. Durations are below 2^63 ns, so 59 octaves' worth of buckets cover
// them all, in 15 KiB.
const (
	subBits    = 5
	subBuckets = 1 << subBits
	histSize   = (64 - subBits) * subBuckets
)

type histogram struct {
	counts [histSize]uint64
	total  uint64
	max    time.Duration
}

func bucketOf(v uint64) int {
	if v < 2*subBuckets {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1
	return shift*subBuckets + int(v>>shift) // v>>shift is in [subBuckets, 2·subBuckets)
}

// bucketRange returns the smallest value of bucket i and its width.
func bucketRange(i int) (low, width uint64) {
	if i < 2*subBuckets {
		return uint64(i), 1
	}
	shift := i/subBuckets - 1
	mantissa := uint64(i - shift*subBuckets)
	return mantissa << shift, 1 << shift
}

func (h *histogram) add(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	h.total++
	h.max = max(h.max, d)
}

// quantile returns the middle of the bucket holding the q-quantile (nearest rank), capped at
// the exact maximum.
func (h *histogram) quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.total))) // nearest rank, 1-based
	rank = min(max(rank, 1), h.total)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			low, width := bucketRange(i)
			return min(time.Duration(low+width/2), h.max)
		}
	}
	return h.max
}
