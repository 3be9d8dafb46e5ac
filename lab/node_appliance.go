package lab

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/uvs-lb/uvs/appliance"
	"github.com/uvs-lb/uvs/conf"
	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/netstack"
	"github.com/uvs-lb/uvs/netstack/port"
	"github.com/uvs-lb/uvs/vrrp"
)

// applianceNode runs an appliance: a new appliance.Appliance per incarnation, each memory
// interface a pipe into its jack, with the configuration in force (the file's, or the last
// reload's: a restarted uvs reads its current configuration).
type applianceNode struct {
	n     *Node
	log   zerolog.Logger
	jacks map[string]*jack // by interface name, memory interfaces only
	macs  map[string]net.HardwareAddr

	cfg    *conf.Config
	clock  *labClock            // its clock, which clock_jump moves
	a      *appliance.Appliance // nil while killed; changed under mu, by the timeline only
	killed time.Time            // when a was last killed, under mu
	past   applianceCounters    // what killed incarnations counted

	mu sync.Mutex // guards a's changes, for readers beside the timeline (the watches)
}

// applianceCounters are what the report says of an appliance, summed over its incarnations.
type applianceCounters struct {
	Conns     uint64 // connections scheduled to a real server (or the sorry server)
	InPkts    uint64 // packets of those connections from the clients
	OutPkts   uint64 // and to them (replies carried back)
	Forwarded uint64 // frames forwarded
	Passed    uint64 // frames handed to its host stack
	Dropped   uint64 // frames dropped, for any reason
	Drops     map[string]uint64
	Checks    uint64                // health checks completed
	Failed    uint64                // and failed
	VRRP      map[string]vrrp.Stats // by instance
	Sync      SyncReport            // its Role unset
	Evicted   uint64                // half-open entries drop_entry evicted
	Refused   uint64                // insertions a full table refused
}

func (c *applianceCounters) add(o applianceCounters) {
	c.Conns += o.Conns
	c.InPkts += o.InPkts
	c.OutPkts += o.OutPkts
	c.Forwarded += o.Forwarded
	c.Passed += o.Passed
	c.Dropped += o.Dropped
	c.Checks += o.Checks
	c.Failed += o.Failed
	c.Evicted += o.Evicted
	c.Refused += o.Refused
	c.Sync.add(o.Sync)
	for k, v := range o.Drops {
		if c.Drops == nil {
			c.Drops = map[string]uint64{}
		}
		c.Drops[k] += v
	}
	for k, v := range o.VRRP {
		if c.VRRP == nil {
			c.VRRP = map[string]vrrp.Stats{}
		}
		s := c.VRRP[k]
		s.AdvertRcvd += v.AdvertRcvd
		s.AdvertSent += v.AdvertSent
		s.BecomeMaster += v.BecomeMaster
		s.ReleaseMaster += v.ReleaseMaster
		s.PriZeroRcvd += v.PriZeroRcvd
		s.PriZeroSent += v.PriZeroSent
		c.VRRP[k] = s
	}
}

func (s *SyncReport) add(o SyncReport) {
	s.MessagesSent += o.MessagesSent
	s.ConnsSent += o.ConnsSent
	s.MessagesRecv += o.MessagesRecv
	s.ConnsRecv += o.ConnsRecv
	s.Installed += o.Installed
	s.InstallFailed += o.InstallFailed
	s.BadMessages += o.BadMessages
	s.SendFailures += o.SendFailures
	s.Bulk += o.Bulk
	s.Queued += o.Queued
	s.QueueDrops += o.QueueDrops
}

func newApplianceNode(n *Node, log zerolog.Logger, jacks map[string]*jack, macs map[string]net.HardwareAddr) *applianceNode {
	return &applianceNode{n: n, log: log.With().Str("node", n.Name).Logger(), jacks: jacks, macs: macs, cfg: n.Config, clock: &labClock{}}
}

// boot builds and starts a new incarnation.
func (an *applianceNode) boot(ctx context.Context) error {
	ports := map[string]port.Port{}
	for _, ifc := range an.cfg.Interfaces {
		if j := an.jacks[ifc.Name]; j != nil {
			ports[ifc.Name] = j.connect(port.MemConfig{Name: ifc.Name, MAC: an.macs[ifc.Name], MTU: ifc.MTU})
		}
	}
	a, err := appliance.New(appliance.Options{Config: an.cfg, Log: an.log, Ports: ports,
		Clock: an.clock, VRRPClock: an.clock.vrrp()})
	if err != nil {
		for _, p := range ports {
			p.Close()
		}
		return fmt.Errorf("%s: %w", an.n.Name, err)
	}
	if err := a.Start(ctx); err != nil {
		a.Close()
		return fmt.Errorf("%s: %w", an.n.Name, err)
	}
	an.mu.Lock()
	an.a = a
	an.mu.Unlock()
	return nil
}

