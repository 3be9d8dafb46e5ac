package conntab

import (
	"strings"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/packet"
)

// The kernel's tables as the kernel lays them out (one row per event, one column per current
// state NO ES SS SR FW TW CL CW LA LI SA), typed in again independently of tcpNext so a slip
// in turning them around is caught.
var kernelRows = [3][numEvents]string{
	tblInput: {
		evSyn: "SR ES ES SR SR SR SR SR SR SR SR",
		evFin: "CL CW SS TW TW TW CL CW LA LI TW",
		evAck: "ES ES SS ES FW TW CL CW CL LI ES",
		evRst: "CL CL CL SR CL CL CL CL LA LI SR",
	},
	tblOutput: {
		evSyn: "SS ES SS SR SS SS SS SS SS LI SR",
		evFin: "TW FW SS TW FW TW CL TW LA LI TW",
		evAck: "ES ES SS ES FW TW CL CW LA ES ES",
		evRst: "CL CL SS CL CL TW CL CL CL CL CL",
	},
	tblInputOnly: {
		evSyn: "SR ES ES SR SR SR SR SR SR SR SR",
		evFin: "CL FW SS TW FW TW CL CW LA LI TW",
		evAck: "ES ES SS ES FW TW CL CW CL LI ES",
		evRst: "CL CL CL SR CL CL CL CL LA LI CL",
	},
}

var abbrev = map[string]State{
	"NO": StateNone, "ES": StateEstablished, "SS": StateSynSent, "SR": StateSynRecv,
	"FW": StateFinWait, "TW": StateTimeWait, "CL": StateClose, "CW": StateCloseWait,
	"LA": StateLastAck, "LI": StateListen, "SA": StateSynAck,
}

func TestTCPTablesMatchKernel(t *testing.T) {
	evFlags := [numEvents]uint8{evSyn: syn, evFin: packet.TCPFin, evAck: ack, evRst: rst}
	for tbl, rows := range kernelRows {
		for ev, row := range rows {
			cols := strings.Fields(row)
			if len(cols) != numTCPStates {
				t.Fatalf("table %d event %d: %d columns", tbl, ev, len(cols))
			}
			for cur, name := range cols {
				want := abbrev[name]
				if got := tcpNext[tbl][cur][ev]; got != want {
					t.Errorf("table %d, state %v, event %d: %v, kernel %v", tbl, State(cur), ev, got, want)
				}
				if got := tcpTransition(tbl, State(cur), evFlags[ev]); got != want {
					t.Errorf("tcpTransition(%d, %v, %#x) = %v, want %v", tbl, State(cur), evFlags[ev], got, want)
				}
			}
		}
	}
}

func TestTCPEventPrecedence(t *testing.T) {
	for _, tc := range []struct {
		cur   State
		flags uint8
		want  State
	}{
		{StateEstablished, rst | syn | packet.TCPFin | ack, StateClose}, // RST wins
		{StateNone, synack, StateSynRecv},                               // SYN before ACK
		{StateEstablished, finack, StateCloseWait},                      // FIN before ACK
		{StateEstablished, packet.TCPPsh, StateClose},                   // no S/F/A/R: the kernel closes
		{StateEstablished, 0, StateEstablished},                         // 0: not a segment (ICMP error)
	} {
		if got := tcpTransition(tblInput, tc.cur, tc.flags); got != tc.want {
			t.Errorf("tcpTransition(input, %v, %#x) = %v, want %v", tc.cur, tc.flags, got, tc.want)
		}
	}
}

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{
		StateNone: "NONE", StateEstablished: "ESTABLISHED", StateSynSent: "SYN_SENT",
		StateSynRecv: "SYN_RECV", StateFinWait: "FIN_WAIT", StateTimeWait: "TIME_WAIT",
		StateClose: "CLOSE", StateCloseWait: "CLOSE_WAIT", StateLastAck: "LAST_ACK",
		StateListen: "LISTEN", StateSynAck: "SYNACK", StateUDP: "UDP", StateTemplate: "NONE",
		State(99): "ERR!",
	} {
		if got := s.String(); got != want {
			t.Errorf("State(%d).String() = %q, want %q", s, got, want)
		}
	}
}

// step is one packet of a sequence: its direction, flags, and the state and counts after it.
type step struct {
	dir      Dir
	flags    uint8
	want     State
	active   int32
	inactive int32
}

