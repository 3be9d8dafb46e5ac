package control

import (
	"net/netip"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/uvs-lb/uvs/appliance"
	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/lb/conntab"
	"github.com/uvs-lb/uvs/lb/sched"
	"github.com/uvs-lb/uvs/netstack"
	"github.com/uvs-lb/uvs/packet"
)

// Version is the uvs release the binary reports (cmd/uvs sets it at build time).
var Version = "dev"

// BuildInfo describes the running binary from the Go build information.
func BuildInfo() Build {
	b := Build{Version: Version, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				b.Revision = s.Value
			}
		}
	}
	return b
}

// svcID identifies a service across the configuration and the live table.
type svcID struct {
	proto  uint8
	addr   netip.Addr
	port   uint16
	mark   uint32
	family packet.Family
}

func idOf(s *lb.ServiceConfig) svcID {
	if s.Mark != 0 {
		return svcID{mark: s.Mark, family: s.Family}
	}
	return svcID{proto: s.Proto, addr: s.VIP, port: s.Port}
}

// destID identifies a real server within a service.
type destID struct {
	svc  svcID
	addr netip.AddrPort
}

// baseline holds the counters at the last ipvsadm -Z, subtracted from what the engine
// counts: zeroing the engine's own counters would race the workers that write them without
// locks.
type baseline struct {
	svcs  map[svcID]lb.Stats
	dests map[destID]lb.Stats
}

func sub(a, b lb.Stats) Stats {
	d := func(x, y uint64) uint64 {
		if x < y { // the counters restarted (a service re-created): count from zero
			return x
		}
		return x - y
	}
	return Stats{Conns: d(a.Conns, b.Conns), InPkts: d(a.InPkts, b.InPkts), OutPkts: d(a.OutPkts, b.OutPkts),
		InBytes: d(a.InBytes, b.InBytes), OutBytes: d(a.OutBytes, b.OutBytes)}
}

func ratesOf(r lb.Rates) Rates {
	return Rates{CPS: uint64(r.CPS + 0.5), InPPS: uint64(r.InPPS + 0.5), OutPPS: uint64(r.OutPPS + 0.5),
		InBPS: uint64(r.InBPS + 0.5), OutBPS: uint64(r.OutBPS + 0.5)}
}

func familyName(f packet.Family) string {
	if f == packet.FamilyIPv6 {
		return "inet6"
	}
	return "inet"
}

var schedFlagNames = []struct {
	f    sched.Flags
	name string
}{{sched.FlagSHFallback, "sh-fallback"}, {sched.FlagSHPort, "sh-port"}, {sched.FlagMHFallback, "mh-fallback"}, {sched.FlagMHPort, "mh-port"}}

func specOf(s *lb.ServiceConfig) ServiceSpec {
	sp := ServiceSpec{Scheduler: s.Scheduler, Persistence: uint32(s.Persistence / time.Second), PersistMask: s.PersistMask, OnePacket: s.OnePacket}
	if sp.Scheduler == "" {
		sp.Scheduler = lb.DefaultScheduler
	}
	if s.Mark != 0 {
		sp.FWMark, sp.Family = s.Mark, familyName(s.Family)
	} else {
		sp.Proto, sp.Addr, sp.Port = lb.ProtoName(s.Proto), s.VIP, s.Port
		sp.Family = familyName(packet.FamilyIPv4)
		if s.VIP.Is6() {
			sp.Family = familyName(packet.FamilyIPv6)
		}
	}
	for _, f := range schedFlagNames {
		if s.SchedFlags&f.f != 0 {
			sp.SchedFlags = append(sp.SchedFlags, f.name)
		}
	}
	return sp
}

func serverSpecOf(svc *lb.ServiceConfig, rs *lb.ServerConfig) ServerSpec {
	m := rs.Method
	if m == 0 {
		m = svc.Method
	}
	if m == 0 {
		m = lb.MethodNAT
	}
	sp := ServerSpec{Service: specOf(svc).ServiceKey, Addr: rs.Addr, Port: rs.Port, Method: m.String(), Weight: rs.Weight,
		Upper: rs.Upper, Lower: rs.Lower}
	if m == lb.MethodTUN {
		sp.TunType, sp.TunPort = rs.Tunnel.Type.String(), rs.Tunnel.Port
		if rs.Tunnel.Type == lb.TunnelGUE {
			sp.TunFlags = "nocsum"
			if rs.Tunnel.Csum {
				sp.TunFlags = "csum"
			}
		}
	}
	return sp
}

