package lb

import (
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/lb/conntab"
	"github.com/uvs-lb/uvs/packet"
	"github.com/uvs-lb/uvs/packet/packettest"
)

// fakeClock is a settable clock.
type fakeClock struct{ now int64 }

func (c *fakeClock) Now() int64              { return c.now }
func (c *fakeClock) advance(d time.Duration) { c.now += int64(d) }

var (
	vip     = netip.MustParseAddr("10.0.0.1")
	rs1     = netip.MustParseAddr("192.168.1.20")
	rs2     = netip.MustParseAddr("192.168.1.21")
	rs3     = netip.MustParseAddr("192.168.1.22")
	client1 = netip.MustParseAddr("203.0.113.7")
)

// rig is an engine, a worker and a fake clock, with helpers to push single frames through.
type rig struct {
	t     testing.TB
	e     *Engine
	w     *Worker
	clock *fakeClock
	pkts  []packet.Packet
	out   []Verdict
}

func newRig(t testing.TB, cfg *Config, opts Options) *rig {
	t.Helper()
	clk := &fakeClock{now: int64(time.Hour)}
	opts.Clock = clk
	e := New(opts)
	if err := e.Apply(cfg); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return &rig{t: t, e: e, w: e.NewWorker(), clock: clk, pkts: make([]packet.Packet, 1), out: make([]Verdict, 1)}
}

func (r *rig) send(f packettest.Frame) Verdict {
	r.t.Helper()
	r.w.Process([][]byte{f.Build()}, r.pkts, r.out, r.clock.now)
	return r.out[0]
}

func tcp(src, dst netip.AddrPort, flags uint8) packettest.Frame {
	return packettest.Frame{Src: src, Dst: dst, Proto: packet.ProtoTCP, TCPFlags: flags, Payload: []byte("x")}
}

func udp(src, dst netip.AddrPort) packettest.Frame {
	return packettest.Frame{Src: src, Dst: dst, Proto: packet.ProtoUDP, Payload: []byte("hello")}
}

func ap(a netip.Addr, port uint16) netip.AddrPort { return netip.AddrPortFrom(a, port) }

func natService(sched string, servers ...netip.Addr) ServiceConfig {
	s := ServiceConfig{Proto: packet.ProtoTCP, VIP: vip, Port: 80, Scheduler: sched}
	for _, a := range servers {
		s.Servers = append(s.Servers, ServerConfig{Addr: a, Port: 8080, Weight: 1})
	}
	return s
}

func realOf(v Verdict) netip.AddrPort {
	return netip.AddrPortFrom(packet.AddrFrom(v.Conn.Family, &v.Conn.DAddr), v.Conn.DPort)
}

func TestNATConnectionLifecycle(t *testing.T) {
	r := newRig(t, &Config{Services: []ServiceConfig{natService("rr", rs1, rs2, rs3)}}, Options{})
	c := ap(client1, 40000)
	v := r.send(tcp(c, ap(vip, 80), packet.TCPSyn))
	if v.Action != ActForward || v.Method != MethodNAT || v.Dir != DirIn {
		t.Fatalf("SYN verdict = %+v, want forward NAT in", v)
	}
	rs := realOf(v)
	if rs != ap(rs1, 8080) {
		t.Fatalf("first rr pick = %v, want %v", rs, ap(rs1, 8080))
	}
	if v.Conn.State != conntab.StateSynRecv {
		t.Errorf("state after SYN = %v, want SYN_RECV", v.Conn.State)
	}
	// The reply from the real server matches the same connection, outbound.
	v = r.send(tcp(rs, c, packet.TCPSyn|packet.TCPAck))
	if v.Action != ActForward || v.Dir != DirOut {
		t.Fatalf("SYN/ACK verdict = %+v, want forward out", v)
	}
	v = r.send(tcp(c, ap(vip, 80), packet.TCPAck))
	if v.Conn.State != conntab.StateEstablished {
		t.Errorf("state after ACK = %v, want ESTABLISHED", v.Conn.State)
	}
	d := r.e.Table().services[keyOf(natService("rr"))].dests[0]
	if a, i := d.Counts().Active.Load(), d.Counts().Inactive.Load(); a != 1 || i != 0 {
		t.Errorf("rs1 active/inactive = %d/%d, want 1/0", a, i)
	}
	st := d.Counters().Snapshot()
	if st.Conns != 1 || st.InPkts != 2 || st.OutPkts != 1 {
		t.Errorf("rs1 counters = %+v, want 1 conn, 2 in, 1 out", st)
	}
	// Round robin moves on for the next clients.
	for i, want := range []netip.Addr{rs2, rs3, rs1} {
		v = r.send(tcp(ap(client1, uint16(40001+i)), ap(vip, 80), packet.TCPSyn))
		if got := realOf(v).Addr(); got != want {
			t.Errorf("rr pick %d = %v, want %v", i+2, got, want)
		}
	}
}

