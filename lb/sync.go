package lb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uvs-lb/uvs/lb/conntab"
	"github.com/uvs-lb/uvs/packet"
)

// Connection sync, the engine's part (IPVS's ip_vs_sync_conn on the master, ip_vs_proc_conn
// on the backup). The wire format is package connsync's; the sockets and the roles are the
// appliance's.
//
// Master: a Worker that forwards a packet of a connection decides, as the kernel's
// ip_vs_sync_conn_needed does with its default sysctls (sync_refresh_period 0), whether the
// backups must hear of it, and if so copies the connection into its own bounded ring:
//
//   - a TCP connection only in ESTABLISHED, FIN_WAIT, CLOSE, CLOSE_WAIT or TIME_WAIT;
//   - at once when this packet moved it into one of those other than ESTABLISHED (in either
//     direction: uvs sees the replies' transitions, the kernel syncs them at the next
//     inbound packet);
//   - otherwise (and for UDP) when its inbound packet count n satisfies
//     n % Period == Threshold (Period 0: n == Threshold), so with the defaults at packets 3,
//     53, 103, ... A connection that never reaches Threshold packets (a DNS query) is never
//     sent; neither is a one-packet-scheduled datagram, which is never a connection;
//   - a connection under a persistence template is preceded by the template, so a backup
//     can link them; a template is also queued when a connection is scheduled through it
//     (created or reused).
//
// The sender (one goroutine) calls DrainSync every few milliseconds. A full ring drops the
// newest record and counts it, as the kernel drops a sync buffer past sync_qlen_max.
//
// Backup: InstallSynced inserts or refreshes each received connection or template.

// SyncOptions configure connection sync. The zero value is off.
type SyncOptions struct {
	// Enabled makes the engine count each connection's inbound packets and its workers
	// queue connections for DrainSync while the engine is master (SetSyncMaster; on from
	// New). Off, the data path pays one predictable branch per packet.
	Enabled bool
	// Threshold and Period are IPVS's sync_threshold and sync_period (net.ipv4.vs.
	// sync_threshold = "3 50"): a connection is queued when its inbound packet count n
	// satisfies n % Period == Threshold, or with Period 0 when n == Threshold only. Both 0
	// mean the kernel's defaults, 3 and 50. Period is at most 256 (the count is 8 bits) and
	// Threshold below Period (at most 254 with Period 0).
	Threshold, Period int
	// RingSize is each worker's queue, in records (one connection or template each, 112
	// bytes), rounded up to a power of two. 0 means DefaultSyncRing.
	RingSize int
}

// Defaults of SyncOptions.
const (
	DefaultSyncThreshold = 3
	DefaultSyncPeriod    = 50
	// DefaultSyncRing is 4096 records a worker: 448 KiB, the records of about 200k packets
	// of established connections at the default period, far more than a sender draining
	// every few milliseconds needs.
	DefaultSyncRing = 4096
	maxSyncRing     = 1 << 20
)

// values returns the threshold and period in effect.
func (o *SyncOptions) values() (threshold, period int) {
	if o.Threshold == 0 && o.Period == 0 {
		return DefaultSyncThreshold, DefaultSyncPeriod
	}
	return o.Threshold, o.Period
}

// Validate checks the options as New does (New panics on options it refuses).
func (o SyncOptions) Validate() error {
	th, p := o.values()
	switch {
	case th < 0 || p < 0:
		return errors.New("sync threshold and period must not be negative")
	case p > 256:
		return fmt.Errorf("sync period %d: at most 256", p)
	case p > 0 && th >= p:
		return fmt.Errorf("sync threshold %d must be below the period %d", th, p)
	case p == 0 && th > 254:
		return fmt.Errorf("sync threshold %d without a period: at most 254", th)
	case o.RingSize < 0 || o.RingSize > maxSyncRing:
		return fmt.Errorf("sync ring size %d: 0 (default) to %d", o.RingSize, maxSyncRing)
	}
	return nil
}

