package conntab

import (
	"errors"
	"testing"
	"time"
	"unsafe"

	"github.com/uvs-lb/uvs/packet"
)

// TestConnSize: Pkts and Mark fit in what was padding, so a Verdict does not grow.
func TestConnSize(t *testing.T) {
	if n := unsafe.Sizeof(Conn{}); n != 104 {
		t.Fatalf("Conn is %d bytes, want 104", n)
	}
}

// TestStateAndMethodShareAByte: every state with every method survives the packing.
func TestStateAndMethodShareAByte(t *testing.T) {
	var e entry
	for m := uint8(0); m <= maxMethod; m++ {
		for s := StateNone; s <= StateTemplate; s++ {
			e.sm = 0
			e.load(&Conn{Method: m})
			e.putState(s)
			if e.state() != s || e.method() != m {
				t.Fatalf("put %v/%d, got %v/%d", s, m, e.state(), e.method())
			}
		}
	}
	tab := newTable(t, Config{})
	c := natConn(v4(1, 2, 3, 4), 1)
	c.Method = maxMethod + 1
	if err := tab.Insert(&c, syn, 0, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("method %d: %v, want ErrInvalid", c.Method, err)
	}
}

// TestPacketCount: inbound packets are counted modulo the period, replies are not, the count
// starts at Conn.Pkts, and without a period it stops at 255.
func TestPacketCount(t *testing.T) {
	for _, tc := range []struct {
		period int
		want   func(n int) uint8
	}{
		{50, func(n int) uint8 { return uint8(n % 50) }},
		{256, func(n int) uint8 { return uint8(n % 256) }},
		{1, func(int) uint8 { return 0 }},
		{0, func(n int) uint8 { return uint8(min(n, 255)) }},
	} {
		tab := newTable(t, Config{CountPackets: true, PacketPeriod: tc.period})
		c := natConn(v4(1, 2, 3, 4), 1000)
		c.Pkts = 1
		mustInsert(t, tab, &c, syn, 0, 0)
		if c.Pkts != tc.want(1) {
			t.Fatalf("period %d: count after insert %d, want %d", tc.period, c.Pkts, tc.want(1))
		}
		for n := 2; n <= 600; n++ {
			lookup(t, tab, outKey(&c), ack, 0, DirOut, true) // a reply: not counted
			got := lookup(t, tab, inKey(&c), ack, 0, DirIn, true)
			if got.Pkts != tc.want(n) {
				t.Fatalf("period %d: packet %d counted %d, want %d", tc.period, n, got.Pkts, tc.want(n))
			}
		}
	}
	// Not counting: Pkts stays 0 whatever Insert is given.
	tab := newTable(t, Config{})
	c := natConn(v4(1, 2, 3, 4), 1000)
	c.Pkts = 7
	mustInsert(t, tab, &c, syn, 0, 0)
	if got := lookup(t, tab, inKey(&c), ack, 0, DirIn, true); c.Pkts != 0 || got.Pkts != 0 {
		t.Fatalf("counted without CountPackets: %d, %d", c.Pkts, got.Pkts)
	}
}

func TestInstall(t *testing.T) {
	d := newDests(2)
	tab := newTable(t, Config{Dests: d, CountPackets: true, PacketPeriod: 50})
	c := natConn(v4(1, 2, 3, 4), 1000)
	c.State, c.Pkts = StateEstablished, 3
	if up, err := tab.Install(&c, 30*time.Second, 0); err != nil || up {
		t.Fatalf("Install: %v, updated %v", err, up)
	}
	if c.State != StateEstablished || c.Pkts != 3 || c.Expires != 30*sec || d.of(1) != (counts{1, 0, 0}) {
		t.Fatalf("installed %v pkts %d expires %d counts %+v", c.State, c.Pkts, c.Expires, d.of(1))
	}
	// Refreshed in place: a new state moves the counts, a new timeout re-arms it.
	r := natConn(v4(1, 2, 3, 4), 1000)
	r.State, r.Pkts = StateFinWait, 3
	if up, err := tab.Install(&r, 0, 10*sec); err != nil || !up {
		t.Fatalf("refresh: %v, updated %v", err, up)
	}
	if r.Self != c.Self || r.State != StateFinWait || r.Expires != 10*sec+120*sec || d.of(1) != (counts{0, 1, 0}) || tab.Len() != 1 {
		t.Fatalf("refreshed %v expires %d counts %+v len %d", r.State, r.Expires, d.of(1), tab.Len())
	}
	// The entry expires after the synced timeout unless packets refresh it.
	lookup(t, tab, inKey(&r), 0, 10*sec+119*sec, DirIn, true)
	if st := tab.Stats(); st.Current != 1 {
		t.Fatalf("expired early: %+v", st)
	}
	// Another real server under the same key: the master's entry replaces it.
	m := natConn(v4(1, 2, 3, 4), 1000)
	m.Dest, m.DAddr, m.State = 2, rs2, StateEstablished
	if up, err := tab.Install(&m, 0, 200*sec); err != nil || up {
		t.Fatalf("replace: %v, updated %v", err, up)
	}
	if d.of(1) != (counts{}) || d.of(2) != (counts{1, 0, 0}) || tab.Len() != 1 {
		t.Fatalf("after replace: %+v %+v len %d", d.of(1), d.of(2), tab.Len())
	}
	lookup(t, tab, outKey(&m), ack, 200*sec, DirOut, true)
	// A TCP state out of range is refused; UDP takes its one state.
	bad := natConn(v4(1, 2, 3, 5), 1)
	bad.State = StateUDP
	if _, err := tab.Install(&bad, 0, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("TCP in state UDP: %v", err)
	}
	u := natConn(v4(1, 2, 3, 6), 53)
	u.Proto, u.State = packet.ProtoUDP, StateUDP
	if _, err := tab.Install(&u, 0, 0); err != nil || u.State != StateUDP || u.Expires != 300*sec {
		t.Fatalf("UDP: %v %v %d", err, u.State, u.Expires)
	}
}

