// Package appliance wires one uvs appliance together: the configuration compiled into the
// engine, the ports of its interfaces, the host stack that owns its addresses and VIPs, and
// the dataplane loops with their forwarders. It is the only package that knows all of them.
//
// Lifecycle: New opens the ports and builds everything but starts nothing; Start starts the
// engine's maintenance and the port loops; Reload applies a new configuration without
// dropping connections (or keeps the running one and says why); Close stops everything and
// waits for it.
//
// Health checks (health.go) run from the appliance's own netstack and change the engine's
// table, never the configuration. What an operator sees of them:
//   - the log, in keepalived's sentences: a line per failed check with its reason ("TCP_CHECK
//     on service [192.168.1.20]:tcp:8080 failed: connection refused."), then "Removing
//     service [192.168.1.20]:tcp:8080 from VS [10.0.0.1]:tcp:80" (or "Disabling ... of VS"
//     with inhibit_on_failure) and "Adding ... to VS" when it is back; "Changing weight from 3
//     to 7 for active service ..." (misc_dynamic, file_check); "Lost quorum 3-1=2 > 0 for VS
//     ..." and "Gained quorum 3+1=4 <= 4 for VS ...", with "Adding sorry server ..." and
//     "Removing sorry server ..."; "script failed" with its exit status. Failures and losses
//     are warnings, the rest information; the Monitor's own lines ("health: transition", a
//     retry) are information and debug;
//   - Health: the appliance's counters (servers down and up, quorums lost and gained, scripts
//     run and failed) and the Monitor's (checks, failed checks, attempts, retries, per
//     checker with its state, weight and last failure's reason);
//   - Alive: each checked server's state by virtual server; the engine's table: a dead server
//     is out of it, or at weight 0 with inhibit_on_failure, and without quorum a service with
//     a sorry server has no real server in it at all.
package appliance

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"sync"

	"github.com/rs/zerolog"

	"github.com/uvs-lb/uvs/conf"
	"github.com/uvs-lb/uvs/dr"
	"github.com/uvs-lb/uvs/health"
	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/nat"
	"github.com/uvs-lb/uvs/netstack"
	"github.com/uvs-lb/uvs/netstack/port"
	"github.com/uvs-lb/uvs/tunnel"
	"github.com/uvs-lb/uvs/vrrp"
)

// syncSeed keys the connection table's hashes of appliances that sync connections (plus the
// sync ID): any constant shared by the cluster does.
const syncSeed = 0x75767373796e6300 // "uvssync"

// Options configure an Appliance.
type Options struct {
	Config *conf.Config
	Log    zerolog.Logger
	// Clock is the engine's clock; nil: the system clock. The engine disciplines it
	// (lb.Engine.Now: a jump does not expire live connections), and everything else that
	// keeps time for the engine (dataplane, connection sync) reads the engine's time.
	Clock lb.Clock
	// VRRPClock is the time the VRRP routers run on; nil: the system clock. Labs move it
	// (a clock jump) with Clock.
	VRRPClock vrrp.Clock
	// Ports supplies ports by interface name: every "memory" interface must be here (labs,
	// tests); an afpacket or tap interface found here is used as given instead of opened.
	Ports map[string]port.Port
	// OpenPort opens the port of an afpacket or tap interface; nil means OpenPort (the real
	// ports).
	OpenPort func(iface *conf.Interface) (port.Port, error)
	// OnEvent, if set, is called with every event (VRRP and health transitions, reloads) as
	// it happens, from the path that made it: it must not block (queue the work) and must not
	// call the Appliance.
	OnEvent func(Event)
}

// Appliance is one running uvs.
type Appliance struct {
	log    zerolog.Logger
	engine *lb.Engine
	host   *netstack.Host
	dp     *netstack.Dataplane
	health *checking
	vrrp   *vrrpRun
	sync   *syncRun
	events *eventLog

	mu   sync.Mutex // serialises Reload
	cfg  *conf.Config
	vips map[netip.Addr]bool
}