// Errors of InstallSynced. The configuration of the backup decides what it takes: a record
// for a service or real server it does not have is refused (IPVS would keep it with no real
// server; uvs could not forward TUN without the server's tunnel nor count it, and a backup
// whose configuration differs from its master's is better told).
var (
	ErrSyncNoService = errors.New("lb: synced connection for no virtual service here")
	ErrSyncNoServer  = errors.New("lb: synced connection to a real server the service does not have here")
	ErrSyncMismatch  = errors.New("lb: synced connection disagrees with the configuration here")
)

// SyncStats are the sync counters of an engine.
type SyncStats struct {
	// Master side, summed over the workers' rings.
	Queued  uint64 // records put in the rings (connections and templates)
	Drained uint64 // records handed to DrainSync's fn
	Dropped uint64 // records lost to a full ring (the newest is dropped)
	// Backup side.
	Installed uint64 // InstallSynced created an entry
	Updated   uint64 // InstallSynced refreshed an existing entry
	Refused   uint64 // InstallSynced returned an error
}

// syncState is the engine's sync configuration and its rings.
type syncState struct {
	enabled   bool
	threshold int
	ringSize  int
	master    atomic.Bool                 // read by every worker once per batch
	rings     atomic.Pointer[[]*syncRing] // every worker's, appended under Engine.mu
	drainMu   sync.Mutex                  // one consumer at a time
	// The backup's counters, written per received record, away from what workers read.
	_                           [128]byte
	installed, updated, refused atomic.Uint64
}

func (e *Engine) initSync(o SyncOptions) (countPackets bool, period int) {
	if !o.Enabled {
		return false, 0
	}
	if err := o.Validate(); err != nil {
		panic("lb: " + err.Error())
	}
	th, p := o.values()
	n := o.RingSize
	if n == 0 {
		n = DefaultSyncRing
	}
	e.sync.enabled, e.sync.threshold, e.sync.ringSize = true, th, 1<<bits.Len(uint(n-1))
	e.sync.master.Store(true)
	return true, p
}

func (e *Engine) addSyncRing(r *syncRing) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var rings []*syncRing
	if old := e.sync.rings.Load(); old != nil {
		rings = append(rings, *old...)
	}
	rings = append(rings, r)
	e.sync.rings.Store(&rings)
}

// SetSyncMaster starts (true) or stops (false) the queueing of connections by the workers,
// as the kernel's sync daemon's master state: the appliance follows VRRP with it. It takes
// effect at each worker's next batch. Without Options.Sync.Enabled it changes nothing.
func (e *Engine) SetSyncMaster(on bool) {
	if e.sync.enabled {
		e.sync.master.Store(on)
	}
}

// SyncMaster reports whether the workers queue connections for DrainSync.
func (e *Engine) SyncMaster() bool { return e.sync.master.Load() }

// DrainSync hands every queued record of every worker to fn, oldest first within each worker,
// and returns how many it handed over. A record is a connection or a persistence template
// (conntab.FlagTemplate) with its timeout (the timeout of the connection's state, or the
// template's persistence timeout); c.Mark is the firewall mark of its service (0 for a
// service by address): connsync's Conn.FromConntab(c, timeout, c.Mark). c points into the
// ring and is valid only during the call. A connection's template comes before it.
//
// The workers never wait for it. One caller at a time: concurrent calls take turns. fn must
// not call DrainSync.
func (e *Engine) DrainSync(fn func(c *conntab.Conn, timeout time.Duration)) int {
	rings := e.sync.rings.Load()
	if rings == nil {
		return 0
	}
	e.sync.drainMu.Lock()
	defer e.sync.drainMu.Unlock()
	n := 0
	for _, r := range *rings {
		n += r.drain(fn)
	}
	return n
}

// RangeSync calls fn with every connection and template the table holds, as DrainSync hands
// records over (c.Mark set; timeout the state's, or the template's persistence timeout),
// every template before any connection, until fn returns false: a full resend, for a backup
// that joins late. It reads the table shard by shard (conntab.Table.Range), not a snapshot,
// and does not touch the workers' rings.
func (e *Engine) RangeSync(fn func(c *conntab.Conn, timeout time.Duration) bool) {
	t := e.table.Load()
	more := true
	for _, templates := range []bool{true, false} {
		e.conns.Range(func(c *conntab.Conn) bool {
			if (c.Flags&conntab.FlagTemplate != 0) != templates {
				return true
			}
			timeout, ok := e.conns.StateTimeout(c.Proto, c.State), true
			if templates {
				timeout, ok = e.conns.Get(c.Self, e.Now(), c)
			}
			if !ok {
				return true // gone meanwhile
			}
			if s := t.dest(c.Dest); s != nil {
				c.Mark = s.d.svc.mark
			}
			more = fn(c, timeout)
			return more
		})
		if !more {
			return
		}
	}
}