func runSequence(t *testing.T, flags Flags, first uint8, firstState State, steps []step) {
	t.Helper()
	d := newDests(1)
	tab := newTable(t, Config{Dests: d})
	c := natConn(v4(1, 2, 3, 4), 40000)
	c.Flags = flags
	now := sec
	mustInsert(t, tab, &c, first, 0, now)
	if c.State != firstState {
		t.Fatalf("after insert: %v, want %v", c.State, firstState)
	}
	for n, st := range steps {
		now += sec
		k := inKey(&c)
		if st.dir == DirOut {
			k = outKey(&c)
		}
		var out Conn
		dir, ok := tab.Lookup(&k, st.flags, now, &out)
		if !ok || dir != st.dir {
			t.Fatalf("step %d: Lookup = %v, %v", n, dir, ok)
		}
		if out.State != st.want {
			t.Errorf("step %d (%v %#x): %v, want %v", n, st.dir, st.flags, out.State, st.want)
		}
		if got := d.of(1); got.active != st.active || got.inactive != st.inactive {
			t.Errorf("step %d: active/inactive %d/%d, want %d/%d", n, got.active, got.inactive, st.active, st.inactive)
		}
		if inact := out.Flags&FlagInactive != 0; inact != (st.inactive == 1) {
			t.Errorf("step %d: FlagInactive %v", n, inact)
		}
		wantExp := (tickOf(now) + int64(toTicks(DefaultTimeouts().TCP[st.want]))) * tickNs
		if out.Expires != wantExp {
			t.Errorf("step %d: expires %d, want %d", n, out.Expires, wantExp)
		}
	}
}

func TestSequences(t *testing.T) {
	const in, out = DirIn, DirOut
	t.Run("NAT handshake and client close", func(t *testing.T) {
		runSequence(t, 0, syn, StateSynRecv, []step{
			{out, synack, StateSynRecv, 1, 0}, // OUTPUT syn from SYN_RECV stays
			{in, ack, StateEstablished, 1, 0},
			{in, ack | packet.TCPPsh, StateEstablished, 1, 0},
			{out, ack, StateEstablished, 1, 0},
			{in, finack, StateCloseWait, 0, 1},
			{out, ack, StateCloseWait, 0, 1},
			{out, finack, StateTimeWait, 0, 1},
			{in, ack, StateTimeWait, 0, 1},
		})
	})
	t.Run("NAT server closes first", func(t *testing.T) {
		runSequence(t, 0, syn, StateSynRecv, []step{
			{in, ack, StateEstablished, 1, 0},
			{out, finack, StateFinWait, 0, 1},
			{in, ack, StateFinWait, 0, 1},
			{in, finack, StateTimeWait, 0, 1},
			{out, ack, StateTimeWait, 0, 1},
		})
	})
	t.Run("NAT reset", func(t *testing.T) {
		runSequence(t, 0, syn, StateSynRecv, []step{
			{in, ack, StateEstablished, 1, 0},
			{in, rst, StateClose, 0, 1},
			{in, syn, StateSynRecv, 1, 0}, // port reuse without conn_reuse_mode: back to active
		})
	})
	t.Run("NAT server resets the SYN", func(t *testing.T) {
		runSequence(t, 0, syn, StateSynRecv, []step{
			{out, rst | ack, StateClose, 0, 1},
		})
	})
	t.Run("ICMP error leaves state alone", func(t *testing.T) {
		runSequence(t, 0, syn, StateSynRecv, []step{
			{in, ack, StateEstablished, 1, 0},
			{out, 0, StateEstablished, 1, 0},
		})
	})
	t.Run("DR input-only", func(t *testing.T) {
		runSequence(t, FlagInputOnly, syn, StateSynRecv, []step{
			{in, ack, StateEstablished, 1, 0},
			{in, ack | packet.TCPPsh, StateEstablished, 1, 0},
			{in, finack, StateFinWait, 0, 1}, // INPUT_ONLY: a client FIN means FIN_WAIT
			{in, ack, StateFinWait, 0, 1},
			{in, rst, StateClose, 0, 1},
		})
	})
	t.Run("DR first packet ACK (sloppy)", func(t *testing.T) {
		runSequence(t, FlagInputOnly, ack, StateEstablished, []step{
			{in, finack, StateFinWait, 0, 1},
		})
	})
}

func TestTimeoutsSet(t *testing.T) {
	to := DefaultTimeouts()
	to.Set(time.Hour, 0, 10*time.Second)
	if to.TCP[StateEstablished] != time.Hour || to.TCP[StateFinWait] != 2*time.Minute || to.UDP != 10*time.Second {
		t.Fatalf("Set: %+v", to)
	}
	tab := newTable(t, Config{})
	tab.SetTimeouts(to)
	if got := tab.Timeouts(); got != to {
		t.Fatalf("Timeouts() = %+v", got)
	}
	c := natConn(v4(1, 1, 1, 1), 1000)
	mustInsert(t, tab, &c, ack, 0, 0) // NONE + ACK → ESTABLISHED
	if c.Expires != int64(toTicks(time.Hour))*tickNs {
		t.Fatalf("expires %v, want an hour", time.Duration(c.Expires))
	}
}
