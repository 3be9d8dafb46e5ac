package wire

import (
	"net"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/uvs-lb/uvs/netstack/port"
)

// testSwitch is a switch with one host per port; each host's frames are collected.
type testSwitch struct {
	sw    *Switch
	hosts map[string]*port.Mem
	rx    map[string]*collector
}

func newTestSwitch(t *testing.T, start bool, names ...string) *testSwitch {
	t.Helper()
	ts := &testSwitch{sw: NewSwitch("sw1"), hosts: map[string]*port.Mem{}, rx: map[string]*collector{}}
	for _, n := range names {
		ts.add(n)
	}
	if start {
		ts.sw.Start()
	}
	t.Cleanup(func() {
		ts.sw.Close()
		for n, h := range ts.hosts {
			h.Close()
			<-ts.rx[n].done
		}
	})
	return ts
}

func (ts *testSwitch) add(name string) {
	host, sp := port.Pipe(port.MemConfig{Name: name}, port.MemConfig{Name: "sw1:" + name})
	ts.hosts[name], ts.rx[name] = host, collect(host)
	ts.sw.AddPort(name, sp)
}

func (ts *testSwitch) send(t *testing.T, from string, dst, src net.HardwareAddr, seq uint32) {
	t.Helper()
	writeFrames(t, ts.hosts[from], testFrame(dst, src, seq, 64))
}

// expect checks that host's i-th received frame is seq.
func (ts *testSwitch) expect(t *testing.T, host string, i int, seq uint32) {
	t.Helper()
	if got := frameSeq(ts.rx[host].next(t, i)); got != seq {
		t.Fatalf("%s: frame %d is %d, want %d", host, i, got, seq)
	}
}

func TestSwitchLearnsAndFloods(t *testing.T) {
	ts := newTestSwitch(t, true, "pa", "pb", "pc")
	// Each check of "nothing else arrived" relies on one sender's frames being switched in
	// order: a later broadcast from the same host is the next frame the others see.

	ts.send(t, "pa", macB, macA, 1) // B unknown: flooded
	ts.expect(t, "pb", 0, 1)
	ts.expect(t, "pc", 0, 1)

	ts.send(t, "pb", macA, macB, 2) // A learned on pa: to pa only
	ts.send(t, "pb", bcast, macB, 3)
	ts.expect(t, "pa", 0, 2)
	ts.expect(t, "pa", 1, 3)
	ts.expect(t, "pc", 1, 3) // not 2

	ts.send(t, "pa", macB, macA, 4) // B learned on pb
	ts.send(t, "pa", bcast, macA, 5)
	ts.expect(t, "pb", 1, 4)
	ts.expect(t, "pb", 2, 5)
	ts.expect(t, "pc", 2, 5)

	ts.send(t, "pa", macA, macA, 6) // for its own segment: filtered
	multicast := net.HardwareAddr{0x01, 0, 0x5e, 0, 0, 0x12}
	ts.send(t, "pa", multicast, macA, 7) // multicast floods
	ts.expect(t, "pb", 3, 7)
	ts.expect(t, "pc", 3, 7)

	st := ts.sw.Stats()
	if st["pa"].Frames != 5 || st["pb"].Delivered != 4 || st["pc"].Delivered != 4 || st["pa"].Delivered != 2 {
		t.Fatalf("stats %+v", st)
	}
	if ts.rx["pa"].count() != 2 {
		t.Fatalf("pa got %d frames, want 2", ts.rx["pa"].count())
	}
}

func TestSwitchPortDownIsolates(t *testing.T) {
	ts := newTestSwitch(t, true, "pa", "pb", "pc")
	ts.send(t, "pc", bcast, macC, 1) // learn C on pc
	ts.expect(t, "pa", 0, 1)
	ts.expect(t, "pb", 0, 1)

	ts.sw.SetPortUp("pc", false)
	ts.sw.SetPortUp("nope", false) // unknown: ignored
	ts.send(t, "pa", bcast, macA, 2)
	ts.send(t, "pa", macC, macA, 3) // C forgotten: flooded, to pb only
	ts.expect(t, "pb", 1, 2)
	ts.expect(t, "pb", 2, 3)
	ts.send(t, "pc", bcast, macC, 4) // dropped on the way in
	eventually(t, "pc's frame to drop", func() bool { return ts.sw.Stats()["pc"].DroppedDown == 1 })

	ts.sw.SetPortUp("pc", true)
	ts.send(t, "pa", bcast, macA, 5)
	ts.expect(t, "pc", 0, 5) // nothing from while it was down
	ts.send(t, "pc", bcast, macC, 6)
	ts.expect(t, "pa", 1, 6) // 4 never crossed
	ts.expect(t, "pb", 3, 5)
	ts.expect(t, "pb", 4, 6)
}