// TestInstallTemplates: a template is refreshed with its new timeout, a connection links to
// it (moving from an older one) and the control counts follow.
func TestInstallTemplates(t *testing.T) {
	d := newDests(2)
	tab := newTable(t, Config{Dests: d})
	tm := Conn{Family: packet.FamilyIPv4, Proto: packet.ProtoTCP, Flags: FlagTemplate, Dest: 1,
		CAddr: v4(1, 2, 3, 0), VAddr: vip, VPort: 80, DAddr: rs1, DPort: 8080}
	if _, err := tab.Install(&tm, time.Minute, 0); err != nil || tm.State != StateTemplate || d.of(1) != (counts{0, 0, 1}) {
		t.Fatalf("template: %v %v %+v", err, tm.State, d.of(1))
	}
	again := tm
	if up, err := tab.Install(&again, 2*time.Minute, 30*sec); err != nil || !up || again.Self != tm.Self || again.Expires != 150*sec {
		t.Fatalf("template refresh: %v %v self %d expires %d", err, up, again.Self, again.Expires)
	}
	if to, ok := tab.Get(tm.Self, 30*sec, &again); !ok || to != 2*time.Minute || again.Flags&FlagTemplate == 0 {
		t.Fatalf("Get template: %v %v %+v", to, ok, again)
	}
	c := natConn(v4(1, 2, 3, 4), 1000)
	c.State = StateEstablished
	if _, err := tab.Install(&c, 0, 30*sec); err != nil || c.Tmpl != 0 {
		t.Fatalf("unlinked: %v tmpl %d", err, c.Tmpl)
	}
	// The same connection again, now under the template: linked in place.
	c2 := natConn(v4(1, 2, 3, 4), 1000)
	c2.State, c2.Tmpl = StateEstablished, tm.Self
	if up, err := tab.Install(&c2, 0, 30*sec); err != nil || !up || c2.Tmpl != tm.Self {
		t.Fatalf("link: %v %v tmpl %d", err, up, c2.Tmpl)
	}
	if up, err := tab.Install(&c2, 0, 31*sec); err != nil || !up || c2.Tmpl != tm.Self {
		t.Fatalf("relink: %v %v tmpl %d", err, up, c2.Tmpl)
	}
	// It controls one connection: deleting it dooms it, and it goes with its connection.
	if !tab.Delete(tm.Self) || d.of(1).persist != 1 {
		t.Fatalf("template freed while controlling: %+v", d.of(1))
	}
	if !tab.Delete(c2.Self) {
		t.Fatal("Delete conn")
	}
	tab.Sweep(40*sec, tab.Shards())
	if d.of(1) != (counts{}) || tab.Len() != 0 {
		t.Fatalf("left: %+v len %d", d.of(1), tab.Len())
	}
	if _, ok := tab.Get(c2.Self, 40*sec, &again); ok {
		t.Fatal("Get found a deleted entry")
	}
}

// TestGet: a connection's copy and the timeout of its state; nothing for a bad reference.
func TestGet(t *testing.T) {
	tab := newTable(t, Config{})
	c := natConn(v4(1, 2, 3, 4), 1000)
	mustInsert(t, tab, &c, syn, 0, 0)
	lookup(t, tab, inKey(&c), ack, 0, DirIn, true)
	var g Conn
	if to, ok := tab.Get(c.Self, sec, &g); !ok || to != 15*time.Minute || g.State != StateEstablished || g.Self != c.Self {
		t.Fatalf("Get: %v %v %+v", to, ok, g)
	}
	if _, ok := tab.Get(0, sec, &g); ok {
		t.Fatal("Get(0)")
	}
	if _, ok := tab.Get(c.Self, 2000*sec, &g); ok {
		t.Fatal("Get of an expired entry")
	}
}
