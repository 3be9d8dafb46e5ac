package conntab

import (
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/uvs-lb/uvs/packet"
)

func TestEntrySize(t *testing.T) {
	if n := unsafe.Sizeof(entry{}); n > 88 {
		t.Fatalf("entry is %d bytes, want ≤ 88", n)
	}
	if n := unsafe.Sizeof(shard{}); n%cacheLine != 0 {
		t.Fatalf("shard is %d bytes, not a multiple of %d", n, cacheLine)
	}
}

func TestCountsLifeCycle(t *testing.T) {
	d := newDests(2)
	tab := newTable(t, Config{Dests: d})
	c := natConn(v4(1, 2, 3, 4), 1234)
	mustInsert(t, tab, &c, syn, 0, 0)
	if got := d.of(1); got != (counts{1, 0, 0}) {
		t.Fatalf("after SYN: %+v", got)
	}
	lookup(t, tab, inKey(&c), ack, sec, DirIn, true)
	lookup(t, tab, inKey(&c), finack, 2*sec, DirIn, true)
	if got := d.of(1); got != (counts{0, 1, 0}) {
		t.Fatalf("after FIN: %+v", got)
	}
	// CLOSE_WAIT lasts 60 s: Sweep before it changes nothing, after it removes the entry.
	if n := tab.Sweep(2*sec+59*sec, tab.Shards()); n != 0 {
		t.Fatalf("early Sweep removed %d", n)
	}
	if n := tab.Sweep(2*sec+61*sec, tab.Shards()); n != 1 {
		t.Fatalf("Sweep removed %d, want 1", n)
	}
	if got := d.of(1); got != (counts{}) {
		t.Fatalf("after expiry: %+v", got)
	}

	// UDP is always inactive (IPVS binds every connection inactive, UDP never changes it).
	u := natConn(v4(1, 2, 3, 5), 53)
	u.Proto, u.Dest = packet.ProtoUDP, 2
	mustInsert(t, tab, &u, 0, 0, 0)
	if u.State != StateUDP || u.Flags&FlagInactive == 0 {
		t.Fatalf("UDP conn: %v %#x", u.State, u.Flags)
	}
	lookup(t, tab, outKey(&u), 0, sec, DirOut, true)
	if got := d.of(2); got != (counts{0, 1, 0}) {
		t.Fatalf("UDP counts: %+v", got)
	}
	if !tab.Delete(u.Self) || tab.Delete(u.Self) {
		t.Fatal("Delete: want true then false")
	}
	if got := d.of(2); got != (counts{}) {
		t.Fatalf("UDP counts after delete: %+v", got)
	}
	st := tab.Stats()
	if st.Inserted != 2 || st.Expired != 1 || st.Deleted != 1 || st.Current != 0 || tab.Len() != 0 {
		t.Fatalf("stats %+v len %d", st, tab.Len())
	}
}

func TestLazyExpiry(t *testing.T) {
	d := newDests(1)
	tab := newTable(t, Config{Dests: d})
	c := natConn(v4(1, 2, 3, 4), 1234)
	mustInsert(t, tab, &c, syn, 0, 100*sec) // SYN_RECV: 60 s
	lookup(t, tab, inKey(&c), syn, 159*sec, DirIn, true)
	// The retransmitted SYN re-armed it: 60 s from 159 s.
	lookup(t, tab, outKey(&c), synack, 218*sec, DirOut, true)
	lookup(t, tab, inKey(&c), ack, 279*sec, DirIn, false)
	if tab.Len() != 0 || d.of(1) != (counts{}) {
		t.Fatalf("expired entry kept: len %d counts %+v", tab.Len(), d.of(1))
	}
	if st := tab.Stats(); st.Expired != 1 {
		t.Fatalf("stats %+v", st)
	}
	// The key is free again.
	mustInsert(t, tab, &c, syn, 0, 280*sec)
}

