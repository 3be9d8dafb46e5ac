package appliance

import (
	"context"
	"crypto/x509"
	"fmt"
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
// all its checkers are. A dead server leaves the engine's table (its connections then follow
// expire_nodest_conn), or with inhibit_on_failure stays at weight 0; a dynamic weight
// (misc_dynamic, file_check) replaces the configured one. A service whose alive weight falls
// below its quorum runs quorum_down, and, with a sorry server, gives all new connections to
// it. Each change publishes a new table built from the configuration and the health state:
// the configuration itself is never changed.

// notifyTimeout bounds a notify or quorum script (keepalived waits without a bound; a stuck
// script must not hold Close).
const notifyTimeout = 30 * time.Second

// checking is the appliance's health state over the Monitor.
type checking struct {
	log   zerolog.Logger
	mon   *health.Monitor
	apply func(*lb.Config) error // publishes a table

	mu     sync.Mutex
	st     healthState
	counts HealthCounts
	closed bool

	scripts sync.WaitGroup
	stop    context.CancelFunc
	ctx     context.Context
}

// HealthCounts count health events since the appliance started.
type HealthCounts struct {
	ServersDown, ServersUp   uint64 // transitions of whole real servers
	QuorumLost, QuorumGained uint64
	Scripts, ScriptFailures  uint64 // notify / quorum scripts run, and those that failed
}

// healthState is the checked configuration and the health of its servers and services.
type healthState struct {
	cfg      *conf.Config
	servers  map[string]*serverHealth // by server key
	byTarget map[string]*serverHealth // by target ID
	quorums  map[string]*quorumState  // by service key
}

// serverHealth is one real server of one service under check.
type serverHealth struct {
	key     string // service key + server: stable across reloads
	svc     string // "[10.0.0.1]:tcp:80", keepalived's way of naming a virtual server
	name    string // "[192.168.1.20]:tcp:80"
	sh      conf.ServerHealth
	weight  int32 // configured
	targets []string
	down    map[string]bool  // targets down
	dyn     map[string]int32 // dynamic weights by target (-1: none)
	alive   bool
}

// quorumState is one service's quorum.
type quorumState struct {
	q  health.Quorum
	sh conf.ServiceHealth
}

func newChecking(log zerolog.Logger, n health.Net, apply func(*lb.Config) error) *checking {
	c := &checking{log: log, apply: apply, st: healthState{cfg: &conf.Config{}, servers: map[string]*serverHealth{},
		byTarget: map[string]*serverHealth{}, quorums: map[string]*quorumState{}}}
	c.ctx, c.stop = context.WithCancel(context.Background())
	c.mon = health.New(health.Options{Net: n, Log: log, OnChange: c.onChange})
	return c
}

// serviceKey names a service for the health state (and logs) as keepalived does.
func serviceKey(s *conf.Service) string {
	proto := "tcp"
	if s.Proto == packet.ProtoUDP {
		proto = "udp"
	}
	if s.Mark != 0 {
		return fmt.Sprintf("FWM %d IPv%d", s.Mark, s.Family)
	}
	return fmt.Sprintf("[%s]:%s:%d", s.VIP, proto, s.Port)
}

// serverKey is the key of real server rs of service sk.
func serverKey(sk string, rs *lb.ServerConfig) string {
	return sk + " " + netip.AddrPortFrom(rs.Addr, rs.Port).String()
}

// set makes cfg the checked configuration and publishes its table under the health state:
// servers that stay keep their state (and the Monitor their targets' schedules, by ID), new
// ones start as their timing says, removed ones stop. When the table is refused nothing
// changes.
func (c *checking) set(cfg *conf.Config) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var targets []health.Target
	st := healthState{cfg: cfg, servers: map[string]*serverHealth{}, byTarget: map[string]*serverHealth{},
		quorums: map[string]*quorumState{}}
	for i := range cfg.Services {
		s := &cfg.Services[i]
		sk := serviceKey(s)
		q := &quorumState{}
		if old := c.st.quorums[sk]; old != nil {
			*q = *old // the quorum's state survives a reload
		}
		q.q.Quorum, q.q.Hysteresis, q.sh = s.Health.Quorum, s.Health.Hysteresis, s.Health
		st.quorums[sk] = q
		proto := "tcp"
		if s.Proto == packet.ProtoUDP {
			proto = "udp"
		}
		for j := range s.Servers {
			rs := &s.Servers[j]
			key := serverKey(sk, rs)
			old := c.st.servers[key]
			h := &serverHealth{key: key, svc: sk, name: fmt.Sprintf("[%s]:%s:%d", rs.Addr, proto, rs.Port),
				weight: rs.Weight, sh: s.ServerHealth[j], down: map[string]bool{}, dyn: map[string]int32{}}
			for k := range h.sh.Checks {
				ck := &h.sh.Checks[k]
				checkers, err := checkersOf(ck, rs.Weight)
				if err != nil {
					return fmt.Errorf("%s %s: %w", sk, h.name, err)
				}
				for n, chk := range checkers {
					id := fmt.Sprintf("%s %s#%d.%d", key, ck.Kind, k, n)
					targets = append(targets, health.Target{ID: id, Checker: chk, Timing: timingOf(ck.Timing)})
					h.targets = append(h.targets, id)
					st.byTarget[id] = h
					h.down[id], h.dyn[id] = ck.Timing.Alpha, -1 // as the Monitor starts a new target
					if old != nil {
						if d, ok := old.down[id]; ok {
							h.down[id], h.dyn[id] = d, old.dyn[id]
						}
					}
				}
			}
			h.alive = h.up()
			st.servers[key] = h
		}
		st.quorums[sk].q.Update(st.aliveWeight(s)) // no script on a reload, as at start
	}
	if err := c.apply(st.engine()); err != nil {
		return err
	}
	c.st = st
	c.mon.Set(targets)
	return nil
}

