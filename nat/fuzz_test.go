package nat

import (
	"bytes"
	"testing"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/lb/conntab"
	"github.com/uvs-lb/uvs/packet"
	"github.com/uvs-lb/uvs/packet/packettest"
)

// endsLen is the size of the fuzzer's endpoint bytes: C, V, D and L, each 16 address bytes
// and a 2-byte port.
const endsLen = 4 * 18

// encodeEnds and decodeEnds carry a connection's endpoints through the fuzzer as bytes.
func encodeEnds(c *conntab.Conn) []byte {
	var b []byte
	for _, e := range []struct {
		a *[16]byte
		p uint16
	}{{&c.CAddr, c.CPort}, {&c.VAddr, c.VPort}, {&c.DAddr, c.DPort}, {&c.LAddr, c.LPort}} {
		b = append(b, e.a[:]...)
		b = append(b, byte(e.p>>8), byte(e.p))
	}
	return b
}

func decodeEnds(b []byte, c *conntab.Conn) {
	var e [endsLen]byte
	copy(e[:], b)
	get := func(i int, a *[16]byte, p *uint16) {
		*a = [16]byte(e[i*18 : i*18+16])
		*p = uint16(e[i*18+16])<<8 | uint16(e[i*18+17])
	}
	get(0, &c.CAddr, &c.CPort)
	get(1, &c.VAddr, &c.VPort)
	get(2, &c.DAddr, &c.DPort)
	get(3, &c.LAddr, &c.LPort)
}

// FuzzForward feeds random frames (those that parse) and random verdicts to Forward. It must
// never panic; a refused frame is left untouched; a forwarded one keeps its place, length
// and MACs, parses to exactly the Packet Forward kept up to date, has its TTL one lower, the
// endpoints the verdict asks for, and keeps valid every checksum that was valid before.
//
// famSel picks the connection's family: 0 the packet's, 1 IPv4, 2 IPv6, 3 none. fill
// computes the frame's checksums before forwarding, so mutated frames still test them.
func FuzzForward(f *testing.F) {
	for _, s := range seeds() {
		f.Add(s.frame, uint8(s.v.Method), uint8(s.v.Dir), uint8(s.v.Conn.Flags), uint8(0), s.v.ICMPError, false, encodeEnds(&s.v.Conn))
	}
	fw := New()
	f.Fuzz(func(t *testing.T, frame []byte, method, dir, flags, famSel uint8, icmpErr, fill bool, ends []byte) {
		var p packet.Packet
		if packet.Parse(frame, &p) != nil {
			return
		}
		if fill {
			packet.FillChecksums(frame, &p)
		}
		v := lb.Verdict{Action: lb.ActForward, Method: lb.Method(method % 6), Dir: lb.Dir(dir % 3), ICMPError: icmpErr}
		v.Conn.Family = [4]packet.Family{p.Key.Family, packet.FamilyIPv4, packet.FamilyIPv6, 0}[famSel%4]
		v.Conn.Flags = conntab.Flags(flags)
		decodeEnds(ends, &v.Conn)

		before, saved := bytes.Clone(frame), p
		validBefore := packet.ChecksumsValid(frame, &p)
		innerBefore := innerHeaderValid(frame, &p)

		off, n, r := fw.Forward(frame, 0, &p, &v)
		if off != 0 || n != len(frame) {
			t.Fatalf("frame moved: off %d len %d", off, n)
		}
		if r != lb.DropNone {
			if !bytes.Equal(frame, before) || p != saved {
				t.Fatalf("refused (%v) but changed the frame or the Packet", r)
			}
			return
		}
		if !bytes.Equal(frame[:12], before[:12]) {
			t.Fatal("MACs changed")
		}
		var q packet.Packet
		if err := packet.Parse(frame, &q); err != nil {
			t.Fatalf("result does not parse: %v", err)
		}
		if q != p {
			t.Fatalf("Packet not kept up to date\n got %+v\nwant %+v", p, q)
		}
		if q.TTL != saved.TTL-1 {
			t.Fatalf("TTL %d, was %d", q.TTL, saved.TTL)
		}
		checkEndpoints(t, &q, &v)
		if validBefore && !packet.ChecksumsValid(frame, &q) {
			t.Fatal("a valid checksum became invalid")
		}
		if innerBefore && !innerHeaderValid(frame, &q) {
			t.Fatal("the quoted IPv4 header checksum became invalid")
		}
	})
}

// checkEndpoints checks the outer addresses against the verdict, independently of plan.
func checkEndpoints(t *testing.T, p *packet.Packet, v *lb.Verdict) {
	t.Helper()
	c, k := &v.Conn, &p.Key
	n := 16
	if k.Family == packet.FamilyIPv4 {
		n = 4
	}
	full := v.Method == lb.MethodFullNAT || c.Flags&conntab.FlagFullNAT != 0
	want := func(what string, got []byte, a *[16]byte) {
		if !bytes.Equal(got[:n], a[:n]) {
			t.Fatalf("%s %x, want %x", what, got[:n], a[:n])
		}
	}
	if v.Dir == lb.DirIn {
		want("destination", k.Dst[:], &c.DAddr)
		if full {
			want("source", k.Src[:], &c.LAddr)
		}
		return
	}
	want("source", k.Src[:], &c.VAddr)
	if full {
		want("destination", k.Dst[:], &c.CAddr)
	}
}

// innerHeaderValid reports whether p is an ICMPv4 error quoting a whole IPv4 header whose
// checksum verifies.
func innerHeaderValid(frame []byte, p *packet.Packet) bool {
	if !p.Has(packet.FlagICMPError) || p.Key.Family != packet.FamilyIPv4 {
		return false
	}
	q := frame[p.Inner.L3Off:p.L3End()]
	hl := int(q[0]&0x0F) * 4
	return hl >= 20 && hl <= len(q) && packettest.Checksum(q[:hl], 0) == 0
}

type seed struct {
	frame []byte
	v     lb.Verdict
}

// seeds returns the frames and verdicts of the table tests.
func seeds() []seed {
	var ss []seed
	for _, fam := range families {
		for _, m := range methods {
			for _, pr := range protos {
				for _, d := range dirs {
					src, dst, _, _ := flow(fam, m.m, d.d)
					ss = append(ss, seed{frame(pr.p, src, dst, 64), verdict(fam, m.m, d.d, pr.p, false)})
				}
				for _, c := range icmpCases(fam, m.m, pr.p) {
					ss = append(ss, seed{c.in, verdict(fam, m.m, c.dir, pr.p, true)})
				}
			}
		}
	}
	return ss
}

// TestSeeds runs the fuzz seeds' properties as a plain test, and checks the seeds are
// forwarded (a seed that is refused would exercise only the refusal path).
func TestSeeds(t *testing.T) {
	for _, s := range seeds() {
		v := s.v
		if _, _, r := forward(t, s.frame, &v); r != lb.DropNone {
			t.Fatalf("seed refused: %v", r)
		}
	}
}