func TestSwitchAddPortAfterStart(t *testing.T) {
	ts := newTestSwitch(t, false, "pa")
	ts.sw.Start()
	ts.sw.Start()
	ts.add("pb")
	ts.send(t, "pa", bcast, macA, 1)
	ts.expect(t, "pb", 0, 1)
	ts.send(t, "pb", macA, macB, 2)
	ts.expect(t, "pa", 0, 2)

	defer func() {
		if recover() == nil {
			t.Error("a duplicate port name did not panic")
		}
	}()
	p, q := port.Pipe(port.MemConfig{}, port.MemConfig{})
	defer p.Close()
	defer q.Close()
	ts.sw.AddPort("pa", q)
}

func TestSwitchRunts(t *testing.T) {
	ts := newTestSwitch(t, true, "pa", "pb")
	writeFrames(t, ts.hosts["pa"], []byte{1, 2, 3})
	eventually(t, "the runt to count", func() bool { return ts.sw.Stats()["pa"].Lost == 1 })
}

func TestSwitchAddPortAfterClose(t *testing.T) {
	sw := NewSwitch("sw")
	sw.Close()
	host, sp := port.Pipe(port.MemConfig{}, port.MemConfig{})
	sw.AddPort("p", sp)
	if _, err := host.Write([][]byte{{1}}, []int{1}, 0); err == nil {
		t.Fatal("a port added to a closed switch is open")
	}
}

// TestSwitchWithLinks cables two hosts to a switch through impaired links, as the lab
// does, and takes a link down.
func TestSwitchWithLinks(t *testing.T) {
	sw := NewSwitch("sw1")
	var links []*Link
	hosts := map[string]*port.Mem{}
	rx := map[string]*collector{}
	for _, name := range []string{"h1", "h2"} {
		host, hl := port.Pipe(port.MemConfig{Name: name}, port.MemConfig{})
		sl, sp := port.Pipe(port.MemConfig{}, port.MemConfig{Name: "sw1:" + name})
		l := NewLink(hl, sl, LinkConfig{Name: name + ":eth0--sw1:" + name})
		l.Start()
		sw.AddPort(name, sp)
		links = append(links, l)
		hosts[name], rx[name] = host, collect(host)
	}
	sw.Start()
	defer func() {
		for _, l := range links {
			l.Close()
		}
		sw.Close()
		for n := range hosts {
			<-rx[n].done
		}
	}()
	writeFrames(t, hosts["h1"], testFrame(bcast, macA, 1, 64))
	if got := frameSeq(rx["h2"].next(t, 0)); got != 1 {
		t.Fatalf("h2 got %d", got)
	}
	links[1].SetUp(false)
	writeFrames(t, hosts["h1"], testFrame(macB, macA, 2, 64))
	eventually(t, "the down link to drop", func() bool { return links[1].Stats().BtoA.DroppedDown == 1 })
	links[1].SetUp(true)
	writeFrames(t, hosts["h1"], testFrame(macB, macA, 3, 64))
	if got := frameSeq(rx["h2"].next(t, 1)); got != 3 {
		t.Fatalf("h2 got %d after the link came back", got)
	}
}

// TestSwitchSteadyStateAllocs checks that switching allocates nothing per frame.
func TestSwitchSteadyStateAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	sw := NewSwitch("sw")
	ha, pa := port.Pipe(port.MemConfig{}, port.MemConfig{})
	hb, pb := port.Pipe(port.MemConfig{}, port.MemConfig{})
	sw.AddPort("pa", pa)
	sw.AddPort("pb", pb)
	sw.Start()
	var total atomic.Uint64
	done := make(chan struct{})
	defer func() {
		sw.Close()
		<-done
	}()
	go func() { // counts without allocating
		defer close(done)
		bufs, sizes := make([][]byte, 64), make([]int, 64)
		for i := range bufs {
			bufs[i] = make([]byte, 1518)
		}
		for {
			n, err := hb.Read(bufs, sizes, 0)
			if err != nil {
				return
			}
			total.Add(uint64(n))
		}
	}()
	writeFrames(t, hb, testFrame(bcast, macB, 0, 64)) // learn B
	eventually(t, "B to be learnt", func() bool { return sw.Stats()["pa"].Delivered == 1 })
	frames, sizes := make([][]byte, 32), make([]int, 32)
	for i := range frames {
		frames[i], sizes[i] = testFrame(macB, macA, uint32(i), 200), 200
	}
	send := func(batches int) {
		for range batches {
			want := total.Load() + 32
			ha.Write(frames, sizes, 0)
			for total.Load() < want {
				runtime.Gosched()
			}
		}
	}
	send(100)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	send(300)
	runtime.ReadMemStats(&after)
	perFrame := float64(after.Mallocs-before.Mallocs) / (300 * 32)
	t.Logf("%.4f allocations per frame", perFrame)
	if perFrame > 0.01 {
		t.Fatalf("%.4f allocations per frame in steady state", perFrame)
	}
}