// up reports whether every checker of h passes.
func (h *serverHealth) up() bool {
	for _, d := range h.down {
		if d {
			return false
		}
	}
	return true
}

// effectiveWeight is the server's weight with its dynamic weights: keepalived adds the
// offsets of weight-setting checkers to the configured weight; a misc_dynamic checker sets
// the weight outright, the last reported wins.
func (h *serverHealth) effectiveWeight() int32 {
	for _, id := range h.targets { // the first in configuration order that sets one
		if d := h.dyn[id]; d >= 0 {
			return d
		}
	}
	return h.weight
}

// engine is the engine configuration of the state's configuration under its health.
func (st *healthState) engine() *lb.Config {
	ec := st.cfg.Engine()
	for i := range ec.Services {
		s := &st.cfg.Services[i]
		es := &ec.Services[i]
		sk := serviceKey(s)
		kept := es.Servers[:0]
		for j, rs := range es.Servers {
			h := st.servers[serverKey(sk, &rs)]
			switch {
			case h == nil || len(h.targets) == 0:
			case !h.alive && s.ServerHealth[j].InhibitOnFailure:
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

// updateQuorum re-evaluates the quorum of s after a transition and runs its script on a
// change.
func (c *checking) updateQuorum(s *conf.Service) {
	q := c.st.quorums[serviceKey(s)]
	alive := c.st.aliveWeight(s)
	up, changed := q.q.Update(alive)
	if !changed {
		return
	}
	ev := c.log.Warn()
	if up {
		c.counts.QuorumGained++
		ev = c.log.Info()
		ev.Msgf("Gained quorum %d+%d=%d <= %d for VS %s", q.q.Quorum, q.q.Hysteresis, q.q.Quorum+q.q.Hysteresis, alive, serviceKey(s))
		c.runScript(q.sh.QuorumUp, "quorum_up")
		return
	}
	c.counts.QuorumLost++
	ev.Msgf("Lost quorum %d-%d=%d > %d for VS %s", q.q.Quorum, q.q.Hysteresis, q.q.Quorum-q.q.Hysteresis, alive, serviceKey(s))
	c.runScript(q.sh.QuorumDown, "quorum_down")
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
	if tr.Up {
		c.log.Info().Str("check", check).Str("server", h.name).Msgf("%s on service %s succeeded.", check, h.name)
	} else {
		c.log.Warn().Str("check", check).Str("server", h.name).Str("reason", tr.Reason).Msgf("%s on service %s failed: %s.", check, h.name, tr.Reason)
	}
	h.down[tr.ID] = !tr.Up
	h.dyn[tr.ID] = tr.Weight
	was := h.alive
	h.alive = h.up()
	if was != h.alive {
		verb, to := "Adding", "to"
		if !h.alive {
			verb, to = "Removing", "from"
			c.counts.ServersDown++
		} else {
			c.counts.ServersUp++
		}
		if h.sh.InhibitOnFailure {
			verb = map[bool]string{true: "Enabling", false: "Disabling"}[h.alive]
		}
		c.log.Info().Str("server", h.name).Str("vs", h.svc).Bool("alive", h.alive).Msgf("%s service %s %s VS %s", verb, h.name, to, h.svc)
		if h.alive {
			c.runScript(h.sh.NotifyUp, "notify_up")
		} else {
			c.runScript(h.sh.NotifyDown, "notify_down")
		}
	}
	for i := range c.st.cfg.Services {
		if serviceKey(&c.st.cfg.Services[i]) == h.svc {
			c.updateQuorum(&c.st.cfg.Services[i])
		}
	}
	if err := c.apply(c.st.engine()); err != nil {
		c.log.Error().Err(err).Msg("health: the new table was refused; the previous one stays")
	}
}

// runScript runs a notify or quorum command line in the background; Close waits for it.
func (c *checking) runScript(cmd, what string) {
	if cmd == "" || c.closed && what != "notify_down" && what != "quorum_down" {
		return
	}
	c.counts.Scripts++
	c.scripts.Add(1)
	go func() {
		defer c.scripts.Done()
		code, err := health.Script{Command: cmd, Timeout: notifyTimeout}.Run(c.ctx)
		if err != nil || code != 0 {
			c.mu.Lock()
			c.counts.ScriptFailures++
			c.mu.Unlock()
			c.log.Warn().Err(err).Int("exit", code).Str("script", what).Str("command", cmd).Msg("script failed")
		}
	}()
}

// start starts the Monitor.
func (c *checking) start(ctx context.Context) error { return c.mon.Start(ctx) }

// close stops the checks and, for services with omega, runs the down scripts keepalived runs
// on shutdown; it waits for every script.
func (c *checking) close() {
	c.mon.Close()
	c.mu.Lock()
	c.closed = true
	for i := range c.st.cfg.Services {
		s := &c.st.cfg.Services[i]
		if !s.Health.Omega {
			continue
		}
		sk := serviceKey(s)
		for j := range s.Servers {
			if h := c.st.servers[serverKey(sk, &s.Servers[j])]; h != nil && h.alive && len(h.targets) > 0 {
				c.runScript(h.sh.NotifyDown, "notify_down")
			}
		}
		if q := c.st.quorums[sk]; q != nil && q.q.Up() {
			c.runScript(q.sh.QuorumDown, "quorum_down")
		}
	}
	c.mu.Unlock()
	c.scripts.Wait()
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
