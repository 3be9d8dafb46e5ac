package connsync

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/packet"
)

// testConns returns n varied records: IPv4 and IPv6, with and without options, so that the
// messages have padding.
func testConns(n int) []Conn {
	cs := make([]Conn, n)
	for i := range cs {
		switch i % 4 {
		case 0:
			cs[i] = goldenV4Conn
		case 1:
			cs[i] = goldenV6Conn
		case 2:
			cs[i] = goldenSeqConns[0]
		case 3:
			cs[i] = goldenFullNATConn
		}
		cs[i].CPort = uint16(1024 + i)
	}
	return cs
}

func TestEncoderSplits(t *testing.T) {
	for _, maxLen := range []int{HeaderLen + RecordLenV4, 100, 200, 1472, 9000, 65535} {
		e, err := NewEncoder(9, maxLen, nil)
		if err != nil {
			t.Fatal(err)
		}
		in := testConns(1000)
		var out []Conn
		var m Message
		check := func(b []byte) {
			if b == nil {
				return
			}
			// An IPv6 record with options does not fit 44 bytes: it goes alone.
			if len(b) > maxLen && b[4] != 1 {
				t.Fatalf("maxLen %d: %d-byte message with %d records", maxLen, len(b), b[4])
			}
			if err := Decode(b, 9, &m); err != nil {
				t.Fatalf("maxLen %d: %v", maxLen, err)
			}
			out = append(out, m.Conns...)
		}
		for i := range in {
			full, err := e.Add(&in[i])
			if err != nil {
				t.Fatal(err)
			}
			check(full)
		}
		check(e.Flush())
		if !reflect.DeepEqual(out, in) {
			t.Fatalf("maxLen %d: %d records back of %d, or different", maxLen, len(out), len(in))
		}
	}
}

func TestEncoderMaxConns(t *testing.T) {
	e, _ := NewEncoder(1, 65535, nil)
	c := goldenV4Conn
	var msgs [][]byte
	for i := 0; i < 600; i++ {
		if full, _ := e.Add(&c); full != nil {
			msgs = append(msgs, append([]byte(nil), full...))
		}
	}
	msgs = append(msgs, e.Flush())
	if len(msgs) != 3 || msgs[0][4] != 255 || msgs[1][4] != 255 || msgs[2][4] != 90 {
		t.Fatalf("%d messages", len(msgs))
	}
	if len(msgs[0]) != HeaderLen+255*RecordLenV4 {
		t.Fatalf("first message %d bytes", len(msgs[0]))
	}
}

// TestEncoderBuffers: a returned message stays intact while the next one is being filled.
func TestEncoderBuffers(t *testing.T) {
	e, _ := NewEncoder(1, HeaderLen+2*RecordLenV4, nil)
	c := goldenV4Conn
	e.Add(&c)
	e.Add(&c)
	c.CPort++
	first, _ := e.Add(&c) // returns records 1-2, starts the second message
	keep := append([]byte(nil), first...)
	c.CPort++
	if full, _ := e.Add(&c); full != nil {
		t.Fatal("second message full too early")
	}
	if !bytes.Equal(first, keep) {
		t.Fatal("first message changed while the second was filled")
	}
	if e.Pending() != 2 {
		t.Fatalf("pending %d", e.Pending())
	}
	e.Reset()
	if e.Pending() != 0 || e.Flush() != nil {
		t.Fatal("Reset left records")
	}
}