func TestPassAndReject(t *testing.T) {
	svc := natService("rr", rs1)
	svc.Servers[0].Weight = 0
	r := newRig(t, &Config{Services: []ServiceConfig{svc}}, Options{})
	c := ap(client1, 1234)
	cases := []struct {
		name string
		f    packettest.Frame
		want Action
	}{
		{"not a virtual service", tcp(c, ap(netip.MustParseAddr("10.0.0.99"), 80), packet.TCPSyn), ActPass},
		{"VIP, other port", tcp(c, ap(vip, 81), packet.TCPSyn), ActPass},
		{"ACK with no connection", tcp(c, ap(vip, 80), packet.TCPAck), ActPass},
		{"RST with no connection", tcp(c, ap(vip, 80), packet.TCPRst|packet.TCPSyn), ActPass},
		{"UDP to a TCP service", udp(c, ap(vip, 80)), ActPass},
		{"SYN, every server quiesced", tcp(c, ap(vip, 80), packet.TCPSyn), ActReject},
	}
	for _, tc := range cases {
		if v := r.send(tc.f); v.Action != tc.want {
			t.Errorf("%s: action %v, want %v", tc.name, v.Action, tc.want)
		}
	}
	if got := r.w.Stats().Drops[DropNoServer]; got != 1 {
		t.Errorf("no_server drops = %d, want 1", got)
	}
	bad := []byte{1, 2, 3}
	r.w.Process([][]byte{bad}, r.pkts, r.out, r.clock.now)
	if r.out[0].Action != ActDrop || r.out[0].Reason != DropMalformed {
		t.Errorf("truncated frame: %+v, want drop malformed", r.out[0])
	}
}

func TestSloppyTCP(t *testing.T) {
	r := newRig(t, &Config{Services: []ServiceConfig{natService("rr", rs1)}, SloppyTCP: true}, Options{})
	if v := r.send(tcp(ap(client1, 1), ap(vip, 80), packet.TCPAck)); v.Action != ActForward {
		t.Fatalf("sloppy_tcp: mid-stream ACK got %v, want forward", v.Action)
	}
}

func TestQuiescedServerKeepsConnections(t *testing.T) {
	cfg := &Config{Services: []ServiceConfig{natService("rr", rs1, rs2)}}
	r := newRig(t, cfg, Options{})
	c := ap(client1, 5000)
	v := r.send(tcp(c, ap(vip, 80), packet.TCPSyn))
	first := realOf(v).Addr()
	// Quiesce the server that took the connection.
	for i := range cfg.Services[0].Servers {
		if cfg.Services[0].Servers[i].Addr == first {
			cfg.Services[0].Servers[i].Weight = 0
		}
	}
	if err := r.e.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	if v := r.send(tcp(c, ap(vip, 80), packet.TCPAck)); v.Action != ActForward || realOf(v).Addr() != first {
		t.Fatalf("existing connection after quiesce: %v to %v, want forward to %v", v.Action, realOf(v), first)
	}
	for i := 0; i < 4; i++ {
		v := r.send(tcp(ap(client1, uint16(6000+i)), ap(vip, 80), packet.TCPSyn))
		if realOf(v).Addr() == first {
			t.Fatalf("new connection %d went to quiesced %v", i, first)
		}
	}
}

