package lb

import (
	"errors"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/lb/conntab"
	"github.com/uvs-lb/uvs/packet"
	"github.com/uvs-lb/uvs/packet/packettest"
)

// syncRec is one record DrainSync handed over.
type syncRec struct {
	c       conntab.Conn
	timeout time.Duration
}

func drainAll(e *Engine) []syncRec {
	var out []syncRec
	e.DrainSync(func(c *conntab.Conn, timeout time.Duration) { out = append(out, syncRec{*c, timeout}) })
	return out
}

func withSync(o SyncOptions) Options {
	o.Enabled = true
	return Options{Sync: o}
}

func udpService(servers ...netip.Addr) ServiceConfig {
	s := ServiceConfig{Proto: packet.ProtoUDP, VIP: vip, Port: 53, Scheduler: "rr"}
	for _, a := range servers {
		s.Servers = append(s.Servers, ServerConfig{Addr: a, Port: 5353, Weight: 1})
	}
	return s
}

func clientN(i int) netip.Addr { return netip.AddrFrom4([4]byte{203, 0, 113, byte(10 + i)}) }

// mustForward sends f and fails unless it is forwarded.
func (r *rig) mustForward(f packettest.Frame) Verdict {
	r.t.Helper()
	v := r.send(f)
	if v.Action != ActForward {
		r.t.Fatalf("%v > %v: %v %v, want forward", f.Src, f.Dst, v.Action, v.Reason)
	}
	return v
}

