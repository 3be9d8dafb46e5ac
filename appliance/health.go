package appliance

import (
	"context"
	"crypto/x509"
	"fmt"
	"math"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/uvs-lb/uvs/conf"
	"github.com/uvs-lb/uvs/health"
	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/packet"
)

// Health checking, as keepalived's checker process does it: every checker of every real
// server runs in the health Monitor from the appliance's own netstack; a server is alive when
// all its checkers are, and a server without checkers is always alive. A dead server leaves
// the engine's table (its connections then follow expire_nodest_conn), or with
// inhibit_on_failure stays at weight 0. Checkers that set a weight (misc_dynamic, file_check
// with a weight) add their offsets to the configured weight, as keepalived adds them. A
// service whose alive weight falls below quorum-hysteresis loses its quorum: quorum_down
// runs and, with a sorry server, every new connection goes to the sorry server until the
// alive weight is back at quorum+hysteresis (quorum_up). notify_up and notify_down run when a
// whole server changes state. Each change publishes a new table built from the configuration
// and the health state: the configuration itself is never changed.
//
// What keepalived does at start, on reload and at shutdown, this does too:
//   - at start servers are alive (or dead with alpha) with no script run; a service that
//     starts without quorum and has a sorry server logs "Starting with quorum down", hands
//     its connections to the sorry server and runs quorum_down;
//   - a reload keeps the state of every checker whose server and check stay; a server whose
//     state the reload itself changes (a failing check removed) is logged and notified as
//     any transition; a removed alive server runs its notify_down, a removed service with
//     quorum its quorum_down; a quorum state the new thresholds change is a transition;
//   - with omega, Close runs notify_down for the alive servers and quorum_down for the
//     services with quorum.
//
// The log uses keepalived's sentences, so that what operators grep for keeps working:
//
//	TCP_CHECK on service [192.168.1.20]:tcp:8080 failed: connection refused.
//	Removing service [192.168.1.20]:tcp:8080 from VS [10.0.0.1]:tcp:80
//	Disabling service [192.168.1.20]:tcp:8080 of VS [10.0.0.1]:tcp:80     (inhibit_on_failure)
//	Changing weight from 3 to 7 for active service [192.168.1.20]:tcp:8080 of VS [10.0.0.1]:tcp:80
//	Lost quorum 3-1=2 > 0 for VS [10.0.0.1]:tcp:80
//	Adding sorry server [192.168.1.30]:tcp:8080 to VS [10.0.0.1]:tcp:80
//	Gained quorum 3+1=4 <= 4 for VS [10.0.0.1]:tcp:80

const (
	// notifyTimeout bounds a notify or quorum script (keepalived waits without a bound; a
	// stuck script must not run forever).
	notifyTimeout = 30 * time.Second
	// shutdownTimeout bounds, at Close, omega's scripts and the scripts still running:
	// then they are killed (keepalived gives its shutdown scripts 1 s).
	shutdownTimeout = 5 * time.Second
	// filePoll is the longest time between two reads of a file_check's file. keepalived
	// watches the file with inotify and acts at once; here it is read every delay_loop,
	// and at least this often.
	filePoll = time.Second
)

// checking is the appliance's health state over the Monitor.
//
// Locking: mu guards the state, the counters and the start of scripts. The Monitor calls
// onChange one transition at a time, without its own locks held; onChange takes mu, then
// publishes a table (engine.Apply takes the engine's lock only) and starts scripts in
// goroutines, so mu is never held while waiting for anything but a table compile. set
// (Reload) holds mu from the state it reads to the Monitor's new targets, so that a
// transition arriving meanwhile waits and then applies to the new state (or is ignored, for
// a target the reload removed).
type checking struct {
	events *eventLog // nil in tests that build a checking alone
	log    zerolog.Logger
	mon    *health.Monitor
	apply  func(*lb.Config) error // publishes a table

	mu      sync.Mutex
	st      healthState
	counts  HealthCounts
	started bool
	closed  bool
	pending []func() // what set decided before start (a service starting without quorum)

	scripts sync.WaitGroup
	ctx     context.Context // of the scripts: cancelled by close
	stop    context.CancelFunc
}