func TestRemovedServerExpireNodest(t *testing.T) {
	for _, expire := range []bool{false, true} {
		cfg := &Config{Services: []ServiceConfig{natService("rr", rs1, rs2)}, ExpireNoDestConn: expire}
		r := newRig(t, cfg, Options{})
		c := ap(client1, 5000)
		v := r.send(tcp(c, ap(vip, 80), packet.TCPSyn))
		if realOf(v).Addr() != rs1 {
			t.Fatalf("first pick %v", realOf(v))
		}
		cfg.Services[0].Servers = cfg.Services[0].Servers[1:] // rs1 leaves
		if err := r.e.Apply(cfg); err != nil {
			t.Fatal(err)
		}
		v = r.send(tcp(c, ap(vip, 80), packet.TCPAck))
		if expire {
			if v.Action != ActDrop || v.Reason != DropNoDest {
				t.Errorf("expire_nodest_conn=1: %v/%v, want drop no_dest", v.Action, v.Reason)
			}
			if r.e.Conns().Len() != 0 {
				t.Errorf("connection kept after expire_nodest_conn drop")
			}
		} else if v.Action != ActForward || realOf(v).Addr() != rs1 {
			t.Errorf("expire_nodest_conn=0: %v to %v, want forward to removed rs1", v.Action, realOf(v))
		}
	}
}

func TestConnReuseModeReschedulesTimeWait(t *testing.T) {
	cfg := &Config{Services: []ServiceConfig{natService("rr", rs1, rs2)}, ConnReuseMode: 1}
	r := newRig(t, cfg, Options{})
	c, vp := ap(client1, 7000), ap(vip, 80)
	v := r.send(tcp(c, vp, packet.TCPSyn))
	rs := realOf(v)
	r.send(tcp(rs, c, packet.TCPSyn|packet.TCPAck))
	r.send(tcp(c, vp, packet.TCPAck))
	r.send(tcp(c, vp, packet.TCPFin|packet.TCPAck))
	r.send(tcp(rs, c, packet.TCPFin|packet.TCPAck))
	v = r.send(tcp(c, vp, packet.TCPAck))
	if v.Conn.State != conntab.StateTimeWait {
		t.Fatalf("state after close = %v, want TIME_WAIT", v.Conn.State)
	}
	v = r.send(tcp(c, vp, packet.TCPSyn))
	if v.Action != ActForward || realOf(v) == rs || v.Conn.State != conntab.StateSynRecv {
		t.Fatalf("SYN on TIME_WAIT: %v to %v state %v, want a new connection on the other server", v.Action, realOf(v), v.Conn.State)
	}
}

// TestConnReuseModeReschedulesClose: a SYN reusing the port of a connection the server
// refused (RST: CLOSE) gets a fresh server, as IPVS's is_new_conn_expected allows; without it
// a client retrying a dead server would keep being sent there until the entry expires.
func TestConnReuseModeReschedulesClose(t *testing.T) {
	cfg := &Config{Services: []ServiceConfig{natService("rr", rs1, rs2)}, ConnReuseMode: 1}
	r := newRig(t, cfg, Options{})
	c, vp := ap(client1, 7001), ap(vip, 80)
	v := r.send(tcp(c, vp, packet.TCPSyn))
	rs := realOf(v)
	if v = r.send(tcp(rs, c, packet.TCPRst|packet.TCPAck)); v.Conn.State != conntab.StateClose {
		t.Fatalf("state after the server's RST = %v, want CLOSE", v.Conn.State)
	}
	v = r.send(tcp(c, vp, packet.TCPSyn))
	if v.Action != ActForward || realOf(v) == rs || v.Conn.State != conntab.StateSynRecv {
		t.Fatalf("SYN on CLOSE: %v to %v state %v, want a new connection on the other server", v.Action, realOf(v), v.Conn.State)
	}
}