// SyncStats returns the sync counters.
func (e *Engine) SyncStats() SyncStats {
	st := SyncStats{Installed: e.sync.installed.Load(), Updated: e.sync.updated.Load(), Refused: e.sync.refused.Load()}
	if rings := e.sync.rings.Load(); rings != nil {
		for _, r := range *rings {
			// tail first: a record drained after this read was queued before the head read.
			st.Drained += r.tail.Load()
			st.Queued += r.head.Load()
			st.Dropped += r.dropped.Load()
		}
	}
	return st
}

// syncRecord is one queued connection or template (conn.Mark set).
type syncRecord struct {
	conn    conntab.Conn
	timeout time.Duration
}

// syncRing is a bounded single-producer (its worker), single-consumer (DrainSync) queue.
// head and tail count records ever written and read; the producer owns head and reads tail,
// the consumer the reverse, each on its own cache lines.
type syncRing struct {
	recs []syncRecord
	mask uint64
	_    [128 - 32]byte

	head      atomic.Uint64 // written by the worker only
	tailCache uint64        // the worker's latest reading of tail
	dropped   atomic.Uint64 // written by the worker only
	_         [128 - 24]byte

	tail atomic.Uint64 // written by DrainSync only
	_    [128 - 8]byte
}

func newSyncRing(n int) *syncRing {
	return &syncRing{recs: make([]syncRecord, n), mask: uint64(n - 1)}
}

// slot returns the record to fill next, or nil (and counts a drop) when the ring is full.
// The record is queued only by publish.
func (r *syncRing) slot() *syncRecord {
	h := r.head.Load()
	if h-r.tailCache > r.mask {
		r.tailCache = r.tail.Load()
		if h-r.tailCache > r.mask {
			r.dropped.Store(r.dropped.Load() + 1)
			return nil
		}
	}
	return &r.recs[h&r.mask]
}

// publish queues the record slot returned.
func (r *syncRing) publish() { r.head.Store(r.head.Load() + 1) }

// drain hands the records queued so far to fn, freeing their room as it goes.
func (r *syncRing) drain(fn func(c *conntab.Conn, timeout time.Duration)) int {
	t, h := r.tail.Load(), r.head.Load()
	n := int(h - t)
	for t != h {
		rec := &r.recs[t&r.mask]
		fn(&rec.conn, rec.timeout)
		if t++; t&63 == 0 {
			r.tail.Store(t)
		}
	}
	r.tail.Store(t)
	return n
}

// syncConn queues connection c, which this worker just forwarded a packet of in direction
// dir (prev: its state before the packet), if the sync rule says so (see the top of this
// file), preceded by its template.
func (w *Worker) syncConn(t *Table, c *conntab.Conn, dir Dir, prev conntab.State, now int64) {
	if c.Proto == packet.ProtoTCP {
		switch c.State {
		case conntab.StateEstablished, conntab.StateFinWait, conntab.StateClose, conntab.StateCloseWait, conntab.StateTimeWait:
		default:
			return
		}
		if (c.State == prev || c.State == conntab.StateEstablished) && (dir != DirIn || c.Pkts != w.syncThr) {
			return
		}
	} else if dir != DirIn || c.Pkts != w.syncThr {
		return
	}
	var mark uint32
	if s := t.dest(c.Dest); s != nil {
		mark = s.d.svc.mark
	}
	if c.Tmpl != 0 {
		if r := w.ring.slot(); r != nil {
			if to, ok := w.e.conns.Get(c.Tmpl, now, &r.conn); ok {
				r.timeout, r.conn.Mark = to, mark
				w.ring.publish()
			}
		}
	}
	if r := w.ring.slot(); r != nil {
		r.conn, r.timeout = *c, w.e.conns.StateTimeout(c.Proto, c.State)
		r.conn.Mark = mark
		w.ring.publish()
	}
}

