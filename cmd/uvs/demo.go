package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/uvs-lb/uvs/conf"
	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/lb/conntab"
	"github.com/uvs-lb/uvs/netstack"
)

// runDemo is `uvs demo`: an in-process NAT scenario on the real appliance. Client hosts send
// HTTP requests to the VIP 10.0.0.1:80 of a uvs appliance built by appliance.New from the
// embedded demoConfig (the code `uvs run` runs, with memory ports), which balances them over
// three real servers. Every host is a gVisor TCP/IP stack on in-memory Ethernet links and
// learning switches. At 1/3 of the run rs2's HTTP server stops; a reload without rs2 (what a
// health check will do once there are health checks) follows after the detection delay; at
// 2/3 rs2 is restarted and a reload puts it back. The timeline is printed as it happens; the
// tables (requests per real server per window, the clients' view, the appliance's counters)
// at the end.
func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := demoOptions{}
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "how long the clients send, in real time (3s to 10m)")
	fs.IntVar(&o.clients, "clients", 3, "client hosts (1 to 8)")
	fs.Float64Var(&o.shortRate, "rate", 20, "short connections per second, per client (a GET each)")
	fs.Float64Var(&o.kaRate, "keepalive-rate", 10, "requests per second on each client's keep-alive connection (0: none)")
	fs.DurationVar(&o.detect, "detect", 0, "how long rs2 is down before the reload takes it out (0: duration/20)")
	fs.DurationVar(&o.timeout, "timeout", 2*time.Second, "a request's timeout, connection included")
	fs.BoolVar(&o.verbose, "v", false, "log the appliance (zerolog) to stderr")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.detect == 0 {
		o.detect = o.duration / 20
	}
	switch {
	case fs.NArg() != 0:
		fmt.Fprintln(stderr, "usage: uvs demo [-duration D] [-clients N] [-rate R] [-keepalive-rate R] [-detect D] [-v]")
		return 2
	case o.duration < 3*time.Second || o.duration > 10*time.Minute:
		fmt.Fprintln(stderr, "demo: -duration must be between 3s and 10m")
		return 2
	case o.clients < 1 || o.clients > 8:
		fmt.Fprintln(stderr, "demo: -clients must be between 1 and 8")
		return 2
	case o.shortRate <= 0 || o.shortRate > 1000 || o.kaRate < 0 || o.kaRate > 1000:
		fmt.Fprintln(stderr, "demo: -rate must be in (0, 1000], -keepalive-rate in [0, 1000]")
		return 2
	case o.detect < 0 || o.detect >= o.duration/3:
		fmt.Fprintln(stderr, "demo: -detect must be shorter than a third of -duration")
		return 2
	case o.timeout <= 0:
		fmt.Fprintln(stderr, "demo: -timeout must be positive")
		return 2
	}
	d, err := runDemoScenario(o, stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return 1
	}
	d.summary(stdout)
	return 0
}

type demoOptions struct {
	duration, detect, timeout time.Duration
	clients                   int
	shortRate, kaRate         float64
	verbose                   bool
}

// demoEvent is one line of the timeline.
type demoEvent struct {
	at   time.Duration
	text string
}

// demoRun is a run of the scenario and what it leaves for the report.
type demoRun struct {
	o        demoOptions
	w        io.Writer // the report; the timeline is written as it happens
	mu       sync.Mutex
	start    time.Time
	clients  []*demoClient
	servers  []string // names
	addrs    []netip.AddrPort
	failed   int    // index of the server that fails
	sched    string // the service's scheduler
	events   []demoEvent
	results  []demoResult
	skipped  int
	edges    []time.Duration // window boundaries, len windows+1
	outFrom  int             // first window the failed server is out of the service
	outTo    int             // first window it is back
	wall     time.Duration
	stats    demoStats
	preCount lb.Stats // the failed server's counters when it was taken out
}

// demoStats are the appliance's counters at the end of the run.
type demoStats struct {
	ports    []demoPort
	drops    []string // "reason n", nonzero only
	noDest   uint64
	services []demoService
	states   map[string]int
	conntab  conntab.Stats
}

type demoPort struct {
	name                                                           string
	rx, rxErr, forwarded, passed, rejected, dropped, tx, txDropped uint64
}

type demoService struct {
	name, sched string
	stats       lb.Stats
	dests       []demoDest
}

type demoDest struct {
	addr             netip.AddrPort
	method           string
	weight           int32
	active, inactive int32
	stats            lb.Stats
}

