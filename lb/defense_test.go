package lb

import (
	"net/netip"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/lb/conntab"
	"github.com/uvs-lb/uvs/packet"
)

// spoofed is the i-th source of a SYN flood.
func spoofed(i int) netip.AddrPort {
	return ap(netip.AddrFrom4([4]byte{100, byte(i >> 16), byte(i >> 8), byte(i)}), uint16(1024+i%50000))
}

// synFlood builds n SYN frames to the VIP from distinct spoofed sources, starting at from.
func synFlood(from, n int) [][]byte {
	frames := make([][]byte, n)
	for i := range frames {
		frames[i] = tcp(spoofed(from+i), ap(vip, 80), packet.TCPSyn).Build()
	}
	return frames
}

// sendAll pushes frames through the worker in batches of 64 and counts the verdicts.
func (r *rig) sendAll(frames [][]byte) (acts [4]int) {
	pkts, out := make([]packet.Packet, 64), make([]Verdict, 64)
	for len(frames) > 0 {
		b := frames[:min(64, len(frames))]
		frames = frames[len(b):]
		r.w.Process(b, pkts, out, r.clock.now)
		for i := range b {
			acts[out[i].Action]++
		}
	}
	return acts
}

// handshake opens a NAT connection from c and returns the real server's endpoint.
func (r *rig) handshake(c netip.AddrPort) netip.AddrPort {
	r.t.Helper()
	v := r.send(tcp(c, ap(vip, 80), packet.TCPSyn))
	if v.Action != ActForward {
		r.t.Fatalf("SYN from %v: %v (%v)", c, v.Action, v.Reason)
	}
	rs := realOf(v)
	r.send(tcp(rs, c, packet.TCPSyn|packet.TCPAck))
	r.send(tcp(c, ap(vip, 80), packet.TCPAck))
	r.send(tcp(rs, c, packet.TCPAck))
	return rs
}

func floodRig(t *testing.T, size int, d Defense) *rig {
	d.Size = size
	return newRig(t, &Config{Services: []ServiceConfig{natService("rr", rs1, rs2)}, Defense: d},
		Options{Shards: 16, MaintainEvery: 250 * time.Millisecond})
}

// maintain runs the engine's maintenance the way Start does, every 250 ms, for d.
func (r *rig) maintain(d time.Duration) {
	for end := r.clock.now + int64(d); r.clock.now < end; {
		r.clock.advance(250 * time.Millisecond)
		r.e.Maintain(r.clock.now)
	}
}

func TestFloodWithoutDefensesIsBounded(t *testing.T) {
	r := floodRig(t, 2000, Defense{})
	var est []netip.AddrPort
	for i := range 50 {
		c := ap(client1, uint16(10000+i))
		r.handshake(c)
		est = append(est, c)
	}
	acts := r.sendAll(synFlood(0, 10000))
	if n := r.e.Conns().Len(); n != 2000 {
		t.Fatalf("table holds %d, want its size 2000", n)
	}
	if acts[ActForward] != 1950 || r.w.Stats().Drops[DropTableFull] != 8050 {
		t.Fatalf("verdicts %v, table_full %d", acts, r.w.Stats().Drops[DropTableFull])
	}
	// Established connections flow; a new client cannot get in until SYN_RECV expires.
	for _, c := range est {
		if v := r.send(tcp(c, ap(vip, 80), packet.TCPAck)); v.Action != ActForward {
			t.Fatalf("established %v: %v", c, v.Action)
		}
	}
	if v := r.send(tcp(ap(client1, 20000), ap(vip, 80), packet.TCPSyn)); v.Reason != DropTableFull {
		t.Fatalf("new client during the flood: %v %v", v.Action, v.Reason)
	}
}

func TestDropEntry(t *testing.T) {
	r := floodRig(t, 2000, Defense{DropEntry: DefenseAuto})
	var est []netip.AddrPort
	for i := range 50 {
		c := ap(client1, uint16(10000+i))
		r.handshake(c)
		est = append(est, c)
	}
	r.maintain(time.Second)
	if st := r.e.DefenseState(); st.DropEntry || st.Pressure {
		t.Fatalf("no flood yet, but %+v", st)
	}
	r.sendAll(synFlood(0, 10000))
	r.maintain(250 * time.Millisecond)
	st := r.e.DefenseState()
	if !st.Pressure || !st.DropEntry || st.Evicted == 0 {
		t.Fatalf("under the flood: %+v", st)
	}
	// With drop_entry on, a full table makes room from half-open entries: the flood goes on
	// turning them over, and a new client gets in.
	acts := r.sendAll(synFlood(10000, 10000))
	if acts[ActForward] < 9900 { // the search for room is bounded: it may miss, rarely
		t.Fatalf("flood verdicts with drop_entry: %v", acts)
	}
	r.handshake(ap(client1, 20000))
	for _, c := range est {
		if v := r.send(tcp(c, ap(vip, 80), packet.TCPAck)); v.Action != ActForward || v.Conn.State != conntab.StateEstablished {
			t.Fatalf("established %v: %v %v", c, v.Action, v.Conn.State)
		}
	}
	if n := r.e.Conns().Len(); n > 2000 {
		t.Fatalf("table holds %d > 2000", n)
	}
	// Once the flood stops, the random scans take half-open entries until the pressure is
	// gone (mode 1 then turns drop_entry off, as IPVS's does).
	r.maintain(2 * time.Second)
	if st := r.e.DefenseState(); st.Pressure || st.DropEntry || st.Free < st.Threshold {
		t.Fatalf("2 s after the flood: %+v", st)
	}
}