func TestExpiryTickBoundary(t *testing.T) {
	tab := newTable(t, Config{})
	c := natConn(v4(1, 2, 3, 4), 1)
	c.Proto = packet.ProtoUDP
	mustInsert(t, tab, &c, 0, 10*time.Second, 0)
	if c.Expires != 10*sec {
		t.Fatalf("Expires %d", c.Expires)
	}
	lookup(t, tab, inKey(&c), 0, 10*sec-tickNs, DirIn, true) // re-armed: now + 300 s
	if tab.Sweep(10*sec+299*sec, tab.Shards()) != 0 {
		t.Fatal("swept too early")
	}
	if tab.Sweep(10*sec-tickNs+300*sec, tab.Shards()) != 1 {
		t.Fatal("not swept at expiry")
	}
}

// TestClockWrap checks that 32-bit ticks compare across their wrap-around.
func TestClockWrap(t *testing.T) {
	tab := newTable(t, Config{})
	base := int64(1<<32-16) * tickNs // one second before the tick counter wraps
	c := natConn(v4(1, 2, 3, 4), 1)
	mustInsert(t, tab, &c, ack, 0, base)
	if c.Expires != base+900*sec {
		t.Fatalf("Expires %d, want %d", c.Expires, base+900*sec)
	}
	lookup(t, tab, inKey(&c), ack, base+899*sec, DirIn, true)
	lookup(t, tab, inKey(&c), ack, base+2*899*sec, DirIn, true)
	lookup(t, tab, inKey(&c), ack, base+3*899*sec+sec, DirIn, false)
}

func TestNATBothDirections(t *testing.T) {
	for _, fam := range []packet.Family{packet.FamilyIPv4, packet.FamilyIPv6} {
		tab := newTable(t, Config{Shards: 16})
		var conns []Conn
		for i := range 200 {
			c := natConn(v4(1, 2, byte(i>>8), byte(i)), uint16(1000+i))
			if fam == packet.FamilyIPv6 {
				c.Family, c.CAddr, c.VAddr, c.DAddr = fam, v6(byte(i)), v6(200), v6(201)
			}
			c.DAddr[3] += byte(i % 3) // a few real servers
			mustInsert(t, tab, &c, syn, 0, 0)
			conns = append(conns, c)
		}
		for _, c := range conns {
			a := lookup(t, tab, inKey(&c), ack, sec, DirIn, true)
			b := lookup(t, tab, outKey(&c), ack, sec, DirOut, true)
			if a.Self != c.Self || b.Self != c.Self || a.CAddr != c.CAddr || b.DAddr != c.DAddr {
				t.Fatalf("lookup returned another entry: %+v / %+v for %+v", a, b, c)
			}
			// The wrong way round is not the reply key.
			k := inKey(&c).Reverse()
			lookup(t, tab, k, ack, sec, DirIn, false)
		}
		// An IPv4 key never matches an IPv6 entry with the same bytes.
		if fam == packet.FamilyIPv6 {
			k := inKey(&conns[0])
			k.Family = packet.FamilyIPv4
			lookup(t, tab, k, ack, sec, DirIn, false)
		}
	}
}

func TestDRHasNoReplyKey(t *testing.T) {
	tab := newTable(t, Config{})
	c := natConn(v4(1, 2, 3, 4), 999)
	c.Flags = FlagInputOnly
	mustInsert(t, tab, &c, syn, 0, 0)
	lookup(t, tab, outKey(&c), synack, sec, DirOut, false)
	// Another DR conn whose would-be reply key is the same inserts fine.
	c2 := c
	c2.VAddr = v4(10, 0, 0, 101)
	mustInsert(t, tab, &c2, syn, 0, 0)
}

