package lb

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uvs-lb/uvs/lb/conntab"
	"github.com/uvs-lb/uvs/lb/sched"
)

// Clock gives the engine monotonic time in nanoseconds. Tests pass a fake one. The engine
// does not take it as it is: Engine.Now is its reading disciplined against jumps.
type Clock interface {
	Now() int64
}

// SystemClock is the wall clock's monotonic reading.
type SystemClock struct{}

var clockBase = time.Now()

// Now returns nanoseconds since process start (monotonic).
func (SystemClock) Now() int64 { return int64(time.Since(clockBase)) }

// Options configure an Engine.
type Options struct {
	Clock    Clock // nil: SystemClock
	Shards   int   // connection-table shards (power of two); 0 = default
	Capacity int   // connection-table capacity (connections + templates); 0 = default
	Timeouts *conntab.Timeouts
	// MaintainEvery is how often Start's goroutine sweeps expired connections and samples
	// rates. 0 = 250 ms.
	MaintainEvery time.Duration
	// DestGrace is how long a removed real server's id stays reserved after its last
	// connection is gone, so no in-flight batch can see the id reused. 0 = 60 s.
	DestGrace time.Duration
	// Seed keys the connection table's hashes; 0 = random. Directors that sync full-NAT
	// connections must share Seed and Shards: a local port is chosen to land in its client's
	// shard, which both decide. Keep it secret, as the hashes' seed is what stops clients
	// from aiming at one shard.
	Seed uint64
	// ClockStep is the most engine time advances from one maintenance to the next: a
	// reading of Clock further ahead (a VM paused and resumed, a stepped clock source) is a
	// jump, absorbed so that connections whose packets kept flowing do not expire, and
	// engine time never goes back (see Engine.Now). 0 = 4 × MaintainEvery, at least
	// DefaultClockStep (1 s); a positive value under 2 × MaintainEvery is raised to it;
	// negative turns the discipline off (engine time is Clock's reading as it is).
	ClockStep time.Duration
	// OnClockJump, if set, is told of each jump of the clock that maintenance absorbed
	// (ClockState counts them). It is called from the maintenance goroutine and must not
	// block.
	OnClockJump func(ClockJump)
	// Sync is connection sync, master side (see SyncOptions). InstallSynced, the backup
	// side, works without it; a backup that may become master enables it too, with
	// SetSyncMaster(false) until it does, so its connections' packet counts are kept.
	Sync SyncOptions
}

// Engine is the load-balancing engine: the published Table, the connection table, and the
// identities of services and real servers. Workers (one per port loop) run the data path;
// everything else here is the control path and takes Engine.mu.
type Engine struct {
	clk   engineClock
	conns *conntab.Table
	table atomic.Pointer[Table]
	opts  Options

	mu       sync.Mutex // control path only: compile, maintenance, readers of rates
	dests    []*Dest    // by id; nil = free
	freeIDs  []uint32
	byKey    map[destKey]*Dest
	services map[svcKey]*serviceIdent
	version  uint64
	lastEst  int64

	workers atomic.Int32
	def     defense
	sync    syncState
	cancel  context.CancelFunc
	done    chan struct{}
}

type destKey struct {
	svc  svcKey
	addr [16]byte
	port uint16
}

// New builds an engine with an empty table. It starts nothing.
func New(opts Options) *Engine {
	if opts.Clock == nil {
		opts.Clock = SystemClock{}
	}
	if opts.MaintainEvery == 0 {
		opts.MaintainEvery = 250 * time.Millisecond
	}
	if opts.DestGrace == 0 {
		opts.DestGrace = 60 * time.Second
	}
	e := &Engine{
		opts:     opts,
		dests:    []*Dest{nil}, // id 0 means "none"
		byKey:    make(map[destKey]*Dest),
		services: make(map[svcKey]*serviceIdent),
	}
	e.clk.init(opts.Clock, clockStep(&opts))
	tc := conntab.Config{Shards: opts.Shards, Capacity: opts.Capacity, Dests: e, Seed: opts.Seed}
	tc.CountPackets, tc.PacketPeriod = e.initSync(opts.Sync)
	if opts.Timeouts != nil {
		tc.Timeouts = *opts.Timeouts
	} else {
		tc.Timeouts = conntab.DefaultTimeouts()
	}
	e.conns = conntab.New(tc)
	e.table.Store(&Table{services: map[svcKey]*Service{}, dests: make([]destSlot, 1)})
	return e
}