func TestDropPacket(t *testing.T) {
	r := floodRig(t, 1000, Defense{DropPacket: DefenseAuto, Threshold: 500})
	r.sendAll(synFlood(0, 750)) // 250 free: half the threshold
	r.maintain(250 * time.Millisecond)
	if st := r.e.DefenseState(); st.DropRate != 2 || !st.Pressure {
		t.Fatalf("250 of 500 free: %+v, want drop rate 2", st)
	}
	acts := r.sendAll(synFlood(750, 200))
	if got := r.w.Stats().Drops[DropDefense]; got != 100 || acts[ActForward] != 100 {
		t.Fatalf("one in 2 of 200 SYNs: %d dropped, %d forwarded", got, acts[ActForward])
	}
	if DropDefense.String() != "drop_packet" {
		t.Fatalf("reason %q", DropDefense)
	}
	// Mode 3 drops one in DropRate whatever the table holds; 0 turns it off. Live, by Apply.
	cfg := &Config{Services: []ServiceConfig{natService("rr", rs1, rs2)}, Defense: Defense{Size: 100000, DropPacket: DefenseAlways, DropRate: 5}}
	if err := r.e.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	before := r.w.Stats().Drops[DropDefense]
	r.sendAll(synFlood(2000, 100))
	if got := r.w.Stats().Drops[DropDefense] - before; got != 20 {
		t.Fatalf("mode 3, rate 5: %d of 100 dropped", got)
	}
	cfg.Defense.DropPacket = DefenseOff
	if err := r.e.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	before = r.w.Stats().Drops[DropDefense]
	r.sendAll(synFlood(3000, 100))
	if got := r.w.Stats().Drops[DropDefense] - before; got != 0 {
		t.Fatalf("mode 0: %d dropped", got)
	}
}

func TestSecureTCPModes(t *testing.T) {
	r := floodRig(t, 1000, Defense{SecureTCP: DefenseAuto})
	if r.e.Conns().SecureTCP() {
		t.Fatal("secure_tcp on without pressure")
	}
	r.sendAll(synFlood(0, 950))
	r.maintain(250 * time.Millisecond)
	if !r.e.Conns().SecureTCP() || !r.e.DefenseState().SecureTCP {
		t.Fatal("secure_tcp off under pressure")
	}
	// The flood's entries time out after SecureHalfOpenTimeout, not 60 s: every shard is
	// swept (16 shards, 16 a call) and the pressure goes, and with it secure_tcp.
	r.maintain(conntab.SecureHalfOpenTimeout + time.Second)
	if n := r.e.Conns().Len(); n != 0 {
		t.Fatalf("%d entries left %v after the flood", n, conntab.SecureHalfOpenTimeout)
	}
	if r.e.Conns().SecureTCP() {
		t.Fatal("secure_tcp still on without pressure")
	}
	// Mode 2 starts on and goes off at the first check without pressure; 3 stays on.
	for _, tc := range []struct {
		m          DefenseMode
		now, later bool
	}{{DefenseAutoOn, true, false}, {DefenseAlways, true, true}, {DefenseOff, false, false}} {
		if err := r.e.Apply(&Config{Services: []ServiceConfig{natService("rr", rs1)}, Defense: Defense{SecureTCP: tc.m}}); err != nil {
			t.Fatal(err)
		}
		now := r.e.Conns().SecureTCP()
		r.maintain(250 * time.Millisecond)
		if later := r.e.Conns().SecureTCP(); now != tc.now || later != tc.later {
			t.Errorf("mode %d: on %v then %v, want %v then %v", tc.m, now, later, tc.now, tc.later)
		}
	}
	if err := r.e.Apply(&Config{Defense: Defense{SecureTCP: 4}}); err == nil {
		t.Error("mode 4 accepted")
	}
}

func TestFloodAllocs(t *testing.T) {
	r := floodRig(t, 1000, Defense{DropEntry: DefenseAlways, DropPacket: DefenseAlways, SecureTCP: DefenseAlways})
	r.handshake(ap(client1, 5000))
	r.sendAll(synFlood(100000, 2000)) // full: the table's chunks and indexes have grown
	frames := synFlood(0, 64*40)
	pkts, out := make([]packet.Packet, 64), make([]Verdict, 64)
	i := 0
	allocs := testing.AllocsPerRun(30, func() {
		r.w.Process(frames[i*64:(i+1)*64], pkts, out, r.clock.now)
		i++
	})
	if allocs != 0 {
		t.Fatalf("a batch of flood SYNs with every defense on allocates %v times", allocs)
	}
	if st := r.e.Conns().Stats(); st.Evicted == 0 || r.w.Stats().Drops[DropDefense] == 0 {
		t.Fatalf("the defenses did nothing: %+v", st)
	}
}
