package connsync

import (
	"encoding/binary"
	"reflect"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/packet"
)

// FuzzDecode: Decode never panics, never reads past the datagram (the fuzzer's slices are
// exact), and whatever it accepts re-encodes into a message that decodes to the same records.
func FuzzDecode(f *testing.F) {
	for _, b := range [][]byte{goldenV4, goldenV6, goldenTemplates, goldenSeq, goldenFullNAT, goldenV0, goldenPE} {
		f.Add(b, uint8(0))
	}
	f.Add(goldenV4, uint8(7))
	f.Fuzz(func(t *testing.T, b []byte, syncID uint8) {
		var m Message
		err := Decode(b, syncID, &m)
		if err != nil {
			return
		}
		if len(m.Conns)+m.Skipped > 255 {
			t.Fatalf("%d records from a one-byte count", len(m.Conns)+m.Skipped)
		}
		e, _ := NewEncoder(m.SyncID, 65535, nil)
		want := append([]Conn(nil), m.Conns...)
		for i := range want {
			want[i].Flags &^= FlagHashed // the sender never sends it
			if full, err := e.Add(&want[i]); err != nil || full != nil {
				t.Fatalf("re-encoding record %d: %v (full %v)", i, err, full != nil)
			}
		}
		if len(want) == 0 {
			return
		}
		var back Message
		if err := Decode(e.Flush(), syncID, &back); err != nil {
			t.Fatalf("re-encoded message: %v", err)
		}
		if back.Skipped != 0 || !reflect.DeepEqual(back.Conns, want) {
			t.Fatalf("round trip\n%+v\nwant\n%+v", back.Conns, want)
		}
	})
}

// connFrom makes a record the kernel would accept from fuzz bytes.
func connFrom(d []byte) Conn {
	var buf [200]byte
	copy(buf[:], d)
	g := buf[:]
	u8 := func() byte { v := g[0]; g = g[1:]; return v }
	u16 := func() uint16 { v := binary.BigEndian.Uint16(g); g = g[2:]; return v }
	u32 := func() uint32 { v := binary.BigEndian.Uint32(g); g = g[4:]; return v }
	var c Conn
	c.Family = packet.FamilyIPv4
	alen := 4
	sel := u8()
	if sel&1 != 0 {
		c.Family, alen = packet.FamilyIPv6, 16
	}
	protos := []uint8{packet.ProtoTCP, packet.ProtoUDP, packet.ProtoSCTP, protoAH, protoESP, 0}
	c.Protocol = protos[int(sel>>1)%len(protos)]
	c.Flags = Flags(u32()) &^ FlagHashed
	c.State = u16()
	if c.Protocol == 0 {
		c.Flags |= FlagTemplate
	}
	if c.Flags&FlagTemplate == 0 {
		c.State %= uint16(numStates(c.Protocol))
	}
	c.CPort, c.VPort, c.DPort = u16(), u16(), u16()
	copy(c.CAddr[:alen], g)
	copy(c.VAddr[:alen], g[16:])
	copy(c.DAddr[:alen], g[32:])
	g = g[48:]
	c.Fwmark, c.Timeout = u32(), u32()
	opts := u8()
	if opts&1 != 0 {
		c.HasSeq = true
		c.InSeq = Seq{u32(), u32(), u32()}
		c.OutSeq = Seq{u32(), u32(), u32()}
	}
	if opts&2 != 0 {
		c.HasLocal = true
		c.LPort = u16()
		copy(c.LAddr[:alen], g)
		g = g[16:]
	}
	if n := int(opts>>2) % 8; n > 0 {
		c.PEData = append([]byte(nil), g[:n*3]...)
		c.PEName = append([]byte(nil), g[:n*2]...)
	}
	return c
}

// FuzzRoundTrip: any sequence of records the kernel accepts encodes, under any size limit,
// into messages that decode (plain and authenticated) to exactly those records.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{0}, []byte{1}, uint16(1472))
	f.Add([]byte{1, 0, 0, 0x06, 0, 0, 1, 0xff}, []byte{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, uint16(100))
	f.Fuzz(func(t *testing.T, a, b []byte, maxLen uint16) {
		cs := []Conn{connFrom(a), connFrom(b), connFrom(append(b, a...)), connFrom(a[min(len(a), 3):])}
		limit := max(int(maxLen), HeaderLen+RecordLenV4+TrailerLen)
		key := []byte("0123456789abcdef")
		s, _ := NewSigner(key, nil)
		v, _ := NewVerifier(key, time.Minute)
		for _, signer := range []*Signer{nil, s} {
			e, err := NewEncoder(3, limit, signer)
			if err != nil {
				t.Fatal(err)
			}
			var got []Conn
			var m Message
			take := func(msg []byte) {
				if msg == nil {
					return
				}
				var err error
				if signer == nil {
					err = Decode(msg, 3, &m)
				} else {
					err = v.Decode(msg, 3, &m, time.Now())
				}
				if err != nil || m.Skipped != 0 {
					t.Fatalf("decoding %x: %v, %d skipped (%v)", msg, err, m.Skipped, m.SkipErr)
				}
				for _, c := range m.Conns {
					c.PEData = append([]byte(nil), c.PEData...)
					c.PEName = append([]byte(nil), c.PEName...)
					got = append(got, c)
				}
			}
			for i := range cs {
				full, err := e.Add(&cs[i])
				if err != nil {
					t.Fatal(err)
				}
				take(full)
			}
			take(e.Flush())
			want := append([]Conn(nil), cs...)
			for i := range want { // compare PE slices by content, nil as empty
				want[i].PEData = append([]byte(nil), want[i].PEData...)
				want[i].PEName = append([]byte(nil), want[i].PEName...)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("signed %v: round trip\n%+v\nwant\n%+v", signer != nil, got, want)
			}
		}
	})
}
