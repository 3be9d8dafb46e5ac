package apps

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// LongTCP is a load of long-lived TCP connections to an echo service (ServeTCPEcho): Conns
// connections, each sending a line every Interval and reading it back. The greeting names
// the real server, which every exchange on that connection is counted for. An exchange that
// fails (no answer within Timeout, a reset, a wrong echo) is an error, and the connection is
// made again at the next interval, so a client follows its service through a failover as
// a real one that reconnects would. A failed attempt to reconnect is an error too.
//
// The Recorder also counts the connections: made, made again, broken, and the sessions
// that kept their one connection to the end (Summary.Connects, Reconnects, Broken, Kept):
// a failover that carries the connections over breaks none and needs no reconnection.
//
// Latency is the echo's round trip, from writing the line to reading it back; connection
// set-up is not part of it.
type LongTCP struct {
	Target   string        // host:port
	Conns    int           // 0 = 1
	Interval time.Duration // between exchanges on a connection, 0 = 1s
	Timeout  time.Duration // for connecting and for each exchange, 0 = 2s
}

// Run keeps the connections until ctx ends, recording every exchange into rec, and returns
// nil once they are closed; it returns an error at once if the configuration is unusable.
func (l *LongTCP) Run(ctx context.Context, d Dialer, rec *Recorder) error {
	if err := checkTarget(l.Target, 0); err != nil {
		return err
	}
	if l.Conns < 0 || l.Interval < 0 || l.Timeout < 0 {
		return errNegative
	}
	s := *l
	if s.Conns == 0 {
		s.Conns = 1
	}
	if s.Interval == 0 {
		s.Interval = time.Second
	}
	if s.Timeout == 0 {
		s.Timeout = defaultTimeout
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i := range s.Conns {
		// Spread the connections over an interval, so that they do not all send at once.
		first := start.Add(time.Duration(float64(s.Interval) * float64(i) / float64(s.Conns)))
		c := &tcpSession{LongTCP: &s, id: i, d: d, rec: rec}
		wg.Go(func() { c.run(ctx, first) })
	}
	wg.Wait()
	return nil
}

// tcpSession is one of LongTCP's connections, made again after each failure.
type tcpSession struct {
	*LongTCP
	id  int
	d   Dialer
	rec *Recorder

	conn    net.Conn // nil until connected, and after a failure
	r       *bufio.Reader
	server  string
	up      bool        // conn was made (greeted), and has not failed
	made    int         // connections made
	unwatch func() bool // stops closing conn when the run ends
	seq     uint64
	line    []byte
}

func (s *tcpSession) run(ctx context.Context, first time.Time) {
	defer func() {
		s.rec.SessionEnded(s.made == 1 && s.up)
		s.disconnect()
	}()
	sleep(ctx, time.Until(first))
	// A ticker drops the ticks that a slow exchange (one that times out) overran: a
	// connection sends at most one line per interval, as a heartbeat would.
	tick := time.NewTicker(s.Interval)
	defer tick.Stop()
	for ctx.Err() == nil {
		at := time.Now()
		latency, err := s.exchange(ctx)
		if ctx.Err() != nil {
			return // cut short by the end of the run
		}
		if err != nil {
			if s.up {
				s.rec.Broke()
			}
			s.disconnect()
			s.rec.Request(at, 0, "", err)
		} else {
			s.rec.Request(at, latency, s.server, nil)
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
}

// exchange sends one line and reads its echo, connecting first if needed.
func (s *tcpSession) exchange(ctx context.Context) (time.Duration, error) {
	if s.conn == nil {
		if err := s.connect(ctx); err != nil {
			return 0, err
		}
	}
	s.seq++
	s.line = strconv.AppendInt(s.line[:0], int64(s.id), 10)
	s.line = append(strconv.AppendUint(append(s.line, ' '), s.seq, 10), '\n')
	start := time.Now()
	s.conn.SetDeadline(start.Add(s.Timeout))
	if _, err := s.conn.Write(s.line); err != nil {
		return 0, err
	}
	echo, err := s.r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if !bytes.Equal(echo, s.line) {
		return 0, errMismatch
	}
	return time.Since(start), nil
}

// connect dials the target and reads the greeting that names the server.
func (s *tcpSession) connect(ctx context.Context) error {
	dctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	c, err := s.d.DialContext(dctx, "tcp", s.Target)
	if err != nil {
		return err
	}
	// Closing the connection when the run ends unblocks an exchange at once, rather than
	// after its timeout.
	s.conn, s.r = c, bufio.NewReader(c)
	s.unwatch = context.AfterFunc(ctx, func() { c.Close() })
	c.SetDeadline(time.Now().Add(s.Timeout))
	greeting, err := s.r.ReadString('\n')
	if err != nil {
		return err
	}
	s.server = strings.TrimSuffix(greeting, "\n")
	s.up = true
	s.made++
	s.rec.Connected(s.made > 1)
	return nil
}

func (s *tcpSession) disconnect() {
	if s.conn == nil {
		return
	}
	s.unwatch()
	s.conn.Close()
	s.conn, s.r, s.server, s.up = nil, nil, "", false
}