// New builds an appliance from o.Config. It opens the ports (so it may need privileges for
// afpacket and tap interfaces) and starts nothing. On error everything it opened is closed.
func New(o Options) (a *Appliance, err error) {
	cfg := o.Config
	if cfg == nil {
		return nil, errors.New("appliance: no configuration")
	}
	open := o.OpenPort
	if open == nil {
		open = OpenPort
	}
	var opened []port.Port
	defer func() {
		if err != nil {
			for _, p := range opened {
				p.Close()
			}
		}
	}()
	hc := netstack.HostConfig{}
	for i := range cfg.Interfaces {
		ifc := &cfg.Interfaces[i]
		p := o.Ports[ifc.Name]
		if p == nil {
			if ifc.Kind == conf.KindMemory {
				return nil, fmt.Errorf("appliance: interface %s: a memory port must be supplied by the caller", ifc.Name)
			}
			if p, err = open(ifc); err != nil {
				return nil, fmt.Errorf("appliance: interface %s: %w", ifc.Name, err)
			}
			opened = append(opened, p)
		}
		nic := netstack.NICConfig{Port: p, Addrs: ifc.Addresses, VIPHome: i == 0}
		for _, r := range ifc.Routes {
			if r.Via.IsValid() {
				hc.Routes = append(hc.Routes, netstack.Route{Dst: r.Prefix, Gateway: r.Via})
			} else {
				nic.OnLink = append(nic.OnLink, r.Prefix)
			}
		}
		if ifc.Gateway.IsValid() {
			hc.Routes = append(hc.Routes, netstack.Route{Dst: netip.PrefixFrom(netip.IPv4Unspecified(), 0), Gateway: ifc.Gateway})
		}
		if ifc.Gateway6.IsValid() {
			hc.Routes = append(hc.Routes, netstack.Route{Dst: netip.PrefixFrom(netip.IPv6Unspecified(), 0), Gateway: ifc.Gateway6})
		}
		hc.NICs = append(hc.NICs, nic)
	}
	host, err := netstack.NewHost(hc)
	if err != nil {
		return nil, fmt.Errorf("appliance: %w", err)
	}
	timeouts := cfg.Timeouts()
	eo := lb.Options{Clock: o.Clock, Capacity: cfg.Capacity(), Timeouts: &timeouts}
	log := o.Log
	eo.OnClockJump = func(j lb.ClockJump) {
		// Once a jump: the maintenance that absorbed it tells of it, no packet does.
		log.Warn().Dur("by", j.By).Msg("engine clock jumped; absorbed, so connections keep their timeouts (a VM paused or a stepped clock, or maintenance stalled that long)")
	}
	if cfg.Sync.Enabled {
		eo.Sync = lb.SyncOptions{Enabled: true, Threshold: cfg.Sync.Threshold, Period: cfg.Sync.Period}
		// Directors that sync full-NAT connections must hash alike: a local port is chosen
		// to land in its client's connection-table shard. The sync ID names the cluster.
		eo.Seed = syncSeed + uint64(cfg.Sync.SyncID)
	}
	engine := lb.New(eo)
	// Probes leave from the appliance's own addresses: the host kernel may not be on those
	// networks at all.
	events := newEventLog(o.OnEvent)
	chk := newChecking(o.Log, health.Stack(host), engine.Apply)
	chk.events = events
	if err := chk.set(cfg); err != nil {
		return nil, fmt.Errorf("appliance: %w", err)
	}
	f := nat.New()
	dp, err := netstack.New(netstack.Config{
		Host:       host,
		Engine:     engine,
		Forwarders: map[lb.Method]lb.Forwarder{lb.MethodNAT: f, lb.MethodFullNAT: f, lb.MethodDR: dr.New(), lb.MethodTUN: tunnel.New()},
	})
	if err != nil {
		return nil, fmt.Errorf("appliance: %w", err)
	}
	a = &Appliance{log: o.Log, engine: engine, host: host, dp: dp, health: chk, cfg: cfg, vips: map[netip.Addr]bool{}, events: events}
	if a.vrrp, err = newVRRP(o.Log, host, cfg, o.VRRPClock); err != nil {
		dp.Close()
		opened = nil
		return nil, fmt.Errorf("appliance: %w", err)
	}
	a.vrrp.events = events
	if a.sync, err = newSync(o.Log, host, engine, cfg); err != nil {
		dp.Close()
		opened = nil
		return nil, fmt.Errorf("appliance: %w", err)
	}
	a.vrrp.onState = func(name string, s vrrp.State) {
		if a.sync.follows(name) {
			a.sync.setMaster(s == vrrp.StateMaster)
		}
	}
	for _, v := range vipsOf(cfg) {
		if err := host.AddVIP(v); err != nil {
			dp.Close()
			opened = nil // the dataplane owned and closed them
			return nil, fmt.Errorf("appliance: VIP %s: %w", v, err)
		}
		a.vips[v] = true
	}
	return a, nil
}