func TestFullNAT(t *testing.T) {
	tab := newTable(t, Config{Shards: 64})
	const lo, hi = 1024, 65535
	used := map[uint16]bool{}
	client := v4(7, 7, 7, 7)
	for i := range 100 {
		c := natConn(client, uint16(20000+i))
		c.Flags, c.LAddr = FlagFullNAT, localIP
		want := tab.ShardOf(&c.CAddr, c.CPort)
		var err error
		for n := 0; ; n++ {
			p, ok := tab.LocalPort(&c, lo, hi, n)
			if !ok {
				t.Fatalf("ran out of local ports at n=%d", n)
			}
			if p < lo || tab.ShardOf(&c.LAddr, p) != want {
				t.Fatalf("LocalPort %d: shard %d, want %d", p, tab.ShardOf(&c.LAddr, p), want)
			}
			// Every conn goes to the same real server, so the reply key is (rs1:8080 → local:p):
			// a port already used by another conn must be refused.
			c.LPort = p
			err = tab.Insert(&c, syn, 0, 0)
			if err == nil {
				break
			}
			if !errors.Is(err, ErrReplyExists) || !used[p] {
				t.Fatalf("Insert with port %d: %v", p, err)
			}
		}
		used[c.LPort] = true
		a := lookup(t, tab, inKey(&c), ack, sec, DirIn, true)
		b := lookup(t, tab, outKey(&c), ack, sec, DirOut, true)
		if a.Self != c.Self || b.Self != c.Self || b.LPort != c.LPort {
			t.Fatal("full-NAT lookup returned another entry")
		}
		// The NAT reply key (→ client) is not indexed for full-NAT.
		nk := outKey(&c)
		nk.Dst, nk.DstPort = c.CAddr, c.CPort
		lookup(t, tab, nk, ack, sec, DirOut, false)
	}
	// A port from outside the connection's shard is refused.
	c := natConn(client, 30000)
	c.Flags, c.LAddr = FlagFullNAT, localIP
	p, _ := tab.LocalPort(&c, lo, hi, 0)
	c.LPort = p + 1
	if err := tab.Insert(&c, syn, 0, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Insert with a wrong-shard port: %v", err)
	}
}

func TestLocalPortRange(t *testing.T) {
	tab := newTable(t, Config{Shards: 256})
	c := natConn(v4(9, 9, 9, 9), 5555)
	c.LAddr = localIP
	want := tab.ShardOf(&c.CAddr, c.CPort)
	var all []uint16
	for p := 60000; p <= 65535; p++ {
		if tab.ShardOf(&c.LAddr, uint16(p)) == want {
			all = append(all, uint16(p))
		}
	}
	for n := 0; ; n++ {
		p, ok := tab.LocalPort(&c, 60000, 65535, n)
		if !ok {
			if n != len(all) {
				t.Fatalf("LocalPort gave %d ports, want %d", n, len(all))
			}
			break
		}
		if p != all[n] {
			t.Fatalf("LocalPort n=%d: %d, want %d", n, p, all[n])
		}
	}
	if _, ok := tab.LocalPort(&c, 100, 100+1, 5); ok {
		t.Fatal("LocalPort past a tiny range")
	}
	if _, ok := tab.LocalPort(&c, 10, 5, 0); ok {
		t.Fatal("LocalPort on an empty range")
	}
}