// Counts implements conntab.Dests: the live counts of a real server id.
func (e *Engine) Counts(id uint32) *sched.Counts {
	if s := e.table.Load().dest(id); s != nil {
		return &s.d.counts
	}
	return nil
}

// Conns returns the connection table (for listing, timeouts and sync).
func (e *Engine) Conns() *conntab.Table { return e.conns }

// Now is engine time, the time base of connection expiries (conntab.Conn.Expires): the
// Clock's reading, disciplined by maintenance so that a jump of the clock does not expire
// live connections and engine time never goes back (Options.ClockStep, clock.go). Every
// reader of time for the engine (the port loops' batches, connection sync) reads it here.
// Lock-free and allocation-free.
func (e *Engine) Now() int64 { return e.clk.now() }

// Table returns the published table.
func (e *Engine) Table() *Table { return e.table.Load() }

// Apply validates and compiles cfg and publishes it. On error the running table is untouched.
func (e *Engine) Apply(cfg *Config) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	for i := range cfg.Services {
		s := &cfg.Services[i]
		if n := e.conns.Shards(); s.LocalPorts != [2]uint16{} && int(s.LocalPorts[1])-int(s.LocalPorts[0])+1 < n {
			return fmt.Errorf("service %d (%s): local port range %d-%d is narrower than the connection table's %d shards", i, s, s.LocalPorts[0], s.LocalPorts[1], n)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	t, err := e.compile(cfg)
	if err != nil {
		return err
	}
	e.table.Store(t)
	e.applyDefense(cfg.Defense, e.Now())
	for _, d := range e.dests {
		if d != nil {
			d.published.Store(uint64(uint32(d.weight)) | uint64(d.method)<<32)
		}
	}
	return nil
}

// compile builds a Table from cfg, reusing the identities of services and servers that stay.
// On error nothing the running table uses has been changed.
func (e *Engine) compile(cfg *Config) (*Table, error) {
	version := e.version + 1
	t := &Table{
		services:    make(map[svcKey]*Service, len(cfg.Services)),
		marks:       classifier{rules: append([]MarkRule(nil), cfg.Marks...)},
		expireNoDst: cfg.ExpireNoDestConn,
		expireQuiet: cfg.ExpireQuiescentTemplate,
		reuseMode:   cfg.ConnReuseMode,
		sloppyTCP:   cfg.SloppyTCP,
		marked:      make(map[markKey]*Service),
		version:     version,
	}
	vips := make(map[vipKey]*vipEntry)
	type pending struct {
		d      *Dest
		weight int32
		method Method
		tun    *TunnelEnds
		fresh  bool
	}
	var created []*Dest // new identities, undone on error
	undo := func() {
		for _, d := range created {
			delete(e.byKey, destKey{d.svc, addrArray(d.Addr), d.Port})
			e.dests[d.id] = nil
			e.freeIDs = append(e.freeIDs, d.id)
		}
	}
	var updates []pending
	dest := func(sk svcKey, sc *ServiceConfig, rc *ServerConfig) *Dest {
		dk := destKey{sk, addrArray(rc.Addr), rc.Port}
		d := e.byKey[dk]
		fresh := d == nil
		if fresh {
			d = &Dest{Addr: rc.Addr, Port: rc.Port, svc: sk}
			d.id = e.allocID(d)
			e.byKey[dk] = d
			created = append(created, d)
		}
		m := rc.Method
		if m == 0 {
			m = sc.Method
		}
		if m == 0 {
			m = MethodNAT
		}
		var tun *TunnelEnds
		if m == MethodTUN {
			tun = rc.Tunnel.ends(rc.Addr)
		}
		updates = append(updates, pending{d: d, weight: rc.Weight, method: m, tun: tun, fresh: fresh})
		return d
	}
	for i := range cfg.Services {
		sc := &cfg.Services[i]
		sk := sc.key()
		s := &Service{cfg: *sc, key: sk}
		s.cfg.Servers = append([]ServerConfig(nil), sc.Servers...)
		if s.cfg.Persistence > 0 {
			s.persistMask = makeMask(sc.family(), sc.PersistMask)
		}
		s.localPorts = sc.LocalPorts
		if s.localPorts == [2]uint16{} {
			s.localPorts = [2]uint16{1024, 65535}
		}
		for j := range sc.Servers {
			rc := &sc.Servers[j]
			d := dest(sk, sc, rc)
			s.dests = append(s.dests, d)
			s.methods = append(s.methods, updates[len(updates)-1].method)
			if rc.Upper > 0 {
				s.thresholds = append(s.thresholds, threshold{idx: j, upper: rc.Upper, lower: rc.Lower})
			}
		}
		if sc.Sorry != nil {
			s.sorry = dest(sk, sc, sc.Sorry)
			s.sorryWeight, s.sorryMethod = sc.Sorry.Weight, updates[len(updates)-1].method
		}
		if sc.Mark != 0 {
			t.marked[markKey{sc.Mark, sk.family}] = s
		} else {
			vk := vipKey{sk.family, sk.addr}
			v := vips[vk]
			if v == nil {
				v = &vipEntry{}
				vips[vk] = v
			}
			v.services = append(v.services, s)
		}
		t.services[sk] = s
	}
	// Weights and methods are read by schedulers at build time; stage them on the dests
	// only now that every service is known, and roll back if a scheduler refuses.
	old := make([]pending, len(updates))
	lastWeights := make([]int32, len(updates))
	for i, u := range updates {
		old[i] = pending{d: u.d, weight: u.d.weight, method: u.d.method, tun: u.d.tun}
		lastWeights[i] = u.d.lastWeight
		u.d.weight, u.d.method, u.d.tun = u.weight, u.method, u.tun
		if u.weight > 0 {
			u.d.lastWeight = u.weight
		}
	}
	running := e.table.Load()
	for _, s := range t.services {
		var prev sched.Scheduler
		if ps := running.services[s.key]; ps != nil {
			prev = ps.sched
		}
		sc, err := buildScheduler(&s.cfg, s.dests, prev, e.Now)
		if err != nil {
			for i := len(old) - 1; i >= 0; i-- {
				o := old[i]
				o.d.weight, o.d.method, o.d.tun = o.weight, o.method, o.tun
				o.d.lastWeight = lastWeights[i]
			}
			undo()
			return nil, fmt.Errorf("service %s: %w", &s.cfg, err)
		}
		s.sched = sc
	}
	// Commit: identities, version marks, the dest slots of this table.
	e.version = version
	now := e.Now()
	for _, s := range t.services {
		id := e.services[s.key]
		if id == nil {
			id = &serviceIdent{}
			e.services[s.key] = id
		}
		id.seen = version
		s.ident = id
	}
	for _, u := range updates {
		u.d.seen = version
		u.d.goneSince = 0
	}
	t.vipIdx = newVIPIndex(vips)
	t.dests = make([]destSlot, len(e.dests))
	for id, d := range e.dests {
		if d == nil {
			continue
		}
		// A server that left keeps its last tunnel: its connections drain through it.
		t.dests[id].d, t.dests[id].method, t.dests[id].tun = d, d.method, d.tun
		if d.seen != version && d.goneSince == 0 {
			d.goneSince = now
		}
	}
	for _, s := range t.services {
		for i, d := range s.dests {
			t.dests[d.id] = destSlot{d: d, svc: s, idx: i, weight: s.cfg.Servers[i].Weight, method: s.methods[i], tun: d.tun}
		}
		if s.sorry != nil {
			t.dests[s.sorry.id] = destSlot{d: s.sorry, svc: s, idx: -1, weight: s.sorryWeight, method: s.sorryMethod, tun: s.sorry.tun}
		}
	}
	for k, id := range e.services {
		if id.seen != version && !e.serviceInUse(k) {
			delete(e.services, k)
		}
	}
	return t, nil
}

func (e *Engine) serviceInUse(k svcKey) bool {
	for _, d := range e.dests {
		if d != nil && d.svc == k {
			return true
		}
	}
	return false
}

func (e *Engine) allocID(d *Dest) uint32 {
	if n := len(e.freeIDs); n > 0 {
		id := e.freeIDs[n-1]
		e.freeIDs = e.freeIDs[:n-1]
		e.dests[id] = d
		return id
	}
	e.dests = append(e.dests, d)
	return uint32(len(e.dests) - 1)
}

// Maintain expires connections in a slice of the connection table, checks the flood
// defenses (Defense), samples rates every EstimatorInterval, and frees the ids of real
// servers that left and drained. Start calls it periodically with engine time, once that
// has absorbed any jump of the clock; tests call it with their own time, taken as it is.
func (e *Engine) Maintain(now int64) {
	e.conns.Sweep(now, 16)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.updateDefense(now, false)
	if now-e.lastEst >= int64(EstimatorInterval) {
		e.lastEst = now
		t := e.table.Load()
		for _, s := range t.services {
			s.ident.est.sample(s.ident.counters.Snapshot(), now)
		}
		for _, d := range e.dests {
			if d != nil {
				d.est.sample(d.ctrs.Snapshot(), now)
			}
		}
	}
	e.reapDests(now)
}

// reapDests frees ids of servers that left the configuration, hold no connection or template,
// and have been gone for the grace period. The published table is recompiled without them.
func (e *Engine) reapDests(now int64) {
	grace := int64(e.opts.DestGrace)
	var reaped bool
	for id, d := range e.dests {
		if d == nil || d.goneSince == 0 || now-d.goneSince < grace {
			continue
		}
		c := &d.counts
		if c.Active.Load() != 0 || c.Inactive.Load() != 0 || c.Persist.Load() != 0 {
			continue
		}
		delete(e.byKey, destKey{d.svc, addrArray(d.Addr), d.Port})
		e.dests[id] = nil
		e.freeIDs = append(e.freeIDs, uint32(id))
		reaped = true
	}
	if !reaped {
		return
	}
	old := e.table.Load()
	t := *old
	t.dests = make([]destSlot, len(e.dests))
	for id := range t.dests {
		if id < len(old.dests) && e.dests[id] != nil {
			t.dests[id] = old.dests[id]
		}
	}
	e.table.Store(&t)
}

// ServiceRates returns the estimated rates of a service.
func (e *Engine) ServiceRates(s *Service) Rates {
	e.mu.Lock()
	defer e.mu.Unlock()
	return s.ident.est.avg
}

// DestRates returns the estimated rates of a real server.
func (e *Engine) DestRates(d *Dest) Rates {
	e.mu.Lock()
	defer e.mu.Unlock()
	return d.est.avg
}

// Start runs maintenance until ctx ends or Close is called.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done != nil {
		return errors.New("lb: engine already started")
	}
	ctx, e.cancel = context.WithCancel(ctx)
	e.done = make(chan struct{})
	e.clk.discipline() // engine time is clamped from here on

	go func() {
		defer close(e.done)
		tick := time.NewTicker(e.opts.MaintainEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				e.maintain()
			}
		}
	}()
	return nil
}

// Close stops maintenance and waits for it.
func (e *Engine) Close() error {
	e.mu.Lock()
	cancel, done := e.cancel, e.done
	e.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	return nil
}
