package lb

import (
	"sync/atomic"

	"github.com/uvs-lb/uvs/lb/conntab"
	"github.com/uvs-lb/uvs/lb/sched"
	"github.com/uvs-lb/uvs/packet"
)

// localPortTries bounds the search for a free full-NAT local port per new connection.
const localPortTries = 32

// Worker runs the data path for one port loop. It is not safe for concurrent use: give each
// goroutine its own (they share the Engine).
type Worker struct {
	_ [falseSharingPad]byte // workers are allocated one after the other: no shared lines

	e     *Engine
	slot  int  // counter line
	owned bool // this worker is the only writer of its counter line

	// WorkerStats, written only by this worker, read by anyone.
	forwarded, passed, newConns atomic.Uint64
	drops                       [NumDropReasons]atomic.Uint64

	in  sched.Input
	key packet.FlowKey

	// Connection sync (master side): the ring DrainSync empties, nil when Options.Sync is
	// off; syncOn is whether this batch queues (sync enabled and the engine is master).
	ring    *syncRing
	syncOn  bool
	syncThr uint8 // SyncOptions.Threshold

	dropCount int32 // drop_packet's countdown (todrop)

	pend pendingCounts // this batch's packet counts, written out at its end

	_ [falseSharingPad]byte
}

// falseSharingPad is two 64-byte lines: adjacent-line prefetch makes 128 bytes the unit of
// false sharing between cores.
const falseSharingPad = 128

// WorkerStats is a snapshot of one worker's verdict counts.
type WorkerStats struct {
	Forwarded, Passed, NewConns uint64
	Drops                       [NumDropReasons]uint64
}

// NewWorker returns a worker bound to e.
func (e *Engine) NewWorker() *Worker {
	slot := int(e.workers.Add(1) - 1)
	w := &Worker{e: e, slot: slot, owned: slot < counterShards}
	if e.sync.enabled {
		w.ring, w.syncThr = newSyncRing(e.sync.ringSize), uint8(e.sync.threshold)
		e.addSyncRing(w.ring)
	}
	return w
}

// Stats returns the worker's counts.
func (w *Worker) Stats() WorkerStats {
	s := WorkerStats{Forwarded: w.forwarded.Load(), Passed: w.passed.Load(), NewConns: w.newConns.Load()}
	for i := range s.Drops {
		s.Drops[i] = w.drops[i].Load()
	}
	return s
}

// Process parses frames[i] into pkts[i] and decides out[i] for each, at time now (one
// reading of Engine.Now per batch: engine time, not the Clock's raw reading). pkts and out
// must be at least as long as frames. It loads the published table once, takes no global
// lock and does not allocate.
func (w *Worker) Process(frames [][]byte, pkts []packet.Packet, out []Verdict, now int64) {
	t := w.e.table.Load()
	w.syncOn = w.ring != nil && w.e.sync.master.Load()
	var forwarded, passed uint64 // added to the shared counters once per batch, not per packet
	for i, f := range frames {
		p, v := &pkts[i], &out[i]
		*v = Verdict{}
		if err := packet.Parse(f, p); err != nil {
			// Not IP (LLDP...) or IP the parser does not take apart: the host stack's to
			// judge. Broken headers are dropped here and counted.
			if err == packet.ErrNotIP || err == packet.ErrUnsupported {
				passed++
			} else {
				w.drop(v, DropMalformed)
			}
			continue
		}
		w.decide(t, p, v, now)
		switch v.Action {
		case ActForward:
			forwarded++
		case ActPass:
			passed++
		}
	}
	w.pend.flush(w.slot, w.owned)
	w.forwarded.Add(forwarded)
	w.passed.Add(passed)
}

// Decide decides one already-parsed packet (for callers that parse themselves, such as the
// receive side of a tunnel).
func (w *Worker) Decide(p *packet.Packet, v *Verdict, now int64) {
	*v = Verdict{}
	w.syncOn = w.ring != nil && w.e.sync.master.Load()
	w.decide(w.e.table.Load(), p, v, now)
	w.pend.flush(w.slot, w.owned)
}

func (w *Worker) drop(v *Verdict, r DropReason) {
	v.Action, v.Reason = ActDrop, r
	w.drops[r].Add(1)
}

