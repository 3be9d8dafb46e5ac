package lb

import (
	"fmt"
	"net/netip"
	"sync/atomic"

	"github.com/uvs-lb/uvs/lb/sched"
	"github.com/uvs-lb/uvs/packet"
)

// Table is one immutable, compiled version of the configuration. The engine publishes it
// through an atomic pointer; a worker loads it once per batch and never takes a lock to read
// it. Every change (reload, health transition, weight change) compiles a new Table.
type Table struct {
	services    map[svcKey]*Service
	vipIdx      vipIndex // the (proto, port) services of each VIP
	marked      map[markKey]*Service
	sloppyTCP   bool
	marks       classifier
	dests       []destSlot // by Dest.id; includes servers that left but still hold connections
	expireNoDst bool
	expireQuiet bool
	reuseMode   int
	version     uint64
}

// destSlot is what a Table knows of a real server id: the server and, when it is in this
// version's configuration, the service it belongs to and its settings in this version. The
// data path reads settings from here, never from the Dest, which the next compile rewrites.
type destSlot struct {
	d      *Dest
	svc    *Service // nil: the server left the configuration; its connections drain
	idx    int      // index in svc.dests; -1 for the sorry server
	weight int32
	method Method
	tun    *TunnelEnds // MethodTUN: the server's tunnel
}

type vipKey struct {
	family packet.Family
	addr   [16]byte
}

// vipEntry lists the services on one virtual address; a VIP rarely has more than a few, so a
// scan beats a second map lookup.
type vipEntry struct {
	services []*Service
}

// find returns the service for (proto, port), falling back to the port-zero service.
func (v *vipEntry) find(proto uint8, port uint16) *Service {
	var zero *Service
	for _, s := range v.services {
		if s.key.proto != proto {
			continue
		}
		if s.key.port == port {
			return s
		}
		if s.key.port == 0 {
			zero = s
		}
	}
	return zero
}

type markKey struct {
	mark   uint32
	family packet.Family
}

type threshold struct {
	idx          int
	upper, lower uint32
}

type svcKey struct {
	proto  uint8
	family packet.Family
	port   uint16
	mark   uint32
	addr   [16]byte
}

func (s *ServiceConfig) key() svcKey {
	if s.Mark != 0 {
		return svcKey{mark: s.Mark, family: s.family()}
	}
	k := svcKey{proto: s.Proto, port: s.Port}
	k.family = packet.AddrTo(s.VIP, &k.addr)
	return k
}

// Service is one virtual service in one Table version.
type Service struct {
	cfg     ServiceConfig
	key     svcKey
	ident   *serviceIdent // counters that survive recompiles
	sched   sched.Scheduler
	dests   []*Dest
	methods []Method
	sorry   *Dest
	// thresholds lists the dests with connection thresholds (index and [upper, lower]),
	// whose OVERLOAD flag the engine re-evaluates before scheduling (usually empty).
	thresholds []threshold
	// sorryWeight and sorryMethod are the sorry server's settings in this version.
	sorryWeight int32
	sorryMethod Method
	persistMask [16]byte
	localPorts  [2]uint16
}

// Config returns the service's configuration.
func (s *Service) Config() *ServiceConfig { return &s.cfg }

// Counters returns the service's live counters.
func (s *Service) Counters() *Counters { return &s.ident.counters }

// Dests returns the service's real servers in configuration order.
func (s *Service) Dests() []*Dest { return s.dests }

// serviceIdent is what stays the same for a service across table versions.
type serviceIdent struct {
	counters Counters
	est      estimator
	seen     uint64 // table version that last contained it
}

// Dest is one real server of one service. Its identity (and so its counters and connection
// counts) survives recompiles as long as the same service keeps the same address and port.
type Dest struct {
	id   uint32
	Addr netip.Addr
	Port uint16
	// counts is written by every new connection and every state change, from any core:
	// padding keeps it off the lines of the fields around it, which the forwarding of
	// established packets reads (without it, an evicting SYN flood on one core cost the
	// established packets on another 13 points of their rate).
	_      [falseSharingPad]byte
	counts sched.Counts
	_      [falseSharingPad]byte
	ctrs   Counters
	est    estimator
	svc    svcKey
	// control-plane bookkeeping (under Engine.mu)
	seen      uint64 // table version that last contained it
	goneSince int64  // when it left the configuration (for id reuse), 0 while present
	weight    int32  // weight in the newest table
	// lastWeight is the last nonzero weight (IPVS last_weight): Maglev builds its table
	// from it, so quiescing a server does not move other servers' clients.
	lastWeight int32
	method     Method
	tun        *TunnelEnds // the newest table's, for MethodTUN
	// published is the weight (low 32 bits) and method of the newest published table, for
	// readers outside Engine.mu: weight and method above also hold a table being compiled.
	published atomic.Uint64
}