// TestSyncThresholdPeriod: a connection is queued when its inbound packet count n has
// n % Period == Threshold (Period 0: n == Threshold), replies not counted.
func TestSyncThresholdPeriod(t *testing.T) {
	cases := []struct {
		name string
		o    SyncOptions
		n    int
		want []int
	}{
		{"defaults 3/50", SyncOptions{}, 210, []int{3, 53, 103, 153, 203}},
		{"0/10", SyncOptions{Period: 10}, 35, []int{10, 20, 30}},
		{"5, no period", SyncOptions{Threshold: 5}, 300, []int{5}},
		{"every packet", SyncOptions{Period: 1}, 4, []int{1, 2, 3, 4}},
		{"3/256", SyncOptions{Threshold: 3, Period: 256}, 300, []int{3, 259}},
	}
	for _, tc := range cases {
		r := newRig(t, &Config{Services: []ServiceConfig{udpService(rs1)}}, withSync(tc.o))
		c := ap(client1, 4000)
		var got []int
		for n := 1; n <= tc.n; n++ {
			r.mustForward(udp(c, ap(vip, 53)))
			r.mustForward(udp(ap(rs1, 5353), c)) // replies do not count
			recs := drainAll(r.e)
			if len(recs) == 0 {
				continue
			}
			got = append(got, n)
			rec := recs[0]
			if len(recs) != 1 || rec.c.CPort != 4000 || rec.c.State != conntab.StateUDP || rec.timeout != 5*time.Minute {
				t.Fatalf("%s: packet %d: records %+v", tc.name, n, recs)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: synced at packets %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestSyncTCPStates: ESTABLISHED at the threshold packet (not when the ACK makes it so), the
// closing states at once (a reply's transition too), SYN_RECV never.
func TestSyncTCPStates(t *testing.T) {
	type step struct {
		f    packettest.Frame
		want conntab.State // StateNone: no record
	}
	c, vp, rs := ap(client1, 7000), ap(vip, 80), ap(rs1, 8080)
	nat := []step{
		{tcp(c, vp, packet.TCPSyn), 0},                                    // 1: SYN_RECV
		{tcp(rs, c, packet.TCPSyn|packet.TCPAck), 0},                      //    reply
		{tcp(c, vp, packet.TCPAck), 0},                                    // 2: ESTABLISHED, not forced
		{tcp(c, vp, packet.TCPAck), conntab.StateEstablished},             // 3: threshold
		{tcp(rs, c, packet.TCPAck), 0},                                    //    reply
		{tcp(c, vp, packet.TCPFin|packet.TCPAck), conntab.StateCloseWait}, // 4: forced
		{tcp(rs, c, packet.TCPFin|packet.TCPAck), conntab.StateTimeWait},  //    reply, forced
		{tcp(c, vp, packet.TCPAck), 0},                                    // 5: no change
		{tcp(c, vp, packet.TCPAck|packet.TCPPsh), 0},                      // 6
	}
	dr := []step{
		{tcp(c, vp, packet.TCPSyn), 0},
		{tcp(c, vp, packet.TCPAck), 0},
		{tcp(c, vp, packet.TCPAck), conntab.StateEstablished},
		{tcp(c, vp, packet.TCPFin|packet.TCPAck), conntab.StateFinWait}, // INPUT_ONLY
		{tcp(c, vp, packet.TCPAck), 0},
	}
	rst := []step{
		{tcp(c, vp, packet.TCPSyn), 0},
		{tcp(c, vp, packet.TCPSyn), 0}, // retransmitted SYNs: SYN_RECV is never synced,
		{tcp(c, vp, packet.TCPSyn), 0}, // not even at the threshold
		{tcp(rs, c, packet.TCPSyn|packet.TCPAck), 0},
		{tcp(c, vp, packet.TCPAck), 0}, // 4: ESTABLISHED after the threshold: not yet
		{tcp(c, vp, packet.TCPRst), conntab.StateClose},
	}
	drSvc := ServiceConfig{Proto: packet.ProtoTCP, VIP: vip, Port: 80, Scheduler: "rr", Method: MethodDR,
		Servers: []ServerConfig{{Addr: rs1, Weight: 1}}}
	timeouts := conntab.DefaultTimeouts()
	for name, tc := range map[string]struct {
		svc   ServiceConfig
		steps []step
	}{"NAT": {natService("rr", rs1), nat}, "DR": {drSvc, dr}, "RST": {natService("rr", rs1), rst}} {
		r := newRig(t, &Config{Services: []ServiceConfig{tc.svc}}, withSync(SyncOptions{}))
		for i, s := range tc.steps {
			v := r.mustForward(s.f)
			recs := drainAll(r.e)
			switch {
			case s.want == 0 && len(recs) != 0:
				t.Fatalf("%s step %d (%v): unexpected records %+v", name, i, v.Conn.State, recs)
			case s.want == 0:
			case len(recs) != 1:
				t.Fatalf("%s step %d: %d records, want one in %v", name, i, len(recs), s.want)
			case recs[0].c.State != s.want || recs[0].timeout != timeouts.TCP[s.want] || recs[0].c.Self != v.Conn.Self:
				t.Fatalf("%s step %d: record %v timeout %v, want %v %v", name, i, recs[0].c.State, recs[0].timeout, s.want, timeouts.TCP[s.want])
			}
		}
	}
}

// TestSyncNewConnections: a new connection is sent once it has Threshold packets; one that
// never gets there, or that is never a connection (one-packet scheduling), never is.
func TestSyncNewConnections(t *testing.T) {
	ops := udpService(rs1, rs2)
	ops.Port, ops.OnePacket = 54, true
	r := newRig(t, &Config{Services: []ServiceConfig{natService("wlc", rs1, rs2), udpService(rs1), ops}}, withSync(SyncOptions{}))
	vp := ap(vip, 80)
	for i := 0; i < 20; i++ {
		c := ap(clientN(i), 20000)
		v := r.mustForward(tcp(c, vp, packet.TCPSyn))
		r.mustForward(tcp(realOf(v), c, packet.TCPSyn|packet.TCPAck))
		r.mustForward(tcp(c, vp, packet.TCPAck))
		if recs := drainAll(r.e); len(recs) != 0 {
			t.Fatalf("conn %d synced before its third packet: %+v", i, recs)
		}
		r.mustForward(tcp(c, vp, packet.TCPAck|packet.TCPPsh))
		recs := drainAll(r.e)
		if len(recs) != 1 || recs[0].c.CAddr != addrArray(clientN(i)) || recs[0].c.Dest != v.Conn.Dest ||
			recs[0].c.DAddr != v.Conn.DAddr || recs[0].c.Method != uint8(MethodNAT) || recs[0].c.State != conntab.StateEstablished {
			t.Fatalf("conn %d: records %+v", i, recs)
		}
	}
	for i := 0; i < 20; i++ {
		c := ap(clientN(i), 30000)
		for range i%2 + 1 { // one or two datagrams
			r.mustForward(udp(c, ap(vip, 53)))
		}
		for range 10 { // one-packet scheduling: ten datagrams, no connection
			r.mustForward(udp(c, ap(vip, 54)))
		}
	}
	if recs := drainAll(r.e); len(recs) != 0 {
		t.Fatalf("short UDP flows or one-packet datagrams synced: %+v", recs)
	}
	if st := r.e.SyncStats(); st.Queued != 20 || st.Drained != 20 || st.Dropped != 0 {
		t.Errorf("stats %+v, want 20 queued and drained", st)
	}
}

// TestSyncTemplateFirst: a connection under a template comes after the template, the template
// is queued when a connection is scheduled through it, and records carry the service's mark.
func TestSyncTemplateFirst(t *testing.T) {
	byAddr := natService("rr", rs1, rs2)
	byAddr.Persistence = time.Minute
	byMark := ServiceConfig{Mark: 80, Family: packet.FamilyIPv4, Scheduler: "rr", Persistence: 2 * time.Minute,
		Servers: []ServerConfig{{Addr: rs1, Weight: 1}, {Addr: rs2, Weight: 1}}}
	marks := []MarkRule{{Proto: packet.ProtoTCP, Dst: netip.PrefixFrom(vip, 32), Ports: []PortRange{{80, 80}, {443, 443}}, Mark: 80}}
	for _, tc := range []struct {
		name    string
		cfg     *Config
		persist time.Duration
		mark    uint32
	}{
		{"by address", &Config{Services: []ServiceConfig{byAddr}}, time.Minute, 0},
		{"by mark", &Config{Services: []ServiceConfig{byMark}, Marks: marks}, 2 * time.Minute, 80},
	} {
		r := newRig(t, tc.cfg, withSync(SyncOptions{}))
		c, vp := ap(client1, 1000), ap(vip, 80)
		v := r.mustForward(tcp(c, vp, packet.TCPSyn))
		isTmpl := func(rec syncRec) bool {
			return rec.c.Flags&conntab.FlagTemplate != 0 && rec.c.Self == v.Conn.Tmpl && rec.c.Dest == v.Conn.Dest &&
				rec.timeout == tc.persist && rec.c.Mark == tc.mark && rec.c.CAddr == addrArray(client1)
		}
		if recs := drainAll(r.e); len(recs) != 1 || !isTmpl(recs[0]) {
			t.Fatalf("%s: new template: records %+v", tc.name, recs)
		}
		r.mustForward(tcp(realOf(v), c, packet.TCPSyn|packet.TCPAck))
		r.mustForward(tcp(c, vp, packet.TCPAck))
		r.mustForward(tcp(c, vp, packet.TCPAck))
		recs := drainAll(r.e)
		if len(recs) != 2 || !isTmpl(recs[0]) || recs[1].c.Self != v.Conn.Self || recs[1].c.Tmpl != v.Conn.Tmpl || recs[1].c.Mark != tc.mark {
			t.Fatalf("%s: at the threshold: records %+v, want the template then the connection", tc.name, recs)
		}
		// A second connection of the client reuses the template, which is sent again.
		v2 := r.mustForward(tcp(ap(client1, 1001), vp, packet.TCPSyn))
		if recs := drainAll(r.e); v2.Conn.Tmpl != v.Conn.Tmpl || len(recs) != 1 || !isTmpl(recs[0]) {
			t.Fatalf("%s: template reused: records %+v", tc.name, recs)
		}
	}
}

// TestSyncRingOverflow: a full ring drops the newest records and counts them; draining makes
// room again.
func TestSyncRingOverflow(t *testing.T) {
	o := withSync(SyncOptions{Period: 1, RingSize: 3}) // every packet; rounded up to 4
	r := newRig(t, &Config{Services: []ServiceConfig{udpService(rs1)}}, o)
	for i := 0; i < 10; i++ {
		r.mustForward(udp(ap(client1, uint16(100+i)), ap(vip, 53)))
	}
	if st := r.e.SyncStats(); st.Queued != 4 || st.Dropped != 6 || st.Drained != 0 {
		t.Fatalf("stats %+v, want 4 queued, 6 dropped", st)
	}
	recs := drainAll(r.e)
	var ports []uint16
	for _, rec := range recs {
		ports = append(ports, rec.c.CPort)
	}
	if !slices.Equal(ports, []uint16{100, 101, 102, 103}) {
		t.Fatalf("drained %v, want the four oldest", ports)
	}
	r.mustForward(udp(ap(client1, 200), ap(vip, 53)))
	if recs := drainAll(r.e); len(recs) != 1 || recs[0].c.CPort != 200 {
		t.Fatalf("after draining: %+v", recs)
	}
	if st := r.e.SyncStats(); st.Queued != 5 || st.Dropped != 6 || st.Drained != 5 {
		t.Fatalf("stats %+v", st)
	}
}

// TestSyncMasterSwitch: nothing is queued while not master, nor without sync; bad options
// are refused.
func TestSyncMasterSwitch(t *testing.T) {
	r := newRig(t, &Config{Services: []ServiceConfig{udpService(rs1)}}, withSync(SyncOptions{Period: 1}))
	r.e.SetSyncMaster(false)
	r.mustForward(udp(ap(client1, 1), ap(vip, 53)))
	if r.e.SyncMaster() || len(drainAll(r.e)) != 0 {
		t.Fatal("queued while backup")
	}
	r.e.SetSyncMaster(true)
	r.mustForward(udp(ap(client1, 1), ap(vip, 53)))
	if len(drainAll(r.e)) != 1 {
		t.Fatal("nothing queued as master")
	}
	off := newRig(t, &Config{Services: []ServiceConfig{udpService(rs1)}}, Options{})
	off.e.SetSyncMaster(true)
	for range 5 {
		off.mustForward(udp(ap(client1, 1), ap(vip, 53)))
	}
	if n := off.e.DrainSync(func(*conntab.Conn, time.Duration) { t.Fatal("record without sync") }); n != 0 || off.e.SyncMaster() || off.e.SyncStats() != (SyncStats{}) {
		t.Fatalf("sync off: drained %d, stats %+v", n, off.e.SyncStats())
	}
	for _, bad := range []SyncOptions{{Threshold: 50, Period: 50}, {Period: 257}, {Threshold: -1, Period: 5}, {Threshold: 255}, {RingSize: -1}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v: valid", bad)
		}
	}
	if err := (SyncOptions{Threshold: 254}).Validate(); err != nil {
		t.Errorf("threshold 254 without period: %v", err)
	}
}

// takeover opens connections on a master, installs what it syncs on a backup with the same
// configuration, and checks that the backup forwards their next packets as the master did,
// without scheduling, with the same counts.
func TestSyncTakeover(t *testing.T) {
	local := netip.MustParseAddr("192.168.1.2")
	src := netip.MustParseAddr("192.168.1.1")
	two := func(m Method, port uint16) ServiceConfig {
		s := ServiceConfig{Proto: packet.ProtoTCP, VIP: vip, Port: 80, Scheduler: "rr", Method: m}
		for _, a := range []netip.Addr{rs1, rs2} {
			s.Servers = append(s.Servers, ServerConfig{Addr: a, Port: port, Weight: 1, Tunnel: Tunnel{Source: src}})
		}
		return s
	}
	fnat := two(MethodFullNAT, 8080)
	fnat.LocalAddrs, fnat.LocalPorts = []netip.Addr{local}, [2]uint16{20000, 29999}
	persist := two(MethodNAT, 8080)
	persist.Persistence, persist.PersistMask = time.Minute, 24
	mark := ServiceConfig{Mark: 80, Family: packet.FamilyIPv4, Scheduler: "rr", Persistence: time.Minute,
		Servers: []ServerConfig{{Addr: rs1, Weight: 1}, {Addr: rs2, Weight: 1}}}
	marks := []MarkRule{{Proto: packet.ProtoTCP, Dst: netip.PrefixFrom(vip, 32), Ports: []PortRange{{80, 80}}, Mark: 80}}
	udpSvc := udpService(rs1, rs2)
	cases := []struct {
		name string
		cfg  Config
		udp  bool
	}{
		{"NAT", Config{Services: []ServiceConfig{two(MethodNAT, 8080)}}, false},
		{"DR", Config{Services: []ServiceConfig{two(MethodDR, 80)}}, false},
		{"TUN", Config{Services: []ServiceConfig{two(MethodTUN, 80)}}, false},
		{"full-NAT", Config{Services: []ServiceConfig{fnat}}, false},
		{"persistence", Config{Services: []ServiceConfig{persist}}, false},
		{"fwmark persistence", Config{Services: []ServiceConfig{mark}, Marks: marks}, false},
		{"UDP", Config{Services: []ServiceConfig{udpSvc}}, true},
	}
	const n = 6
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := withSync(SyncOptions{})
			opts.Seed = 0x5eed // full-NAT local ports land in the same shards on both
			master, backup := newRig(t, &tc.cfg, opts), newRig(t, &tc.cfg, opts)
			backup.e.SetSyncMaster(false)
			vp := ap(vip, 80)
			if tc.udp {
				vp = ap(vip, 53)
			}
			want := make([]Verdict, n)
			for i := range n {
				c := ap(clientN(i), uint16(40000+i))
				if tc.udp {
					for range 3 {
						want[i] = master.mustForward(udp(c, vp))
					}
					continue
				}
				v := master.mustForward(tcp(c, vp, packet.TCPSyn))
				if !v.Method.InputOnly() {
					master.mustForward(tcp(realOf(v), replyDst(v), packet.TCPSyn|packet.TCPAck))
				}
				master.mustForward(tcp(c, vp, packet.TCPAck))
				want[i] = master.mustForward(tcp(c, vp, packet.TCPAck|packet.TCPPsh))
				if i == 0 { // one connection is closing: inactive, synced at once
					want[i] = master.mustForward(tcp(c, vp, packet.TCPFin|packet.TCPAck))
				}
			}
			recs := drainAll(master.e)
			checkRangeSync(t, master.e, recs)
			install := func() {
				for _, rec := range recs {
					c := rec.c
					if err := backup.e.InstallSynced(&c, rec.timeout, backup.clock.now); err != nil {
						t.Fatalf("InstallSynced(%s): %v", connString(&rec.c), err)
					}
				}
			}
			install()
			checkCounts(t, master.e, backup.e)
			if a, b := master.e.Conns().Len(), backup.e.Conns().Len(); a != b {
				t.Fatalf("master holds %d entries, backup %d", a, b)
			}
			install() // again: refreshed, not duplicated
			checkCounts(t, master.e, backup.e)
			if a, b := master.e.Conns().Len(), backup.e.Conns().Len(); a != b {
				t.Fatalf("after a second install: master holds %d entries, backup %d", a, b)
			}
			// Each entry is created once; its later records (and the second pass) refresh it.
			if st := backup.e.SyncStats(); st.Installed != uint64(master.e.Conns().Len()) || st.Installed+st.Updated != 2*uint64(len(recs)) || st.Refused != 0 {
				t.Fatalf("backup stats %+v for %d records of %d entries", st, len(recs), master.e.Conns().Len())
			}
			// Failover: the backup forwards the next packets itself.
			for i := range n {
				c := ap(clientN(i), uint16(40000+i))
				f := tcp(c, vp, packet.TCPAck)
				if tc.udp {
					f = udp(c, vp)
				}
				v := backup.mustForward(f)
				w := want[i]
				if realOf(v) != realOf(w) || v.Method != w.Method || v.Conn.LAddr != w.Conn.LAddr || v.Conn.LPort != w.Conn.LPort ||
					v.Conn.State != w.Conn.State || v.Conn.Self == 0 {
					t.Fatalf("conn %d on the backup: %v to %v local %d, state %v; master: %v to %v local %d, state %v",
						i, v.Method, realOf(v), v.Conn.LPort, v.Conn.State, w.Method, realOf(w), w.Conn.LPort, w.Conn.State)
				}
				if (v.Method == MethodTUN) != (v.Tunnel != nil) {
					t.Fatalf("conn %d: %v with tunnel %v", i, v.Method, v.Tunnel)
				}
				if !v.Method.InputOnly() {
					back := tcp(realOf(v), replyDst(v), packet.TCPAck)
					if tc.udp {
						back = udp(realOf(v), replyDst(v))
					}
					if rv := backup.mustForward(back); rv.Dir != DirOut || rv.Conn.Self != v.Conn.Self {
						t.Fatalf("conn %d: reply on the backup: %+v", i, rv)
					}
				}
				if persistent := tc.cfg.Services[0].Persistence > 0; persistent != (v.Conn.Tmpl != 0) {
					t.Fatalf("conn %d: template link %d on the backup", i, v.Conn.Tmpl)
				}
			}
			if st := backup.w.Stats(); st.NewConns != 0 {
				t.Fatalf("the backup scheduled %d connections", st.NewConns)
			}
			checkCounts(t, master.e, backup.e)
			if tc.cfg.Services[0].Persistence > 0 {
				// A new connection of a client follows the synced template.
				for i := range n {
					v := backup.mustForward(tcp(ap(clientN(i), 50000), vp, packet.TCPSyn))
					if realOf(v).Addr() != realOf(want[i]).Addr() {
						t.Fatalf("client %d: new connection to %v, its template says %v", i, realOf(v), realOf(want[i]))
					}
				}
			}
		})
	}
}

