package apps

import (
	"bufio"
	"context"
	"net"
	"sync"
	"testing"
	"time"
)

func TestServeTCPEcho(t *testing.T) {
	t.Parallel()
	s := startEcho(t, "", "rs1")
	c, err := net.Dial("tcp", s.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	if g, err := r.ReadString('\n'); err != nil || g != "rs1\n" {
		t.Fatalf("greeting %q, %v", g, err)
	}
	for _, line := range []string{"hello\n", "second line\n"} {
		c.Write([]byte(line))
		if got, err := r.ReadString('\n'); err != nil || got != line {
			t.Errorf("echo of %q: %q, %v", line, got, err)
		}
	}
	if err := s.stop(t); err != nil {
		t.Errorf("Serve: %v", err)
	}
	if _, err := r.ReadByte(); err == nil {
		t.Error("a stopped echo server's connection is still open")
	}
}

func TestServeUDPEcho(t *testing.T) {
	t.Parallel()
	pc := startUDPEcho(t, "rs1")
	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte("ping 1"))
	buf := make([]byte, 100)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "rs1 ping 1" {
		t.Errorf("reply %q, %v", buf[:n], err)
	}
}

// Long-lived connections through the round-robin proxy: two connections to each server,
// an exchange every 20ms each.
func TestLongTCP(t *testing.T) {
	t.Parallel()
	proxy := startProxy(t, startEcho(t, "", "a").addr(), startEcho(t, "", "b").addr())
	s := run(t, time.Second, time.Second, &LongTCP{Target: proxy, Conns: 4, Interval: 20 * time.Millisecond})
	// Up to 200: a connection skips the exchanges it was too slow for (on a loaded machine).
	if s.Requests < 100 || s.Requests > 205 || s.Errors != 0 {
		t.Errorf("want about 200 exchanges and no errors")
	}
	if !within(s.PerServer["a"], s.Requests/2, 0.2) || !within(s.PerServer["b"], s.Requests/2, 0.2) {
		t.Errorf("per server %v, want an even split", s.PerServer)
	}
	// Each session made its one connection and kept it.
	if s.Connects != 4 || s.Reconnects != 0 || s.Broken != 0 || s.Sessions != 4 || s.Kept != 4 {
		t.Errorf("connections: made %d, again %d, broken %d; sessions %d, kept %d; want 4, 0, 0; 4, 4",
			s.Connects, s.Reconnects, s.Broken, s.Sessions, s.Kept)
	}
	checkKinds(t, s)
}

// When its server stops, a connection fails and cannot be made again; when the server is
// back, the connections are made again.
func TestLongTCPReconnects(t *testing.T) {
	t.Parallel()
	s := startEcho(t, "", "rs")
	addr := s.addr()
	start := time.Now()
	var (
		mu            sync.Mutex
		stopped, back time.Duration // since start
	)
	time.AfterFunc(300*time.Millisecond, func() {
		mu.Lock()
		defer mu.Unlock()
		s.Close()
		stopped = time.Since(start)
	})
	time.AfterFunc(600*time.Millisecond, func() {
		mu.Lock()
		defer mu.Unlock()
		startEcho(t, addr, "rs")
		back = time.Since(start)
	})
	sum := run(t, 1500*time.Millisecond, 50*time.Millisecond, &LongTCP{Target: addr, Conns: 2, Interval: 20 * time.Millisecond, Timeout: 100 * time.Millisecond})
	mu.Lock()
	defer mu.Unlock()
	if back == 0 {
		t.Fatal("server not restarted")
	}
	checkKinds(t, sum)
	if sum.ErrorKinds["refused"] == 0 || sum.ErrorKinds["eof"]+sum.ErrorKinds["reset"] == 0 {
		t.Errorf("want connections ended (eof or reset), then refused")
	}
	var after uint64
	for _, p := range sum.Series {
		t.Logf("%v %v errors %d", p.Start, p.PerServer, p.Errors)
		// A margin of two buckets: exchanges started just before the stop are answered.
		if p.Start > stopped+50*time.Millisecond && p.Start+50*time.Millisecond < back && p.PerServer["rs"] != 0 {
			t.Errorf("%v: answers from a stopped server", p.Start)
		}
		if p.Start > back {
			after += p.PerServer["rs"]
		}
	}
	if after == 0 {
		t.Errorf("no answers after the server came back at %v", back)
	}
	// Both sessions lost their connection with the server, and made one again after it.
	if sum.Broken < 2 || sum.Reconnects < 2 || sum.Connects != 2+sum.Reconnects || sum.Sessions != 2 || sum.Kept != 0 {
		t.Errorf("connections: made %d, again %d, broken %d; sessions %d, kept %d; want ≥ 2 broken and made again, none kept",
			sum.Connects, sum.Reconnects, sum.Broken, sum.Sessions, sum.Kept)
	}
}