// event adds a line to the timeline, and prints it.
func (d *demoRun) event(at time.Duration, text string, a ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := demoEvent{at, fmt.Sprintf(text, a...)}
	d.events = append(d.events, e)
	fmt.Fprintf(d.w, "  %6.2fs  %s\n", e.at.Seconds(), wrap(e.text, 86, "           "))
}

func runDemoScenario(o demoOptions, stdout, stderr io.Writer) (*demoRun, error) {
	wallStart := time.Now()
	cfg, err := conf.Parse("uvs-demo.toml", []byte(demoConfig))
	if err != nil {
		return nil, err
	}
	logger := zerolog.Nop()
	if o.verbose {
		logger = newLogger(cfg.Log, stderr)
	}
	topo, err := newDemoTopology(cfg, o.clients, logger)
	if err != nil {
		return nil, err
	}
	closed := false
	defer func() {
		if !closed {
			topo.close()
		}
	}()
	d := &demoRun{o: o, w: stdout, clients: topo.clients, failed: 1, sched: cfg.Services[0].Scheduler}
	names := map[string]int{}
	for i, s := range topo.servers {
		d.servers = append(d.servers, s.name)
		d.addrs = append(d.addrs, s.addr)
		names[s.name] = i
	}
	if err := topo.preflight(5 * time.Second); err != nil {
		return nil, fmt.Errorf("a real server is unreachable from the appliance before the start: %w", err)
	}
	d.header(stdout)

	start := time.Now()
	d.start = start
	ev := func(text string, a ...any) { d.event(time.Since(start), text, a...) }
	until := func(at time.Duration) { time.Sleep(time.Until(start.Add(at))) }
	engine := topo.app.Engine()
	rs := topo.servers[d.failed]
	ka := ""
	if o.kaRate > 0 {
		ka = fmt.Sprintf(" and one keep-alive connection at %g requests/s", o.kaRate)
	}
	ctx, stop := context.WithCancel(context.Background())
	load := &demoLoad{start: start, timeout: o.timeout, servers: names}
	defer func() {
		stop()
		load.wait() // before the topology closes, on the way out of an error
	}()
	load.onError = func(r demoResult) {
		d.event(r.at, "first failed request: %s %s: %s", d.clients[r.client].name, kindNames[r.kind], r.cause)
	}
	ev("clients start: each opens %g short connections/s (one GET each)%s", o.shortRate, ka)
	for i, c := range topo.clients {
		load.run(ctx, i, c, o.shortRate, o.kaRate)
	}

	// 1/3: rs2's HTTP server stops. The appliance does not notice: it has no health checks yet.
	until(o.duration / 3)
	act, inact := destCounts(engine, rs.addr)
	rs.stop()
	tFail := time.Since(start)
	ev("FAILURE (simulated): %s's HTTP server stops; its listener and connections close, as when the process dies. "+
		"Its host stays up and answers new connections with RST. The appliance has no health checks yet: "+
		"it keeps %s in the service (ActiveConn %d, InActConn %d just before)", rs.name, rs.addr, act, inact)

	// + detect: the reaction a health check would have, done as an operator's reload.
	until(tFail + o.detect)
	out, err := commentOutServer(demoConfig, rs.addr.String())
	if err != nil {
		return nil, err
	}
	outCfg, err := conf.Parse("uvs-demo.toml", []byte(out))
	if err != nil {
		return nil, err
	}
	inTable, inStates := connsOf(engine, rs.addr)
	d.preCount = destStats(engine, rs.addr)
	if err := topo.app.Reload(outCfg); err != nil {
		return nil, err
	}
	ev("RELOAD (stands in for a health check): the operator comments %s's real_server block out of the file and reloads "+
		"(appliance.Reload, what SIGHUP does in `uvs run`), %v after the failure. %s leaves the service; "+
		"with expire_nodest_conn, a packet for any of its %d entries left in the connection table (%s) "+
		"is now dropped and its entry expired", rs.name, o.detect.Round(time.Millisecond), rs.name, inTable, inStates)

	// 2/3: rs2 comes back: its server first, then the reload that puts it in the service.
	// The server is restarted on a rebooted host: netstack's ListenTCP sets no SO_REUSEADDR,
	// so on the old host :8080 stays taken while the stopped server's connections sit in
	// TIME_WAIT (60 s).
	until(2 * o.duration / 3)
	if err := rs.reboot(); err != nil {
		return nil, err
	}
	if err := rs.start(); err != nil {
		return nil, err
	}
	ev("RECOVERY: %s is restarted, host and all (a fresh stack with the same address and MAC, which announces "+
		"itself with gratuitous ARP); its HTTP server listens again on %s", rs.name, rs.addr)
	full, err := conf.Parse("uvs-demo.toml", []byte(demoConfig))
	if err != nil {
		return nil, err
	}
	tBack := time.Since(start)
	if err := topo.app.Reload(full); err != nil {
		return nil, err
	}
	ev("RELOAD: the file as it was; %s is back in the service", rs.name)

	until(o.duration)
	stop()
	tEnd := time.Since(start)
	ev("clients stop sending; the requests in flight finish (each within %v)", o.timeout)
	load.wait()
	ev("all requests done")

	d.results, d.skipped = load.results, load.skipped
	d.edges = []time.Duration{0, tFail / 2, tFail, (tFail + tBack) / 2, tBack, (tBack + tEnd) / 2, tEnd}
	d.outFrom, d.outTo = 2, 4
	d.stats = collectStats(topo)
	topo.close()
	closed = true
	d.wall = time.Since(wallStart)
	return d, nil
}