// checkRangeSync: a full resend gives each entry once, templates first, as the latest record
// DrainSync gave of it.
func checkRangeSync(t *testing.T, e *Engine, recs []syncRec) {
	t.Helper()
	var all []syncRec
	e.RangeSync(func(c *conntab.Conn, timeout time.Duration) bool {
		all = append(all, syncRec{*c, timeout})
		return true
	})
	if len(all) != e.Conns().Len() {
		t.Fatalf("RangeSync gave %d records for %d entries", len(all), e.Conns().Len())
	}
	same := func(a, b *syncRec) bool {
		x, y := a.c, b.c
		x.Prev, x.Pkts, x.Expires, y.Prev, y.Pkts, y.Expires = 0, 0, 0, 0, 0, 0
		return x == y && a.timeout == b.timeout
	}
	templates := true
	for i := range all {
		r := &all[i]
		if isT := r.c.Flags&conntab.FlagTemplate != 0; isT && !templates {
			t.Fatalf("RangeSync: template %s after a connection", connString(&r.c))
		} else {
			templates = isT
		}
		var last *syncRec
		for k := range recs {
			if recs[k].c.Self == r.c.Self {
				last = &recs[k]
			}
		}
		if last == nil || !same(last, r) {
			t.Fatalf("RangeSync: %+v\nlatest record: %+v", *r, last)
		}
	}
}