func startUDPEcho(t *testing.T, name string) net.PacketConn {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveUDP(t, pc, name)
}

func serveUDP(t *testing.T, pc net.PacketConn, name string) net.PacketConn {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- ServeUDPEcho(context.Background(), pc, name) }()
	t.Cleanup(func() {
		pc.Close()
		if err := <-done; err != nil {
			t.Errorf("ServeUDPEcho: %v", err)
		}
	})
	return pc
}

// sources records the source addresses of what it receives.
type sources struct {
	net.PacketConn
	mu   sync.Mutex
	seen map[string]int
}

func (s *sources) ReadFrom(b []byte) (int, net.Addr, error) {
	n, from, err := s.PacketConn.ReadFrom(b)
	if err == nil {
		s.mu.Lock()
		s.seen[from.String()]++
		s.mu.Unlock()
	}
	return n, from, err
}

func TestUDPFlows(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	src := &sources{PacketConn: pc, seen: map[string]int{}}
	serveUDP(t, src, "rs")
	s := run(t, time.Second, time.Second, &UDPFlows{Target: pc.LocalAddr().String(), Flows: 4, Rate: 200})
	if s.Requests < 150 || s.Requests > 205 || s.Errors != 0 || s.PerServer["rs"] != s.Requests {
		t.Errorf("want about 200 datagrams, all answered by rs")
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	if len(src.seen) != 4 {
		t.Errorf("datagrams from %d source addresses, want 4: %v", len(src.seen), src.seen)
	}
	for from, n := range src.seen {
		if n < 35 || n > 52 {
			t.Errorf("%s sent %d datagrams, want about 50", from, n)
		}
	}
}

func TestUDPFlowsErrors(t *testing.T) {
	t.Parallel()
	// A socket that never answers: every datagram times out.
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	s := run(t, 600*time.Millisecond, time.Second, &UDPFlows{Target: silent.LocalAddr().String(), Flows: 2, Rate: 50, Timeout: 100 * time.Millisecond})
	if s.ErrorKinds["timeout"] < 10 || s.Errors != s.Requests {
		t.Errorf("want only timeouts, about 25")
	}
	checkKinds(t, s)

	// A closed port: the kernel's ICMP port unreachable makes the socket report refused.
	closed, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	s = run(t, 500*time.Millisecond, time.Second, &UDPFlows{Target: closed.LocalAddr().String(), Rate: 50, Timeout: 100 * time.Millisecond})
	if s.ErrorKinds["refused"] == 0 || s.Errors != s.Requests {
		t.Errorf("want refused")
	}
	checkKinds(t, s)
}

func TestClientsRejectBadConfig(t *testing.T) {
	t.Parallel()
	rec := NewRecorder(time.Now(), time.Second)
	for _, c := range []client{
		&LongTCP{Target: "x"},
		&LongTCP{Target: "127.0.0.1:1", Conns: -1},
		&UDPFlows{Target: "127.0.0.1:1", Rate: -5},
		&UDPFlows{Target: "127.0.0.1:1", Flows: -1},
	} {
		if err := c.Run(context.Background(), nil, rec); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}