func TestInsertExistsRace(t *testing.T) {
	before := runtime.NumGoroutine()
	d := newDests(8)
	tab := newTable(t, Config{Dests: d, Shards: 4})
	const workers, keys = 8, 500
	var wg sync.WaitGroup
	wins := make([][]Ref, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range keys {
				c := natConn(v4(3, 3, byte(k>>8), byte(k)), 4000)
				c.Dest = uint32(w + 1) // each worker picks "its" server
				c.DAddr[3] = byte(w)
				err := tab.Insert(&c, syn, 0, 0)
				switch {
				case err == nil:
					wins[w] = append(wins[w], c.Self)
				case errors.Is(err, ErrExists):
					if c.Self == 0 || c.State != StateSynRecv {
						t.Errorf("ErrExists without the winner: %+v", c)
					}
				default:
					t.Errorf("Insert: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	// The package starts no goroutines; ours may take a moment to exit after wg.Done.
	for deadline := time.Now().Add(time.Second); runtime.NumGoroutine() > before && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("goroutines: %d before, %d after", before, n)
	}
	total := 0
	var active int32
	for w := range workers {
		total += len(wins[w])
		if got := d.of(uint32(w + 1)).active; int(got) != len(wins[w]) {
			t.Errorf("dest %d: active %d, won %d", w+1, got, len(wins[w]))
		}
		active += d.of(uint32(w + 1)).active
	}
	if total != keys || tab.Len() != keys || int(active) != keys {
		t.Fatalf("%d winners, %d entries, %d active; want %d", total, tab.Len(), active, keys)
	}
}

func TestCapacity(t *testing.T) {
	tab := newTable(t, Config{Capacity: 100, Shards: 8})
	var refs []Ref
	for i := range 100 {
		c := natConn(v4(5, 5, 5, byte(i)), 1)
		mustInsert(t, tab, &c, syn, 0, 0)
		refs = append(refs, c.Self)
	}
	for i := range 3 {
		c := natConn(v4(6, 6, 6, byte(i)), 1)
		if err := tab.Insert(&c, syn, 0, 0); err != ErrFull {
			t.Fatalf("Insert at capacity: %v", err)
		}
	}
	if st := tab.Stats(); st.RefusedFull != 3 || st.Current != 100 {
		t.Fatalf("stats %+v", st)
	}
	tab.Delete(refs[0])
	c := natConn(v4(6, 6, 6, 6), 1)
	mustInsert(t, tab, &c, syn, 0, 0)
}

func TestTemplates(t *testing.T) {
	d := newDests(2)
	tab := newTable(t, Config{Dests: d})
	tk := packet.FlowKey{Src: v4(1, 2, 3, 0), Dst: vip, DstPort: 80, Proto: packet.ProtoTCP, Family: packet.FamilyIPv4}
	var tc Conn
	if tab.LookupTemplate(&tk, 0, &tc) {
		t.Fatal("template before insert")
	}
	tc = Conn{Family: tk.Family, Proto: tk.Proto, Flags: FlagTemplate, Dest: 1,
		CAddr: tk.Src, VAddr: tk.Dst, VPort: tk.DstPort, DAddr: rs1, DPort: 8080}
	mustInsert(t, tab, &tc, 0, 30*time.Second, 0)
	if tc.State != StateTemplate || d.of(1) != (counts{0, 0, 1}) {
		t.Fatalf("template %v, counts %+v", tc.State, d.of(1))
	}
	// A second worker racing for the same template gets the first one.
	tc2 := tc
	tc2.Dest, tc2.DAddr = 2, rs2
	if err := tab.Insert(&tc2, 0, 30*time.Second, 0); err != ErrExists || tc2.Self != tc.Self || tc2.Dest != 1 {
		t.Fatalf("template race: %v %+v", err, tc2)
	}
	// Templates are not connections, and connections not templates.
	lookup(t, tab, tk, syn, sec, DirIn, false)

	c := natConn(v4(1, 2, 3, 4), 5000)
	c.Tmpl = tc.Self
	mustInsert(t, tab, &c, syn, 0, sec)
	if c.Tmpl != tc.Self {
		t.Fatal("conn lost its template")
	}
	// Past the template's 30 s, the connection (SYN_RECV → ESTABLISHED, 900 s) keeps it.
	lookup(t, tab, inKey(&c), ack, 2*sec, DirIn, true)
	if n := tab.Sweep(100*sec, tab.Shards()); n != 0 {
		t.Fatalf("Sweep removed %d", n)
	}
	var got Conn
	if !tab.LookupTemplate(&tk, 100*sec, &got) || got.Self != tc.Self || got.DAddr != rs1 {
		t.Fatalf("template gone while it controls a connection: %+v", got)
	}
	if got.Expires != 130*sec {
		t.Fatalf("re-armed template expires %d, want %d", got.Expires, 130*sec)
	}
	// The connection ends; the template lives out its timeout, then goes.
	if !tab.Delete(c.Self) {
		t.Fatal("Delete conn")
	}
	if n := tab.Sweep(120*sec, tab.Shards()); n != 0 {
		t.Fatalf("Sweep removed %d before the template's timeout", n)
	}
	tab.Touch(tc.Self, 0, 120*sec) // a new connection would re-arm it: 30 s from 120 s
	if n := tab.Sweep(149*sec, tab.Shards()); n != 0 {
		t.Fatal("Touch did not re-arm the template")
	}
	if n := tab.Sweep(151*sec, tab.Shards()); n != 1 {
		t.Fatalf("Sweep removed %d, want the template", n)
	}
	if d.of(1) != (counts{}) || tab.Len() != 0 {
		t.Fatalf("after all: counts %+v len %d", d.of(1), tab.Len())
	}
}

func TestTemplateDeleteWhileControlling(t *testing.T) {
	d := newDests(1)
	tab := newTable(t, Config{Dests: d})
	tc := Conn{Family: packet.FamilyIPv4, Flags: FlagTemplate, Dest: 1, CAddr: v4(1, 1, 1, 0), VAddr: v4(0, 0, 0, 7), DAddr: rs1}
	mustInsert(t, tab, &tc, 0, 0, 0)
	c := natConn(v4(1, 1, 1, 1), 1)
	c.Tmpl = tc.Self
	mustInsert(t, tab, &c, syn, 0, 0)
	if !tab.Delete(tc.Self) || tab.Delete(tc.Self) {
		t.Fatal("Delete template: want true, then false")
	}
	k := packet.FlowKey{Src: tc.CAddr, Dst: tc.VAddr, Family: packet.FamilyIPv4}
	var out Conn
	if tab.LookupTemplate(&k, 0, &out) {
		t.Fatal("deleted template still found")
	}
	// A new template for the key can be made while the old one waits.
	tc2 := tc
	mustInsert(t, tab, &tc2, 0, 0, 0)
	if d.of(1).persist != 2 || tab.Len() != 3 {
		t.Fatalf("persist %d len %d", d.of(1).persist, tab.Len())
	}
	tab.Sweep(sec, tab.Shards())
	if d.of(1).persist != 2 {
		t.Fatal("doomed template freed while it controls a connection")
	}
	tab.Delete(c.Self)
	tab.Sweep(2*sec, tab.Shards())
	if d.of(1).persist != 1 || tab.Len() != 1 {
		t.Fatalf("doomed template not freed: persist %d len %d", d.of(1).persist, tab.Len())
	}
	// A connection naming a template that is gone is inserted without one.
	c2 := natConn(v4(1, 1, 1, 2), 1)
	c2.Tmpl = tc.Self
	mustInsert(t, tab, &c2, syn, 0, 2*sec)
	if c2.Tmpl != 0 {
		t.Fatalf("stale template kept: %v", c2.Tmpl)
	}
}

func TestDeleteReusesSlots(t *testing.T) {
	tab := newTable(t, Config{Shards: 1})
	var refs []Ref
	for i := range 1000 {
		c := natConn(v4(4, 4, byte(i>>8), byte(i)), 1)
		mustInsert(t, tab, &c, syn, 0, 0)
		refs = append(refs, c.Self)
	}
	hwm := tab.shards[0].hwm
	for _, r := range refs {
		if !tab.Delete(r) {
			t.Fatal("Delete")
		}
	}
	if tab.shards[0].used != 0 || tab.Len() != 0 {
		t.Fatalf("index keeps %d slots", tab.shards[0].used)
	}
	seen := map[Ref]bool{}
	for i := range 1000 {
		c := natConn(v4(8, 8, byte(i>>8), byte(i)), 1)
		mustInsert(t, tab, &c, syn, 0, 0)
		seen[c.Self] = true
	}
	if tab.shards[0].hwm != hwm {
		t.Fatalf("slots not reused: hwm %d → %d", hwm, tab.shards[0].hwm)
	}
	for _, r := range refs {
		if !seen[r] {
			t.Fatalf("ref %v not reused", r)
		}
	}
	if tab.Delete(0) || tab.Delete(Ref(1<<31)) {
		t.Fatal("Delete of a bogus ref")
	}
}

func TestRange(t *testing.T) {
	tab := newTable(t, Config{Shards: 8})
	want := map[Ref]uint16{}
	for i := range 300 {
		c := natConn(v4(2, 2, byte(i>>8), byte(i)), uint16(i))
		mustInsert(t, tab, &c, syn, 0, 0)
		want[c.Self] = c.CPort
	}
	tab.Sweep(sec, 0) // sets Range's clock only
	seen := 0
	tab.Range(func(c *Conn) bool {
		if want[c.Self] != c.CPort || c.State != StateSynRecv || c.Expires != 60*sec {
			t.Fatalf("Range: %+v", c)
		}
		tab.Delete(c.Self) // Range runs fn outside the lock
		seen++
		return true
	})
	if seen != 300 || tab.Len() != 0 {
		t.Fatalf("Range saw %d, %d left", seen, tab.Len())
	}
}

func TestSyncedState(t *testing.T) {
	d := newDests(1)
	tab := newTable(t, Config{Dests: d})
	c := natConn(v4(1, 2, 3, 4), 77)
	c.State = StateEstablished
	mustInsert(t, tab, &c, 0, 0, 0)
	if c.State != StateEstablished || d.of(1) != (counts{1, 0, 0}) {
		t.Fatalf("synced: %v %+v", c.State, d.of(1))
	}
	c = natConn(v4(1, 2, 3, 5), 77)
	c.State = StateTimeWait
	mustInsert(t, tab, &c, 0, 0, 0)
	if d.of(1) != (counts{1, 1, 0}) {
		t.Fatalf("synced TIME_WAIT: %+v", d.of(1))
	}
}

func TestAllocs(t *testing.T) {
	tab := newTable(t, Config{Shards: 16})
	for i := range 1000 {
		c := natConn(v4(9, 0, byte(i>>8), byte(i)), 1)
		mustInsert(t, tab, &c, syn, 0, 0)
	}
	hit := packet.FlowKey{Src: v4(9, 0, 0, 7), Dst: vip, SrcPort: 1, DstPort: 80, Proto: packet.ProtoTCP, Family: packet.FamilyIPv4}
	miss := hit
	miss.SrcPort = 2
	var out Conn
	if n := testing.AllocsPerRun(1000, func() { tab.Lookup(&hit, ack, sec, &out) }); n != 0 {
		t.Errorf("Lookup hit: %v allocs", n)
	}
	if n := testing.AllocsPerRun(1000, func() { tab.Lookup(&miss, ack, sec, &out) }); n != 0 {
		t.Errorf("Lookup miss: %v allocs", n)
	}
	c := natConn(v4(9, 9, 9, 9), 9)
	if n := testing.AllocsPerRun(1000, func() {
		x := c
		if tab.Insert(&x, syn, 0, sec) != nil || !tab.Delete(x.Self) {
			panic("insert/delete")
		}
	}); n != 0 {
		t.Errorf("Insert+Delete: %v allocs", n)
	}
}

func TestLookupTemplateExpires(t *testing.T) {
	d := newDests(1)
	tab := newTable(t, Config{Dests: d})
	tc := Conn{Family: packet.FamilyIPv4, Proto: packet.ProtoUDP, Flags: FlagTemplate, Dest: 1,
		CAddr: v4(1, 2, 0, 0), VAddr: vip, VPort: 53, DAddr: rs1, DPort: 53}
	mustInsert(t, tab, &tc, 0, 0, 0) // Timeouts.Template: 360 s
	k := packet.FlowKey{Src: tc.CAddr, Dst: vip, DstPort: 53, Proto: packet.ProtoUDP, Family: packet.FamilyIPv4}
	var out Conn
	if !tab.LookupTemplate(&k, 359*sec, &out) || out.Expires != 360*sec {
		t.Fatalf("template: %+v", out)
	}
	if tab.LookupTemplate(&k, 360*sec, &out) {
		t.Fatal("expired template found")
	}
	if st := tab.Stats(); st.Expired != 1 || st.Templates != 0 || d.of(1) != (counts{}) {
		t.Fatalf("stats %+v counts %+v", st, d.of(1))
	}
}

func TestSweepRoundRobin(t *testing.T) {
	tab := newTable(t, Config{Shards: 4})
	per := make([]int, 4)
	for i := range 100 {
		c := natConn(v4(1, 9, 9, byte(i)), 1)
		mustInsert(t, tab, &c, syn, 0, 0)
		per[tab.ShardOf(&c.CAddr, c.CPort)]++
	}
	for i := range 4 {
		if n := tab.Sweep(61*sec, 1); n != per[i] {
			t.Fatalf("Sweep of shard %d removed %d, want %d", i, n, per[i])
		}
	}
	if tab.Len() != 0 {
		t.Fatalf("%d left", tab.Len())
	}
}

func TestTouchConn(t *testing.T) {
	tab := newTable(t, Config{})
	c := natConn(v4(1, 2, 3, 4), 1)
	mustInsert(t, tab, &c, syn, 0, 0)         // SYN_RECV, 60 s
	tab.Touch(c.Self, 10*time.Minute, 50*sec) // explicit timeout
	lookup(t, tab, inKey(&c), 0, 600*sec, DirIn, true)
	tab.Touch(c.Self, 0, 600*sec) // by state: 60 s
	lookup(t, tab, inKey(&c), 0, 661*sec, DirIn, false)
}