// findDest returns the real server at addr of the first service, or nil.
func findDest(e *lb.Engine, addr netip.AddrPort) *lb.Dest {
	for _, s := range e.Table().Services() {
		for _, d := range s.Dests() {
			if d.Addr == addr.Addr() && d.Port == addr.Port() {
				return d
			}
		}
	}
	return nil
}

func destCounts(e *lb.Engine, addr netip.AddrPort) (active, inactive int32) {
	if d := findDest(e, addr); d != nil {
		return d.Counts().Active.Load(), d.Counts().Inactive.Load()
	}
	return 0, 0
}

func destStats(e *lb.Engine, addr netip.AddrPort) lb.Stats {
	if d := findDest(e, addr); d != nil {
		return d.Counters().Snapshot()
	}
	return lb.Stats{}
}

// connsOf describes the entries of the real server at addr in the connection table: how
// many, and by state.
func connsOf(e *lb.Engine, addr netip.AddrPort) (int, string) {
	d := findDest(e, addr)
	if d == nil {
		return 0, ""
	}
	states := map[string]int{}
	n := 0
	e.Conns().Range(func(c *conntab.Conn) bool {
		if c.Dest == d.ID() && c.State != conntab.StateTemplate {
			states[c.State.String()]++
			n++
		}
		return true
	})
	return n, byCount(states)
}

// byCount lists m as "k n, k n", the largest counts first.
func byCount(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// collectStats reads the appliance's counters: the dataplane's per port, the engine's per
// service and real server (what ipvsadm -Ln and -Ln --stats show), the connection table's.
func collectStats(t *demoTopology) demoStats {
	var s demoStats
	st := t.app.Stats()
	for _, p := range st.Ports {
		s.ports = append(s.ports, demoPort{name: p.Name, rx: p.RxFrames, forwarded: p.Forwarded, passed: p.Passed,
			rejected: p.Rejected, dropped: p.Dropped, tx: p.TxFrames, txDropped: p.TxDropped, rxErr: p.RxErrors})
	}
	s.noDest = st.Drops[lb.DropNoDest]
	for r, n := range st.Drops {
		if n != 0 {
			s.drops = append(s.drops, fmt.Sprintf("%s %d", lb.DropReason(r), n))
		}
	}
	for r, n := range st.LoopDrops {
		if n != 0 {
			s.drops = append(s.drops, fmt.Sprintf("%s %d", netstack.Drop(r), n))
		}
	}
	e := t.app.Engine()
	for _, svc := range e.Table().Services() {
		ds := demoService{name: svc.Config().String(), sched: svc.Config().Scheduler, stats: svc.Counters().Snapshot()}
		for _, d := range svc.Dests() {
			ds.dests = append(ds.dests, demoDest{addr: netip.AddrPortFrom(d.Addr, d.Port), method: d.Method().String(), weight: d.Weight(),
				active: d.Counts().Active.Load(), inactive: d.Counts().Inactive.Load(), stats: d.Counters().Snapshot()})
		}
		s.services = append(s.services, ds)
	}
	s.states = map[string]int{}
	e.Conns().Range(func(c *conntab.Conn) bool {
		s.states[c.State.String()]++
		return true
	})
	s.conntab = e.Conns().Stats()
	return s
}
