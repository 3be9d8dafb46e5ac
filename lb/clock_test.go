package lb

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/lb/conntab"
	"github.com/uvs-lb/uvs/packet"
)

// These tests run the rig as the appliance runs the engine: packets at Engine.Now (as the
// port loops read it), maintenance through maintain (as Start's goroutine does, every
// MaintainEvery of real time), and the fake clock as what the engine's Clock reads, which a
// test may jump.

// sendNow pushes one frame at engine time.
func (r *rig) sendNow(f []byte) Verdict {
	r.t.Helper()
	r.w.Process([][]byte{f}, r.pkts, r.out, r.e.Now())
	return r.out[0]
}

// tick lets d of real time pass (the clock advances by d) and runs one maintenance.
func (r *rig) tick(d time.Duration) {
	r.clock.advance(d)
	r.e.maintain()
}

// liveConn is an established NAT connection of the rig and the packet that keeps it alive.
type liveConn struct {
	ack  []byte
	self conntab.Ref
}

// establish opens n connections (SYN, SYN/ACK, ACK) at engine time.
func (r *rig) establish(n int) []liveConn {
	r.t.Helper()
	cs := make([]liveConn, n)
	for i := range cs {
		c := ap(client1, uint16(30000+i))
		v := r.sendNow(tcp(c, ap(vip, 80), packet.TCPSyn).Build())
		if v.Action != ActForward {
			r.t.Fatalf("SYN %d: %v", i, v.Action)
		}
		r.sendNow(tcp(realOf(v), c, packet.TCPSyn|packet.TCPAck).Build())
		cs[i].ack = tcp(c, ap(vip, 80), packet.TCPAck).Build()
		if v = r.sendNow(cs[i].ack); v.Conn.State != conntab.StateEstablished {
			r.t.Fatalf("connection %d: state %v, want ESTABLISHED", i, v.Conn.State)
		}
		cs[i].self = v.Conn.Self
	}
	return cs
}

// alive reports whether c's entry is live at engine time, without touching it.
func (r *rig) alive(c liveConn) bool {
	var out conntab.Conn
	_, ok := r.e.Conns().Get(c.self, r.e.Now(), &out)
	return ok
}

// traffic sends c's ACK and reports whether it met its connection (forwarded; with no
// connection, a mid-stream ACK is passed up).
func (r *rig) traffic(c liveConn) bool {
	r.t.Helper()
	v := r.sendNow(c.ack)
	return v.Action == ActForward && v.Conn.State == conntab.StateEstablished
}

const established = 15 * time.Minute // conntab.DefaultTimeouts

// TestClockJumpForwardKeepsLiveConnections: the clock jumps an hour forward while 30
// connections carry a packet every 250 ms. A packet that reads the jumped clock before
// maintenance has absorbed it sees at most ClockStep of it; maintenance absorbs the rest;
// every connection lives on, and once idle still expires after its timeout.
func TestClockJumpForwardKeepsLiveConnections(t *testing.T) {
	r := newRig(t, &Config{Services: []ServiceConfig{natService("rr", rs1, rs2, rs3)}}, Options{})
	var jumps []ClockJump
	r.e.opts.OnClockJump = func(j ClockJump) { jumps = append(jumps, j) }
	r.e.maintain() // Start's first discipline
	cs := r.establish(30)
	every := r.e.opts.MaintainEvery
	step := r.e.ClockState().Step
	if step != time.Second || every != 250*time.Millisecond {
		t.Fatalf("step %v, maintain every %v: want the defaults 1s, 250ms", step, every)
	}
	for range 20 {
		r.tick(every)
		for i, c := range cs {
			if !r.traffic(c) {
				t.Fatalf("connection %d lost before any jump", i)
			}
		}
	}
	before := r.e.Now()

	r.clock.advance(time.Hour + every)
	// Packets between the jump and the next maintenance: clamped, none lost.
	if now := r.e.Now(); now != before+int64(step) {
		t.Errorf("after the jump, before maintenance: engine time moved %v, want the step %v", time.Duration(now-before), step)
	}
	for i, c := range cs {
		if !r.traffic(c) {
			t.Fatalf("connection %d lost to a packet that read the jumped clock", i)
		}
	}
	r.e.maintain()
	if len(jumps) != 1 || jumps[0].By != time.Hour+every-step {
		t.Errorf("jumps reported %+v, want one of %v", jumps, time.Hour+every-step)
	}
	st := r.e.ClockState()
	if st.Jumps != 1 || st.Forward != time.Hour+every-step || st.Backward != 0 || st.Offset != -st.Forward {
		t.Errorf("clock state %+v", st)
	}
	if now := r.e.Now(); now != before+int64(step) {
		t.Errorf("after maintenance: engine time moved %v since before the jump, want %v", time.Duration(now-before), step)
	}
	for range 20 {
		r.tick(every)
		for i, c := range cs {
			if !r.traffic(c) {
				t.Fatalf("connection %d lost after the jump", i)
			}
		}
	}
	if st := r.e.Conns().Stats(); st.Expired != 0 || st.Current != len(cs) {
		t.Errorf("table after the jump: %d expired, %d held; want 0, %d", st.Expired, st.Current, len(cs))
	}

	// Idle from here: they expire after their timeout, not before.
	for range int((established - 2*time.Second) / time.Second) {
		r.tick(time.Second)
	}
	for i, c := range cs {
		if !r.alive(c) {
			t.Fatalf("connection %d expired after %v idle, before its %v timeout", i, established-2*time.Second, established)
		}
	}
	for range 3 {
		r.tick(time.Second)
	}
	for i, c := range cs {
		if r.alive(c) {
			t.Fatalf("connection %d still live %v idle, past its %v timeout", i, established+time.Second, established)
		}
	}
	if st := r.e.ClockState(); st.Jumps != 1 {
		t.Errorf("steps of 1 s (the step) counted as jumps: %+v", st)
	}
}