// vipsOf lists the addresses the appliance must own beside its interfaces' own: every
// service's VIP, each single address a firewall-mark rule matches (the seeds' "fwmark 80 for
// 10.10.1.30"), and each full-NAT local address that is not an interface address already:
// the real servers resolve it to send their replies, and nothing else would answer.
func vipsOf(c *conf.Config) []netip.Addr {
	seen := map[netip.Addr]bool{}
	for _, ifc := range c.Interfaces {
		for _, p := range ifc.Addresses {
			seen[p.Addr()] = true // owned already
		}
	}
	var out []netip.Addr
	add := func(a netip.Addr) {
		if c.VRRPInstanceOf(a) != nil {
			return // owned only while its VRRP instance is MASTER
		}
		if a.IsValid() && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	for _, s := range c.Services {
		if s.Mark == 0 {
			add(s.VIP)
		}
	}
	for _, m := range c.Marks {
		if m.Dst.IsValid() && m.Dst.IsSingleIP() {
			add(m.Dst.Addr())
		}
	}
	for _, s := range c.Services {
		for _, a := range s.LocalAddrs {
			add(a)
		}
	}
	return out
}

// Start starts the engine's maintenance and the dataplane (host and port loops).
func (a *Appliance) Start(ctx context.Context) error {
	if err := a.engine.Start(ctx); err != nil {
		return fmt.Errorf("appliance: %w", err)
	}
	if err := a.dp.Start(ctx); err != nil {
		a.engine.Close()
		return fmt.Errorf("appliance: %w", err)
	}
	if err := a.health.start(ctx); err != nil {
		a.dp.Close()
		a.engine.Close()
		return fmt.Errorf("appliance: %w", err)
	}
	if err := a.sync.start(ctx); err != nil {
		a.health.close()
		a.dp.Close()
		a.engine.Close()
		return fmt.Errorf("appliance: %w", err)
	}
	if err := a.vrrp.start(ctx); err != nil {
		a.sync.close()
		a.health.close()
		a.dp.Close()
		a.engine.Close()
		return fmt.Errorf("appliance: %w", err)
	}
	ev := a.log.Info()
	for _, ifc := range a.cfg.Interfaces {
		ev = ev.Str("interface."+ifc.Name, fmt.Sprint(ifc.Addresses))
	}
	ev.Int("services", len(a.cfg.Services)).Int("vips", len(a.vips)).Msg("appliance started")
	return nil
}

// Reload applies cfg. Services, servers, weights, marks, IPVS settings and VIPs change in
// place: a new table is published and live connections keep flowing. Interfaces cannot
// change without a restart. On any error the running configuration stays, whole.
func (a *Appliance) Reload(cfg *conf.Config) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !reflect.DeepEqual(a.cfg.Interfaces, cfg.Interfaces) {
		return errors.New("appliance: reload: interfaces changed; that needs a restart")
	}
	if !reflect.DeepEqual(a.cfg.Sync, cfg.Sync) {
		return errors.New("appliance: reload: [sync] changed; that needs a restart")
	}
	if !sameVRRP(a.cfg, cfg) {
		return errors.New("appliance: reload: VRRP instances, scripts, track files or sync groups changed; that needs a restart")
	}
	if err := a.health.set(cfg); err != nil {
		return fmt.Errorf("appliance: reload: %w", err)
	}
	a.engine.Conns().SetTimeouts(cfg.Timeouts())
	want := map[netip.Addr]bool{}
	for _, v := range vipsOf(cfg) {
		want[v] = true
		if !a.vips[v] {
			if err := a.host.AddVIP(v); err != nil {
				a.log.Error().Err(err).Str("vip", v.String()).Msg("reload: cannot add VIP")
				continue
			}
			a.vips[v] = true
			a.log.Info().Str("vip", v.String()).Msg("VIP added")
		}
	}
	for v := range a.vips {
		if !want[v] {
			if err := a.host.RemoveVIP(v); err != nil {
				a.log.Error().Err(err).Str("vip", v.String()).Msg("reload: cannot remove VIP")
				continue
			}
			delete(a.vips, v)
			a.log.Info().Str("vip", v.String()).Msg("VIP removed")
		}
	}
	a.cfg = cfg
	a.log.Info().Uint64("table", a.engine.Table().Version()).Int("services", len(cfg.Services)).Msg("configuration reloaded")
	a.events.add(Event{Kind: "config", State: "RELOADED", Message: fmt.Sprintf("Configuration reloaded: %d virtual servers", len(cfg.Services))})
	return nil
}