// HealthCounts count health events since the appliance started.
type HealthCounts struct {
	// ServersDown and ServersUp count the transitions of whole real servers (a reload that
	// changes a server's state counts; adding or removing a server does not).
	ServersDown, ServersUp   uint64
	QuorumLost, QuorumGained uint64 // transitions of services' quorums
	Scripts, ScriptFailures  uint64 // notify / quorum scripts run, and those that failed
}

// healthState is the checked configuration and the health of its servers and services.
type healthState struct {
	cfg      *conf.Config
	servers  map[string]*serverHealth // by server key
	byTarget map[string]*serverHealth // by target ID
	quorums  map[string]*quorumState  // by service key
}

// serverHealth is one real server of one service, checked or not.
type serverHealth struct {
	key     string // service key + server: stable across reloads
	svc     string // "[10.0.0.1]:tcp:80", keepalived's way of naming a virtual server
	name    string // "[192.168.1.20]:tcp:80"
	sh      conf.ServerHealth
	weight  int32 // configured
	targets []string
	down    map[string]bool  // targets down
	dyn     map[string]int32 // weights reported by targets (-1: none)
	alive   bool
}

// quorumState is one service's quorum.
type quorumState struct {
	q     health.Quorum
	sh    conf.ServiceHealth
	svc   *conf.Service
	sorry string // the sorry server's name; "": none
}

func newChecking(log zerolog.Logger, n health.Net, apply func(*lb.Config) error) *checking {
	c := &checking{log: log, apply: apply, st: healthState{cfg: &conf.Config{}, servers: map[string]*serverHealth{},
		byTarget: map[string]*serverHealth{}, quorums: map[string]*quorumState{}}}
	c.ctx, c.stop = context.WithCancel(context.Background())
	c.mon = health.New(health.Options{Net: n, Log: log, OnChange: c.onChange})
	return c
}

// serviceKey names a service for the health state (and logs) as keepalived does; a
// firewall-mark service also has its family, since two families may share a mark.
func serviceKey(s *conf.Service) string { return s.KeepalivedName() }

func protoName(s *conf.Service) string {
	if s.Proto == packet.ProtoUDP {
		return "udp"
	}
	return "tcp"
}

// serverName names a real server of s as keepalived does: "[192.168.1.20]:tcp:8080".
func serverName(s *conf.Service, rs *lb.ServerConfig) string {
	return fmt.Sprintf("[%s]:%s:%d", rs.Addr, protoName(s), rs.Port)
}

// serverKey is the key of real server rs of service sk.
func serverKey(sk string, rs *lb.ServerConfig) string {
	return sk + " " + netip.AddrPortFrom(rs.Addr, rs.Port).String()
}

// serverHealthOf is the health of the j-th server of s. A configuration built by hand may
// have no health for some servers: they are not checked.
func serverHealthOf(s *conf.Service, j int) conf.ServerHealth {
	if j < len(s.ServerHealth) {
		return s.ServerHealth[j]
	}
	return conf.ServerHealth{}
}