// TestClockJumpIdleConnectionExpiresOnTime: a connection idle across a forward jump expires
// its timeout after its last packet in real time (give or take the step), not at the jump.
func TestClockJumpIdleConnectionExpiresOnTime(t *testing.T) {
	r := newRig(t, &Config{Services: []ServiceConfig{natService("rr", rs1)}}, Options{})
	r.e.maintain()
	cs := r.establish(2)
	live, idle := cs[0], cs[1]
	every := r.e.opts.MaintainEvery
	since := time.Duration(0) // real time since idle's last packet
	run := func(d time.Duration) {
		for ; d > 0; d -= every {
			r.tick(every)
			since += every
			if !r.traffic(live) {
				t.Fatalf("live connection lost %v after the start", since)
			}
		}
	}
	run(time.Minute)
	r.clock.advance(2 * time.Hour) // idle stays idle: nothing reads the jumped clock but maintenance
	run(established - time.Minute - 2*time.Second)
	if !r.alive(idle) {
		t.Fatalf("idle connection expired %v after its last packet (timeout %v)", since, established)
	}
	run(2 * time.Second)
	if r.alive(idle) {
		t.Fatalf("idle connection live %v after its last packet (timeout %v)", since, established)
	}
}

// TestClockJumpBack: engine time never goes back. A jump back half an hour stands engine
// time still until the next maintenance, which absorbs it; connections keep their
// timeouts in real time (neither expired early nor kept 30 minutes longer).
func TestClockJumpBack(t *testing.T) {
	r := newRig(t, &Config{Services: []ServiceConfig{natService("rr", rs1)}}, Options{})
	r.e.maintain()
	cs := r.establish(2)
	live, idle := cs[0], cs[1]
	every := r.e.opts.MaintainEvery
	r.tick(every)
	before := r.e.Now()
	r.clock.advance(-30 * time.Minute)
	if now := r.e.Now(); now != before {
		t.Errorf("after a jump back, before maintenance: engine time moved %v, want 0 (never back)", time.Duration(now-before))
	}
	if !r.traffic(live) {
		t.Fatal("connection lost to a jump back")
	}
	r.e.maintain()
	st := r.e.ClockState()
	if st.Jumps != 1 || st.Backward != 30*time.Minute || st.Forward != 0 || st.Offset != 30*time.Minute {
		t.Errorf("clock state %+v", st)
	}
	if now := r.e.Now(); now != before {
		t.Errorf("engine time moved %v at maintenance, want 0", time.Duration(now-before))
	}
	r.tick(every)
	if now := r.e.Now(); now != before+int64(every) {
		t.Errorf("engine time after the next tick: +%v, want +%v", time.Duration(now-before), every)
	}
	// idle's last packet was 2 ticks (500 ms) before the jump.
	for range int(established/time.Second) - 2 {
		r.tick(time.Second)
		if !r.traffic(live) {
			t.Fatal("live connection lost after a jump back")
		}
	}
	if !r.alive(idle) {
		t.Fatal("idle connection expired early after a jump back")
	}
	for range 3 {
		r.tick(time.Second)
	}
	if r.alive(idle) {
		t.Errorf("idle connection kept past its timeout after a jump back (by as much as the clock went back)")
	}
}