func TestPersistenceWithNetmask(t *testing.T) {
	svc := natService("rr", rs1, rs2, rs3)
	svc.Persistence = 30 * time.Second
	svc.PersistMask = 24
	r := newRig(t, &Config{Services: []ServiceConfig{svc}}, Options{})
	a := netip.MustParseAddr("198.51.100.1")
	b := netip.MustParseAddr("198.51.100.200") // same /24
	other := netip.MustParseAddr("198.51.101.1")
	va := r.send(tcp(ap(a, 1000), ap(vip, 80), packet.TCPSyn))
	vb := r.send(tcp(ap(b, 1001), ap(vip, 80), packet.TCPSyn))
	vo := r.send(tcp(ap(other, 1002), ap(vip, 80), packet.TCPSyn))
	if realOf(va) != realOf(vb) {
		t.Errorf("same /24 went to %v and %v", realOf(va), realOf(vb))
	}
	if realOf(vo) == realOf(va) {
		t.Errorf("another /24 followed the template to %v", realOf(vo))
	}
	if va.Conn.Tmpl == 0 {
		t.Errorf("connection not controlled by a template")
	}
	d := r.e.Table().Dest(va.Conn.Dest)
	if got := d.Counts().Persist.Load(); got != 1 {
		t.Errorf("persistent count = %d, want 1", got)
	}
	// The template outlives its timeout while it controls connections; after they are gone
	// and the timeout passes, the client is scheduled afresh (rr moves on).
	r.clock.advance(45 * time.Second)
	if v := r.send(tcp(ap(a, 1003), ap(vip, 80), packet.TCPSyn)); realOf(v) != realOf(va) {
		t.Errorf("template expired while controlling connections: %v, want %v", realOf(v), realOf(va))
	}
	// Two full sweeps an hour apart: the first expires the connections (and re-arms the
	// template they controlled, as IPVS restarts its timer), the second the template.
	for round := 0; round < 2; round++ {
		r.clock.advance(time.Hour)
		for i := 0; i < 64; i++ {
			r.e.Maintain(r.clock.now)
		}
	}
	if n := r.e.Conns().Len(); n != 0 {
		t.Fatalf("%d entries left after everything expired", n)
	}
	if got := d.Counts().Persist.Load(); got != 0 {
		t.Errorf("persistent count after expiry = %d, want 0", got)
	}
}

func TestFirewallMarkBundleWithPersistence(t *testing.T) {
	// The Piranha seed: HTTP and HTTPS bundled under mark 80, persistence 30 s.
	cfg := &Config{
		Marks: []MarkRule{{Proto: packet.ProtoTCP, Dst: netip.PrefixFrom(vip, 32), Ports: []PortRange{{80, 80}, {443, 443}}, Mark: 80}},
		Services: []ServiceConfig{{
			Mark: 80, Family: packet.FamilyIPv4, Scheduler: "wlc", Persistence: 30 * time.Second,
			Servers: []ServerConfig{{Addr: rs1, Weight: 1}, {Addr: rs2, Weight: 1}},
		}},
	}
	r := newRig(t, cfg, Options{})
	for i := 0; i < 8; i++ {
		c := netip.AddrFrom4([4]byte{198, 51, 100, byte(i + 1)})
		v80 := r.send(tcp(ap(c, 2000), ap(vip, 80), packet.TCPSyn))
		v443 := r.send(tcp(ap(c, 2001), ap(vip, 443), packet.TCPSyn))
		if v80.Action != ActForward || v443.Action != ActForward {
			t.Fatalf("client %v: %v / %v, want forward", c, v80.Action, v443.Action)
		}
		if realOf(v80).Addr() != realOf(v443).Addr() {
			t.Errorf("client %v: port 80 to %v, 443 to %v; the mark bundles them", c, realOf(v80), realOf(v443))
		}
		if realOf(v443).Port() != 443 {
			t.Errorf("port-0 real server should keep the client's port, got %v", realOf(v443))
		}
	}
	if v := r.send(tcp(ap(client1, 1), ap(vip, 22), packet.TCPSyn)); v.Action != ActPass {
		t.Errorf("port 22 is outside the mark: %v, want pass", v.Action)
	}
}

func TestFTPMarkWithPassiveRange(t *testing.T) {
	cfg := &Config{
		Marks: []MarkRule{{Proto: packet.ProtoTCP, Dst: netip.PrefixFrom(vip, 32), Ports: []PortRange{{21, 21}, {10000, 20000}}, Mark: 21}},
		Services: []ServiceConfig{{
			Mark: 21, Family: packet.FamilyIPv4, Scheduler: "rr", Persistence: 5 * time.Minute,
			Servers: []ServerConfig{{Addr: rs1, Weight: 1}, {Addr: rs2, Weight: 1}},
		}},
	}
	r := newRig(t, cfg, Options{})
	ctl := r.send(tcp(ap(client1, 3000), ap(vip, 21), packet.TCPSyn))
	data := r.send(tcp(ap(client1, 3001), ap(vip, 15000), packet.TCPSyn))
	if ctl.Action != ActForward || data.Action != ActForward || realOf(ctl).Addr() != realOf(data).Addr() {
		t.Fatalf("FTP control to %v, passive data to %v: want the same server", realOf(ctl), realOf(data))
	}
}

