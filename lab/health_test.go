package lab

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/appliance"
)

// TestHealthChecks runs the appliance's health checks against real servers that fail and
// recover the ways the lab can make them: a stopped service (refused), one answering 500, a
// lossy or slow link (timeouts), a killed host, a slow service and one with the wrong body.
// Each case is a few seconds: a client at 40 requests/s through lb1 (NAT, rr) to rs1 and
// rs2, both checked every 0.5 s (a failure retried once, 0.25 s later, 0.5 s to answer).
// rs2 fails at 1 s and is repaired at 3.5 s: the checks must take it out and put it back
// within their bounds, say why, leave rs1 alone, and the client must see errors only while
// rs2 was failing and still in.
func TestHealthChecks(t *testing.T) {
	t.Parallel()
	hello := md5.Sum([]byte("hello\n"))
	stale := md5.Sum([]byte("stale\n"))
	var cases []healthCase
	for _, c := range []healthCase{{
		name:   "service_stop",
		check:  tcpCheck,
		events: rs2Events("service_stop", "service_start", `service = "http"`),
		// Refused at once: the next check (≤ 0.5 s) and its retry (0.25 s later).
		expect: rs2Bounds("1.5s", "1.5s") + clientBound(40),
		reason: "TCP_CHECK connection refused",
	}, {
		name:   "service_fail",
		check:  httpGet(""),
		events: rs2Events("service_fail", "service_recover", `service = "http"`),
		expect: rs2Bounds("1.5s", "1.5s") + clientBound(40),
		reason: "HTTP_GET HTTP status 500 on /",
	}, {
		name:   "link_loss",
		check:  httpGet(""),
		events: rs2Events("impair", "impair", `link = "rs2:eth0"`+"\nloss = 100", `link = "rs2:eth0"`),
		// Two attempts time out: ≤ 0.5 + 0.5 + 0.25 + 0.5 s.
		expect: rs2Bounds("2.5s", "1.5s") + clientBound(60),
		reason: "HTTP_GET timeout",
	}, {
		name:   "link_delay",
		check:  httpGet(""),
		events: rs2Events("impair", "impair", `link = "rs2:eth0"`+"\ndelay = \"300ms\"", `link = "rs2:eth0"`),
		expect: rs2Bounds("2.5s", "1.5s") + clientBound(60),
		reason: "HTTP_GET timeout",
	}, {
		name:   "kill",
		check:  tcpCheck,
		events: rs2Events("kill", "restart", ""),
		expect: rs2Bounds("2.5s", "1.5s") + clientBound(60),
	}, {
		// A lossy link is not a dead server: a lost SYN fails an attempt, and its retry
		// passes; fall = 2 also asks for two failed checks in a row.
		name:    "lossy_link",
		check:   httpGet(""),
		rs2Keys: "  fall = 2\n",
		rs2Link: "loss = 5",
		expect:  "[[expect]]\nserver = \"rs2\"\nmax_removals = 0\n" + clientBound(10),
		steady:  true,
	}, {
		// A server too slow for its check never serves: with alpha it starts out and stays.
		name:    "slow_service",
		check:   httpGet(""),
		rs2:     `latency = "1s"`,
		rs2Keys: "  alpha = true\n",
		expect:  clientBound(0),
		never:   true,
	}, {
		// A server with the wrong content is taken out at its first check.
		name:   "wrong_body",
		check:  httpGet(hex.EncodeToString(hello[:])),
		rs1:    `body = "hello\n"`,
		rs2:    `body = "stale\n"`,
		expect: clientBound(0),
		reason: "HTTP_GET MD5 digest mismatch on /: " + hex.EncodeToString(stale[:]),
		once:   true,
	}} {
		cases = append(cases, c)
	}
	// The cases run together, not as parallel subtests: each mostly waits for its timeline,
	// and go test would run only GOMAXPROCS of them at a time.
	runs := make([]healthRun, len(cases))
	var wg sync.WaitGroup
	for i, c := range cases {
		wg.Go(func() { runs[i] = c.run() })
	}
	wg.Wait()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.judge(t, runs[i]) })
	}
}