// set makes cfg the checked configuration and publishes its table under the health state:
// checkers that stay keep their state (and the Monitor their schedules, by ID), new ones
// start as their timing says, removed ones stop. When the table is refused nothing changes
// and nothing runs. What the change itself does to servers and quorums is logged and its
// scripts run, as keepalived does on a reload (before Start: when Start comes).
func (c *checking) set(cfg *conf.Config) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var (
		targets []health.Target
		acts    []func() // once the table is published
	)
	st := healthState{cfg: cfg, servers: map[string]*serverHealth{}, byTarget: map[string]*serverHealth{},
		quorums: map[string]*quorumState{}}
	for i := range cfg.Services {
		s := &cfg.Services[i]
		sk := serviceKey(s)
		for j := range s.Servers {
			rs := &s.Servers[j]
			key := serverKey(sk, rs)
			old := c.st.servers[key]
			h := &serverHealth{key: key, svc: sk, name: serverName(s, rs), weight: rs.Weight, sh: serverHealthOf(s, j),
				down: map[string]bool{}, dyn: map[string]int32{}}
			var (
				fresh    []int // the indexes in targets of checkers new to a kept server
				keptDown bool  // a checker the server keeps is down
			)
			for k := range h.sh.Checks {
				ck := &h.sh.Checks[k]
				checkers, err := checkersOf(ck, rs.Weight)
				if err != nil {
					return fmt.Errorf("%s %s: %w", sk, h.name, err)
				}
				tm := timingOf(ck.Timing)
				if ck.Kind == conf.CheckFile {
					tm.DelayLoop = min(tm.DelayLoop, filePoll)
				}
				for n, chk := range checkers {
					id := fmt.Sprintf("%s %s#%d.%d", key, ck.Kind, k, n)
					targets = append(targets, health.Target{ID: id, Checker: chk, Timing: tm})
					h.targets = append(h.targets, id)
					st.byTarget[id] = h
					h.down[id], h.dyn[id] = ck.Timing.Alpha, -1 // as the Monitor starts a new target
					if old == nil {
						continue
					}
					d, ok := old.down[id]
					if !ok {
						fresh = append(fresh, len(targets)-1)
						continue
					}
					h.down[id], h.dyn[id] = d, old.dyn[id]
					keptDown = keptDown || d
					// A file_check's weight is an offset from the configured weight: when
					// that changes, so does the file's weight, now rather than at its next
					// read (the file is the truth; reading it costs nothing).
					if fc, isFile := chk.(*health.FileCheck); isFile && !d && rs.Weight != old.weight {
						if r := fc.Check(context.Background(), nil); r.OK {
							h.dyn[id] = r.Weight
						}
					}
				}
			}
			// A checker added to a server that is alive, with no checker down, starts up
			// even with alpha, as keepalived starts it: adding a check to a working server
			// does not take it out until the check has run.
			if old != nil && old.alive && !keptDown {
				for _, ti := range fresh {
					targets[ti].Timing.Alpha = false
					h.down[targets[ti].ID] = false
				}
			}
			h.alive = h.up()
			st.servers[key] = h
			if old != nil && old.alive != h.alive {
				acts = append(acts, func() { c.serverChanged(h) })
			}
		}

		q := &quorumState{svc: s, sh: s.Health}
		if s.Sorry != nil {
			q.sorry = serverName(s, s.Sorry)
		}
		old := c.st.quorums[sk]
		if old != nil {
			q.q = old.q // the quorum's state survives a reload; its thresholds are the new ones
		}
		q.q.Quorum, q.q.Hysteresis = s.Health.Quorum, s.Health.Hysteresis
		st.quorums[sk] = q
		alive := st.aliveWeight(s)
		up, changed := q.q.Update(alive)
		switch {
		case changed: // new thresholds on a reload
			acts = append(acts, func() { c.quorumChanged(q, up, alive) })
		case up:
		case old == nil || old.sorry == "":
			if q.sorry != "" { // a service starting without quorum, or given a sorry server without it
				acts = append(acts, func() { c.quorumStartsDown(q, alive) })
			}
		case old.sorry != q.sorry:
			acts = append(acts, func() { c.sorryChanged(q, old.sorry) })
		}
	}
	// What a reload removes stops serving: keepalived runs the down scripts.
	for i := range c.st.cfg.Services {
		s := &c.st.cfg.Services[i]
		sk := serviceKey(s)
		for j := range s.Servers {
			key := serverKey(sk, &s.Servers[j])
			if h := c.st.servers[key]; h != nil && h.alive && st.servers[key] == nil {
				acts = append(acts, func() { c.serverRemoved(h) })
			}
		}
		if q := c.st.quorums[sk]; q != nil && q.q.Up() && st.quorums[sk] == nil {
			acts = append(acts, func() { c.serviceRemoved(q) })
		}
	}

	if err := c.apply(st.engine()); err != nil {
		return err
	}
	c.st = st
	c.mon.Set(targets)
	switch {
	case c.closed:
	case c.started:
		for _, a := range acts {
			a()
		}
	default:
		c.pending = append(c.pending, acts...)
	}
	return nil
}