// syncTemplate queues template tc of svc, pinned to d, as a connection is scheduled through it.
func (w *Worker) syncTemplate(tc *conntab.Conn, svc *Service, d *Dest) {
	if r := w.ring.slot(); r != nil {
		r.conn, r.timeout = *tc, svc.cfg.Persistence
		r.conn.Mark = d.svc.mark
		w.ring.publish()
	}
}

// InstallSynced inserts or refreshes a connection or persistence template received from a
// master (IPVS's ip_vs_proc_conn), at time now, so that this engine forwards the connection's
// next packet to the same real server without scheduling it. c is what connsync's
// Conn.ToConntab fills (Method an lb.Method, State, flags, addresses; Dest, Tmpl and Self are
// ignored) plus Mark, the record's firewall mark (0 for a service by address); timeout is
// the record's (0: the table's own for the state, or for a template its current or default
// persistence timeout). On success *c is the entry as installed (Dest, Tmpl, Self here).
//
//   - The service is the firewall-mark service of c.Mark, or else the one a packet of the
//     connection would find (marks, then protocol, VIP and port, then port 0); a template's
//     is named by its key. The real server is the service's (or its sorry server) with the
//     record's address and port, or port 0 for a server that takes the client's port. Either
//     missing: ErrSyncNoService, ErrSyncNoServer. A method other than the server's here, or a
//     full-NAT local address not in the service's pool: ErrSyncMismatch.
//   - The state is kept (TCP's numbers are conntab's; other protocols have one state), and the
//     entry expires timeout after now unless packets refresh it. Its real server's Active /
//     Inactive (Persist for a template) counts follow, as for any entry.
//   - A connection of a persistent service is linked to its template when that is here and
//     pins the same server (the master sends the template first).
//   - An existing entry of the same connection is refreshed (state, timeout), not duplicated;
//     one with another real server or local endpoint is replaced.
//   - A full-NAT connection keeps its local endpoint; this needs the master's Options.Seed
//     and Shards (else conntab.ErrInvalid). Owning the local address is the appliance's
//     business.
//
// It takes no engine lock: it is safe while workers forward and Apply publishes.
func (e *Engine) InstallSynced(c *conntab.Conn, timeout time.Duration, now int64) error {
	updated, err := e.installSynced(c, timeout, now)
	switch {
	case err != nil:
		e.sync.refused.Add(1)
	case updated:
		e.sync.updated.Add(1)
	default:
		e.sync.installed.Add(1)
	}
	return err
}

func (e *Engine) installSynced(in *conntab.Conn, timeout time.Duration, now int64) (bool, error) {
	if in.Family != packet.FamilyIPv4 && in.Family != packet.FamilyIPv6 {
		return false, fmt.Errorf("lb: synced connection: %w: address family %d", conntab.ErrInvalid, in.Family)
	}
	t := e.table.Load()
	isTmpl := in.Flags&conntab.FlagTemplate != 0
	svc := t.syncService(in, isTmpl)
	if svc == nil {
		return false, fmt.Errorf("%w: %s", ErrSyncNoService, connString(in))
	}
	d := svc.findDest(&in.DAddr, in.DPort)
	if d == nil {
		return false, fmt.Errorf("%w: %s (%s)", ErrSyncNoServer, connString(in), &svc.cfg)
	}
	m := Method(in.Method)
	if here := t.dests[d.id].method; m != here {
		return false, fmt.Errorf("%w: %s: method %v, here %v", ErrSyncMismatch, connString(in), m, here)
	}
	c := conntab.Conn{
		Family: in.Family, Proto: in.Proto, Method: uint8(m), Dest: d.id,
		CAddr: in.CAddr, CPort: in.CPort, VAddr: in.VAddr, VPort: in.VPort, DAddr: in.DAddr, DPort: in.DPort,
	}
	if isTmpl {
		c.Flags, c.State = conntab.FlagTemplate, conntab.StateTemplate
	} else {
		if m.InputOnly() {
			c.Flags |= conntab.FlagInputOnly
		}
		if m == MethodFullNAT {
			if !svc.hasLocal(in.Family, &in.LAddr) {
				return false, fmt.Errorf("%w: %s: local address %s is not in the service's pool", ErrSyncMismatch, connString(in), packet.AddrFrom(in.Family, &in.LAddr))
			}
			c.Flags |= conntab.FlagFullNAT
			c.LAddr, c.LPort = in.LAddr, in.LPort
		}
		c.State = in.State
		if c.Proto != packet.ProtoTCP {
			c.State = conntab.StateUDP
		}
		if e.sync.enabled {
			c.Pkts = uint8(e.sync.threshold) // as the kernel sets in_pkts on a backup
		}
		if svc.cfg.Persistence > 0 {
			var k packet.FlowKey
			var tc conntab.Conn
			svc.templateKey(&k, c.Family, c.Proto, &c.CAddr, &c.VAddr)
			if e.conns.LookupTemplate(&k, now, &tc) && tc.Dest == d.id {
				c.Tmpl = tc.Self
			}
		}
	}
	updated, err := e.conns.Install(&c, timeout, now)
	if err != nil {
		return false, fmt.Errorf("lb: synced connection %s: %w", connString(in), err)
	}
	c.Mark = svc.cfg.Mark
	*in = c
	return updated, nil
}

