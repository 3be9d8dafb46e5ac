package appliance

import (
	"net/netip"
	"strings"
	"time"
)

// A read-only view of the health state, for those who watch an appliance from outside (the
// lab's report, a status page): each checked real server, whether it is alive, and its
// checkers' last verdicts with when they came and how many transitions they made. It reads
// what checking and its Monitor keep and changes nothing.
//
// A checker's LastCheck is the end of its last check; the check that changed a checker's
// state is its last one until the next check ends, delay_loop later. So whoever polls more
// often than delay_loop learns when each transition happened, to the check, without a hook
// in the transition path: the checker that made a server die (or live again) is one whose
// Downs (Ups) went up, and its LastCheck is the moment.

// CheckedServer is one real server of one virtual server under health checks.
type CheckedServer struct {
	VirtualServer string         // keepalived's name, as Alive gives it: "[10.0.0.1]:tcp:80", "FWM 80 IPv4"
	Service       string         // ipvsadm's name: "TCP 10.0.0.1:80", "FWM 80"
	Server        string         // keepalived's name: "[192.168.1.22]:tcp:8080"
	Addr          netip.AddrPort // the real server (port 0: it keeps the client's port)
	Alive         bool           // every checker passes (out of the table otherwise, or at weight 0 with inhibit_on_failure)
	Checks        []CheckState   // its checkers, in configuration order
}

// CheckState is one checker of a checked server.
type CheckState struct {
	Check      string    // keepalived's name of its kind: "TCP_CHECK", "HTTP_GET", ...
	Up         bool      // as the server's aliveness counts it
	LastCheck  time.Time // when its last check ended; zero before the first
	LastReason string    // why its last failed check failed ("connection refused", "timeout", ...)
	Checks     uint64    // checks completed (an attempt and its retries)
	Failed     uint64    // of which failed
	Ups, Downs uint64    // its transitions
}

// CheckedServers returns every real server under health checks, in configuration order:
// services as configured, their servers as configured. Servers without checkers are not in
// it (they are always alive).
func (a *Appliance) CheckedServers() []CheckedServer { return a.health.checked() }

// checked builds the view. The Monitor's statistics are read first, without checking's lock
// (set takes checking's lock, then the Monitor's).
func (c *checking) checked() []CheckedServer {
	stats := c.mon.Stats()
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []CheckedServer
	for i := range c.st.cfg.Services {
		s := &c.st.cfg.Services[i]
		sk := serviceKey(s)
		for j := range s.Servers {
			rs := &s.Servers[j]
			h := c.st.servers[serverKey(sk, rs)]
			if h == nil || len(h.targets) == 0 {
				continue
			}
			cs := CheckedServer{VirtualServer: h.svc, Service: s.ServiceConfig.String(), Server: h.name,
				Addr: netip.AddrPortFrom(rs.Addr, rs.Port), Alive: h.alive}
			for _, id := range h.targets {
				st := stats.PerTarget[id]
				cs.Checks = append(cs.Checks, CheckState{Check: checkName(h.key, id), Up: !h.down[id],
					LastCheck: st.LastCheck, LastReason: st.LastReason, Checks: st.Checks, Failed: st.Failed,
					Ups: st.Ups, Downs: st.Downs})
			}
			out = append(out, cs)
		}
	}
	return out
}

// checkName is the checker kind of a target ID ("<server key> http_get#0.0" → "HTTP_GET"),
// as the transition log names it.
func checkName(key, id string) string {
	kind := strings.TrimPrefix(id, key+" ")
	if i := strings.IndexByte(kind, '#'); i > 0 {
		kind = kind[:i]
	}
	return strings.ToUpper(kind)
}