// up reports whether every checker of h passes (true without checkers).
func (h *serverHealth) up() bool {
	for _, d := range h.down {
		if d {
			return false
		}
	}
	return true
}

// effectiveWeight is the server's weight with its checkers' weights, as keepalived computes
// it: the configured weight plus each weight-setting checker's offset from it (a
// misc_dynamic checker reports its weight outright, status-2, so alone it sets the weight;
// a file_check reports the configured weight plus value × weight), clamped to [0, 2³¹-1].
// Without such a checker it is the configured weight, as given.
func (h *serverHealth) effectiveWeight() int32 {
	w, dynamic := int64(h.weight), false
	for _, id := range h.targets {
		if d := h.dyn[id]; d >= 0 {
			w += int64(d) - int64(h.weight)
			dynamic = true
		}
	}
	if !dynamic {
		return h.weight
	}
	return int32(min(max(w, 0), math.MaxInt32))
}

// engine is the engine configuration of the state's configuration under its health.
func (st *healthState) engine() *lb.Config {
	ec := st.cfg.Engine()
	for i := range ec.Services {
		s := &st.cfg.Services[i]
		es := &ec.Services[i]
		sk := serviceKey(s)
		kept := es.Servers[:0]
		for _, rs := range es.Servers {
			h := st.servers[serverKey(sk, &rs)]
			switch {
			case h == nil || len(h.targets) == 0:
			case !h.alive && h.sh.InhibitOnFailure:
				rs.Weight = 0
			case !h.alive:
				continue
			default:
				rs.Weight = h.effectiveWeight()
			}
			kept = append(kept, rs)
		}
		es.Servers = kept
		if q := st.quorums[sk]; q != nil && !q.q.Up() && es.Sorry != nil {
			es.Servers = nil // without quorum the sorry server takes every new connection
		}
	}
	return ec
}

// aliveWeight is the total weight of the alive servers of s.
func (st *healthState) aliveWeight(s *conf.Service) int64 {
	var sum int64
	sk := serviceKey(s)
	for i := range s.Servers {
		if h := st.servers[serverKey(sk, &s.Servers[i])]; h != nil && h.alive {
			sum += int64(h.effectiveWeight())
		}
	}
	return sum
}

// onChange takes a checker's transition from the Monitor.
func (c *checking) onChange(tr health.Transition) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.st.byTarget[tr.ID]
	if h == nil || c.closed {
		return // a target removed by a reload
	}
	check := tr.ID[len(h.key)+1:]
	if i := strings.IndexByte(check, '#'); i > 0 {
		check = strings.ToUpper(check[:i])
	}
	switch {
	case !tr.Up:
		c.log.Warn().Str("check", check).Str("server", h.name).Str("reason", tr.Reason).Msgf("%s on service %s failed: %s.", check, h.name, tr.Reason)
	case h.down[tr.ID]:
		c.log.Info().Str("check", check).Str("server", h.name).Msgf("%s on service %s succeeded.", check, h.name)
	}
	was, weight := h.alive, h.effectiveWeight()
	h.down[tr.ID] = !tr.Up
	h.dyn[tr.ID] = tr.Weight
	h.alive = h.up()
	switch w := h.effectiveWeight(); {
	case was != h.alive:
		c.serverChanged(h)
	case w != weight:
		in := "in"
		if h.alive {
			in = ""
		}
		c.log.Info().Str("server", h.name).Str("vs", h.svc).Int32("weight", w).
			Msgf("Changing weight from %d to %d for %sactive service %s of VS %s", weight, w, in, h.name, h.svc)
	}
	if q := c.st.quorums[h.svc]; q != nil {
		alive := c.st.aliveWeight(q.svc)
		if up, changed := q.q.Update(alive); changed {
			c.quorumChanged(q, up, alive)
		}
	}
	if err := c.apply(c.st.engine()); err != nil {
		c.log.Error().Err(err).Msg("health: the new table was refused; the previous one stays")
	}
}