// healthCase is one way for rs2 to fail.
type healthCase struct {
	name     string
	check    string // the checker of both real servers
	rs1, rs2 string // extra keys of their http service
	rs2Keys  string // extra keys of rs2 in lb1's configuration
	rs2Link  string // impairments of rs2's link
	events   string
	expect   string
	reason   string // of rs2's removal ("" when it varies)
	once     bool   // rs2 is taken out for good, with no event
	never    bool   // rs2 is never in
	steady   bool   // rs2 stays in
}

const tcpCheck = "  [[virtual_server.real_server.tcp_check]]\n"

func httpGet(digest string) string {
	s := "  [[virtual_server.real_server.http_get]]\n  [[virtual_server.real_server.http_get.url]]\n  path = \"/\"\n"
	if digest != "" {
		s += fmt.Sprintf("  digest = %q\n", digest)
	}
	return s
}

// rs2Events fails rs2 at 1 s with action fail and repairs it at 3.5 s with action repair;
// keys are the fail event's keys, then (if given) the repair's, else the same.
func rs2Events(fail, repair string, keys ...string) string {
	fk, rk := keys[0], keys[0]
	if len(keys) > 1 {
		rk = keys[1]
	}
	node := ""
	if !strings.HasPrefix(fk, "link") {
		node = "node = \"rs2\"\n"
	}
	return fmt.Sprintf("[[events]]\nat = \"1s\"\naction = %q\n%s%s\n[[events]]\nat = \"3.5s\"\naction = %q\n%s%s\n",
		fail, node, fk, repair, node, rk)
}

func rs2Bounds(removed, restored string) string {
	return fmt.Sprintf("[[expect]]\nserver = \"rs2\"\nremoved_within = %q\nrestored_within = %q\nmax_removals = 1\n", removed, restored)
}

func clientBound(errors int) string {
	return fmt.Sprintf("[[expect]]\nclient = \"c1\"\nmax_errors = %d\n", errors)
}

func (c healthCase) topology() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("name = %q\nduration = \"5s\"\nbucket = \"250ms\"", c.name)
	p("\n[nodes.lb1]\nkind = \"appliance\"\nconfig = '''")
	p("[[interface]]\nname = \"eth0\"\nkind = \"memory\"\naddresses = [\"10.0.0.254/24\"]")
	p("[[interface]]\nname = \"eth1\"\nkind = \"memory\"\naddresses = [\"192.168.1.254/24\"]")
	p("[[virtual_server]]\naddress = \"10.0.0.1:80\"\nlb_algo = \"rr\"")
	p("delay_loop = 0.5\nconnect_timeout = 0.5\nretry = 1\ndelay_before_retry = 0.25")
	p("  [[virtual_server.real_server]]\n  address = \"192.168.1.21:80\"\n%s", c.check)
	p("  [[virtual_server.real_server]]\n  address = \"192.168.1.22:80\"\n%s%s", c.rs2Keys, c.check)
	p("'''\n\n[nodes.sw]\nkind = \"switch\"")
	p("\n[nodes.c1]\nkind = \"client\"")
	p(`interface = [{ name = "eth0", addresses = ["10.0.0.11/24"], gateway = "10.0.0.254" }]`)
	p(`load = [{ type = "http", target = "10.0.0.1:80", rate = 40 }]`)
	for i, extra := range []string{c.rs1, c.rs2} {
		if extra != "" {
			extra = ", " + extra
		}
		p("\n[nodes.rs%d]\nkind = \"host\"", i+1)
		p(`interface = [{ name = "eth0", addresses = ["192.168.1.%d/24"], gateway = "192.168.1.254" }]`, 21+i)
		p(`service = [{ type = "http", port = 80%s }]`, extra)
	}
	p("\n[[links]]\nendpoints = [\"c1:eth0\", \"lb1:eth0\"]")
	for i, ep := range []string{"lb1:eth1", "rs1:eth0", "rs2:eth0"} {
		p("[[links]]\nendpoints = [%q, \"sw:p%d\"]", ep, i)
	}
	p("%s", c.rs2Link)
	p("\n%s\n%s", c.events, c.expect)
	p("[[expect]]\nserver = \"rs1\"\nmax_removals = 0")
	return b.String()
}

