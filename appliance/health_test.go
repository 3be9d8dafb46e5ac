package appliance

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/conf"
	"github.com/uvs-lb/uvs/netstack"
)

// Health checking end to end: real gVisor hosts as real servers behind the appliance, the
// appliance's checks leaving from its own netstack, and the engine's table observed as the
// checks change it. Timings are short (delay_loop 0.2–0.3 s, connect_timeout 0.3 s) and the
// bounds generous, so that the tests hold on a loaded machine.

// helperArg makes the test binary a helper program (TestMain): the scripts of these tests run
// it, since a script runs without a shell.
const helperArg = "uvs-appliance-test-helper"

// helperMain is the helper program:
//
//	append FILE WORD   appends the line WORD to FILE
//	exitfile FILE      exits with the status written in FILE (0 when FILE is missing)
func helperMain(args []string) int {
	switch {
	case len(args) == 3 && args[0] == "append":
		f, err := os.OpenFile(args[1], os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 100
		}
		defer f.Close()
		if _, err := fmt.Fprintln(f, args[2]); err != nil {
			return 100
		}
		return 0
	case len(args) == 2 && args[0] == "exitfile":
		b, err := os.ReadFile(args[1])
		if errors.Is(err, os.ErrNotExist) {
			return 0
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return 100
		}
		return n
	}
	fmt.Fprintln(os.Stderr, "helper: bad arguments", args)
	return 100
}