// serverChanged logs and notifies h's new state. c.mu is held.
func (c *checking) serverChanged(h *serverHealth) {
	var verb, prep string
	switch {
	case h.sh.InhibitOnFailure && h.alive:
		verb, prep = "Enabling", "of"
	case h.sh.InhibitOnFailure:
		verb, prep = "Disabling", "of"
	case h.alive:
		verb, prep = "Adding", "to"
	default:
		verb, prep = "Removing", "from"
	}
	ev := c.log.Info()
	if h.alive {
		c.counts.ServersUp++
	} else {
		c.counts.ServersDown++
		ev = c.log.Warn()
	}
	msg := fmt.Sprintf("%s service %s %s VS %s", verb, h.name, prep, h.svc)
	ev.Str("server", h.name).Str("vs", h.svc).Bool("alive", h.alive).Msg(msg)
	state := "DOWN"
	if h.alive {
		state = "UP"
	}
	c.events.add(Event{Kind: "server", Subject: h.svc + " / " + h.name, VirtualServer: h.svc, Server: h.name, State: state, Message: msg})
	if h.alive {
		c.runScript(h.sh.NotifyUp, "notify_up", notifyTimeout)
	} else {
		c.runScript(h.sh.NotifyDown, "notify_down", notifyTimeout)
	}
}

// serverRemoved logs the removal of an alive server by a reload and runs its notify_down.
func (c *checking) serverRemoved(h *serverHealth) {
	c.log.Info().Str("server", h.name).Str("vs", h.svc).Msgf("Removing service %s from VS %s", h.name, h.svc)
	c.runScript(h.sh.NotifyDown, "notify_down", notifyTimeout)
}

// serviceRemoved runs quorum_down for a service with quorum that a reload removed.
func (c *checking) serviceRemoved(q *quorumState) {
	sk := serviceKey(q.svc)
	c.log.Info().Str("vs", sk).Msgf("Removing Virtual Server %s", sk)
	c.runScript(q.sh.QuorumDown, "quorum_down", notifyTimeout)
}

// quorumChanged logs and scripts a quorum transition of q to up, at alive weight alive.
func (c *checking) quorumChanged(q *quorumState, up bool, alive int64) {
	quorum, hyst := max(q.q.Quorum, 1), q.q.Hysteresis
	sk := serviceKey(q.svc)
	if up {
		c.counts.QuorumGained++
		msg := fmt.Sprintf("Gained quorum %d+%d=%d <= %d for VS %s", quorum, hyst, quorum+hyst, alive, sk)
		c.log.Info().Str("vs", sk).Int64("alive", alive).Msg(msg)
		c.events.add(Event{Kind: "quorum", Subject: sk, VirtualServer: sk, State: "UP", Message: msg,
			Quorum: quorum, Hysteresis: hyst, Weight: alive})
		if q.sorry != "" {
			verb := "Removing"
			if q.sh.SorryInhibit {
				verb = "Disabling"
			}
			c.log.Info().Str("vs", sk).Str("sorry", q.sorry).Msgf("%s sorry server %s from VS %s", verb, q.sorry, sk)
		}
		c.runScript(q.sh.QuorumUp, "quorum_up", notifyTimeout)
		return
	}
	c.counts.QuorumLost++
	msg := fmt.Sprintf("Lost quorum %d-%d=%d > %d for VS %s", quorum, hyst, quorum-hyst, alive, sk)
	c.log.Warn().Str("vs", sk).Int64("alive", alive).Msg(msg)
	c.events.add(Event{Kind: "quorum", Subject: sk, VirtualServer: sk, State: "DOWN", Message: msg,
		Quorum: quorum, Hysteresis: hyst, Weight: alive})
	c.addSorry(q)
	c.runScript(q.sh.QuorumDown, "quorum_down", notifyTimeout)
}