func TestEncoderErrors(t *testing.T) {
	for _, n := range []int{0, HeaderLen + RecordLenV4 - 1, 65536} {
		if _, err := NewEncoder(0, n, nil); err != ErrMaxLen {
			t.Errorf("NewEncoder(%d): %v", n, err)
		}
	}
	s, _ := NewSigner(make([]byte, 32), nil)
	if _, err := NewEncoder(0, HeaderLen+RecordLenV4+TrailerLen-1, s); err != ErrMaxLen {
		t.Errorf("signed NewEncoder below the trailer: %v", err)
	}
	e, _ := NewEncoder(0, 1472, nil)
	bad := []Conn{
		{Family: packet.FamilyNone},
		{Family: packet.FamilyIPv4, PEData: make([]byte, 256), PEName: []byte("x")},
		{Family: packet.FamilyIPv4, PEData: []byte("x"), PEName: make([]byte, 17)},
	}
	want := []error{ErrFamily, ErrPELen, ErrPELen}
	for i := range bad {
		if _, err := e.Add(&bad[i]); !errors.Is(err, want[i]) {
			t.Errorf("Add(bad %d): %v", i, err)
		}
	}
	if e.Pending() != 0 {
		t.Fatal("a refused record was added")
	}
	// The largest record fits alone even under a small limit.
	big := Conn{Family: packet.FamilyIPv6, Protocol: packet.ProtoUDP, Flags: FlagTemplate, HasSeq: true,
		PEData: bytes.Repeat([]byte{1}, 255), PEName: []byte("0123456789abcdef"), HasLocal: true}
	e, _ = NewEncoder(0, 100, s)
	e.Add(&goldenV4Conn)
	full, err := e.Add(&big)
	if err != nil || full == nil {
		t.Fatalf("Add(big): %v", err)
	}
	msg := e.Flush()
	if len(msg) != HeaderLen+MaxRecordLen+3+TrailerLen {
		t.Fatalf("big message %d bytes, want %d", len(msg), HeaderLen+MaxRecordLen+3+TrailerLen)
	}
	v, _ := NewVerifier(make([]byte, 32), 0)
	var m Message
	if err := v.Decode(msg, 0, &m, time.Now()); err != nil || !reflect.DeepEqual(m.Conns, []Conn{big}) {
		t.Fatalf("big: %v %+v", err, m.Conns)
	}
}

func TestAllocs(t *testing.T) {
	cs := testConns(64)
	key := make([]byte, 32)
	s, _ := NewSigner(key, nil)
	v, _ := NewVerifier(key, 0)
	for _, signer := range []*Signer{nil, s} {
		e, _ := NewEncoder(1, 1472, signer)
		n := testing.AllocsPerRun(50, func() {
			for i := range cs {
				e.Add(&cs[i])
			}
			e.Flush()
		})
		if n != 0 {
			t.Errorf("Encoder (signed %v): %v allocations per run", signer != nil, n)
		}
	}
	e, _ := NewEncoder(1, 65535, nil)
	for i := range cs {
		e.Add(&cs[i])
	}
	msg := e.Flush()
	var m Message
	Decode(msg, 0, &m) // grows m.Conns
	if n := testing.AllocsPerRun(50, func() { Decode(msg, 0, &m) }); n != 0 {
		t.Errorf("Decode: %v allocations per run", n)
	}
	if n := testing.AllocsPerRun(50, func() { Decode(goldenV0, 0, &m) }); n != 0 {
		t.Errorf("Decode v0: %v allocations per run", n)
	}
	e, _ = NewEncoder(1, 65535, s)
	var signed [][]byte
	for j := 0; j < 60; j++ {
		for i := range cs {
			e.Add(&cs[i])
		}
		signed = append(signed, append([]byte(nil), e.Flush()...))
	}
	now := time.Now()
	v.Decode(signed[0], 0, &m, now)
	j := 1
	if n := testing.AllocsPerRun(50, func() {
		if err := v.Decode(signed[j], 0, &m, now); err != nil {
			t.Fatal(err)
		}
		j++
	}); n != 0 {
		t.Errorf("Verifier.Decode: %v allocations per run", n)
	}
}

func BenchmarkEncode(b *testing.B) {
	cs := testConns(64)
	e, _ := NewEncoder(1, 1472, nil)
	b.ReportAllocs()
	for b.Loop() {
		for i := range cs {
			e.Add(&cs[i])
		}
		e.Flush()
	}
}

func BenchmarkDecode(b *testing.B) {
	cs := testConns(32)
	e, _ := NewEncoder(1, 65535, nil)
	for i := range cs {
		e.Add(&cs[i])
	}
	msg := e.Flush()
	var m Message
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		Decode(msg, 0, &m)
	}
}