// healthRun is what running a case gave.
type healthRun struct {
	src string
	rep *Report
	err error
}

func (c healthCase) run() healthRun {
	hr := healthRun{src: c.topology()}
	topo, err := Parse(c.name+".toml", []byte(hr.src))
	if err != nil {
		hr.err = err
		return hr
	}
	ctx, cancel := context.WithTimeout(context.Background(), topo.Duration+30*time.Second)
	defer cancel()
	hr.rep, hr.err = Run(ctx, topo, Options{})
	return hr
}

func (c healthCase) judge(t *testing.T, hr healthRun) {
	if hr.err != nil {
		t.Fatalf("%v\n%s", hr.err, hr.src)
	}
	rep := hr.rep
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("topology:\n%s\nreport:\n%s", hr.src, rep.Text())
			explain(t, rep)
		}
	})
	for _, x := range rep.Failed() {
		t.Errorf("expectation failed: %v", x.Error())
	}
	for _, h := range rep.Health {
		t.Logf("%v %s", h.At, h.stateText())
	}
	cl := client(t, rep, "c1/http")
	t.Logf("c1: %d requests, %d errors %v", cl.Requests, cl.Errors, cl.ErrorKinds)
	var outs []HealthTransition
	for _, h := range rep.Health {
		if h.Server != "rs2" || h.Appliance != "lb1" || h.VirtualServer != "10.0.0.1:80" || h.Address != "192.168.1.22:80" {
			t.Errorf("transition of another server: %+v", h)
		}
		if !h.Up {
			outs = append(outs, h)
		}
	}
	alive := map[string]bool{}
	for _, s := range rep.Appliances[0].Checked {
		alive[s.Server] = s.Alive
		if s.Server == "rs2" && s.Failed == 0 && !c.steady {
			t.Errorf("rs2's checks never failed: %+v", s)
		}
	}
	if !alive["rs1"] || alive["rs2"] != (!c.once && !c.never) {
		t.Errorf("alive at the end: %v", alive)
	}
	switch {
	case c.steady:
		if len(outs) != 0 {
			t.Errorf("rs2 was taken out %d times; it never failed", len(outs))
		}
	case c.never:
		if len(rep.Health) != 0 {
			t.Errorf("transitions of a server that never passed: %+v", rep.Health)
		}
		if n := serverReport(rep, "rs2").Answered; n != 0 {
			t.Errorf("rs2 answered %d requests; it never passed its checks", n)
		}
	case len(outs) != 1:
		t.Errorf("rs2 was taken out %d times, want once", len(outs))
	case c.reason != "" && outs[0].Check+" "+outs[0].Reason != c.reason:
		t.Errorf("rs2 was taken out for %q, want %q", outs[0].Check+" "+outs[0].Reason, c.reason)
	case c.once && outs[0].At > 1500*time.Millisecond:
		t.Errorf("rs2 was taken out at %v; its first check fails", outs[0].At)
	}
	// The client is answered by rs1 throughout, by rs2 before its failure and after its
	// return; it sees errors only while rs2 was failing and still in.
	if n := answeredIn(rep, "rs1", 0, 5*time.Second); n < 80 {
		t.Errorf("rs1 answered only %d requests", n)
	}
	if !c.once && !c.never {
		if answeredIn(rep, "rs2", 0, time.Second) == 0 || answeredIn(rep, "rs2", 4250*time.Millisecond, 5*time.Second) == 0 {
			t.Errorf("rs2 did not answer before its failure and after its return")
		}
		if n := errorsIn(rep, 0, time.Second) + errorsIn(rep, 4500*time.Millisecond, 5*time.Second); n > 2 {
			t.Errorf("%d errors before rs2's failure or after its return", n)
		}
	}
}