// syncService finds the service of a synced connection or template (see InstallSynced).
func (t *Table) syncService(c *conntab.Conn, tmpl bool) *Service {
	if tmpl {
		if c.Proto == 0 { // firewall mark in VAddr (worker.persist)
			return t.marked[markKey{binary.BigEndian.Uint32(c.VAddr[:4]), c.Family}]
		}
		return t.services[svcKey{proto: c.Proto, family: c.Family, port: c.VPort, addr: c.VAddr}]
	}
	if c.Mark != 0 {
		return t.marked[markKey{c.Mark, c.Family}]
	}
	k := packet.FlowKey{Family: c.Family, Proto: c.Proto, Src: c.CAddr, SrcPort: c.CPort, Dst: c.VAddr, DstPort: c.VPort}
	return t.lookup(&k)
}

// findDest returns the service's real server (or sorry server) at addr and port, or at addr
// with port 0 (a server that takes the client's port), as the kernel's ip_vs_find_dest.
func (s *Service) findDest(addr *[16]byte, port uint16) *Dest {
	var any *Dest
	match := func(d *Dest) bool {
		if d == nil || addrArray(d.Addr) != *addr {
			return false
		}
		if d.Port == port {
			return true
		}
		if d.Port == 0 && any == nil {
			any = d
		}
		return false
	}
	for _, d := range s.dests {
		if match(d) {
			return d
		}
	}
	if match(s.sorry) {
		return s.sorry
	}
	return any
}

// hasLocal reports whether a is one of the service's full-NAT local addresses.
func (s *Service) hasLocal(fam packet.Family, a *[16]byte) bool {
	for _, l := range s.cfg.LocalAddrs {
		if addrArray(l) == *a && l.Is4() == (fam == packet.FamilyIPv4) {
			return true
		}
	}
	return false
}

// connString names a synced connection for errors: "TCP 203.0.113.7:40000 > 10.0.0.1:80 >
// 192.168.1.20:8080" (a template's client port is 0; a firewall-mark template's VIP is the
// mark).
func connString(c *conntab.Conn) string {
	ep := func(a *[16]byte, port uint16) string {
		fam := c.Family
		if fam == packet.FamilyIPv4 && [12]byte(a[4:]) != [12]byte{} {
			fam = packet.FamilyIPv6 // a TUN server of the other family
		}
		return netip.AddrPortFrom(packet.AddrFrom(fam, a), port).String()
	}
	kind := protoName(c.Proto)
	if c.Flags&conntab.FlagTemplate != 0 {
		kind += " template"
	}
	s := fmt.Sprintf("%s %s > %s > %s", kind, ep(&c.CAddr, c.CPort), ep(&c.VAddr, c.VPort), ep(&c.DAddr, c.DPort))
	if c.Mark != 0 {
		s += fmt.Sprintf(" (FWM %d)", c.Mark)
	}
	return s
}
