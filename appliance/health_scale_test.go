package appliance

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/uvs-lb/uvs/conf"
	"github.com/uvs-lb/uvs/netstack"
	"github.com/uvs-lb/uvs/netstack/port"
)

// TestHealthScale's knobs: how many checked servers (in 192.168.0.0/22), and how long to
// measure them while they stay up.
var (
	scaleServers = flag.Int("scale.servers", 1000, "TestHealthScale: checked real servers, 1-1000")
	scaleTime    = flag.Duration("scale.time", 5*time.Second, "TestHealthScale: how long to measure the servers while they are up")
	scaleOnLink  = flag.Bool("scale.onlink", false, "TestHealthScale: the servers on the appliance's link, not behind a router")
)

// scaleAddr is the address of real server i (0-based): 192.168.0.1 on, across the /22.
func scaleAddr(i int) netip.Addr {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], 0xc0a80000+uint32(i)+1)
	return netip.AddrFrom4(a)
}

// scaleConfig is an appliance with one NAT service of n real servers, each with a tcp_check
// every second (connect_timeout 5 s, retry 1, delay_before_retry 1 s: keepalived's defaults,
// written out; the long connect_timeout keeps a server up through a stall of the test's
// process, which the other tests of a busy machine may cause). The servers'
// /22 is behind the router 10.1.0.1 on eth1, or with onLink on eth1 itself.
func scaleConfig(n int, onLink bool) string {
	var b strings.Builder
	b.WriteString(`
[[interface]]
name = "eth0"
kind = "memory"
addresses = ["10.0.0.254/24"]
`)
	if onLink {
		b.WriteString(`
[[interface]]
name = "eth1"
kind = "memory"
addresses = ["192.168.3.254/22"]
`)
	} else {
		b.WriteString(`
[[interface]]
name = "eth1"
kind = "memory"
addresses = ["10.1.0.254/24"]
  [[interface.route]]
  prefix = "192.168.0.0/22"
  via = "10.1.0.1"
`)
	}
	b.WriteString(`

[[virtual_server]]
address = "10.0.0.1:80"
protocol = "tcp"
lb_algo = "rr"
lb_kind = "NAT"
delay_loop = 1
connect_timeout = 5
retry = 1
delay_before_retry = 1
`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  [[virtual_server.real_server]]\n  address = \"%s:8080\"\n    [[virtual_server.real_server.tcp_check]]\n", scaleAddr(i))
	}
	return b.String()
}

// arpCounter is a port that counts the ARP frames it receives.
type arpCounter struct {
	port.Port
	arp atomic.Uint64
}

func (c *arpCounter) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	n, err := c.Port.Read(bufs, sizes, offset)
	for i := 0; i < n; i++ {
		if f := bufs[i][offset : offset+sizes[i]]; len(f) >= 14 && f[12] == 0x08 && f[13] == 0x06 {
			c.arp.Add(1)
		}
	}
	return n, err
}

