package conntab

import (
	"time"

	"github.com/uvs-lb/uvs/packet"
)

// Timeouts are the idle timeouts of entries by state: how long an entry lives after its last
// packet (or, for a template, after it was created or last re-armed).
type Timeouts struct {
	// TCP is indexed by the TCP states, StateNone … StateSynAck.
	TCP [numTCPStates]time.Duration
	// UDP is the timeout of UDP connections (IPVS's one UDP state).
	UDP time.Duration
	// Other is the timeout of connections of any other protocol (ICMP, SCTP, ...), which
	// have a single state too.
	Other time.Duration
	// Template is the persistence timeout of templates inserted with timeout 0.
	Template time.Duration
}

// DefaultTimeouts returns IPVS's defaults (tcp_timeouts and udp_timeouts in the kernel):
// ESTABLISHED 900 s, SYN_SENT 120 s, SYN_RECV 60 s, FIN_WAIT 120 s, TIME_WAIT 120 s, CLOSE 10 s,
// CLOSE_WAIT 60 s, LAST_ACK 30 s, LISTEN 120 s, SYNACK 120 s, NONE 2 s; UDP 300 s; templates
// 360 s. IPVS keeps no ICMP connections; Other is 30 s, the kernel conntrack's ICMP timeout.
func DefaultTimeouts() Timeouts {
	var t Timeouts
	t.TCP[StateNone] = 2 * time.Second
	t.TCP[StateEstablished] = 15 * time.Minute
	t.TCP[StateSynSent] = 2 * time.Minute
	t.TCP[StateSynRecv] = time.Minute
	t.TCP[StateFinWait] = 2 * time.Minute
	t.TCP[StateTimeWait] = 2 * time.Minute
	t.TCP[StateClose] = 10 * time.Second
	t.TCP[StateCloseWait] = time.Minute
	t.TCP[StateLastAck] = 30 * time.Second
	t.TCP[StateListen] = 2 * time.Minute
	t.TCP[StateSynAck] = 2 * time.Minute
	t.UDP = 5 * time.Minute
	t.Other = 30 * time.Second
	t.Template = 6 * time.Minute
	return t
}

// Set changes the timeouts `ipvsadm --set tcp tcpfin udp` changes: tcp is ESTABLISHED, tcpfin
// FIN_WAIT, udp UDP (the kernel's ip_vs_set_timeout). A zero value leaves that one unchanged.
func (t *Timeouts) Set(tcp, tcpfin, udp time.Duration) {
	if tcp > 0 {
		t.TCP[StateEstablished] = tcp
	}
	if tcpfin > 0 {
		t.TCP[StateFinWait] = tcpfin
	}
	if udp > 0 {
		t.UDP = udp
	}
}

// Ticks: expiry is kept in 1/16 s, 32 bits, compared with wrap-around (see the package doc).
const (
	tickNs   = int64(time.Second / 16)
	maxTicks = 1 << 30 // timeouts are clamped here, well inside the 2^31 wrap-around window
)

// tickOf converts a clock reading to ticks.
func tickOf(now int64) int64 { return now / tickNs }

// expired reports whether an entry expiring at tick exp has expired at tick now.
func expired(exp uint32, now int64) bool { return int32(uint32(now)-exp) >= 0 }

// expiresAt converts an expiry tick back to the clock of now.
func expiresAt(exp uint32, now int64) int64 {
	return (now + int64(int32(exp-uint32(now)))) * tickNs
}

// toTicks rounds d up to whole ticks (so no entry lives shorter than its timeout by more than
// the tick of now itself) and clamps it to maxTicks.
func toTicks(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	n := (int64(d) + tickNs - 1) / tickNs
	if n > maxTicks {
		n = maxTicks
	}
	return uint32(n)
}

// compiledTimeouts is what the data path reads: Timeouts in ticks, published by pointer so a
// call loads it once and SetTimeouts never blocks. With dos (secure_tcp on) the half-open
// states have SecureHalfOpenTimeout and TCP segments move through the secure state tables.
type compiledTimeouts struct {
	pub   Timeouts
	tcp   [numTCPStates]uint32
	udp   uint32
	other uint32
	tmpl  uint32
	dos   bool
}

// SecureHalfOpenTimeout is the timeout of the half-open TCP states (SYN_RECV, SYNACK) while
// secure_tcp is on, unless the configured one is shorter. It is the SYN_RECV timeout of the
// secure_tcp timeout table of IPVS 1.0 (Linux 2.4); IPVS today only changes the state table.
const SecureHalfOpenTimeout = 10 * time.Second

func compile(t Timeouts, dos bool) *compiledTimeouts {
	c := &compiledTimeouts{pub: t, udp: toTicks(t.UDP), other: toTicks(t.Other), tmpl: toTicks(t.Template), dos: dos}
	for i, d := range t.TCP {
		if dos && State(i).halfOpen() {
			d = min(d, SecureHalfOpenTimeout)
		}
		c.tcp[i] = toTicks(d)
	}
	return c
}

// table returns the TCP transition table tbl (tblInput, tblOutput, tblInputOnly) in force:
// its secure_tcp variant while secure_tcp is on.
func (c *compiledTimeouts) table(tbl int) int {
	if c.dos {
		return tbl + numTables
	}
	return tbl
}

// of returns the timeout in ticks of a connection of protocol proto in state s.
func (c *compiledTimeouts) of(proto uint8, s State) uint32 {
	switch {
	case proto == packet.ProtoTCP && int(s) < numTCPStates:
		return c.tcp[s]
	case proto == packet.ProtoUDP:
		return c.udp
	}
	return c.other
}