func TestPortZeroService(t *testing.T) {
	svc := ServiceConfig{Proto: packet.ProtoUDP, VIP: vip, Port: 0, Scheduler: "rr",
		Servers: []ServerConfig{{Addr: rs1, Weight: 1}}}
	r := newRig(t, &Config{Services: []ServiceConfig{svc}}, Options{})
	v := r.send(udp(ap(client1, 5353), ap(vip, 9999)))
	if v.Action != ActForward || realOf(v) != ap(rs1, 9999) {
		t.Fatalf("port-0 UDP: %v to %v, want forward to %v", v.Action, realOf(v), ap(rs1, 9999))
	}
	if v.Conn.State != conntab.StateUDP {
		t.Errorf("UDP state = %v", v.Conn.State)
	}
}

func TestOnePacketScheduling(t *testing.T) {
	svc := ServiceConfig{Proto: packet.ProtoUDP, VIP: vip, Port: 53, Scheduler: "rr", OnePacket: true,
		Servers: []ServerConfig{{Addr: rs1, Weight: 1}, {Addr: rs2, Weight: 1}}}
	r := newRig(t, &Config{Services: []ServiceConfig{svc}}, Options{})
	c := ap(client1, 5353)
	a := r.send(udp(c, ap(vip, 53)))
	b := r.send(udp(c, ap(vip, 53)))
	if realOf(a).Addr() == realOf(b).Addr() {
		t.Errorf("ops: both datagrams of one flow went to %v; each should be scheduled", realOf(a))
	}
	if n := r.e.Conns().Len(); n != 0 {
		t.Errorf("ops inserted %d connections", n)
	}
}

func TestThresholdHysteresis(t *testing.T) {
	svc := natService("wrr", rs1, rs2)
	svc.Servers[0].Weight = 100
	svc.Servers[0].Upper, svc.Servers[0].Lower = 2, 1
	r := newRig(t, &Config{Services: []ServiceConfig{svc}}, Options{})
	var to []netip.Addr
	for i := 0; i < 4; i++ {
		to = append(to, realOf(r.send(tcp(ap(client1, uint16(100+i)), ap(vip, 80), packet.TCPSyn))).Addr())
	}
	if to[0] != rs1 || to[1] != rs1 || to[2] != rs2 || to[3] != rs2 {
		t.Fatalf("picks %v: rs1 should take 2 (its upper threshold) and then be overloaded", to)
	}
	// One connection of rs1 goes: still at 1, not below lower=1, stays overloaded.
	r.e.Conns().Range(func(c *conntab.Conn) bool {
		if c.CPort == 100 {
			r.e.Conns().Delete(c.Self)
		}
		return true
	})
	if got := realOf(r.send(tcp(ap(client1, 200), ap(vip, 80), packet.TCPSyn))).Addr(); got != rs2 {
		t.Errorf("at lower threshold rs1 must stay overloaded; got %v", got)
	}
	r.e.Conns().Range(func(c *conntab.Conn) bool {
		if c.CPort == 101 {
			r.e.Conns().Delete(c.Self)
		}
		return true
	})
	if got := realOf(r.send(tcp(ap(client1, 201), ap(vip, 80), packet.TCPSyn))).Addr(); got != rs1 {
		t.Errorf("below lower threshold rs1 is usable again; got %v", got)
	}
}

func TestSorryServer(t *testing.T) {
	svc := natService("rr", rs1)
	svc.Servers[0].Weight = 0
	sorry := netip.MustParseAddr("192.168.1.99")
	svc.Sorry = &ServerConfig{Addr: sorry, Port: 8080, Weight: 1}
	r := newRig(t, &Config{Services: []ServiceConfig{svc}}, Options{})
	if v := r.send(tcp(ap(client1, 1), ap(vip, 80), packet.TCPSyn)); v.Action != ActForward || realOf(v).Addr() != sorry {
		t.Fatalf("all quiesced: %v to %v, want the sorry server", v.Action, realOf(v))
	}
}

