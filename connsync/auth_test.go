package connsync

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
	"time"
)

var (
	testKey  = []byte("uvs sync test key, 32 bytes long")
	testTime = time.Unix(1700000000, 123456789)
)

func fixedClock() time.Time { return testTime }

func newTestSigner(t *testing.T) *Signer {
	s, err := NewSigner(testKey, fixedClock)
	if err != nil {
		t.Fatal(err)
	}
	s.sender = 0x01020304
	return s
}

// TestSignedGolden builds the authenticated form of goldenV4 by hand: the marked header, the
// record, the trailer, an HMAC computed here independently.
func TestSignedGolden(t *testing.T) {
	want := append([]byte(nil), goldenV4...)
	want[2], want[3] = 0, 44+TrailerLen // size counts the trailer: 96
	want[6], want[7] = 0x55, 0x41       // spare: "UA"
	want = append(want,
		0x01, 0x02, 0x03, 0x04, // sender
		0, 0, 0, 0, 0, 0, 0, 1, // sequence number 1
	)
	want = binary.BigEndian.AppendUint64(want, uint64(testTime.UnixNano())) // time
	mac := hmac.New(sha256.New, testKey)
	mac.Write(want)
	want = mac.Sum(want) // HMAC-SHA256 over all of the above

	e, _ := NewEncoder(7, 1472, newTestSigner(t))
	e.Add(&goldenV4Conn)
	got := e.Flush()
	if !bytes.Equal(got, want) {
		t.Fatalf("signed\n%x\nwant\n%x", got, want)
	}

	v, _ := NewVerifier(testKey, time.Second)
	var m Message
	if err := v.Decode(got, 7, &m, testTime.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if m.Version != 1 || m.SyncID != 7 || !reflect.DeepEqual(m.Conns, []Conn{goldenV4Conn}) {
		t.Fatalf("%+v", m)
	}
	// Without the key it is not read; the kernel would see version 0 with no connections.
	if err := Decode(got, 0, &m); err != ErrSigned || len(m.Conns) != 0 {
		t.Fatalf("Decode(signed): %v, %d conns", err, len(m.Conns))
	}
	if !(got[0] == 0 && got[5] == ProtoVersion && binary.BigEndian.Uint16(got[6:]) != 0) {
		t.Fatal("the header would not send a kernel to its version 0 path")
	}
}

// TestSignedPadding: the trailer starts 32-bit aligned after a record whose size is not.
func TestSignedPadding(t *testing.T) {
	e, _ := NewEncoder(7, 1472, newTestSigner(t))
	e.Add(&goldenSeqConns[0]) // 62 bytes
	got := e.Flush()
	if len(got) != HeaderLen+64+TrailerLen || got[70] != 0 || got[71] != 0 {
		t.Fatalf("%d bytes: %x", len(got), got)
	}
	v, _ := NewVerifier(testKey, 0)
	var m Message
	if err := v.Decode(got, 0, &m, testTime); err != nil || !reflect.DeepEqual(m.Conns, goldenSeqConns[:1]) {
		t.Fatalf("%v %+v", err, m.Conns)
	}
}

func TestVerifier(t *testing.T) {
	s := newTestSigner(t)
	e, _ := NewEncoder(7, 1472, s)
	var msgs [][]byte
	for i := 0; i < 100; i++ {
		e.Add(&goldenV4Conn)
		msgs = append(msgs, append([]byte(nil), e.Flush()...))
	}
	v, _ := NewVerifier(testKey, 10*time.Second)
	var m Message
	dec := func(b []byte) error { return v.Decode(b, 0, &m, testTime) }

	if err := dec(msgs[10]); err != nil {
		t.Fatal(err)
	}
	if err := dec(msgs[10]); err != ErrReplay {
		t.Fatalf("replay: %v", err)
	}
	for _, i := range []int{12, 11, 5, 13} { // reordered within the window: accepted once
		if err := dec(msgs[i]); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if err := dec(msgs[i]); err != ErrReplay {
			t.Fatalf("message %d again: %v", i, err)
		}
	}
	if err := dec(msgs[90]); err != nil {
		t.Fatal(err)
	}
	if err := dec(msgs[20]); err != ErrReplay { // 70 below the highest: too old to tell
		t.Fatalf("old message: %v", err)
	}
	if err := dec(msgs[30]); err != nil { // 60 below: still in the window
		t.Fatalf("message 30: %v", err)
	}

	// Tampering anywhere, truncation and a wrong key fail the HMAC.
	for _, off := range []int{1, 4, 8, 20, 43, 44, 50, 60, 95} {
		b := append([]byte(nil), msgs[91]...)
		b[off] ^= 1
		if err := dec(b); !errors.Is(err, ErrAuth) && !errors.Is(err, ErrSyncID) {
			t.Fatalf("flipped byte %d: %v", off, err)
		}
	}
	short := append([]byte(nil), msgs[91][:len(msgs[91])-4]...)
	short[3] -= 4
	if err := dec(short); err != ErrAuth {
		t.Fatalf("short trailer: %v", err)
	}
	other, _ := NewVerifier([]byte("another key, also long enough.."), 0)
	if err := other.Decode(msgs[91], 0, &m, testTime); err != ErrAuth {
		t.Fatalf("other key: %v", err)
	}

	// Time window.
	if err := v.Decode(msgs[92], 0, &m, testTime.Add(11*time.Second)); err != ErrStale {
		t.Fatalf("late: %v", err)
	}
	if err := v.Decode(msgs[92], 0, &m, testTime.Add(-11*time.Second)); err != ErrStale {
		t.Fatalf("early: %v", err)
	}
	if err := v.Decode(msgs[92], 0, &m, testTime.Add(10*time.Second)); err != nil {
		t.Fatalf("at the edge: %v", err)
	}

	// Plain messages are refused; the header checks come first.
	if err := dec(goldenV4); err != ErrUnsigned {
		t.Fatalf("plain: %v", err)
	}
	if err := v.Decode(msgs[93], 8, &m, testTime); err != ErrSyncID {
		t.Fatalf("sync ID: %v", err)
	}

	// A restarted sender (new id) starts a new window.
	s2, _ := NewSigner(testKey, fixedClock)
	e2, _ := NewEncoder(7, 1472, s2)
	e2.Add(&goldenV4Conn)
	if err := dec(e2.Flush()); err != nil {
		t.Fatalf("new sender: %v", err)
	}

	if _, err := NewSigner(testKey[:MinKeyLen-1], nil); err != ErrKey {
		t.Fatalf("short key: %v", err)
	}
	if _, err := NewVerifier(testKey[:MinKeyLen-1], 0); err != ErrKey {
		t.Fatalf("short key: %v", err)
	}
}

// TestVerifierSenders: windows are kept for the most recently heard senders; the least
// recently heard one is forgotten first.
func TestVerifierSenders(t *testing.T) {
	v, _ := NewVerifier(testKey, time.Hour)
	var m Message
	first := make([][]byte, maxSenders+1)
	for i := range first {
		s := newTestSigner(t)
		s.sender = uint32(1000 + i)
		e, _ := NewEncoder(7, 1472, s)
		e.Add(&goldenV4Conn)
		first[i] = append([]byte(nil), e.Flush()...)
		if err := v.Decode(first[i], 0, &m, testTime.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	// Sender 0 was evicted by sender 16: its first message is accepted again (the replay the
	// time window bounds); sender 1's is still refused.
	now := testTime.Add(time.Minute)
	if err := v.Decode(first[1], 0, &m, now); err != ErrReplay {
		t.Fatalf("sender 1: %v", err)
	}
	if err := v.Decode(first[0], 0, &m, now); err != nil {
		t.Fatalf("sender 0: %v", err)
	}
}