func (w *Worker) decide(t *Table, p *packet.Packet, v *Verdict, now int64) {
	if p.Key.Family == packet.FamilyNone {
		return // ARP and other non-IP: the host stack's business
	}
	if p.Flags&packet.FlagICMPError != 0 {
		w.icmpError(t, p, v, now)
		return
	}
	switch p.Key.Proto {
	case packet.ProtoTCP, packet.ProtoUDP:
	default:
		return // ICMP echo, VRRP, tunnels to the appliance...: the host stack answers
	}
	if p.Flags&packet.FlagL4 == 0 {
		// A non-first fragment carries no ports. Fragments of virtual-service traffic are
		// dropped (and counted) until reassembly exists; the rest is the host's.
		if p.Flags&packet.FlagFragment != 0 && t.isVIP(&p.Key) {
			w.drop(v, DropFragment)
		}
		return
	}
	c := &v.Conn
	// A packet to a VIP can only be inbound; anything else may be a reply.
	vipe := t.vipIdx.get(p.Key.Family, &p.Key.Dst)
	var dir Dir
	var ok bool
	if vipe != nil {
		dir, ok = DirIn, w.e.conns.LookupInbound(&p.Key, p.TCPFlags, now, c)
	} else {
		dir, ok = w.e.conns.Lookup(&p.Key, p.TCPFlags, now, c)
	}
	if ok && dir == DirIn && w.reschedule(t, p, c) {
		ok = false
	}
	if ok {
		w.existing(t, p, v, dir)
		if w.syncOn && v.Action == ActForward {
			w.syncConn(t, c, dir, c.Prev, now)
		}
		return
	}
	var svc *Service
	if len(t.marked) > 0 {
		svc = t.lookup(&p.Key)
	} else if vipe != nil {
		svc = vipe.find(p.Key.Proto, p.Key.DstPort)
	}
	if svc == nil {
		return // not a virtual service and no connection: the host stack answers (RST, port unreachable)
	}
	if p.Flags&packet.FlagFragment != 0 {
		w.drop(v, DropFragment)
		return
	}
	// Only a packet that may open a connection schedules one (IPVS: SYN without RST, or any
	// non-RST segment with sloppy_tcp); any other TCP segment goes to the host, which answers
	// with RST, as IPVS leaves it to the local stack.
	if p.Key.Proto == packet.ProtoTCP &&
		(p.TCPFlags&packet.TCPRst != 0 || (p.TCPFlags&packet.TCPSyn == 0 && !t.sloppyTCP)) {
		return
	}
	w.newConn(t, svc, p, v, now)
}

// reschedule applies conn_reuse_mode and expire_nodest_conn to a new SYN that hit an old
// connection (a client reusing its port). It reports whether the old entry was expired so the
// packet is scheduled afresh.
func (w *Worker) reschedule(t *Table, p *packet.Packet, c *conntab.Conn) bool {
	if t.reuseMode == 0 || p.Key.Proto != packet.ProtoTCP || p.TCPFlags&(packet.TCPSyn|packet.TCPAck|packet.TCPRst|packet.TCPFin) != packet.TCPSyn {
		return false
	}
	resched := false
	if s := t.dest(c.Dest); t.expireNoDst && s != nil && (s.svc == nil || s.weight == 0) {
		resched = true
	} else if c.Tmpl == 0 && // IPVS leaves a connection a persistence template controls alone
		(c.Prev == conntab.StateTimeWait || c.Prev == conntab.StateClose || // the state before this SYN moved it
			(t.reuseMode&2 != 0 && c.Prev == conntab.StateFinWait && c.Flags&conntab.FlagInputOnly != 0)) {
		// IPVS's is_new_conn_expected: TIME_WAIT and CLOSE (a connection that ended in a
		// reset, such as one the server refused), and FIN_WAIT of DR/TUN with bit 1.
		resched = true
	}
	if resched {
		w.e.conns.Delete(c.Self)
	}
	return resched
}

// existing forwards a packet of a known connection.
func (w *Worker) existing(t *Table, p *packet.Packet, v *Verdict, dir Dir) {
	c := &v.Conn
	s := t.dest(c.Dest)
	if s != nil && s.svc == nil && t.expireNoDst {
		w.e.conns.Delete(c.Self)
		w.drop(v, DropNoDest)
		return
	}
	v.Action, v.Method, v.Dir = ActForward, Method(c.Method), dir
	if s != nil {
		if v.Method == MethodTUN {
			v.Tunnel = s.tun
		}
		w.pend.packet(&s.d.ctrs, dir, p.Len, w.slot, w.owned)
		if s.svc != nil {
			w.pend.packet(&s.svc.ident.counters, dir, p.Len, w.slot, w.owned)
		}
	}
}