// Config returns the running configuration. It must not be modified: Reload replaces it
// with another.
func (a *Appliance) Config() *conf.Config {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cfg
}

// Engine returns the load-balancing engine.
func (a *Appliance) Engine() *lb.Engine { return a.engine }

// Host returns the appliance's host stack.
func (a *Appliance) Host() *netstack.Host { return a.host }

// Stats returns the dataplane's counters.
func (a *Appliance) Stats() netstack.Stats { return a.dp.Stats() }

// Health returns the health-check counters: the appliance's (servers and quorums up and down,
// scripts) and the Monitor's (checks run and failed, per checker).
func (a *Appliance) Health() (HealthCounts, health.Stats) { return a.health.counters() }

// Sync returns the sync daemon's counters (zero without [sync]).
func (a *Appliance) Sync() SyncStats { return a.sync.Stats() }

// VRRP reports the state of every VRRP instance.
func (a *Appliance) VRRP() []VRRPStatus { return a.vrrp.status() }

// Alive reports each checked real server's state, by virtual server and server as keepalived
// names them ("[10.0.0.1]:tcp:80" → "[192.168.1.20]:tcp:80" → true).
func (a *Appliance) Alive() map[string]map[string]bool { return a.health.alive() }

// Close stops the health checks (running omega's scripts), the dataplane (which closes the
// ports and the host) and the engine, and waits.
func (a *Appliance) Close() error {
	a.vrrp.close() // first: a master's priority-0 advert needs the ports
	a.sync.close()
	a.health.close()
	err := a.dp.Close()
	a.engine.Close()
	return err
}

// sameVRRP reports whether two configurations have the same VRRP: instances, scripts, track
// files, sync groups and globals.
func sameVRRP(a, b *conf.Config) bool {
	return reflect.DeepEqual(a.VRRPInstances, b.VRRPInstances) && reflect.DeepEqual(a.VRRPScripts, b.VRRPScripts) &&
		reflect.DeepEqual(a.VRRPTrackFiles, b.VRRPTrackFiles) && reflect.DeepEqual(a.VRRPSyncGroups, b.VRRPSyncGroups) &&
		reflect.DeepEqual(a.VRRP, b.VRRP)
}