// TestClockDisciplineOff: ClockStep < 0 takes the clock as it is, as before: an hour's
// jump forward expires the connection at its next packet.
func TestClockDisciplineOff(t *testing.T) {
	r := newRig(t, &Config{Services: []ServiceConfig{natService("rr", rs1)}}, Options{ClockStep: -1})
	r.e.maintain()
	cs := r.establish(1)
	r.clock.advance(time.Hour)
	if r.traffic(cs[0]) {
		t.Error("connection lived through an hour's jump with the discipline off")
	}
	r.e.maintain()
	if st := r.e.ClockState(); st.Jumps != 0 || st.Step != 0 {
		t.Errorf("clock state %+v with the discipline off", st)
	}
}

// TestClockUndisciplinedBeforeStart: an engine that no maintenance has disciplined (never
// started) reads its clock as it is.
func TestClockUndisciplinedBeforeStart(t *testing.T) {
	clk := &fakeClock{now: int64(time.Hour)}
	e := New(Options{Clock: clk})
	clk.advance(10 * time.Hour)
	if got := e.Now(); got != clk.now {
		t.Errorf("Now = %v, want the clock's %v", got, clk.now)
	}
}

func TestClockStepOption(t *testing.T) {
	for _, tc := range []struct {
		step, every, want time.Duration
	}{
		{0, 0, time.Second},
		{0, time.Second, 4 * time.Second},
		{10 * time.Second, 0, 10 * time.Second},
		{100 * time.Millisecond, 0, 500 * time.Millisecond},
		{-1, 0, 0},
	} {
		e := New(Options{ClockStep: tc.step, MaintainEvery: tc.every})
		if got := e.ClockState().Step; got != tc.want {
			t.Errorf("ClockStep %v, MaintainEvery %v: step %v, want %v", tc.step, tc.every, got, tc.want)
		}
	}
}

// TestEngineNowDoesNotAllocate: the port loops read it once a batch.
func TestEngineNowDoesNotAllocate(t *testing.T) {
	r := newRig(t, &Config{}, Options{})
	r.e.maintain()
	if n := testing.AllocsPerRun(1000, func() { r.e.Now() }); n != 0 {
		t.Errorf("Engine.Now: %v allocs", n)
	}
}

// atomicClock is a fake clock safe for concurrent readers.
type atomicClock struct{ now atomic.Int64 }

func (c *atomicClock) Now() int64 { return c.now.Load() }

// TestClockMonotonicUnderJumps: readers (port loops) never see engine time go back, nor
// more than a step past the last maintenance, while maintenance absorbs jumps both ways
// (and the race detector watches).
func TestClockMonotonicUnderJumps(t *testing.T) {
	clk := &atomicClock{}
	clk.now.Store(int64(time.Hour))
	e := New(Options{Clock: clk})
	e.maintain()
	step := int64(e.ClockState().Step)
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := e.Now()
			for !stop.Load() {
				now := e.Now()
				if now < last {
					errs <- "engine time went back " + time.Duration(last-now).String()
					return
				}
				last = now
			}
		}()
	}
	every := int64(250 * time.Millisecond)
	start := e.Now()
	for i := range 2000 {
		switch i % 10 {
		case 3:
			clk.now.Add(int64(time.Hour))
		case 7:
			clk.now.Add(-int64(30 * time.Minute))
		default:
			clk.now.Add(every)
		}
		e.maintain()
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for s := range errs {
		t.Error(s)
	}
	// 1600 ticks of 250 ms, 200 jumps forward of a step each, 200 back of none.
	if got, want := e.Now()-start, 1600*every+200*step; got != want {
		t.Errorf("engine time advanced %v, want %v", time.Duration(got), time.Duration(want))
	}
	if st := e.ClockState(); st.Jumps != 400 {
		t.Errorf("%d jumps, want 400", st.Jumps)
	}
}