// icmpError finds the connection an ICMP error is about from the embedded header (the packet
// that caused it, travelling the other way) and forwards it with that connection.
func (w *Worker) icmpError(t *Table, p *packet.Packet, v *Verdict, now int64) {
	if p.Inner.L4Off == 0 {
		return
	}
	w.key = p.Inner.Key.Reverse()
	dir, ok := w.e.conns.Lookup(&w.key, 0, now, &v.Conn)
	if !ok {
		return
	}
	v.ICMPError = true
	w.existing(t, p, v, dir)
}

// newConn schedules a new connection for svc: persistence, scheduler, sorry server, insert.
func (w *Worker) newConn(t *Table, svc *Service, p *packet.Packet, v *Verdict, now int64) {
	if w.todrop() { // drop_packet, before any work for the connection (IPVS: conn_schedule)
		w.drop(v, DropDefense)
		return
	}
	c := &v.Conn
	var d *Dest
	var m Method
	var tmpl conntab.Ref
	if svc.cfg.Persistence > 0 {
		d, m, tmpl = w.persist(t, svc, p, now)
	} else {
		d, m = w.schedule(svc, p)
	}
	if d == nil {
		w.drop(v, DropNoServer)
		v.Action = ActReject
		return
	}
	k := &p.Key
	*c = conntab.Conn{
		Family: k.Family, Proto: k.Proto, Method: uint8(m), Dest: d.id, Tmpl: tmpl,
		CAddr: k.Src, CPort: k.SrcPort, VAddr: k.Dst, VPort: k.DstPort,
		DAddr: addrArray(d.Addr), DPort: d.Port,
		Pkts: 1, // the packet that opens it, when the table counts packets (sync)
	}
	if c.DPort == 0 {
		c.DPort = k.DstPort
	}
	if m.InputOnly() {
		c.Flags |= conntab.FlagInputOnly
	}
	v.Action, v.Method, v.Dir = ActForward, m, DirIn
	if m == MethodTUN {
		v.Tunnel = t.dests[d.id].tun
	}
	if svc.cfg.OnePacket && k.Proto == packet.ProtoUDP {
		// One-packet scheduling: forward without remembering the connection.
		if m == MethodFullNAT && !w.pickLocal(svc, c, 0) {
			w.drop(v, DropNoLocalPort)
			return
		}
		w.counted(svc, d, p)
		return
	}
	if r := w.insert(svc, c, m, p, now); r != DropNone {
		w.drop(v, r)
		return
	}
	w.counted(svc, d, p)
	if w.syncOn {
		w.syncConn(t, c, DirIn, conntab.StateNone, now)
	}
}

func (w *Worker) counted(svc *Service, d *Dest, p *packet.Packet) {
	w.newConns.Add(1)
	d.ctrs.conn(w.slot, w.owned)
	w.pend.packet(&d.ctrs, DirIn, p.Len, w.slot, w.owned)
	svc.ident.counters.conn(w.slot, w.owned)
	w.pend.packet(&svc.ident.counters, DirIn, p.Len, w.slot, w.owned)
}

// insert adds c to the connection table, choosing a full-NAT local endpoint when needed.
// On a lost race the winner's entry replaces c, which is the right one to forward with.
func (w *Worker) insert(svc *Service, c *conntab.Conn, m Method, p *packet.Packet, now int64) DropReason {
	for try := 0; ; try++ {
		if m == MethodFullNAT && (try == localPortTries || !w.pickLocal(svc, c, try)) {
			return DropNoLocalPort
		}
		switch err := w.e.conns.Insert(c, p.TCPFlags, 0, now); err {
		case nil, conntab.ErrExists:
			return DropNone
		case conntab.ErrReplyExists:
			if m != MethodFullNAT {
				// A real server endpoint already talks to this client endpoint through
				// another service: the reply could not be told apart.
				return DropTableFull
			}
		default: // ErrFull
			return DropTableFull
		}
	}
}

// pickLocal chooses the full-NAT local address (by client address, so a client keeps one)
// and the try-th local port that lands in the connection's shard.
func (w *Worker) pickLocal(svc *Service, c *conntab.Conn, try int) bool {
	la := svc.cfg.LocalAddrs
	if len(la) == 0 {
		return false
	}
	h := packet.HashAddr(0, &c.CAddr)
	packet.AddrTo(la[h%uint64(len(la))], &c.LAddr)
	c.Flags |= conntab.FlagFullNAT
	lo, hi := svc.localPorts[0], svc.localPorts[1]
	// Start at a point derived from the client port so concurrent clients spread over the
	// range instead of all probing its first ports.
	span := (int(hi) - int(lo) + 1) / w.e.conns.Shards()
	if span < 1 {
		span = 1
	}
	n := (int(c.CPort) + try) % span
	port, ok := w.e.conns.LocalPort(c, lo, hi, n)
	if !ok {
		port, ok = w.e.conns.LocalPort(c, lo, hi, 0)
	}
	c.LPort = port
	return ok
}