// TestHealthWatch feeds the watch views of an appliance and checks the transitions it draws
// from them: dated by the check that made each, explained by its checker, none for a
// checker that fails while the server is out already, and the fresh start of a restarted
// appliance.
func TestHealthWatch(t *testing.T) {
	start := time.Now()
	at := func(d time.Duration) time.Time { return start.Add(d) }
	w := &healthWatch{start: start, hosts: map[netip.Addr]string{netip.MustParseAddr("192.168.1.22"): "rs2"}, last: map[string]*watched{}}
	server := func(tcp, http appliance.CheckState) []appliance.CheckedServer {
		return []appliance.CheckedServer{{VirtualServer: "[10.0.0.1]:tcp:80", Service: "TCP 10.0.0.1:80",
			Server: "[192.168.1.22]:tcp:80", Addr: netip.MustParseAddrPort("192.168.1.22:80"), Alive: tcp.Up && http.Up,
			Checks: []appliance.CheckState{tcp, http}}}
	}
	up := func(check string, last time.Duration, ups, downs uint64) appliance.CheckState {
		return appliance.CheckState{Check: check, Up: true, LastCheck: at(last), Ups: ups, Downs: downs}
	}
	down := func(check, why string, last time.Duration, ups, downs uint64) appliance.CheckState {
		return appliance.CheckState{Check: check, LastCheck: at(last), LastReason: why, Ups: ups, Downs: downs}
	}
	first, second := &appliance.Appliance{}, &appliance.Appliance{}
	for _, step := range []struct {
		inc  *appliance.Appliance
		view []appliance.CheckedServer
		now  time.Duration
	}{
		{first, server(up("TCP_CHECK", 0, 0, 0), up("HTTP_GET", 0, 0, 0)), 0},
		{first, server(up("TCP_CHECK", time.Second, 0, 0), down("HTTP_GET", "HTTP status 500 on /", 1200*time.Millisecond, 0, 1)), 1250 * time.Millisecond},
		// The TCP check fails too, and the HTTP check passes again: rs2 stays out.
		{first, server(down("TCP_CHECK", "timeout", 2*time.Second, 0, 1), up("HTTP_GET", 2100*time.Millisecond, 1, 1)), 2200 * time.Millisecond},
		{first, server(up("TCP_CHECK", 3*time.Second, 1, 1), up("HTTP_GET", 2600*time.Millisecond, 1, 1)), 3050 * time.Millisecond},
		// Both fail between two polls: the first to fail is the cause.
		{first, server(down("TCP_CHECK", "connection refused", 3500*time.Millisecond, 1, 2), down("HTTP_GET", "connection refused", 3400*time.Millisecond, 1, 2)), 3600 * time.Millisecond},
		// The appliance restarts: its servers start alive.
		{second, server(up("TCP_CHECK", 0, 0, 0), up("HTTP_GET", 0, 0, 0)), 4 * time.Second},
	} {
		w.observe("lb1", step.inc, step.view, at(step.now))
	}
	var got []string
	for _, h := range w.transitions {
		got = append(got, fmt.Sprintf("%v %s %s %s %s", h.At, h.Server, h.Address, h.VirtualServer, h.stateText()))
	}
	want := []string{
		"1.2s rs2 192.168.1.22:80 10.0.0.1:80 out: HTTP_GET HTTP status 500 on /",
		"3s rs2 192.168.1.22:80 10.0.0.1:80 in: TCP_CHECK succeeded",
		"3.4s rs2 192.168.1.22:80 10.0.0.1:80 out: HTTP_GET connection refused",
		"4s rs2 192.168.1.22:80 10.0.0.1:80 in: appliance restarted",
	}
	if !slices.Equal(got, want) {
		t.Errorf("transitions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