// helperCommand is a command line running the helper with args.
func helperCommand(t *testing.T, args ...string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	words := []string{exe, helperArg}
	words = append(words, args...)
	for i, w := range words {
		if strings.ContainsAny(w, `'"\`) {
			t.Fatalf("cannot quote %q", w)
		}
		words[i] = "'" + w + "'"
	}
	return strings.Join(words, " ")
}

// appendScript is a script appending word to file.
func appendScript(t *testing.T, file, word string) string {
	return helperCommand(t, "append", file, word)
}

// lines reads the lines a script appended to file.
func lines(file string) []string {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	return strings.Fields(string(b))
}

// The lab of these tests: the VIP 10.0.0.1:80 in front of rs1 192.168.1.20 and rs2
// 192.168.1.21 (and rs3 .22, sorry .30 when a test wants them), each greeting on 8080; the
// checks go to a port of their own (healthPort) that the test opens and closes.
const (
	vip        = "10.0.0.1:80"
	healthPort = 9000
	httpPort   = 8081
)

var (
	rs1Addr   = netip.MustParseAddr("192.168.1.20")
	rs2Addr   = netip.MustParseAddr("192.168.1.21")
	rs3Addr   = netip.MustParseAddr("192.168.1.22")
	sorryAddr = netip.MustParseAddr("192.168.1.30")
)

// healthConfig is a configuration of the two interfaces and the service 10.0.0.1:80 (rr,
// NAT) with svc's keys, followed by rest: its real servers, sorry server, other services.
func healthConfig(svc, rest string) string {
	return `
[[interface]]
name = "eth0"
kind = "memory"
addresses = ["10.0.0.254/24"]

[[interface]]
name = "eth1"
kind = "memory"
addresses = ["192.168.1.254/24"]

[[virtual_server]]
address = "10.0.0.1:80"
lb_algo = "rr"
lb_kind = "NAT"
` + svc + "\n" + rest
}

// tcpServer is a real server of the service checked by a tcp_check on healthPort, with extra
// keys for the server and for the check.
func tcpServer(addr netip.Addr, keys, check string) string {
	return fmt.Sprintf(`
[[virtual_server.real_server]]
address = "%s:8080"
%s
[[virtual_server.real_server.tcp_check]]
connect_port = %d
%s
`, addr, keys, healthPort, check)
}

// labOpts are a health lab's options.
type labOpts struct {
	extra  []string   // more hosts: "rs3" (192.168.1.22), "sorry" (192.168.1.30)
	closed []string   // the hosts whose check port is closed at start
	setup  func(*lab) // more to do before the appliance starts
}

// healthLab builds the lab of config with rs1 and rs2 and o's extra hosts, logging to a
// buffer the test can search. Each real server has a listener on healthPort, open from before
// the appliance starts (so that the first check finds it) unless o says closed.
func healthLab(t *testing.T, config string, o labOpts) (*lab, *logBuf, map[string]*listener) {
	t.Helper()
	route := []netstack.Route{defaultVia("192.168.1.254")}
	addrs := map[string]netip.Addr{"rs1": rs1Addr, "rs2": rs2Addr, "rs3": rs3Addr, "sorry": sorryAddr}
	var servers []labServer
	for _, n := range append([]string{"rs1", "rs2"}, o.extra...) {
		a, ok := addrs[n]
		if !ok {
			t.Fatalf("unknown host %s", n)
		}
		servers = append(servers, labServer{name: n, addrs: []string{a.String() + "/24"}, routes: route})
	}
	log := &logBuf{}
	ls := map[string]*listener{}
	setup := func(l *lab) {
		for _, s := range servers {
			ls[s.name] = &listener{t: t, h: l.hosts[s.name], addr: netip.AddrPortFrom(addrs[s.name], healthPort)}
			if !slices.Contains(o.closed, s.name) {
				ls[s.name].open()
			}
		}
		if o.setup != nil {
			o.setup(l)
		}
	}
	l := newLab(t, labSpec{config: config, clientAddrs: []string{"10.0.0.2/24"},
		clientRoutes: []netstack.Route{defaultVia("10.0.0.254")}, servers: servers, logTo: log, setup: setup})
	for _, x := range ls {
		t.Cleanup(x.close)
	}
	return l, log, ls
}

// logBuf collects the appliance's log.
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// count is how many log lines contain s.
func (b *logBuf) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), s)
}

// wantLog fails the test unless a log line contains s.
func (b *logBuf) wantLog(t *testing.T, s string) {
	t.Helper()
	if b.count(s) == 0 {
		t.Errorf("no log line says %q", s)
	}
}

// listener is a TCP listener of a real server that the test opens and closes: what a
// tcp_check sees of a server whose service dies and comes back.
type listener struct {
	t       *testing.T
	h       *netstack.Host
	addr    netip.AddrPort
	accepts atomic.Int64

	mu   sync.Mutex
	ln   net.Listener
	done chan struct{}
}

func (ls *listener) open() {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.ln != nil {
		return
	}
	ln, err := ls.h.ListenTCP(ls.addr)
	if err != nil {
		ls.t.Fatalf("listen %s: %v", ls.addr, err)
	}
	ls.ln, ls.done = ln, make(chan struct{})
	go func(done chan struct{}) {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			ls.accepts.Add(1)
			c.Close()
		}
	}(ls.done)
}

func (ls *listener) close() {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.ln == nil {
		return
	}
	ls.ln.Close()
	<-ls.done
	ls.ln = nil
}

// waitFor polls cond until it holds and returns how long that took; it fails the test after
// limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// weights is the newest table's view of the service 10.0.0.1:80: each real server's
// weight, by address ("192.168.1.20:8080"). It reads the table's own configuration, which
// no later table changes (Dest.Weight is the newest compile's, written while it compiles).
func weights(l *lab) map[string]int32 {
	out := map[string]int32{}
	for _, s := range l.a.Engine().Table().Services() {
		c := s.Config()
		if c.VIP != netip.MustParseAddr("10.0.0.1") || c.Port != 80 {
			continue
		}
		for _, rs := range c.Servers {
			out[netip.AddrPortFrom(rs.Addr, rs.Port).String()] = rs.Weight
		}
	}
	return out
}

// in reports whether server (an address of port 8080) is in the table, and its weight.
func in(l *lab, server netip.Addr) (int32, bool) {
	w, ok := weights(l)[netip.AddrPortFrom(server, 8080).String()]
	return w, ok
}

// servedBy opens n connections to the VIP and returns the servers that answered.
func servedBy(t *testing.T, l *lab, n int) []string {
	t.Helper()
	var out []string
	for i := 0; i < n; i++ {
		c, _, name, _ := l.tcp(t, vip)
		c.Close()
		out = append(out, name)
	}
	return out
}

// targetStats returns the Monitor's stats of the (single) target checking addr with kind.
func targetStats(t *testing.T, l *lab, addr netip.Addr, kind string) (id string, up bool, checks, failed uint64, reason string) {
	t.Helper()
	_, hs := l.a.Health()
	for id, ts := range hs.PerTarget {
		if strings.Contains(id, netip.AddrPortFrom(addr, 8080).String()+" "+kind) {
			return id, ts.Up, ts.Checks, ts.Failed, ts.LastReason
		}
	}
	t.Fatalf("no %s target for %s among %d", kind, addr, len(hs.PerTarget))
	return
}

// name formats a server as keepalived's logs do.
func name(a netip.Addr) string { return fmt.Sprintf("[%s]:tcp:8080", a) }

const vsName = "[10.0.0.1]:tcp:80"

// Timing of the tcp_check tests: a refused connection fails at once, so removal takes at most
// delay_loop (the wait for the next check) + retry × delay_before_retry; a timeout adds
// (retry+1) × connect_timeout.
const (
	delayLoop        = 300 * time.Millisecond
	connectTimeout   = 300 * time.Millisecond
	retries          = 1
	delayBeforeRetry = 200 * time.Millisecond
	// slack covers a loaded machine: a generous bound, not a measurement.
	slack = 3 * time.Second
)

var tcpTiming = fmt.Sprintf("delay_loop = %g\nconnect_timeout = %g\nretry = %d\ndelay_before_retry = %g\nwarmup = 0\n",
	delayLoop.Seconds(), connectTimeout.Seconds(), retries, delayBeforeRetry.Seconds())

func TestHealthTCPCheckRemovesAndRestoresAServer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notify := filepath.Join(dir, "notify")
	keys := fmt.Sprintf("notify_up = %q\nnotify_down = %q\n", appendScript(t, notify, "up"), appendScript(t, notify, "down"))
	l, log, ls := healthLab(t, healthConfig(tcpTiming, tcpServer(rs1Addr, keys, "")+tcpServer(rs2Addr, "", "")), labOpts{})
	rs1 := ls["rs1"]

	// Both start up (no alpha) and stay so while their checks pass.
	waitFor(t, slack, "rs1's first check", func() bool { _, _, c, _, _ := targetStats(t, l, rs1Addr, "tcp_check"); return c >= 1 })
	if w := weights(l); len(w) != 2 || w["192.168.1.20:8080"] != 1 || w["192.168.1.21:8080"] != 1 {
		t.Fatalf("table with both servers checked and up: %v", w)
	}
	if got := lines(notify); len(got) != 0 {
		t.Errorf("notify scripts at start: %v", got)
	}

	rs1.close()
	took := waitFor(t, delayLoop+retries*delayBeforeRetry+(retries+1)*connectTimeout+slack, "rs1 removed",
		func() bool { _, ok := in(l, rs1Addr); return !ok })
	t.Logf("listener closed → removed from the table: %v (delay_loop %v, retry %d × delay_before_retry %v; a refused connection fails at once)",
		took, delayLoop, retries, delayBeforeRetry)
	if took < retries*delayBeforeRetry-20*time.Millisecond {
		t.Errorf("removed after %v, before its retry could run (%v)", took, retries*delayBeforeRetry)
	}
	if got := servedBy(t, l, 4); strings.Join(got, ",") != "rs2,rs2,rs2,rs2" {
		t.Errorf("new connections with rs1 down went to %v", got)
	}
	if _, up, _, _, reason := targetStats(t, l, rs1Addr, "tcp_check"); up || reason != "connection refused" {
		t.Errorf("rs1's check: up %v, reason %q", up, reason)
	}
	if a := l.a.Alive()[vsName]; a[name(rs1Addr)] || !a[name(rs2Addr)] {
		t.Errorf("Alive: %v", l.a.Alive())
	}
	waitFor(t, slack, "notify_down", func() bool { return strings.Join(lines(notify), ",") == "down" })

	rs1.open()
	took = waitFor(t, delayLoop+connectTimeout+slack, "rs1 back", func() bool { w, ok := in(l, rs1Addr); return ok && w == 1 })
	t.Logf("listening again → back in the table: %v (delay_loop %v)", took, delayLoop)
	waitFor(t, slack, "notify_up", func() bool { return strings.Join(lines(notify), ",") == "down,up" })
	if got := servedBy(t, l, 4); strings.Count(strings.Join(got, ","), "rs1") != 2 {
		t.Errorf("new connections with rs1 back went to %v", got)
	}

	// rs1 dies: its host receives nothing, so each attempt times out.
	l.rsSniff["rs1"].drop.Store(true)
	took = waitFor(t, delayLoop+(retries+1)*connectTimeout+retries*delayBeforeRetry+slack, "dead rs1 removed",
		func() bool { _, ok := in(l, rs1Addr); return !ok })
	t.Logf("server dead → removed from the table: %v (at most delay_loop + (retry+1) × connect_timeout + retry × delay_before_retry = %v)",
		took, delayLoop+(retries+1)*connectTimeout+retries*delayBeforeRetry)
	if least := (retries+1)*connectTimeout + retries*delayBeforeRetry; took < least-20*time.Millisecond {
		t.Errorf("dead server removed after %v, before its attempts could time out (%v)", took, least)
	}
	if _, _, _, _, reason := targetStats(t, l, rs1Addr, "tcp_check"); reason != "timeout" {
		t.Errorf("dead rs1's check failed with %q", reason)
	}
	l.rsSniff["rs1"].drop.Store(false)
	took = waitFor(t, delayLoop+connectTimeout+slack, "rs1 back to life", func() bool { _, ok := in(l, rs1Addr); return ok })
	t.Logf("server back to life → back in the table: %v", took)
	waitFor(t, slack, "notify_up", func() bool { return strings.Join(lines(notify), ",") == "down,up,down,up" })

	hc, hs := l.a.Health()
	if hc.ServersDown != 2 || hc.ServersUp != 2 || hc.Scripts != 4 || hc.ScriptFailures != 0 {
		t.Errorf("counters %+v", hc)
	}
	if hs.Targets != 2 || hs.Up != 2 || hs.Downs != 2 || hs.Ups != 2 || hs.Failed < 2 {
		t.Errorf("monitor stats %+v", hs.Counters)
	}
	if a := l.a.Alive()[vsName]; !a[name(rs1Addr)] || !a[name(rs2Addr)] {
		t.Errorf("Alive: %v", l.a.Alive())
	}
	log.wantLog(t, "TCP_CHECK on service "+name(rs1Addr)+" failed: connection refused")
	log.wantLog(t, "Removing service "+name(rs1Addr)+" from VS "+vsName)
	log.wantLog(t, "Adding service "+name(rs1Addr)+" to VS "+vsName)
}

// httpServer is an HTTP server on a real server whose answers the test chooses.
type httpServer struct {
	mode atomic.Value // "ok", "500", "body", "slow"
}

func (s *httpServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch s.mode.Load().(string) {
	case "500":
		http.Error(w, "broken", http.StatusInternalServerError)
		return
	case "body":
		io.WriteString(w, "not ok\n")
		return
	case "slow":
		select {
		case <-time.After(time.Second):
		case <-r.Context().Done():
			return
		}
	}
	io.WriteString(w, "ok\n")
}

// serveHTTP serves s on addr of host until the test ends.
func serveHTTP(t *testing.T, l *lab, host string, addr netip.AddrPort, s *httpServer) {
	ln, err := l.hosts[host].ListenTCP(addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); <-done })
}

func TestHealthHTTPGetTakesOutBadAnswers(t *testing.T) {
	t.Parallel()
	sum := md5.Sum([]byte("ok\n"))
	check := fmt.Sprintf(`
[[virtual_server.real_server]]
address = "192.168.1.20:8080"
[[virtual_server.real_server.http_get]]
connect_port = %d
[[virtual_server.real_server.http_get.url]]
path = "/health"
digest = "%s"
[[virtual_server.real_server]]
address = "192.168.1.21:8080"
`, httpPort, hex.EncodeToString(sum[:]))
	const dl, ct = 200 * time.Millisecond, 300 * time.Millisecond
	srv := &httpServer{}
	srv.mode.Store("ok")
	l, log, _ := healthLab(t, healthConfig(fmt.Sprintf("delay_loop = %g\nconnect_timeout = %g\nretry = 0\nwarmup = 0", dl.Seconds(), ct.Seconds()), check),
		labOpts{setup: func(l *lab) { serveHTTP(t, l, "rs1", netip.AddrPortFrom(rs1Addr, httpPort), srv) }})
	waitFor(t, slack, "rs1's first check", func() bool { _, _, c, _, _ := targetStats(t, l, rs1Addr, "http_get"); return c >= 1 })
	if _, ok := in(l, rs1Addr); !ok {
		t.Fatalf("rs1 answering 200 with the digest is not in the table: %v", weights(l))
	}
	for _, c := range []struct{ mode, reason string }{
		{"500", "HTTP status 500 on /health"},
		{"body", "MD5 digest mismatch on /health"},
		{"slow", "timeout"},
	} {
		srv.mode.Store(c.mode)
		took := waitFor(t, dl+ct+slack, c.mode+": rs1 removed", func() bool { _, ok := in(l, rs1Addr); return !ok })
		_, up, _, _, reason := targetStats(t, l, rs1Addr, "http_get")
		t.Logf("%s: removed after %v, reason %q", c.mode, took, reason)
		if up || !strings.HasPrefix(reason, c.reason) {
			t.Errorf("%s: check up %v, reason %q, want %q", c.mode, up, reason, c.reason)
		}
		if c.mode == "slow" && took < ct-20*time.Millisecond {
			t.Errorf("a slow answer took rs1 out after %v, before connect_timeout %v", took, ct)
		}
		if got := servedBy(t, l, 2); strings.Join(got, ",") != "rs2,rs2" {
			t.Errorf("%s: new connections went to %v", c.mode, got)
		}
		srv.mode.Store("ok")
		took = waitFor(t, dl+ct+slack, c.mode+": rs1 back", func() bool { _, ok := in(l, rs1Addr); return ok })
		t.Logf("%s: back after %v", c.mode, took)
	}
	if hc, _ := l.a.Health(); hc.ServersDown != 3 || hc.ServersUp != 3 {
		t.Errorf("counters %+v", hc)
	}
	log.wantLog(t, "HTTP_GET on service "+name(rs1Addr)+" failed: MD5 digest mismatch")
}

func TestHealthInhibitOnFailureKeepsConnections(t *testing.T) {
	t.Parallel()
	l, log, ls := healthLab(t, healthConfig(tcpTiming, tcpServer(rs1Addr, "inhibit_on_failure = true", "")+tcpServer(rs2Addr, "", "")), labOpts{})
	rs1 := ls["rs1"]

	// rr gives the first connection to rs1.
	live, br, first, _ := l.tcp(t, vip)
	if first != "rs1" {
		t.Fatalf("first connection went to %s", first)
	}
	rs1.close()
	waitFor(t, delayLoop+retries*delayBeforeRetry+slack, "rs1 at weight 0", func() bool { w, ok := in(l, rs1Addr); return ok && w == 0 })
	if got := servedBy(t, l, 3); strings.Join(got, ",") != "rs2,rs2,rs2" {
		t.Errorf("new connections with rs1 inhibited went to %v", got)
	}
	fmt.Fprintf(live, "still there?\n")
	if line, err := br.ReadString('\n'); err != nil || strings.TrimSpace(line) != "rs1 still there?" {
		t.Fatalf("the connection to the inhibited server: %q, %v", line, err)
	}
	if l.a.Alive()[vsName][name(rs1Addr)] {
		t.Error("an inhibited server reported alive")
	}
	rs1.open()
	waitFor(t, delayLoop+slack, "rs1 at weight 1", func() bool { w, ok := in(l, rs1Addr); return ok && w == 1 })
	log.wantLog(t, "Disabling service "+name(rs1Addr)+" of VS "+vsName)
	log.wantLog(t, "Enabling service "+name(rs1Addr)+" of VS "+vsName)
}

func TestHealthAlphaStartsDown(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notify := filepath.Join(dir, "notify")
	keys := fmt.Sprintf("notify_up = %q\nnotify_down = %q\n", appendScript(t, notify, "up"), appendScript(t, notify, "down"))
	// rs2's check port is closed: an alpha server stays out until its first success.
	l, _, ls := healthLab(t, healthConfig(tcpTiming+"alpha = true\n", tcpServer(rs1Addr, "", "")+tcpServer(rs2Addr, keys, "")),
		labOpts{closed: []string{"rs2"}})
	rs2 := ls["rs2"]
	if _, ok := in(l, rs2Addr); ok {
		t.Fatalf("alpha server in the table before any check: %v", weights(l))
	}
	if a, ok := l.a.Alive()[vsName][name(rs2Addr)]; !ok || a {
		t.Fatalf("Alive of an alpha server before its check: %v", l.a.Alive())
	}
	waitFor(t, delayLoop+slack, "rs1 in after its first success", func() bool { _, ok := in(l, rs1Addr); return ok })
	waitFor(t, slack, "rs2's first checks", func() bool { _, _, c, _, _ := targetStats(t, l, rs2Addr, "tcp_check"); return c >= 2 })
	if _, ok := in(l, rs2Addr); ok {
		t.Fatalf("alpha server failing its checks in the table: %v", weights(l))
	}
	if got := servedBy(t, l, 2); strings.Join(got, ",") != "rs1,rs1" {
		t.Errorf("new connections went to %v", got)
	}
	rs2.open()
	waitFor(t, delayLoop+slack, "rs2 in after its first success", func() bool { _, ok := in(l, rs2Addr); return ok })
	waitFor(t, slack, "notify_up", func() bool { return strings.Join(lines(notify), ",") == "up" })
	if hc, _ := l.a.Health(); hc.ServersUp != 2 || hc.ServersDown != 0 {
		t.Errorf("counters %+v", hc)
	}
}

func TestHealthRiseAndFall(t *testing.T) {
	t.Parallel()
	const dl = 200 * time.Millisecond
	timing := fmt.Sprintf("delay_loop = %g\nconnect_timeout = 0.3\nretry = 0\nwarmup = 0\nrise = 3\nfall = 2\n", dl.Seconds())
	l, _, ls := healthLab(t, healthConfig(timing, tcpServer(rs1Addr, "", "")+tcpServer(rs2Addr, "", "")), labOpts{})
	rs1 := ls["rs1"]
	waitFor(t, slack, "rs1's first check", func() bool { _, _, c, _, _ := targetStats(t, l, rs1Addr, "tcp_check"); return c >= 1 })

	_, _, _, failed0, _ := targetStats(t, l, rs1Addr, "tcp_check")
	rs1.close()
	// One failed check is not enough (fall 2).
	waitFor(t, dl+slack, "a first failed check", func() bool { _, _, _, f, _ := targetStats(t, l, rs1Addr, "tcp_check"); return f > failed0 })
	_, _, _, f, _ := targetStats(t, l, rs1Addr, "tcp_check")
	if _, ok := in(l, rs1Addr); !ok && f-failed0 < 2 {
		t.Fatalf("rs1 out after %d failed check (fall 2)", f-failed0)
	}
	took := waitFor(t, 2*dl+slack, "rs1 out", func() bool { _, ok := in(l, rs1Addr); return !ok })
	_, _, _, f, _ = targetStats(t, l, rs1Addr, "tcp_check")
	t.Logf("fall 2: out %v after the first failed check, %d failed checks", took, f-failed0)
	if f-failed0 < 2 {
		t.Errorf("rs1 out after %d failed checks (fall 2)", f-failed0)
	}

	_, _, checks0, failed0, _ := targetStats(t, l, rs1Addr, "tcp_check")
	rs1.open()
	took = waitFor(t, 3*dl+slack, "rs1 back", func() bool { _, ok := in(l, rs1Addr); return ok })
	_, _, checks, failed, _ := targetStats(t, l, rs1Addr, "tcp_check")
	t.Logf("rise 3: back %v after listening again, %d checks", took, checks-checks0)
	if passed := (checks - checks0) - (failed - failed0); passed < 3 {
		t.Errorf("rs1 back after %d passed checks (rise 3)", passed)
	}
}

// quorumLab is the service with rs1 and rs2 at weight 2 each, quorum 3 and hysteresis 1 (up
// at 4, down below 2), a sorry server, and quorum scripts writing to a file. text is its
// configuration with another hysteresis.
func quorumLab(t *testing.T, svcKeys string) (l *lab, log *logBuf, rs1, rs2 *listener, quorum string, text func(hysteresis int) string) {
	quorum = filepath.Join(t.TempDir(), "quorum")
	text = func(hysteresis int) string {
		keys := fmt.Sprintf("%squorum = 3\nhysteresis = %d\nquorum_up = %q\nquorum_down = %q\n", svcKeys, hysteresis,
			appendScript(t, quorum, "up"), appendScript(t, quorum, "down"))
		servers := tcpServer(rs1Addr, "weight = 2", "") + tcpServer(rs2Addr, "weight = 2", "") + `
[virtual_server.sorry_server]
address = "192.168.1.30:8080"
`
		return healthConfig(tcpTiming+keys, servers)
	}
	l, log, ls := healthLab(t, text(1), labOpts{extra: []string{"sorry"}, closed: []string{"rs1", "rs2"}})
	rs1, rs2 = ls["rs1"], ls["rs2"]
	return l, log, rs1, rs2, quorum, text
}

func TestHealthQuorumHysteresisAndSorryServer(t *testing.T) {
	t.Parallel()
	l, log, rs1, rs2, quorum, text := quorumLab(t, "")
	rs1.open()
	rs2.open()
	waitFor(t, slack, "first checks", func() bool { _, _, c, _, _ := targetStats(t, l, rs2Addr, "tcp_check"); return c >= 1 })
	if got := servedBy(t, l, 2); strings.Join(got, ",") != "rs1,rs2" {
		t.Fatalf("with quorum: %v", got)
	}

	// Alive weight 2: below quorum 3, but not below quorum - hysteresis = 2: quorum stays.
	rs1.close()
	waitFor(t, delayLoop+retries*delayBeforeRetry+slack, "rs1 out", func() bool { _, ok := in(l, rs1Addr); return !ok })
	if got := servedBy(t, l, 2); strings.Join(got, ",") != "rs2,rs2" {
		t.Errorf("alive weight 2, quorum kept by the hysteresis: %v", got)
	}
	// Alive weight 0: lost; the sorry server takes every new connection.
	rs2.close()
	waitFor(t, delayLoop+retries*delayBeforeRetry+slack, "quorum lost", func() bool { return len(weights(l)) == 0 })
	if got := servedBy(t, l, 2); strings.Join(got, ",") != "sorry,sorry" {
		t.Errorf("without quorum: %v", got)
	}
	waitFor(t, slack, "quorum_down", func() bool { return strings.Join(lines(quorum), ",") == "down" })
	log.wantLog(t, "Lost quorum 3-1=2 > 0 for VS "+vsName)
	log.wantLog(t, "Adding sorry server [192.168.1.30]:tcp:8080 to VS "+vsName)

	// Alive weight 2: not yet quorum + hysteresis = 4: still the sorry server.
	rs1.open()
	waitFor(t, delayLoop+slack, "rs1 alive", func() bool { return l.a.Alive()[vsName][name(rs1Addr)] })
	if w := weights(l); len(w) != 0 {
		t.Errorf("without quorum the table has real servers: %v", w)
	}
	if got := servedBy(t, l, 2); strings.Join(got, ",") != "sorry,sorry" {
		t.Errorf("alive weight 2, quorum not regained: %v", got)
	}
	// Alive weight 4: gained; the real servers are back.
	rs2.open()
	waitFor(t, delayLoop+slack, "quorum gained", func() bool { return len(weights(l)) == 2 })
	if got := servedBy(t, l, 4); strings.Count(strings.Join(got, ","), "sorry") != 0 {
		t.Errorf("with quorum again: %v", got)
	}
	waitFor(t, slack, "quorum_up", func() bool { return strings.Join(lines(quorum), ",") == "down,up" })
	log.wantLog(t, "Gained quorum 3+1=4 <= 4 for VS "+vsName)
	log.wantLog(t, "Removing sorry server [192.168.1.30]:tcp:8080 from VS "+vsName)

	// Alive weight 2 again, quorum kept by the hysteresis, until a reload takes the
	// hysteresis away: the reload loses the quorum, as a check would.
	rs1.close()
	waitFor(t, delayLoop+retries*delayBeforeRetry+slack, "rs1 out again", func() bool { _, ok := in(l, rs1Addr); return !ok })
	c, err := conf.Parse("quorum.toml", []byte(text(0)))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.a.Reload(c); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if w := weights(l); len(w) != 0 {
		t.Errorf("quorum lost by a reload, the table has real servers: %v", w)
	}
	if got := servedBy(t, l, 2); strings.Join(got, ",") != "sorry,sorry" {
		t.Errorf("quorum lost by a reload: %v", got)
	}
	waitFor(t, slack, "quorum_down after the reload", func() bool { return strings.Join(lines(quorum), ",") == "down,up,down" })
	log.wantLog(t, "Lost quorum 3-0=3 > 2 for VS "+vsName)
	if hc, _ := l.a.Health(); hc.QuorumLost != 2 || hc.QuorumGained != 1 || hc.Scripts != 3 {
		t.Errorf("counters %+v", hc)
	}
}

// A service whose servers start down (alpha) starts without quorum: as keepalived, the sorry
// server serves from the start and quorum_down runs once; quorum_up when the servers are up.
func TestHealthQuorumStartsDown(t *testing.T) {
	t.Parallel()
	l, log, rs1, rs2, quorum, _ := quorumLab(t, "alpha = true\n")
	if w := weights(l); len(w) != 0 {
		t.Fatalf("alpha servers in the table at start: %v", w)
	}
	if got := servedBy(t, l, 2); strings.Join(got, ",") != "sorry,sorry" {
		t.Errorf("starting without quorum: %v", got)
	}
	waitFor(t, slack, "quorum_down at start", func() bool { return strings.Join(lines(quorum), ",") == "down" })
	log.wantLog(t, "Starting with quorum down 3+1=4 > 0 for VS "+vsName)
	rs1.open()
	rs2.open()
	waitFor(t, delayLoop+slack, "quorum gained", func() bool { return len(weights(l)) == 2 })
	waitFor(t, slack, "quorum_up", func() bool { return strings.Join(lines(quorum), ",") == "down,up" })
	if hc, _ := l.a.Health(); hc.QuorumLost != 0 || hc.QuorumGained != 1 {
		t.Errorf("counters %+v", hc)
	}
	// The events carry the numbers the alerts mail: starting down, then gained.
	var qs []Event
	for _, ev := range l.a.Events() {
		if ev.Kind == "quorum" {
			qs = append(qs, ev)
		}
	}
	if len(qs) != 2 || !qs[0].Starting || qs[0].State != "DOWN" || qs[0].Quorum != 3 || qs[0].Hysteresis != 1 || qs[0].Weight != 0 ||
		qs[1].Starting || qs[1].State != "UP" || qs[1].VirtualServer != vsName || qs[1].Weight < 4 {
		t.Errorf("quorum events %+v", qs)
	}
}

func TestHealthMiscDynamicSetsTheWeight(t *testing.T) {
	t.Parallel()
	status := filepath.Join(t.TempDir(), "status")
	misc := fmt.Sprintf(`
[[virtual_server.real_server]]
address = "192.168.1.20:8080"
weight = 3
[[virtual_server.real_server.misc_check]]
misc_path = %q
misc_dynamic = true
misc_timeout = 3
[[virtual_server.real_server]]
address = "192.168.1.21:8080"
`, helperCommand(t, "exitfile", status))
	l, log, _ := healthLab(t, healthConfig("delay_loop = 0.2\nwarmup = 0\n", misc), labOpts{})
	write := func(code int) {
		if err := os.WriteFile(status, []byte(strconv.Itoa(code)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	weight := func(want int32) func() bool {
		return func() bool { w, ok := in(l, rs1Addr); return ok && w == want }
	}
	waitFor(t, slack, "the first check", func() bool { _, _, c, _, _ := targetStats(t, l, rs1Addr, "misc_check"); return c >= 1 })
	if w, ok := in(l, rs1Addr); !ok || w != 3 {
		t.Fatalf("exit 0: weight %d (in %v), want the configured 3", w, ok)
	}
	write(2 + 7)
	waitFor(t, slack, "exit 9: weight 7", weight(7))
	log.wantLog(t, "Changing weight from 3 to 7 for active service "+name(rs1Addr)+" of VS "+vsName)
	write(1)
	waitFor(t, slack, "exit 1: out", func() bool { _, ok := in(l, rs1Addr); return !ok })
	write(2 + 12)
	waitFor(t, slack, "exit 14: back at weight 12", weight(12))
	write(2)
	waitFor(t, slack, "exit 2: weight 0", weight(0))
	write(0)
	waitFor(t, slack, "exit 0: the configured weight", weight(3))
	if hc, _ := l.a.Health(); hc.ServersDown != 1 || hc.ServersUp != 1 {
		t.Errorf("counters %+v", hc)
	}
}

func TestHealthReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notify := filepath.Join(dir, "notify")
	rsKeys := func(n string) string {
		return fmt.Sprintf("notify_up = %q\nnotify_down = %q\n", appendScript(t, notify, n+"-up"), appendScript(t, notify, n+"-down"))
	}
	rs1Server, rs3Server := tcpServer(rs1Addr, rsKeys("rs1"), ""), tcpServer(rs3Addr, rsKeys("rs3"), "")
	rs2Server := func(weight int) string {
		return tcpServer(rs2Addr, fmt.Sprintf("weight = %d\n%s", weight, rsKeys("rs2")), "")
	}
	parse := func(s string) *conf.Config {
		c, err := conf.Parse("reload.toml", []byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	l, log, ls := healthLab(t, healthConfig(tcpTiming, rs1Server+rs2Server(1)), labOpts{extra: []string{"rs3"}})
	rs1, rs2, rs3 := ls["rs1"], ls["rs2"], ls["rs3"]

	rs1.close()
	waitFor(t, delayLoop+retries*delayBeforeRetry+slack, "rs1 out", func() bool { _, ok := in(l, rs1Addr); return !ok })
	waitFor(t, slack, "notify_down", func() bool { return strings.Join(lines(notify), ",") == "rs1-down" })

	// rs1, unchanged, keeps its down state: it must not come back with the new table, even
	// for a moment.
	if err := l.a.Reload(parse(healthConfig(tcpTiming, rs1Server+rs2Server(2)))); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if w := weights(l); len(w) != 1 || w["192.168.1.21:8080"] != 2 {
		t.Fatalf("after a reload: %v, want rs2 alone at its new weight 2", w)
	}
	time.Sleep(2 * delayLoop)
	if _, ok := in(l, rs1Addr); ok {
		t.Fatalf("rs1 back after a reload while its check fails: %v", weights(l))
	}
	if a := l.a.Alive()[vsName]; a[name(rs1Addr)] || !a[name(rs2Addr)] {
		t.Errorf("Alive after a reload: %v", l.a.Alive())
	}
	if got := strings.Join(lines(notify), ","); got != "rs1-down" {
		t.Errorf("scripts after a reload that changes no state: %q", got)
	}

	// rs2 removed: its checks stop, and it stops serving (keepalived runs its notify_down).
	// rs3 added: its checks start.
	if err := l.a.Reload(parse(healthConfig(tcpTiming, rs1Server+rs3Server))); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	_, hs := l.a.Health()
	if hs.Targets != 2 {
		t.Errorf("targets after removing rs2 and adding rs3: %d", hs.Targets)
	}
	waitFor(t, delayLoop+slack, "rs3 checked", func() bool { return rs3.accepts.Load() >= 1 })
	if w, ok := in(l, rs3Addr); !ok || w != 1 {
		t.Errorf("rs3 not in the table: %v", weights(l))
	}
	waitFor(t, slack, "rs2's notify_down", func() bool { return strings.Join(lines(notify), ",") == "rs1-down,rs2-down" })
	log.wantLog(t, "Removing service "+name(rs2Addr)+" from VS "+vsName)
	time.Sleep(100 * time.Millisecond) // a check of rs2 under way when it was removed may end
	n := rs2.accepts.Load()
	time.Sleep(3 * delayLoop)
	if m := rs2.accepts.Load(); m != n {
		t.Errorf("rs2's checks go on after its removal: %d then %d connections", n, m)
	}
	if _, ok := l.a.Alive()[vsName][name(rs2Addr)]; ok {
		t.Errorf("a removed server in Alive: %v", l.a.Alive())
	}

	// A reload the engine refuses (an unknown scheduler, which only a configuration built by
	// hand can have) changes nothing: table, checks, state, scripts.
	before := l.a.Engine().Table().Version()
	bad := parse(healthConfig(tcpTiming, rs1Server+rs3Server+rs2Server(1)))
	bad.Services[0].Scheduler = "nonesuch"
	if err := l.a.Reload(bad); err == nil || !strings.Contains(err.Error(), "nonesuch") {
		t.Fatalf("a reload with an unknown scheduler: %v", err)
	}
	if v := l.a.Engine().Table().Version(); v != before {
		t.Errorf("a refused reload published table %d (was %d)", v, before)
	}
	if _, hs := l.a.Health(); hs.Targets != 2 {
		t.Errorf("targets after a refused reload: %d", hs.Targets)
	}
	rs1.open()
	waitFor(t, delayLoop+slack, "rs1 back after the refused reload", func() bool { _, ok := in(l, rs1Addr); return ok })
	if _, ok := in(l, rs2Addr); ok {
		t.Errorf("a refused reload's server in the table: %v", weights(l))
	}
	waitFor(t, slack, "notify_up", func() bool { return strings.Join(lines(notify), ",") == "rs1-down,rs2-down,rs1-up" })

	// A check added to a working server, even an alpha one, does not take it out until the
	// check has run; one added to a failing server starts down (alpha).
	rs1.close()
	waitFor(t, delayLoop+retries*delayBeforeRetry+slack, "rs1 out again", func() bool { _, ok := in(l, rs1Addr); return !ok })
	more := "[[virtual_server.real_server.tcp_check]]\nconnect_port = 8080\nalpha = true\n"
	if err := l.a.Reload(parse(healthConfig(tcpTiming, rs1Server+more+rs3Server+more))); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if _, ok := in(l, rs3Addr); !ok || !l.a.Alive()[vsName][name(rs3Addr)] {
		t.Errorf("rs3 out after a reload adding a check: %v, %v", weights(l), l.a.Alive())
	}
	if _, hs := l.a.Health(); hs.Targets != 4 || hs.Up != 2 {
		t.Errorf("targets after adding a check to rs1 and rs3: %d, %d up", hs.Targets, hs.Up)
	}
	rs1.open()
	waitFor(t, delayLoop+slack, "rs1 back with its two checks", func() bool { _, ok := in(l, rs1Addr); return ok })
	waitFor(t, slack, "rs1's notify_up", func() bool {
		return strings.Join(lines(notify), ",") == "rs1-down,rs2-down,rs1-up,rs1-down,rs1-up"
	})
	if hc, _ := l.a.Health(); hc.ServersDown != 2 || hc.ServersUp != 2 {
		t.Errorf("counters %+v (adding and removing servers are not transitions)", hc)
	}
	if c := log.count("Removing service " + name(rs1Addr)); c != 2 {
		t.Errorf("rs1 removed %d times in the log", c)
	}
}

func TestHealthOmegaRunsTheDownScriptsOnClose(t *testing.T) {
	t.Parallel()
	for _, omega := range []bool{true, false} {
		t.Run(fmt.Sprint("omega=", omega), func(t *testing.T) {
			dir := t.TempDir()
			notify, quorum := filepath.Join(dir, "notify"), filepath.Join(dir, "quorum")
			rsKeys := func(n string) string {
				return fmt.Sprintf("notify_up = %q\nnotify_down = %q\n", appendScript(t, notify, n+"-up"), appendScript(t, notify, n+"-down"))
			}
			svc := fmt.Sprintf("%somega = %v\nquorum_up = %q\nquorum_down = %q\n", tcpTiming, omega,
				appendScript(t, quorum, "up"), appendScript(t, quorum, "down"))
			l, _, _ := healthLab(t, healthConfig(svc, tcpServer(rs1Addr, rsKeys("rs1"), "")+tcpServer(rs2Addr, rsKeys("rs2"), "")),
				labOpts{closed: []string{"rs2"}})
			waitFor(t, delayLoop+retries*delayBeforeRetry+slack, "rs2 out", func() bool { _, ok := in(l, rs2Addr); return !ok })
			waitFor(t, slack, "notify_down of rs2", func() bool { return strings.Join(lines(notify), ",") == "rs2-down" })
			if err := l.a.Close(); err != nil {
				t.Fatal(err)
			}
			want, wantQ := "rs2-down", ""
			if omega {
				want, wantQ = "rs2-down,rs1-down", "down" // rs2 was down already
			}
			if got := strings.Join(lines(notify), ","); got != want {
				t.Errorf("notify scripts after Close: %q, want %q", got, want)
			}
			if got := strings.Join(lines(quorum), ","); got != wantQ {
				t.Errorf("quorum scripts after Close: %q, want %q", got, wantQ)
			}
			l.a.Close() // again: nothing more
			if got := strings.Join(lines(notify), ","); got != want {
				t.Errorf("notify scripts after a second Close: %q, want %q", got, want)
			}
		})
	}
}

// A configuration built by hand may have no health for its servers: they are unchecked, so
// always up.
func TestHealthServersWithoutHealthAreUp(t *testing.T) {
	t.Parallel()
	text := healthConfig(tcpTiming, tcpServer(rs1Addr, "", "")+tcpServer(rs2Addr, "", ""))
	log := &logBuf{}
	l := newLab(t, labSpec{config: text, clientAddrs: []string{"10.0.0.2/24"}, logTo: log,
		clientRoutes: []netstack.Route{defaultVia("10.0.0.254")},
		servers: []labServer{
			{name: "rs1", addrs: []string{"192.168.1.20/24"}, routes: []netstack.Route{defaultVia("192.168.1.254")}},
			{name: "rs2", addrs: []string{"192.168.1.21/24"}, routes: []netstack.Route{defaultVia("192.168.1.254")}},
		},
		edit: func(c *conf.Config) { c.Services[0].ServerHealth = c.Services[0].ServerHealth[:1] },
	})
	// rs1's check port is closed: it goes; rs2 has no health, so it stays.
	waitFor(t, delayLoop+retries*delayBeforeRetry+slack, "rs1 out", func() bool { _, ok := in(l, rs1Addr); return !ok })
	if w, ok := in(l, rs2Addr); !ok || w != 1 {
		t.Errorf("an unchecked server: %v", weights(l))
	}
	c, err := conf.Parse("x.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	c.Services[0].ServerHealth = nil
	if err := l.a.Reload(c); err != nil {
		t.Fatalf("Reload without health: %v", err)
	}
	// rs1's failing check is gone: the reload brings it up, as a transition.
	if w := weights(l); len(w) != 2 {
		t.Errorf("unchecked servers after a reload: %v", w)
	}
	if a := l.a.Alive(); len(a) != 0 {
		t.Errorf("Alive lists unchecked servers: %v", a)
	}
	if hc, _ := l.a.Health(); hc.ServersDown != 1 || hc.ServersUp != 1 {
		t.Errorf("counters %+v", hc)
	}
	log.wantLog(t, "Adding service "+name(rs1Addr)+" to VS "+vsName)
	time.Sleep(delayLoop)
	if _, hs := l.a.Health(); hs.Targets != 0 {
		t.Errorf("targets without health: %d", hs.Targets)
	}
}

// A file_check with a weight adds value × weight to the configured weight, and a reload that
// changes the configured weight moves the dynamic one with it at once.
func TestHealthFileCheckWeightFollowsAReload(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "weight")
	if err := os.WriteFile(file, []byte("2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	text := func(w int) string {
		return healthConfig("delay_loop = 0.2\n", fmt.Sprintf(`
[[virtual_server.real_server]]
address = "192.168.1.20:8080"
weight = %d
[[virtual_server.real_server.file_check]]
file = %q
weight = 3
[[virtual_server.real_server]]
address = "192.168.1.21:8080"
`, w, file))
	}
	l, _, _ := healthLab(t, text(1), labOpts{})
	waitFor(t, slack, "weight 1 + 2×3", func() bool { w, _ := in(l, rs1Addr); return w == 7 })
	c, err := conf.Parse("x.toml", []byte(text(10)))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.a.Reload(c); err != nil {
		t.Fatal(err)
	}
	if w, _ := in(l, rs1Addr); w != 16 {
		t.Errorf("right after a reload to weight 10: %d, want 10 + 2×3", w)
	}
	time.Sleep(500 * time.Millisecond)
	if w, _ := in(l, rs1Addr); w != 16 {
		t.Errorf("after a reload to weight 10: %d, want 10 + 2×3", w)
	}
}

// Reloads racing with transitions: whatever order they come in, once the checks settle the
// table, the appliance's state and the Monitor's agree.
func TestHealthReloadDuringTransitions(t *testing.T) {
	t.Parallel()
	const dl = 50 * time.Millisecond
	text := func(w int) string {
		return healthConfig(fmt.Sprintf("delay_loop = %g\nconnect_timeout = 0.3\nretry = 0\nwarmup = 0\n", dl.Seconds()),
			tcpServer(rs1Addr, "", "")+tcpServer(rs2Addr, fmt.Sprintf("weight = %d", w), ""))
	}
	l, _, ls := healthLab(t, text(1), labOpts{})
	stop := make(chan struct{})
	errs := make(chan error, 1)
	go func() {
		defer close(errs)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			c, err := conf.Parse("race.toml", []byte(text(1+i%2)))
			if err == nil {
				err = l.a.Reload(c)
			}
			if err != nil {
				errs <- err
				return
			}
			time.Sleep(7 * time.Millisecond)
		}
	}()
	for i := 0; i < 20; i++ {
		ls["rs1"].close()
		time.Sleep(dl * 3 / 4)
		ls["rs1"].open()
		time.Sleep(dl * 3 / 4)
	}
	close(stop)
	if err := <-errs; err != nil {
		t.Fatalf("Reload: %v", err)
	}
	waitFor(t, slack, "rs1 alive", func() bool { return l.a.Alive()[vsName][name(rs1Addr)] })
	time.Sleep(3 * dl) // any transition in flight lands
	c := l.a.health
	c.mu.Lock()
	for id, h := range c.st.byTarget {
		up, _, ok := c.mon.State(id)
		if !ok || up == h.down[id] {
			t.Errorf("target %s: the Monitor says up %v (known %v), the appliance down %v", id, up, ok, h.down[id])
		}
	}
	c.mu.Unlock()
	if w := weights(l); len(w) != 2 {
		t.Errorf("table after the race: %v", w)
	}
	hc, hs := l.a.Health()
	if hc.ServersDown != hc.ServersUp || hc.ServersDown != hs.Downs {
		t.Errorf("counters %+v, monitor %+v", hc, hs.Counters)
	}
	t.Logf("%d downs and ups of rs1 during the reloads", hc.ServersDown)
}