// kill closes the running incarnation, keeping its counters.
func (an *applianceNode) kill() {
	if an.a == nil {
		return
	}
	an.past.add(countersOf(an.a))
	a := an.a
	an.mu.Lock()
	an.a, an.killed = nil, time.Now()
	an.mu.Unlock()
	a.Close()
}

// current returns the running incarnation, or nil: for readers other than the timeline.
func (an *applianceNode) current() *appliance.Appliance {
	a, _ := an.running()
	return a
}

// running returns the running incarnation, or nil and when the last one was killed.
func (an *applianceNode) running() (*appliance.Appliance, time.Time) {
	an.mu.Lock()
	defer an.mu.Unlock()
	return an.a, an.killed
}

// reload applies cfg; on error the running configuration stays, as appliance.Reload keeps it.
func (an *applianceNode) reload(cfg *conf.Config) error {
	if an.a == nil {
		return fmt.Errorf("%s is not running", an.n.Name)
	}
	if err := an.a.Reload(cfg); err != nil {
		return err
	}
	an.cfg = cfg
	return nil
}

// counters returns what every incarnation counted, and the entries the running one's
// connection table holds and can hold.
func (an *applianceNode) counters() (c applianceCounters, inTable, capacity int) {
	c.add(an.past)
	if an.a != nil {
		c.add(countersOf(an.a))
		inTable = an.a.Engine().Conns().Stats().Current
		capacity = an.a.Engine().Conns().Capacity()
	}
	return c, inTable, capacity
}

// syncReport returns its sync daemon's counters over every incarnation, with the running
// one's role, or nil when the configuration in force has no [sync].
func (an *applianceNode) syncReport(c applianceCounters) *SyncReport {
	if !an.cfg.Sync.Enabled {
		return nil
	}
	s := c.Sync
	s.Role = "DOWN"
	if an.a != nil {
		s.Role = an.a.Sync().Role
	}
	return &s
}

// countersOf reads a running appliance's counters: the engine's per-service connection
// counts and the dataplane's frame counts.
func countersOf(a *appliance.Appliance) applianceCounters {
	c := applianceCounters{Drops: map[string]uint64{}}
	for _, s := range a.Engine().Table().Services() {
		st := s.Counters().Snapshot()
		c.Conns += st.Conns
		c.InPkts += st.InPkts
		c.OutPkts += st.OutPkts
	}
	_, hs := a.Health()
	c.Checks, c.Failed = hs.Checks, hs.Failed
	ts := a.Engine().Conns().Stats()
	c.Evicted, c.Refused = ts.Evicted, ts.RefusedFull
	ss, es := a.Sync(), a.Engine().SyncStats()
	c.Sync = SyncReport{MessagesSent: ss.MessagesSent, ConnsSent: ss.ConnsSent, MessagesRecv: ss.MessagesRecv,
		ConnsRecv: ss.ConnsRecv, Installed: ss.Installed, InstallFailed: ss.InstallFailed, BadMessages: ss.BadMessages,
		SendFailures: ss.SendFailures, Bulk: ss.Bulk, Queued: es.Queued, QueueDrops: es.Dropped}
	for _, v := range a.VRRPDetails() { // not VRRP(), which reads the owned addresses racily
		if c.VRRP == nil {
			c.VRRP = map[string]vrrp.Stats{}
		}
		c.VRRP[v.Name] = v.Stats
	}
	st := a.Stats()
	for _, p := range st.Ports {
		c.Forwarded += p.Forwarded
		c.Passed += p.Passed
		c.Dropped += p.Dropped
	}
	for r, n := range st.Drops {
		if n > 0 && lb.DropReason(r) != lb.DropNone {
			c.Drops[lb.DropReason(r).String()] += n
		}
	}
	for d, n := range st.LoopDrops {
		if n > 0 && netstack.Drop(d) != netstack.DropICMPSuppressed { // not a frame drop
			c.Drops[netstack.Drop(d).String()] += n
		}
	}
	return c
}