// scaleSample is the process's state at one moment.
type scaleSample struct {
	at         time.Time
	cpu        time.Duration // user + system since the process started
	goroutines int
	heapInuse  uint64
	checks     uint64
	failed     uint64
	arp        uint64
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startLabelled runs start with the profiler label side=name: the goroutines it starts
// inherit the label, so that a CPU profile of the test tells the appliance's work from the
// server host's (go tool pprof -tags).
func startLabelled(name string, start func() error) (err error) {
	pprof.Do(context.Background(), pprof.Labels("side", name), func(context.Context) { err = start() })
	return err
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// aliveCount counts the checked servers up and down.
func aliveCount(a *Appliance) (up, down int) {
	for _, servers := range a.Alive() {
		for _, ok := range servers {
			if ok {
				up++
			} else {
				down++
			}
		}
	}
	return up, down
}

// TestHealthScale measures what 1,000 checked real servers cost the appliance: one NAT
// service whose 1,000 servers (192.168.0.1 on, a /22) each have a tcp_check every second,
// against one gVisor host that holds all 1,000 addresses and listens on 0.0.0.0:8080. That
// host is the router 10.1.0.1 behind which the appliance reaches the /22; with -scale.onlink
// it is on the servers' /22 with the appliance, which then has 1,000 neighbors on one link,
// more than gVisor's neighbor cache holds (512 per NIC): every check resolves its server
// again, and checks may fail with "no route to host" when resolutions pile up (gVisor keeps
// 64 pending), so that case is not the default.
//
// It reports goroutines, heap in use, CPU per second, checks per second and the ARP frames the
// server host received, checks that every server stays up while it is measured (-scale.time,
// 5 s), then stops the listener and reports how long until all 1,000 are down (and out of the
// engine's table). Goroutines, heap and the rusage CPU are the whole test process's, the
// server host's gVisor stack (which accepts the 1,000 connections a second) included; a CPU
// profile taken meanwhile splits the CPU time between the appliance's goroutines, the server
// host's and the rest (GC, timers), unless go test -cpuprofile holds the profiler. The heap
// grows for a minute: gVisor keeps each closed check connection in TIME_WAIT for 60 s. It
// asserts no timing: only that all servers stay up, then all go down.
//
//	go test ./appliance/ -run Scale -v [-args -scale.time=30s]
func TestHealthScale(t *testing.T) {
	if testing.Short() {
		t.Skip("a measurement of several seconds")
	}
	n := *scaleServers
	if n < 1 || n > 1000 {
		t.Fatalf("-scale.servers=%d: 1 to 1000", n)
	}
	cfg, err := conf.Parse("scale.toml", []byte(scaleConfig(n, *scaleOnLink)))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	g0, heap0 := runtime.NumGoroutine(), ms.HeapInuse

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cliEnd, eth0 := port.Pipe(port.MemConfig{Name: "client", MAC: mac(1)}, port.MemConfig{Name: "eth0", MAC: mac(2)})
	eth1, srvEnd := port.Pipe(port.MemConfig{Name: "eth1", MAC: mac(3)}, port.MemConfig{Name: "servers", MAC: mac(4)})
	// Nothing lives on the client's side: drain what the appliance sends there (its
	// gratuitous ARP for the VIP).
	var drained sync.WaitGroup
	drained.Add(1)
	go func() {
		defer drained.Done()
		bufs, sizes := make([][]byte, cliEnd.BatchSize()), make([]int, cliEnd.BatchSize())
		for i := range bufs {
			bufs[i] = make([]byte, cliEnd.Headroom()+cliEnd.MaxFrame())
		}
		for {
			if _, err := cliEnd.Read(bufs, sizes, cliEnd.Headroom()); err != nil {
				return
			}
		}
	}()

	// The real servers: one host holding the 1,000 addresses, listening on all of them at
	// once: the router 10.1.0.1 that owns the servers' addresses, or with -scale.onlink the
	// servers' /22 itself. The servers' addresses are /32s: gVisor checks that the source of
	// every packet it receives is not the broadcast address of one of its subnets, one
	// address after the other, which costs the server host (not the appliance) three times
	// less with /32s than with 1,000 /22s.
	addrs := make([]netip.Prefix, 0, n+1)
	if *scaleOnLink {
		addrs = append(addrs, netip.PrefixFrom(scaleAddr(0), 22))
	} else {
		addrs = append(addrs, netip.MustParsePrefix("10.1.0.1/24"), netip.PrefixFrom(scaleAddr(0), 32))
	}
	for i := 1; i < n; i++ {
		addrs = append(addrs, netip.PrefixFrom(scaleAddr(i), 32))
	}
	srvPort := &arpCounter{Port: srvEnd}
	srv, err := netstack.NewHost(netstack.HostConfig{Standalone: true, NICs: []netstack.NICConfig{{Port: srvPort, Addrs: addrs}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := startLabelled("servers", func() error { return srv.Start(ctx) }); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ln, err := srv.ListenTCP(netip.MustParseAddrPort("0.0.0.0:8080"))
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Uint64
	var served sync.WaitGroup
	served.Add(1)
	startLabelled("servers", func() error {
		go func() {
			defer served.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				accepted.Add(1)
				c.Close()
			}
		}()
		return nil
	})
	closeListener := sync.OnceFunc(func() {
		ln.Close()
		served.Wait()
	})
	defer closeListener()

	a, err := New(Options{Config: cfg, Log: zerolog.Nop(), Ports: map[string]port.Port{"eth0": eth0, "eth1": eth1}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer func() {
		a.Close()
		drained.Wait()
	}()
	if err := startLabelled("appliance", func() error { return a.Start(ctx) }); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if up, down := aliveCount(a); up != n || down != 0 {
		t.Fatalf("at start: %d servers up, %d down; want %d checked servers, all up", up, down, n)
	}
	checkedUp := func(when string) {
		t.Helper()
		if up, down := aliveCount(a); up != n || down != 0 {
			hc, st := a.Health()
			reasons := map[string]int{}
			for _, ts := range st.PerTarget {
				if !ts.Up {
					reasons[ts.LastReason]++
				}
			}
			t.Fatalf("%s: %d servers up, %d down (health %+v, checks %+v, why %v; frames lost on the link: %d to the servers, %d to the appliance)",
				when, up, down, hc, st.Counters, reasons, srvEnd.Dropped(), eth1.Dropped())
		}
	}
	sample := func() scaleSample {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		_, st := a.Health()
		return scaleSample{at: time.Now(), cpu: processCPU(), goroutines: runtime.NumGoroutine(), heapInuse: ms.HeapInuse,
			checks: st.Checks, failed: st.Failed, arp: srvPort.arp.Load()}
	}

	// Every server's first check comes within its warmup (delay_loop, 1 s): measure after
	// the first round, so that every target runs its loop.
	time.Sleep(1500 * time.Millisecond)
	checkedUp("after the first round of checks")
	s0 := sample()
	t.Logf("%d servers, tcp_check every 1 s: first round done, %d checks, %d accepted", n, s0.checks, accepted.Load())
	prof := startCPUBySide()
	defer func() { prof.stop() }() // if the test fails meanwhile
	var per []string
	prev := s0
	for end := s0.at.Add(*scaleTime); time.Now().Before(end); {
		time.Sleep(time.Second)
		checkedUp("while measuring")
		s := sample()
		sec := s.at.Sub(prev.at).Seconds()
		per = append(per, fmt.Sprintf("%.0f checks/s %.0f ms CPU/s %.1f MiB %d ARP/s",
			float64(s.checks-prev.checks)/sec, (s.cpu-prev.cpu).Seconds()*1000/sec, mib(s.heapInuse), uint64(float64(s.arp-prev.arp)/sec)))
		prev = s
	}
	s1 := sample()
	split, splitErr := prof.stop()
	hc, _ := a.Health()
	wall := s1.at.Sub(s0.at).Seconds()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	grown := int64(ms.HeapInuse) - int64(heap0)
	checks := float64(s1.checks-s0.checks) / wall
	cpu := (s1.cpu - s0.cpu).Seconds() / wall
	t.Logf("each second: %s", strings.Join(per, "; "))
	t.Logf("%d servers up for %.1f s: %d goroutines (+%d), heap in use %.1f MiB (%.1f MiB after GC, +%.1f MiB: %.0f KiB/server), "+
		"%.0f checks/s (%d failed), CPU %.0f ms/s (%.0f µs/check), %.0f ARP frames/s to the servers",
		n, wall, s1.goroutines, s1.goroutines-g0, mib(s1.heapInuse), mib(ms.HeapInuse), float64(grown)/(1<<20),
		float64(grown)/1024/float64(n), checks, s1.failed-s0.failed, cpu*1000, cpu*1e6/checks,
		float64(s1.arp-s0.arp)/wall)
	logSplit(t, "while up", split, splitErr, wall, checks)
	if lost := srvEnd.Dropped() + eth1.Dropped(); lost > 0 {
		t.Logf("%d frames lost on the link: a queue (%d frames) was full", lost, port.DefaultQueue)
	}
	if hc.ServersDown != 0 {
		t.Errorf("%d servers went down while every server listened", hc.ServersDown)
	}
	if s1.failed != s0.failed {
		t.Errorf("%d checks failed while every server listened", s1.failed-s0.failed)
	}
	if s1.checks == s0.checks {
		t.Errorf("no check completed in %.1f s", wall)
	}

	// The servers stop listening: every check is refused at once, so each server goes down
	// after its next check and its retry (delay_loop + delay_before_retry, about 2 s).
	cpuDown := processCPU()
	prof = startCPUBySide()
	stopped := time.Now()
	closeListener()
	var allDown time.Duration
	for deadline := stopped.Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, down := aliveCount(a); down == n {
			allDown = time.Since(stopped)
			break
		}
		if time.Now().After(deadline) {
			up, down := aliveCount(a)
			hc, st := a.Health()
			t.Fatalf("30 s after the listener closed: %d servers up, %d down (health %+v, checks %+v)", up, down, hc, st.Counters)
		}
	}
	cpuDown = processCPU() - cpuDown
	split, splitErr = prof.stop()
	hc, st := a.Health()
	t.Logf("listener closed: all %d servers down after %v (CPU %.0f ms meanwhile; %d down transitions, %d checks failed)",
		n, allDown.Round(time.Millisecond), cpuDown.Seconds()*1000, hc.ServersDown, st.Failed-s1.failed)
	logSplit(t, "going down", split, splitErr, allDown.Seconds(), 0)
	if hc.ServersDown != uint64(n) || hc.ServersUp != 0 {
		t.Errorf("health counters %+v, want %d servers down and none up", hc, n)
	}
	for _, s := range a.Engine().Table().Services() {
		if d := len(s.Dests()); d != 0 {
			t.Errorf("service %v still has %d real servers in the engine's table", s.Config().VIP, d)
		}
	}
}

// logSplit logs the CPU time of each side over a period of secs seconds, per second and per
// check.
func logSplit(t *testing.T, what string, split map[string]time.Duration, err error, secs, checks float64) {
	t.Helper()
	if err != nil {
		t.Logf("%s: no CPU split by side: %v", what, err)
		return
	}
	var total time.Duration
	for _, d := range split {
		total += d
	}
	perCheck := ""
	if checks > 0 {
		perCheck = fmt.Sprintf(" (%.0f µs/check)", split["appliance"].Seconds()*1e6/secs/checks)
	}
	t.Logf("%s, CPU profile (%.0f ms/s in all): appliance %.0f ms/s%s, server host %.0f ms/s, other (GC, timers, the test) %.0f ms/s",
		what, total.Seconds()*1000/secs, split["appliance"].Seconds()*1000/secs, perCheck,
		split["servers"].Seconds()*1000/secs, split[""].Seconds()*1000/secs)
}

// cpuBySide is a CPU profile of the test process taken while it runs, split by the label
// "side" (startLabelled): what the appliance spent, what the server host spent, and the rest
// (garbage collection, timers, the test itself).
type cpuBySide struct {
	buf     bytes.Buffer
	err     error // why there is no profile (go test -cpuprofile holds the profiler)
	stopped bool
}

func startCPUBySide() *cpuBySide {
	p := &cpuBySide{}
	p.err = pprof.StartCPUProfile(&p.buf)
	return p
}

// stop ends the profile and returns the CPU time of each side ("" for unlabelled work).
func (p *cpuBySide) stop() (map[string]time.Duration, error) {
	if p.err != nil {
		return nil, p.err
	}
	if p.stopped {
		return nil, errors.New("profile stopped already")
	}
	p.stopped = true
	pprof.StopCPUProfile()
	return profileBySide(p.buf.Bytes(), "side")
}

// profileBySide sums the CPU time of a pprof CPU profile (gzipped profile.proto) by the value
// of one label: a decoder of just the fields it needs, Profile.sample (2) and
// Profile.string_table (6), Sample.value (2) and Sample.label (3), Label.key (1) and
// Label.str (2).
func profileBySide(gz []byte, key string) (map[string]time.Duration, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	type sample struct {
		ns     int64
		labels [][2]int64 // key and value, as string table indices
	}
	var samples []sample
	var strs []string
	err = protoFields(raw, func(field int, v uint64, b []byte) error {
		switch field {
		case 2:
			var s sample
			var values []int64
			err := protoFields(b, func(field int, v uint64, b []byte) error {
				switch {
				case field == 2 && b == nil:
					values = append(values, int64(v))
				case field == 2: // packed
					for len(b) > 0 {
						x, n := binary.Uvarint(b)
						if n <= 0 {
							return errors.New("bad packed varint")
						}
						values, b = append(values, int64(x)), b[n:]
					}
				case field == 3:
					var l [2]int64
					err := protoFields(b, func(field int, v uint64, _ []byte) error {
						if field == 1 || field == 2 {
							l[field-1] = int64(v)
						}
						return nil
					})
					if err != nil {
						return err
					}
					s.labels = append(s.labels, l)
				}
				return nil
			})
			if err != nil {
				return err
			}
			if len(values) >= 2 { // samples/count, cpu/nanoseconds
				s.ns = values[1]
			}
			samples = append(samples, s)
		case 6:
			strs = append(strs, string(b))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("CPU profile: %w", err)
	}
	str := func(i int64) string {
		if i < 0 || i >= int64(len(strs)) {
			return ""
		}
		return strs[i]
	}
	out := map[string]time.Duration{}
	for _, s := range samples {
		side := ""
		for _, l := range s.labels {
			if str(l[0]) == key {
				side = str(l[1])
			}
		}
		out[side] += time.Duration(s.ns)
	}
	return out, nil
}

// protoFields calls fn for each field of a protobuf message: a varint field with its value,
// a length-delimited one with its bytes (fixed-size fields are skipped).
func protoFields(b []byte, fn func(field int, v uint64, b []byte) error) error {
	for len(b) > 0 {
		tag, n := binary.Uvarint(b)
		if n <= 0 {
			return errors.New("bad tag")
		}
		b = b[n:]
		field := int(tag >> 3)
		switch tag & 7 {
		case 0:
			v, n := binary.Uvarint(b)
			if n <= 0 {
				return errors.New("bad varint")
			}
			b = b[n:]
			if err := fn(field, v, nil); err != nil {
				return err
			}
		case 1:
			if len(b) < 8 {
				return errors.New("short fixed64")
			}
			b = b[8:]
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || uint64(len(b)-n) < l {
				return errors.New("bad length")
			}
			if err := fn(field, 0, b[n:n+int(l)]); err != nil {
				return err
			}
			b = b[n+int(l):]
		case 5:
			if len(b) < 4 {
				return errors.New("short fixed32")
			}
			b = b[4:]
		default:
			return fmt.Errorf("wire type %d", tag&7)
		}
	}
	return nil
}