// quorumStartsDown logs and scripts a service that starts without quorum, with a sorry
// server (keepalived says "Starting with quorum down"; the threshold is the one to gain it).
func (c *checking) quorumStartsDown(q *quorumState, alive int64) {
	quorum, hyst := max(q.q.Quorum, 1), q.q.Hysteresis
	sk := serviceKey(q.svc)
	msg := fmt.Sprintf("Starting with quorum down %d+%d=%d > %d for VS %s", quorum, hyst, quorum+hyst, alive, sk)
	c.log.Warn().Str("vs", sk).Int64("alive", alive).Msg(msg)
	c.events.add(Event{Kind: "quorum", Subject: sk, VirtualServer: sk, State: "DOWN", Message: msg,
		Quorum: quorum, Hysteresis: hyst, Weight: alive, Starting: true})
	c.addSorry(q)
	c.runScript(q.sh.QuorumDown, "quorum_down", notifyTimeout)
}

// sorryChanged logs a reload that changes the sorry server of a service without quorum.
func (c *checking) sorryChanged(q *quorumState, old string) {
	sk := serviceKey(q.svc)
	c.log.Info().Str("vs", sk).Str("sorry", old).Msgf("Removing sorry server %s from VS %s", old, sk)
	c.addSorry(q)
}

func (c *checking) addSorry(q *quorumState) {
	if q.sorry == "" {
		return
	}
	verb := "Adding"
	if q.sh.SorryInhibit {
		verb = "Enabling"
	}
	sk := serviceKey(q.svc)
	c.log.Warn().Str("vs", sk).Str("sorry", q.sorry).Msgf("%s sorry server %s to VS %s", verb, q.sorry, sk)
}

// runScript runs a notify or quorum command line in the background; close waits for it.
// c.mu is held.
func (c *checking) runScript(cmd, what string, timeout time.Duration) {
	if cmd == "" {
		return
	}
	c.counts.Scripts++
	c.scripts.Add(1)
	go func() {
		defer c.scripts.Done()
		code, err := health.Script{Command: cmd, Timeout: timeout}.Run(c.ctx)
		if err != nil || code != 0 {
			c.mu.Lock()
			c.counts.ScriptFailures++
			c.mu.Unlock()
			c.log.Warn().Err(err).Int("exit", code).Str("script", what).Str("command", cmd).Msg("script failed")
		}
	}()
}

// start starts the Monitor, then runs what set decided before it.
func (c *checking) start(ctx context.Context) error {
	if err := c.mon.Start(ctx); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.started = true
	if !c.closed {
		for _, a := range c.pending {
			a()
		}
	}
	c.pending = nil
	return nil
}

// close stops the checks and, for services with omega, runs the down scripts keepalived runs
// on shutdown; it waits for every script, up to shutdownTimeout, then kills what is left.
// Closing again does nothing.
func (c *checking) close() {
	c.mon.Close()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.pending = nil
	for i := range c.st.cfg.Services {
		s := &c.st.cfg.Services[i]
		if !c.started || !s.Health.Omega {
			continue
		}
		sk := serviceKey(s)
		for j := range s.Servers {
			if h := c.st.servers[serverKey(sk, &s.Servers[j])]; h != nil && h.alive && h.sh.NotifyDown != "" {
				c.log.Info().Str("server", h.name).Str("vs", sk).Msgf("Shutting down service %s from VS %s", h.name, sk)
				c.runScript(h.sh.NotifyDown, "notify_down", shutdownTimeout)
			}
		}
		if q := c.st.quorums[sk]; q != nil && q.q.Up() {
			c.runScript(q.sh.QuorumDown, "quorum_down", shutdownTimeout)
		}
	}
	c.mu.Unlock()
	done := make(chan struct{})
	go func() {
		c.scripts.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(shutdownTimeout):
		c.log.Warn().Dur("after", shutdownTimeout).Msg("health: killing the scripts still running")
		c.stop()
		<-done
	}
	c.stop()
}