func TestICMPErrorFollowsConnection(t *testing.T) {
	r := newRig(t, &Config{Services: []ServiceConfig{natService("rr", rs1)}}, Options{})
	c := ap(client1, 4000)
	r.send(tcp(c, ap(vip, 80), packet.TCPSyn))
	// The real server complains about the NATed packet (client → rs1:8080): goes out.
	quoted := tcp(c, ap(rs1, 8080), packet.TCPSyn).Build()
	f := packettest.ICMPError([6]byte{}, [6]byte{}, rs1, client1, 3, 3, quoted)
	r.w.Process([][]byte{f}, r.pkts, r.out, r.clock.now)
	if v := r.out[0]; v.Action != ActForward || !v.ICMPError || v.Dir != DirOut {
		t.Fatalf("ICMP error from the real server: %+v, want forward out with ICMPError", v)
	}
	// A router near the client complains about a reply (vip:80 → client): goes in.
	quoted = tcp(ap(vip, 80), c, packet.TCPSyn|packet.TCPAck).Build()
	f = packettest.ICMPError([6]byte{}, [6]byte{}, netip.MustParseAddr("203.0.113.1"), vip, 3, 4, quoted)
	r.w.Process([][]byte{f}, r.pkts, r.out, r.clock.now)
	if v := r.out[0]; v.Action != ActForward || !v.ICMPError || v.Dir != DirIn {
		t.Fatalf("ICMP error about a reply: %+v, want forward in with ICMPError", v)
	}
}

func TestFullNATRepliesFindTheirConnection(t *testing.T) {
	svc := natService("rr", rs1)
	svc.Method = MethodFullNAT
	local := netip.MustParseAddr("192.168.1.2")
	svc.LocalAddrs = []netip.Addr{local}
	svc.LocalPorts = [2]uint16{20000, 29999}
	r := newRig(t, &Config{Services: []ServiceConfig{svc}}, Options{})
	seen := map[uint16]bool{}
	for i := 0; i < 50; i++ {
		c := ap(client1, uint16(30000+i))
		v := r.send(tcp(c, ap(vip, 80), packet.TCPSyn))
		if v.Action != ActForward || v.Method != MethodFullNAT {
			t.Fatalf("full-NAT SYN: %+v", v)
		}
		la := netip.AddrPortFrom(packet.AddrFrom(v.Conn.Family, &v.Conn.LAddr), v.Conn.LPort)
		if la.Addr() != local || la.Port() < 20000 || la.Port() > 29999 || seen[la.Port()] {
			t.Fatalf("local endpoint %v: outside the pool or reused", la)
		}
		seen[la.Port()] = true
		back := r.send(tcp(ap(rs1, 8080), la, packet.TCPSyn|packet.TCPAck))
		if back.Action != ActForward || back.Dir != DirOut || back.Conn.CPort != c.Port() {
			t.Fatalf("reply to %v: %+v, want forward out to client port %d", la, back, c.Port())
		}
	}
}

func TestTableFullRefusesAndCounts(t *testing.T) {
	r := newRig(t, &Config{Services: []ServiceConfig{natService("rr", rs1)}}, Options{Capacity: 4, Shards: 1})
	var drops int
	for i := 0; i < 10; i++ {
		if v := r.send(tcp(ap(client1, uint16(i+1)), ap(vip, 80), packet.TCPSyn)); v.Action == ActDrop && v.Reason == DropTableFull {
			drops++
		}
	}
	if drops != 6 || r.w.Stats().Drops[DropTableFull] != 6 {
		t.Errorf("drops = %d (counted %d), want 6 beyond capacity 4", drops, r.w.Stats().Drops[DropTableFull])
	}
}