// snapshot builds the appliance's state. It reads the live table once, so services and
// servers are consistent with each other.
func snapshot(a *appliance.Appliance, base *baseline, started time.Time) *Snapshot {
	cfg := a.Config()
	e := a.Engine()
	s := &Snapshot{Time: time.Now(), Build: BuildInfo(), Started: started, Drops: map[string]uint64{}}

	live := map[svcID]*lb.Service{}
	for _, ls := range e.Table().Services() {
		live[idOf(ls.Config())] = ls
	}
	byService := map[string][]appliance.CheckedServer{}
	for _, cs := range a.CheckedServers() {
		byService[cs.VirtualServer] = append(byService[cs.VirtualServer], cs)
	}
	for i := range cfg.Services {
		cs := &cfg.Services[i]
		sc := &cs.ServiceConfig
		id := idOf(sc)
		svc := Service{ServiceSpec: specOf(sc), QuorumUp: true}
		svc.Name = sc.KeepalivedName()
		if sc.Sorry != nil {
			sp := serverSpecOf(sc, sc.Sorry)
			svc.Sorry = &sp
		}
		checks := map[netip.AddrPort]appliance.CheckedServer{}
		for _, c := range byService[svc.Name] {
			checks[c.Addr] = c
		}
		ls := live[id]
		dests := map[netip.AddrPort]*lb.Dest{}
		if ls != nil {
			svc.Stats = sub(ls.Counters().Snapshot(), base.svcs[id])
			svc.Rates = ratesOf(e.ServiceRates(ls))
			for _, d := range ls.Dests() {
				dests[netip.AddrPortFrom(d.Addr, d.Port)] = d
			}
		}
		for j := range sc.Servers {
			rs := &sc.Servers[j]
			ap := netip.AddrPortFrom(rs.Addr, rs.Port)
			srv := Server{ServerSpec: serverSpecOf(sc, rs), Alive: true}
			if c, ok := checks[ap]; ok {
				srv.Alive = c.Alive
				for _, st := range c.Checks {
					srv.Checks = append(srv.Checks, Check{Kind: st.Check, Up: st.Up, LastCheck: st.LastCheck, LastReason: st.LastReason,
						Checks: st.Checks, Failed: st.Failed, Ups: st.Ups, Downs: st.Downs})
				}
			}
			if d := dests[ap]; d != nil {
				fillDest(&srv, e, d, base.dests[destID{id, ap}])
				delete(dests, ap)
			}
			svc.Servers = append(svc.Servers, srv)
		}
		// What the table has beyond the configured servers is the sorry server in use.
		if sc.Sorry != nil {
			ap := netip.AddrPortFrom(sc.Sorry.Addr, sc.Sorry.Port)
			if d := dests[ap]; d != nil {
				srv := Server{ServerSpec: serverSpecOf(sc, sc.Sorry), Sorry: true, Alive: true}
				fillDest(&srv, e, d, base.dests[destID{id, ap}])
				svc.Servers = append(svc.Servers, srv)
				svc.QuorumUp = false
			}
		}
		if ls == nil && len(sc.Servers) > 0 {
			svc.QuorumUp = false
		}
		s.Services = append(s.Services, svc)
	}

	for _, d := range a.VRRPDetails() {
		in := VRRPInstance{Name: d.Name, Interface: d.Interface, VRID: d.VRID, State: d.State, Priority: d.Priority,
			SyncGroup: d.SyncGroup, Version: d.Version, Interval: d.Interval, Master: d.Master, MasterPriority: d.MasterPriority,
			MasterDown: d.MasterDown, Preempt: d.Preempt, Fault: d.Fault, VIPs: d.Owned, Stats: map[string]uint64{}}
		d.Stats.Visit(func(name string, v uint64) { in.Stats[name] = v })
		s.VRRP = append(s.VRRP, in)
	}

	ss := a.Sync()
	s.Sync = Sync{Enabled: cfg.Sync.Enabled, Role: ss.Role, Interface: cfg.Sync.Interface, SyncID: cfg.Sync.SyncID,
		MessagesSent: ss.MessagesSent, ConnsSent: ss.ConnsSent, MessagesRecv: ss.MessagesRecv, ConnsRecv: ss.ConnsRecv,
		Installed: ss.Installed, InstallFailed: ss.InstallFailed, BadMessages: ss.BadMessages, SendFailures: ss.SendFailures, Bulk: ss.Bulk}
	if cfg.Sync.Enabled {
		s.Sync.Group = cfg.Sync.Group.String()
	}

	to := e.Conns().Timeouts()
	s.Timeouts = Timeouts{TCP: secs(to.TCP[conntab.StateEstablished]), TCPFin: secs(to.TCP[conntab.StateFinWait]), UDP: secs(to.UDP)}
	ts := e.Conns().Stats()
	s.Table = TableCounts{Current: ts.Current, Templates: ts.Templates, Capacity: cfg.Capacity(), Inserted: ts.Inserted,
		Expired: ts.Expired, Refused: ts.RefusedFull, Evicted: ts.Evicted}
	ds := e.DefenseState()
	s.Table.Pressure, s.Table.DropEntry, s.Table.DropRate, s.Table.SecureTCP = ds.Pressure, ds.DropEntry, ds.DropRate, ds.SecureTCP
	cs := e.ClockState()
	s.Table.ClockJumps, s.Table.ClockOffset = cs.Jumps, cs.Offset.Seconds()

	hc, _ := a.Health()
	s.Health = HealthCounts{ServersDown: hc.ServersDown, ServersUp: hc.ServersUp, QuorumLost: hc.QuorumLost,
		QuorumGained: hc.QuorumGained, Scripts: hc.Scripts, ScriptFailures: hc.ScriptFailures}

	st := a.Stats()
	for r := lb.DropReason(1); r < lb.NumDropReasons; r++ {
		s.Drops[r.String()] = st.Drops[r]
	}
	for d := netstack.Drop(0); d < netstack.NumDrops; d++ {
		s.Drops[d.String()] = st.LoopDrops[d]
	}
	for _, p := range st.Ports {
		s.Ports = append(s.Ports, Port{Name: p.Name, RxFrames: p.RxFrames, RxErrors: p.RxErrors, RxDropped: p.RxDropped, RxSYNDropped: p.RxSYNDropped, Forwarded: p.Forwarded,
			Passed: p.Passed, Rejected: p.Rejected, Dropped: p.Dropped, TxFrames: p.TxFrames, TxDropped: p.TxDropped})
	}
	for _, ev := range a.Events() {
		s.Events = append(s.Events, Event{Time: ev.Time, Kind: ev.Kind, Subject: ev.Subject, State: ev.State, Message: ev.Message})
	}
	if s.Services == nil {
		s.Services = []Service{}
	}
	return s
}