// counters returns the health counters and the Monitor's.
func (c *checking) counters() (HealthCounts, health.Stats) {
	c.mu.Lock()
	hc := c.counts
	c.mu.Unlock()
	return hc, c.mon.Stats()
}

// alive reports the state of each checked server by service and server ("[vip]:tcp:80" →
// "[rs]:tcp:80" → alive).
func (c *checking) alive() map[string]map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]map[string]bool{}
	for _, h := range c.st.servers {
		if len(h.targets) == 0 {
			continue
		}
		if out[h.svc] == nil {
			out[h.svc] = map[string]bool{}
		}
		out[h.svc][h.name] = h.alive
	}
	return out
}

// timingOf converts conf's timing to the Monitor's.
func timingOf(t conf.CheckTiming) health.Timing {
	return health.Timing{DelayLoop: t.DelayLoop, ConnectTimeout: t.ConnectTimeout, Retry: t.Retry,
		DelayBeforeRetry: t.DelayBeforeRetry, Warmup: t.Warmup, Rise: t.Rise, Fall: t.Fall, Alpha: t.Alpha}
}

// checkersOf builds the health checkers of one configured check. An http_get or ssl_get whose
// URLs ask for different virtual hosts becomes one checker per host: all must pass.
func checkersOf(ck *conf.Check, weight int32) ([]health.Checker, error) {
	switch ck.Kind {
	case conf.CheckTCP:
		return []health.Checker{health.TCPCheck{Connect: ck.Connect, Bind: ck.Bind}}, nil
	case conf.CheckHTTP, conf.CheckSSL:
		var roots *x509.CertPool
		if ck.CA != "" {
			pem, err := os.ReadFile(ck.CA)
			if err != nil {
				return nil, fmt.Errorf("ssl_get ca: %w", err)
			}
			roots = x509.NewCertPool()
			if !roots.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("ssl_get ca %s: no certificate in it", ck.CA)
			}
		}
		type host struct{ vhost, sni string }
		var order []host
		urls := map[host][]health.URL{}
		for _, u := range ck.URLs {
			h := host{u.VirtualHost, u.SNI}
			if _, ok := urls[h]; !ok {
				order = append(order, h)
			}
			hu := health.URL{Path: u.Path, Digest: u.Digest}
			for _, r := range u.Status {
				hu.Status = append(hu.Status, health.StatusRange{Min: r.Lo, Max: r.Hi})
			}
			urls[h] = append(urls[h], hu)
		}
		var out []health.Checker
		for _, h := range order {
			out = append(out, health.HTTPCheck{Connect: ck.Connect, Bind: ck.Bind, TLS: ck.Kind == conf.CheckSSL,
				Verify: ck.Verify, RootCAs: roots, SNI: h.sni, VirtualHost: h.vhost, URLs: urls[h]})
		}
		return out, nil
	case conf.CheckUDP:
		return []health.Checker{health.UDPCheck{Connect: ck.Connect, Bind: ck.Bind, Payload: ck.Payload,
			RequireReply: ck.RequireReply, Reply: ck.Reply}}, nil
	case conf.CheckDNS:
		return []health.Checker{health.DNSCheck{Connect: ck.Connect, Bind: ck.Bind, Type: ck.DNSType, Name: ck.DNSName}}, nil
	case conf.CheckPing:
		return []health.Checker{health.PingCheck{Connect: ck.Connect.Addr(), Bind: ck.Bind.Addr()}}, nil
	case conf.CheckMisc:
		return []health.Checker{health.MiscCheck{Script: health.Script{Command: ck.Command, Timeout: ck.Timeout,
			User: ck.User, Group: ck.Group}, Dynamic: ck.Dynamic}}, nil
	case conf.CheckFile:
		return []health.Checker{&health.FileCheck{Path: ck.File, Weight: ck.Weight, Reverse: ck.Reverse, ServerWeight: weight}}, nil
	}
	return nil, fmt.Errorf("unknown check %q", ck.Kind)
}