// replyDst is where a real server's reply to the connection of v goes: the client, or the
// full-NAT local endpoint.
func replyDst(v Verdict) netip.AddrPort {
	if v.Method == MethodFullNAT {
		return netip.AddrPortFrom(packet.AddrFrom(v.Conn.Family, &v.Conn.LAddr), v.Conn.LPort)
	}
	return netip.AddrPortFrom(packet.AddrFrom(v.Conn.Family, &v.Conn.CAddr), v.Conn.CPort)
}

// checkCounts compares the active, inactive and persistent counts of the real servers of two
// engines with the same configuration.
func checkCounts(t *testing.T, master, backup *Engine) {
	t.Helper()
	type counts struct{ active, inactive, persist int32 }
	of := func(e *Engine) map[netip.AddrPort]counts {
		m := map[netip.AddrPort]counts{}
		for _, s := range e.Table().Services() {
			for _, d := range s.Dests() {
				c := d.Counts()
				m[netip.AddrPortFrom(d.Addr, d.Port)] = counts{c.Active.Load(), c.Inactive.Load(), c.Persist.Load()}
			}
		}
		return m
	}
	a, b := of(master), of(backup)
	for k, v := range a {
		if b[k] != v {
			t.Fatalf("server %v: master counts %+v, backup %+v", k, v, b[k])
		}
	}
}

