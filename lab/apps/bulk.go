package apps

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"time"
)

// Bulk is a load of long TCP connections that stream: Conns connections to an echo service
// (ServeTCPEcho), each writing data and reading the echo back, so that every byte crosses
// the load balancer twice, to the real server and back. Without a Rate they write as fast
// as TCP takes it: the goodput is then whatever the path (and, in a lab, the machine's CPU)
// gives. With one, each writes its share of Rate on a fixed schedule, in chunks of
// bulkChunk bytes (a write TCP held back is followed at once by those it delayed): the
// goodput is Rate for as long as the path carries it, and what falls short is what the path
// lost or held up. What counts
// is goodput: the bytes read back, each checked against what was written (Summary.Bytes,
// and per bucket in the series, which compares the goodput before, during and after a
// fault).
//
// Each connection made is a request answered by the real server its greeting names (its
// latency is the connection's set-up); a connection that fails (no byte back for Timeout,
// a reset, an end, an echo that is not what was written: "mismatch") is an error and is
// broken, and its session makes a new one after a pause. The Recorder counts the
// connections as LongTCP's (Connects, Reconnects, Broken, Kept).
type Bulk struct {
	Target  string        // host:port
	Conns   int           // 0 = 1
	Rate    float64       // bytes per second written, all connections together; 0 = as fast as TCP goes
	Timeout time.Duration // for connecting, and the longest wait for echoed bytes; 0 = 2s
}

// bulkChunk is what a Bulk connection writes at once and reads at most: a whole number of
// bulkPattern's periods, so that every write is the same bytes.
const (
	bulkPeriod = 251 // prime: the pattern does not line up with power-of-two segment sizes
	bulkChunk  = bulkPeriod * 64
)

// bulkPattern is the stream a Bulk connection writes, one period after another (written
// once, then only read: it is shared by every connection), with a period's more so that a
// read of up to bulkChunk bytes at any offset can be compared with one slice of it.
var bulkPattern = func() []byte {
	b := make([]byte, bulkChunk+bulkPeriod)
	for i := range b {
		b[i] = byte(i%bulkPeriod) ^ 0x5a
	}
	return b
}()

// Run streams until ctx ends, recording into rec, and returns nil once its connections
// are closed; it returns an error at once if the configuration is unusable.
func (l *Bulk) Run(ctx context.Context, d Dialer, rec *Recorder) error {
	if err := checkTarget(l.Target, 0); err != nil {
		return err
	}
	if l.Conns < 0 || l.Timeout < 0 || l.Rate < 0 {
		return errNegative
	}
	s := *l
	if s.Conns == 0 {
		s.Conns = 1
	}
	if s.Timeout == 0 {
		s.Timeout = defaultTimeout
	}
	if s.Rate > 0 {
		if err := checkTarget(s.Target, s.Rate/bulkChunk/float64(s.Conns)); err != nil {
			return err
		}
	}
	var wg sync.WaitGroup
	for range s.Conns {
		c := &bulkSession{Bulk: &s, d: d, rec: rec, buf: make([]byte, bulkChunk)}
		wg.Go(func() { c.run(ctx) })
	}
	wg.Wait()
	return nil
}

// bulkPause is how long a Bulk session waits after a failed connection before the next:
// long enough not to spin on a refused one, short next to a fault's seconds.
const bulkPause = 100 * time.Millisecond

// bulkSession is one of Bulk's connections, made again after each failure.
type bulkSession struct {
	*Bulk
	d    Dialer
	rec  *Recorder
	buf  []byte
	made int  // connections made
	up   bool // the last connection made has not failed
}

func (s *bulkSession) run(ctx context.Context) {
	defer func() { s.rec.SessionEnded(s.made == 1 && s.up) }()
	for ctx.Err() == nil {
		at := time.Now()
		err := s.stream(ctx, at)
		if ctx.Err() != nil {
			return // cut short by the end of the run
		}
		if s.up {
			s.rec.Broke()
		}
		s.up = false
		s.rec.Request(time.Now(), 0, "", err) // dated by the failure, not the connection's start
		sleep(ctx, bulkPause)
	}
}

// stream makes one connection and streams on it until it fails (the error) or ctx ends.
func (s *bulkSession) stream(ctx context.Context, at time.Time) error {
	dctx, cancel := context.WithTimeout(ctx, s.Timeout)
	c, err := s.d.DialContext(dctx, "tcp", s.Target)
	cancel()
	if err != nil {
		return err
	}
	defer c.Close()
	// Closing the connection when the run ends unblocks the reader and the writer at once.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	r := bufio.NewReaderSize(c, 64)
	c.SetReadDeadline(time.Now().Add(s.Timeout))
	greeting, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	server := strings.TrimSuffix(greeting, "\n")
	s.made++
	s.up = true
	s.rec.Connected(s.made > 1)
	s.rec.Request(at, time.Since(at), server, nil)

	// The writer writes until the connection fails or is closed; the reader (here) returns
	// the first error of either, and closing the connection stops the other.
	werr := make(chan error, 1)
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	go func() {
		write := func() error {
			c.SetWriteDeadline(time.Now().Add(s.Timeout))
			_, err := c.Write(bulkPattern[:bulkChunk])
			return err
		}
		var err error
		if s.Rate == 0 {
			for err == nil {
				err = write()
			}
		} else {
			// The connection's share of the rate, one chunk each period, until a write fails
			// or the reader is done.
			wctx, cancel := context.WithCancel(wctx)
			period := time.Duration(float64(time.Second) * bulkChunk * float64(s.Conns) / s.Rate)
			pace(wctx, time.Now(), period, func(time.Time) {
				if err = write(); err != nil {
					cancel()
				}
			})
			cancel()
		}
		werr <- err
		c.Close() // and the reader's wait ends
	}()
	err = s.read(c, r, werr)
	c.Close()
	wcancel()
	if e := <-werr; err == nil {
		err = e
	}
	return err
}

// read reads the echo until it fails, checking each byte against the pattern written, and
// records what it read.
func (s *bulkSession) read(c net.Conn, r *bufio.Reader, werr chan error) error {
	var off int // the stream's offset modulo the pattern's period
	for {
		c.SetReadDeadline(time.Now().Add(s.Timeout))
		n, err := r.Read(s.buf)
		if n > 0 {
			if !bytes.Equal(s.buf[:n], bulkPattern[off:off+n]) {
				return errMismatch
			}
			off = (off + n) % bulkPeriod
			s.rec.Received(time.Now(), uint64(n))
		}
		if err != nil {
			select {
			case e := <-werr: // the writer failed first: its error says why
				werr <- e
				return e
			default:
			}
			return err
		}
	}
}