func TestDRUsesInputOnly(t *testing.T) {
	svc := ServiceConfig{Proto: packet.ProtoTCP, VIP: vip, Port: 80, Scheduler: "rr", Method: MethodDR,
		Servers: []ServerConfig{{Addr: rs1, Weight: 1}}}
	r := newRig(t, &Config{Services: []ServiceConfig{svc}}, Options{})
	c := ap(client1, 9)
	v := r.send(tcp(c, ap(vip, 80), packet.TCPSyn))
	if v.Method != MethodDR || v.Conn.Flags&conntab.FlagInputOnly == 0 || realOf(v).Port() != 80 {
		t.Fatalf("DR verdict %+v", v)
	}
	if v = r.send(tcp(c, ap(vip, 80), packet.TCPAck)); v.Conn.State != conntab.StateEstablished {
		t.Errorf("INPUT_ONLY: state after client ACK = %v, want ESTABLISHED", v.Conn.State)
	}
}

func TestConfigErrors(t *testing.T) {
	base := func() Config { return Config{Services: []ServiceConfig{natService("rr", rs1)}} }
	cases := map[string]func(c *Config){
		"DR with port mapping": func(c *Config) { c.Services[0].Method = MethodDR },
		"unknown scheduler":    func(c *Config) { c.Services[0].Scheduler = "nope" },
		"duplicate service":    func(c *Config) { c.Services = append(c.Services, c.Services[0]) },
		"duplicate server":     func(c *Config) { c.Services[0].Servers = append(c.Services[0].Servers, c.Services[0].Servers[0]) },
		"full-NAT without pool": func(c *Config) {
			c.Services[0].Method = MethodFullNAT
		},
		"mixed family": func(c *Config) { c.Services[0].Servers[0].Addr = netip.MustParseAddr("2001:db8::1") },
		"ops on TCP":   func(c *Config) { c.Services[0].OnePacket = true },
		"bad mask":     func(c *Config) { c.Services[0].PersistMask = 33 },
		"narrow local port range": func(c *Config) {
			c.Services[0].Method = MethodFullNAT
			c.Services[0].LocalAddrs = []netip.Addr{netip.MustParseAddr("192.168.1.2")}
			c.Services[0].LocalPorts = [2]uint16{20000, 20099}
		},
	}
	for name, mutate := range cases {
		r := newRig(t, &Config{Services: []ServiceConfig{natService("rr", rs2)}}, Options{})
		before := r.e.Table()
		cfg := base()
		mutate(&cfg)
		if err := r.e.Apply(&cfg); err == nil {
			t.Errorf("%s: no error", name)
		} else if r.e.Table() != before {
			t.Errorf("%s: a rejected config replaced the running table", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

func TestReloadKeepsConnectionsAndCounters(t *testing.T) {
	cfg := &Config{Services: []ServiceConfig{natService("rr", rs1, rs2)}}
	r := newRig(t, cfg, Options{})
	c := ap(client1, 1111)
	v := r.send(tcp(c, ap(vip, 80), packet.TCPSyn))
	d := r.e.Table().Dest(v.Conn.Dest)
	cfg.Services[0].Servers = append(cfg.Services[0].Servers, ServerConfig{Addr: rs3, Port: 8080, Weight: 1})
	if err := r.e.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	v2 := r.send(tcp(c, ap(vip, 80), packet.TCPAck))
	if v2.Action != ActForward || v2.Conn.Dest != v.Conn.Dest {
		t.Fatalf("after reload the connection moved or vanished: %+v", v2)
	}
	if r.e.Table().Dest(v.Conn.Dest) != d || d.Counters().Snapshot().InPkts != 2 {
		t.Errorf("real server identity or counters lost across reload")
	}
}

func TestRatesEstimator(t *testing.T) {
	r := newRig(t, &Config{Services: []ServiceConfig{natService("rr", rs1)}}, Options{})
	r.e.Maintain(r.clock.now)
	for round := 0; round < 20; round++ {
		for i := 0; i < 100; i++ { // 100 new connections per 2 s = 50 cps
			r.send(tcp(ap(client1, uint16(round*100+i+1)), ap(vip, 80), packet.TCPSyn))
		}
		r.clock.advance(EstimatorInterval)
		r.e.Maintain(r.clock.now)
	}
	s := r.e.Table().services[keyOf(natService("rr"))]
	rates := r.e.ServiceRates(s)
	if rates.CPS < 49 || rates.CPS > 51 || rates.InPPS < 49 || rates.InPPS > 51 {
		t.Errorf("rates %+v, want ~50 cps and ~50 pps", rates)
	}
}

func TestStartTwiceFails(t *testing.T) {
	e := New(Options{})
	defer e.Close()
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := e.Start(t.Context()); err == nil {
		t.Error("second Start succeeded")
	}
}

func TestStartCloseLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	e := New(Options{MaintainEvery: time.Millisecond})
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	e.Close()
	for i := 0; i < 100 && runtime.NumGoroutine() > before; i++ {
		time.Sleep(time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Close, %d before", n, before)
	}
}

// TestProcessDoesNotAllocate: neither existing nor new connections allocate, with connection
// sync off and on (records queued, templates with them).
func TestProcessDoesNotAllocate(t *testing.T) {
	persist := natService("wlc", rs1, rs2, rs3)
	persist.Persistence = time.Minute
	for _, tc := range []struct {
		name string
		svc  ServiceConfig
		opts Options
	}{
		{"sync off", natService("wlc", rs1, rs2, rs3), Options{}},
		{"sync on", natService("wlc", rs1, rs2, rs3), Options{Sync: SyncOptions{Enabled: true, Period: 2}}},
		{"sync on, persistence", persist, Options{Sync: SyncOptions{Enabled: true, Period: 2}}},
	} {
		r := newRig(t, &Config{Services: []ServiceConfig{tc.svc}}, tc.opts)
		c := ap(client1, 50000)
		syn := tcp(c, ap(vip, 80), packet.TCPSyn).Build()
		ack := tcp(c, ap(vip, 80), packet.TCPAck).Build()
		r.w.Process([][]byte{syn}, r.pkts, r.out, r.clock.now)
		batch := [][]byte{ack}
		if n := testing.AllocsPerRun(1000, func() { r.w.Process(batch, r.pkts, r.out, r.clock.now) }); n != 0 {
			t.Errorf("%s: existing connection: %v allocs per packet", tc.name, n)
		}
		frames := make([][]byte, 256)
		for i := range frames {
			frames[i] = tcp(ap(client1, uint16(i+1)), ap(vip, 80), packet.TCPSyn).Build()
		}
		pk, out := make([]packet.Packet, 1), make([]Verdict, 1)
		// Warm up: the first connection in each shard allocates that shard's first chunk of
		// entries; after that, new connections reuse freed slots.
		for i := range frames {
			r.w.Process(frames[i:i+1], pk, out, r.clock.now)
			r.e.Conns().Delete(out[0].Conn.Self)
		}
		i := 0
		n := testing.AllocsPerRun(200, func() {
			r.w.Process(frames[i%len(frames):i%len(frames)+1], pk, out, r.clock.now)
			r.e.Conns().Delete(out[0].Conn.Self)
			i++
		})
		if n != 0 {
			t.Errorf("%s: new connection: %v allocs per packet", tc.name, n)
		}
		if st := r.e.SyncStats(); tc.opts.Sync.Enabled && st.Queued == 0 {
			t.Errorf("%s: nothing queued: %+v", tc.name, st)
		}
		// The sender's side does not allocate either.
		if n := testing.AllocsPerRun(10, func() { r.e.DrainSync(func(*conntab.Conn, time.Duration) {}) }); n != 0 {
			t.Errorf("%s: DrainSync: %v allocs", tc.name, n)
		}
	}
}

func keyOf(s ServiceConfig) svcKey { return s.key() }

// TestDestWeightReadsDuringApply: the control path reads a server's weight and method while
// another goroutine applies configurations (the race detector checks), and sees only
// published values, never those of a table that is being compiled or was refused.
func TestDestWeightReadsDuringApply(t *testing.T) {
	cfg := func(w int32) *Config {
		c := &Config{Services: []ServiceConfig{natService("rr", rs1)}}
		c.Services[0].Servers[0].Weight = w
		return c
	}
	r := newRig(t, cfg(1), Options{})
	d := r.e.Table().Services()[0].Dests()[0]
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			r.e.Apply(cfg(int32(1 + i%2)))
		}
	}()
	for {
		select {
		case <-done:
			if w := d.Weight(); w != 2 || d.Method() != MethodNAT {
				t.Fatalf("weight %d method %v after the last Apply, want 2 Masq", w, d.Method())
			}
			return
		default:
			if w := d.Weight(); w != 1 && w != 2 {
				t.Fatalf("weight %d was never published", w)
			}
		}
	}
}