// TestInstallSyncedRefuses: records for what the backup does not have, or has otherwise.
func TestInstallSyncedRefuses(t *testing.T) {
	local := netip.MustParseAddr("192.168.1.2")
	fnat := natService("rr", rs1)
	fnat.Port, fnat.Method, fnat.LocalAddrs = 81, MethodFullNAT, []netip.Addr{local}
	cfg := &Config{Services: []ServiceConfig{natService("rr", rs1), fnat}}
	master := newRig(t, cfg, Options{Seed: 1})
	backup := newRig(t, cfg, Options{Seed: 2}) // another seed: local ports land elsewhere
	good := conntab.Conn{Family: packet.FamilyIPv4, Proto: packet.ProtoTCP, Method: uint8(MethodNAT), State: conntab.StateEstablished,
		CAddr: addrArray(client1), CPort: 1, VAddr: addrArray(vip), VPort: 80, DAddr: addrArray(rs1), DPort: 8080}
	now := backup.clock.now
	cases := map[string]struct {
		mutate func(c *conntab.Conn)
		want   error
	}{
		"other VIP":     {func(c *conntab.Conn) { c.VAddr = addrArray(netip.MustParseAddr("10.0.0.9")) }, ErrSyncNoService},
		"other port":    {func(c *conntab.Conn) { c.VPort = 8 }, ErrSyncNoService},
		"unknown mark":  {func(c *conntab.Conn) { c.Mark = 7 }, ErrSyncNoService},
		"other server":  {func(c *conntab.Conn) { c.DAddr = addrArray(rs3) }, ErrSyncNoServer},
		"other RS port": {func(c *conntab.Conn) { c.DPort = 9 }, ErrSyncNoServer},
		"other method":  {func(c *conntab.Conn) { c.Method = uint8(MethodDR) }, ErrSyncMismatch},
		"no family":     {func(c *conntab.Conn) { c.Family = 0 }, conntab.ErrInvalid},
		"bad TCP state": {func(c *conntab.Conn) { c.State = conntab.StateTemplate }, conntab.ErrInvalid},
		"not a local addr": {func(c *conntab.Conn) {
			c.VPort, c.Method, c.LAddr, c.LPort = 81, uint8(MethodFullNAT), addrArray(rs2), 20000
		}, ErrSyncMismatch},
	}
	for name, tc := range cases {
		c := good
		tc.mutate(&c)
		if err := backup.e.InstallSynced(&c, 0, now); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	// Full-NAT from a master with another seed: its local ports are in other shards here.
	invalid := 0
	for i := range 10 {
		v := master.mustForward(tcp(ap(clientN(i), 3000), ap(vip, 81), packet.TCPSyn))
		c := v.Conn
		c.State = conntab.StateEstablished
		if err := backup.e.InstallSynced(&c, 0, now); errors.Is(err, conntab.ErrInvalid) {
			invalid++
		}
	}
	if invalid == 0 {
		t.Error("full-NAT connections of another seed were all taken")
	}
	if st := backup.e.SyncStats(); st.Refused != uint64(len(cases)+invalid) {
		t.Errorf("refused %d, want %d", st.Refused, len(cases)+invalid)
	}
	c := good
	if err := backup.e.InstallSynced(&c, 0, now); err != nil || c.Dest == 0 || c.Self == 0 {
		t.Fatalf("good record: %v %+v", err, c)
	}
}

// TestInstallSyncedStateAndTimeout: an update moves the counts with the state, and a synced
// entry expires after the record's timeout unless packets refresh it.
func TestInstallSyncedStateAndTimeout(t *testing.T) {
	r := newRig(t, &Config{Services: []ServiceConfig{natService("rr", rs1)}}, Options{})
	d := r.e.Table().Services()[0].Dests()[0]
	c := conntab.Conn{Family: packet.FamilyIPv4, Proto: packet.ProtoTCP, Method: uint8(MethodNAT), State: conntab.StateEstablished,
		CAddr: addrArray(client1), CPort: 1, VAddr: addrArray(vip), VPort: 80, DAddr: addrArray(rs1), DPort: 8080}
	in := c
	if err := r.e.InstallSynced(&in, 900*time.Second, r.clock.now); err != nil {
		t.Fatal(err)
	}
	if a, i := d.Counts().Active.Load(), d.Counts().Inactive.Load(); a != 1 || i != 0 {
		t.Fatalf("ESTABLISHED: active/inactive %d/%d", a, i)
	}
	if n := testing.AllocsPerRun(100, func() {
		in = c
		r.e.InstallSynced(&in, 900*time.Second, r.clock.now)
	}); n != 0 {
		t.Errorf("InstallSynced refresh: %v allocs", n)
	}
	in = c
	in.State = conntab.StateFinWait
	if err := r.e.InstallSynced(&in, 30*time.Second, r.clock.now); err != nil {
		t.Fatal(err)
	}
	if a, i := d.Counts().Active.Load(), d.Counts().Inactive.Load(); a != 0 || i != 1 || r.e.Conns().Len() != 1 {
		t.Fatalf("FIN_WAIT: active/inactive %d/%d, %d entries", a, i, r.e.Conns().Len())
	}
	r.clock.advance(29 * time.Second)
	r.e.Conns().Sweep(r.clock.now, r.e.Conns().Shards())
	if r.e.Conns().Len() != 1 {
		t.Fatal("expired before the synced timeout")
	}
	r.clock.advance(2 * time.Second)
	r.e.Conns().Sweep(r.clock.now, r.e.Conns().Shards())
	if r.e.Conns().Len() != 0 || d.Counts().Inactive.Load() != 0 {
		t.Fatalf("kept after the synced timeout: %d entries", r.e.Conns().Len())
	}
}

// TestSyncConcurrent: workers forward while the sender drains and installs into a backup
// whose own worker forwards the same connections (run with -race).
func TestSyncConcurrent(t *testing.T) {
	cfg := &Config{Services: []ServiceConfig{natService("rr", rs1, rs2, rs3)}}
	opts := withSync(SyncOptions{Period: 5}) // 64 connections × 40 records fit a worker's ring
	master, backup := newRig(t, cfg, opts), newRig(t, cfg, opts)
	const conns, rounds = 64, 200
	acks := func(base int) [][]byte {
		var fs [][]byte
		for i := range conns {
			fs = append(fs, tcp(ap(clientN(i%50), uint16(base+i)), ap(vip, 80), packet.TCPAck).Build())
		}
		return fs
	}
	for k := range 2 { // each master worker has its own connections
		for i := range conns {
			master.mustForward(tcp(ap(clientN(i%50), uint16(10000+k*1000+i)), ap(vip, 80), packet.TCPSyn))
		}
	}
	process := func(w *Worker, batch [][]byte, now int64, more func(int) bool) {
		pk, out := make([]packet.Packet, len(batch)), make([]Verdict, len(batch))
		for i := 0; more(i); i++ {
			w.Process(batch, pk, out, now)
		}
	}
	var masters, others sync.WaitGroup
	for k := range 2 {
		w, batch := master.e.NewWorker(), acks(10000+k*1000)
		masters.Go(func() { process(w, batch, master.clock.now, func(i int) bool { return i < rounds }) })
	}
	var stop atomic.Bool
	bw, bbatch := backup.e.NewWorker(), acks(10000)
	others.Go(func() { process(bw, bbatch, backup.clock.now, func(int) bool { return !stop.Load() }) })
	done := make(chan struct{})
	go func() { masters.Wait(); close(done) }()

	var installed, failed int
	sender := func(c *conntab.Conn, timeout time.Duration) {
		cc := *c
		if err := backup.e.InstallSynced(&cc, timeout, backup.clock.now); err != nil {
			failed++
		}
		installed++
	}
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			if master.e.DrainSync(sender) == 0 {
				time.Sleep(50 * time.Microsecond)
			}
		}
	}
	master.e.DrainSync(sender)
	stop.Store(true)
	others.Wait()
	st := master.e.SyncStats()
	if st.Queued == 0 || st.Queued != st.Drained || st.Dropped != 0 || uint64(installed) != st.Drained || failed != 0 {
		t.Fatalf("stats %+v, %d installed, %d failed", st, installed, failed)
	}
	t.Logf("master: %+v; backup: %+v", st, backup.e.SyncStats())
	if n := backup.e.Conns().Len(); n != 2*conns {
		t.Fatalf("backup holds %d connections, want %d", n, 2*conns)
	}
	checkCounts(t, master.e, backup.e)
}