func fillDest(srv *Server, e *lb.Engine, d *lb.Dest, base lb.Stats) {
	srv.InTable = true
	srv.CurrentWeight = d.Weight()
	c := d.Counts()
	srv.ActiveConns, srv.InactConns, srv.PersistConns = c.Active.Load(), c.Inactive.Load(), c.Persist.Load()
	srv.Stats = sub(d.Counters().Snapshot(), base)
	srv.Rates = ratesOf(e.DestRates(d))
}

func secs(d time.Duration) uint32 { return uint32(d / time.Second) }

// conns lists the connection table as ipvsadm -Lc does.
func conns(a *appliance.Appliance) []Conn {
	e := a.Engine()
	now := e.Now()
	out := []Conn{}
	e.Conns().Range(func(c *conntab.Conn) bool {
		out = append(out, connOf(c, now))
		return true
	})
	return out
}

func connOf(c *conntab.Conn, now int64) Conn {
	addr := func(b [16]byte, port uint16) netip.AddrPort {
		if c.Family == packet.FamilyIPv4 {
			return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[:4])), port)
		}
		return netip.AddrPortFrom(netip.AddrFrom16(b), port)
	}
	out := Conn{Proto: lb.ProtoName(c.Proto), State: c.State.String(), Client: addr(c.CAddr, c.CPort), Virtual: addr(c.VAddr, c.VPort),
		Dest: addr(c.DAddr, c.DPort), Template: c.Flags&conntab.FlagTemplate != 0, FWMark: c.Mark}
	if c.Proto == packet.ProtoUDP {
		out.State = "UDP"
	}
	if c.Flags&conntab.FlagFullNAT != 0 {
		out.Local = addr(c.LAddr, c.LPort)
	}
	if left := time.Duration(c.Expires - now); left > 0 {
		out.Expire = left
	}
	return out
}
