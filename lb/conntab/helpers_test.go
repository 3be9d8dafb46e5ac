package conntab

import (
	"testing"
	"time"

	"github.com/uvs-lb/uvs/lb/sched"
	"github.com/uvs-lb/uvs/packet"
)

const (
	syn    = packet.TCPSyn
	synack = packet.TCPSyn | packet.TCPAck
	ack    = packet.TCPAck
	finack = packet.TCPFin | packet.TCPAck
	rst    = packet.TCPRst
	sec    = int64(time.Second)
)

// fakeDests hands out the counts of dest ids 1..n.
type fakeDests []sched.Counts

func newDests(n int) fakeDests { return make(fakeDests, n+1) }

func (d fakeDests) Counts(id uint32) *sched.Counts {
	if int(id) >= len(d) {
		return nil
	}
	return &d[id]
}

type counts struct{ active, inactive, persist int32 }

func (d fakeDests) of(id uint32) counts {
	c := &d[id]
	return counts{c.Active.Load(), c.Inactive.Load(), c.Persist.Load()}
}

func v4(a, b, c, d byte) (r [16]byte) {
	r[0], r[1], r[2], r[3] = a, b, c, d
	return r
}

func v6(last byte) (r [16]byte) {
	r[0], r[1], r[15] = 0x20, 0x01, last
	return r
}

var (
	vip     = v4(10, 0, 0, 100)
	rs1     = v4(192, 168, 1, 1)
	rs2     = v4(192, 168, 1, 2)
	localIP = v4(10, 0, 1, 1)
)

// natConn is a NAT connection from client ip:port to vip:80 scheduled to rs1:8080 (dest 1).
func natConn(client [16]byte, port uint16) Conn {
	return Conn{
		Family: packet.FamilyIPv4, Proto: packet.ProtoTCP, Dest: 1,
		CAddr: client, CPort: port, VAddr: vip, VPort: 80, DAddr: rs1, DPort: 8080,
	}
}

// inKey is the key of a client → service packet of c.
func inKey(c *Conn) packet.FlowKey {
	return packet.FlowKey{Src: c.CAddr, Dst: c.VAddr, SrcPort: c.CPort, DstPort: c.VPort, Proto: c.Proto, Family: c.Family}
}

// outKey is the key of a real server → client packet of c.
func outKey(c *Conn) packet.FlowKey {
	k := packet.FlowKey{Src: c.DAddr, Dst: c.CAddr, SrcPort: c.DPort, DstPort: c.CPort, Proto: c.Proto, Family: c.Family}
	if c.Flags&FlagFullNAT != 0 {
		k.Dst, k.DstPort = c.LAddr, c.LPort
	}
	return k
}

func newTable(t testing.TB, cfg Config) *Table {
	t.Helper()
	if cfg.Seed == 0 {
		cfg.Seed = 42
	}
	return New(cfg)
}

func mustInsert(t testing.TB, tab *Table, c *Conn, flags uint8, timeout time.Duration, now int64) {
	t.Helper()
	if err := tab.Insert(c, flags, timeout, now); err != nil {
		t.Fatalf("Insert: %v", err)
	}
}

// lookup looks k up and fails the test when the result is not (dir, ok).
func lookup(t testing.TB, tab *Table, k packet.FlowKey, flags uint8, now int64, wantDir Dir, wantOK bool) Conn {
	t.Helper()
	var out Conn
	dir, ok := tab.Lookup(&k, flags, now, &out)
	if ok != wantOK || (ok && dir != wantDir) {
		t.Fatalf("Lookup = %v, %v; want %v, %v", dir, ok, wantDir, wantOK)
	}
	return out
}