// ID is the engine's id of the server (stable while it holds connections).
func (d *Dest) ID() uint32 { return d.id }

// Counts are the live connection counts schedulers read (ActiveConn, InActConn, persistent).
func (d *Dest) Counts() *sched.Counts { return &d.counts }

// Counters returns the server's traffic counters.
func (d *Dest) Counters() *Counters { return &d.ctrs }

// Weight is the server's weight in the newest compiled table. Control path only: the data
// path reads the weight of its own table version.
func (d *Dest) Weight() int32 { return int32(uint32(d.published.Load())) }

// Method is the server's forwarding method in the newest compiled table (control path).
func (d *Dest) Method() Method { return Method(d.published.Load() >> 32) }

// Services returns the table's services in no particular order.
func (t *Table) Services() []*Service {
	out := make([]*Service, 0, len(t.services))
	for _, s := range t.services {
		out = append(out, s)
	}
	return out
}

// Version is the table's generation number, increasing with every compile.
func (t *Table) Version() uint64 { return t.version }

// lookup finds the service for the first packet of a connection, in IPVS's order: firewall
// mark, then (proto, VIP, port), then (proto, VIP, 0).
func (t *Table) lookup(k *packet.FlowKey) *Service {
	if len(t.marked) > 0 {
		if m := t.marks.mark(k); m != 0 {
			if s := t.marked[markKey{m, k.Family}]; s != nil {
				return s
			}
		}
	}
	if v := t.vipIdx.get(k.Family, &k.Dst); v != nil {
		return v.find(k.Proto, k.DstPort)
	}
	return nil
}

// dest returns the slot of a real-server id, or nil.
func (t *Table) dest(id uint32) *destSlot {
	if int(id) < len(t.dests) && t.dests[id].d != nil {
		return &t.dests[id]
	}
	return nil
}

// Dest returns the real server with the given id, or nil.
func (t *Table) Dest(id uint32) *Dest {
	if s := t.dest(id); s != nil {
		return s.d
	}
	return nil
}

// buildScheduler builds the scheduler of one service version. prev, the scheduler of the
// service's previous version (or nil), hands over what IPVS keeps across edits: the rr/wrr
// position and the lblc/lblcr caches.
func buildScheduler(cfg *ServiceConfig, dests []*Dest, prev sched.Scheduler, now func() int64) (sched.Scheduler, error) {
	name := cfg.Scheduler
	if name == "" {
		name = DefaultScheduler
	}
	sd := make([]sched.Dest, len(dests))
	for i, d := range dests {
		sd[i] = sched.Dest{Addr: d.Addr, Port: d.Port, Weight: d.weight, LastWeight: d.lastWeight, Counts: &d.counts}
	}
	s, err := sched.New(name, sd, cfg.SchedFlags, sched.Options{MHTableSize: cfg.MHTableSize, Prev: prev, Now: now})
	if err != nil {
		return nil, fmt.Errorf("scheduler %q: %w", name, err)
	}
	return s, nil
}

func makeMask(fam packet.Family, bits int) [16]byte {
	var m [16]byte
	n := 16
	if fam == packet.FamilyIPv4 {
		n = 4
		if bits == 0 {
			bits = 32
		}
	} else if bits == 0 {
		bits = 128
	}
	for i := 0; i < n; i++ {
		switch {
		case bits >= 8:
			m[i] = 0xff
			bits -= 8
		case bits > 0:
			m[i] = byte(0xff << (8 - bits))
			bits = 0
		}
	}
	return m
}

func addrArray(a netip.Addr) [16]byte {
	var b [16]byte
	packet.AddrTo(a, &b)
	return b
}