// schedule asks svc's scheduler for a server, falling back to the sorry server.
func (w *Worker) schedule(svc *Service, p *packet.Packet) (*Dest, Method) {
	svc.refreshOverload()
	in := &w.in
	in.Src, in.Dst = p.Key.SrcAddr(), p.Key.DstAddr()
	in.SrcPort, in.DstPort, in.Proto = p.Key.SrcPort, p.Key.DstPort, p.Key.Proto
	if i := svc.sched.Pick(in); i >= 0 {
		return svc.dests[i], svc.methods[i]
	}
	if svc.sorry != nil && svc.sorryWeight > 0 {
		return svc.sorry, svc.sorryMethod
	}
	return nil, 0
}

// persist implements IPVS persistence: a template keyed by the client's masked address pins
// its connections to one server; a template whose server left (or is quiesced, with
// expire_quiescent_template) is dropped and the client scheduled afresh.
func (w *Worker) persist(t *Table, svc *Service, p *packet.Packet, now int64) (*Dest, Method, conntab.Ref) {
	k := &w.key
	svc.templateKey(k, p.Key.Family, p.Key.Proto, &p.Key.Src, &p.Key.Dst)
	var tc conntab.Conn
	tab := w.e.conns
	if tab.LookupTemplate(k, now, &tc) {
		if s := t.dest(tc.Dest); s != nil && s.svc == svc && !(t.expireQuiet && s.weight == 0) {
			tab.Touch(tc.Self, svc.cfg.Persistence, now)
			if w.syncOn {
				w.syncTemplate(&tc, svc, s.d)
			}
			return s.d, s.method, tc.Self
		}
		tab.Delete(tc.Self)
	}
	d, m := w.schedule(svc, p)
	if d == nil {
		return nil, 0, 0
	}
	tc = conntab.Conn{
		Family: k.Family, Proto: k.Proto, Flags: conntab.FlagTemplate, Method: uint8(m), Dest: d.id,
		CAddr: k.Src, VAddr: k.Dst, VPort: k.DstPort, DAddr: addrArray(d.Addr), DPort: d.Port,
	}
	switch err := tab.Insert(&tc, 0, svc.cfg.Persistence, now); err {
	case nil:
	case conntab.ErrExists: // another worker made it first: follow its choice
		if s := t.dest(tc.Dest); s != nil {
			return s.d, s.method, tc.Self
		}
		return d, m, 0
	default:
		return d, m, 0 // table full: serve the connection without persistence
	}
	if w.syncOn {
		w.syncTemplate(&tc, svc, d)
	}
	return d, m, tc.Self
}

// templateKey fills k with the key of svc's persistence template for a client at src
// reaching dst with proto: the client address under the persistence mask, and the service
// (the VIP, protocol and service port, or the firewall mark).
func (s *Service) templateKey(k *packet.FlowKey, fam packet.Family, proto uint8, src, dst *[16]byte) {
	*k = packet.FlowKey{Family: fam}
	for i := range k.Src {
		k.Src[i] = src[i] & s.persistMask[i]
	}
	if m := s.cfg.Mark; m != 0 {
		k.Dst[0], k.Dst[1], k.Dst[2], k.Dst[3] = byte(m>>24), byte(m>>16), byte(m>>8), byte(m)
	} else {
		k.Proto, k.Dst, k.DstPort = proto, *dst, s.cfg.Port
	}
}

// refreshOverload applies IPVS's threshold hysteresis to the servers that have thresholds:
// OVERLOAD is set at Upper connections and cleared below Lower (or 3/4 of Upper).
func (s *Service) refreshOverload() {
	for _, th := range s.thresholds {
		c := &s.dests[th.idx].counts
		n := uint32(c.Active.Load() + c.Inactive.Load())
		up, low := th.upper, th.lower
		if c.Overloaded.Load() {
			if (low != 0 && n < low) || (low == 0 && n*4 < up*3) {
				c.Overloaded.Store(false)
			}
		} else if n >= up {
			c.Overloaded.Store(true)
		}
	}
}

// isVIP reports whether a packet is addressed to a virtual service's address.
func (t *Table) isVIP(k *packet.FlowKey) bool {
	return t.vipIdx.get(k.Family, &k.Dst) != nil
}
