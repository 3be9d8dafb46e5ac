package connsync

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash"
	"sync"
	"time"
)

// Authenticated mode (off unless the Encoder is given a Signer and the receiver decodes with
// a Verifier). It is a uvs-to-uvs extension of version 1 that a kernel backup ignores
// cleanly; see the package documentation for the layout and why.
const (
	// TrailerLen is the length of the authentication trailer: sender (4), sequence number
	// (8), time (8), HMAC-SHA256 (32).
	TrailerLen = 4 + 8 + 8 + sha256.Size
	// MinKeyLen is the shortest key NewSigner and NewVerifier accept.
	MinKeyLen = 16
	// DefaultWindow is the Verifier's time window when none is given: how far a message's
	// time may be from the receiver's clock.
	DefaultWindow = 30 * time.Second
	// authMarker is the spare field of an authenticated message, "UA". A kernel takes any
	// nonzero spare for a version 0 header whose connection count (the reserved byte) is 0.
	authMarker = 0x5541
	// replayWindow is how many sequence numbers below the highest seen are still accepted
	// once each (reordering).
	replayWindow = 64
	// maxSenders is how many senders a Verifier keeps a replay window for.
	maxSenders = 16
)

var (
	ErrKey      = errors.New("connsync: authentication key shorter than MinKeyLen")
	ErrUnsigned = errors.New("connsync: message not authenticated")
	ErrAuth     = errors.New("connsync: message authentication failed")
	ErrStale    = errors.New("connsync: authenticated message outside the time window")
	ErrReplay   = errors.New("connsync: authenticated message replayed")
)

// Signer authenticates the messages of one Encoder (give it to NewEncoder). Each message gets
// the Signer's sender id (random, chosen when it is made), the next sequence number (from 1)
// and the time of its clock. Not safe for concurrent use (nor is the Encoder).
type Signer struct {
	mac    hash.Hash
	sender uint32
	seq    uint64
	now    func() time.Time
}

// NewSigner returns a Signer with the shared key (at least MinKeyLen bytes) and a wall clock
// (nil: time.Now), which must agree with the receivers' to within their window.
func NewSigner(key []byte, now func() time.Time) (*Signer, error) {
	if len(key) < MinKeyLen {
		return nil, ErrKey
	}
	if now == nil {
		now = time.Now
	}
	var id [4]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	return &Signer{mac: hmac.New(sha256.New, key), sender: binary.BigEndian.Uint32(id[:]), now: now}, nil
}

// Sender returns the Signer's sender id.
func (s *Signer) Sender() uint32 { return s.sender }

// sign turns the finished version 1 message b (nr_conns set) into an authenticated one: it
// pads the records to 32 bits, marks the header, appends the trailer and sets the size.
func (s *Signer) sign(b []byte) []byte {
	for len(b)&3 != 0 {
		b = append(b, 0)
	}
	binary.BigEndian.PutUint16(b[6:], authMarker)
	s.seq++
	be := binary.BigEndian
	b = be.AppendUint32(b, s.sender)
	b = be.AppendUint64(b, s.seq)
	b = be.AppendUint64(b, uint64(s.now().UnixNano()))
	be.PutUint16(b[2:], uint16(len(b)+sha256.Size))
	s.mac.Reset()
	s.mac.Write(b)
	return s.mac.Sum(b)
}

// Verifier checks and decodes authenticated messages. It keeps a replay window per sender (the
// highest sequence number seen and which of the 64 below it were seen) for the 16 senders
// heard from most recently, and refuses messages whose time is more than its window from its
// clock, so a message can be replayed only within the window, and only after its sender was
// forgotten. Safe for concurrent use.
type Verifier struct {
	mu      sync.Mutex
	mac     hash.Hash
	window  int64
	senders [maxSenders]senderWindow
	sum     [sha256.Size]byte
}

type senderWindow struct {
	id   uint32
	used bool
	top  uint64 // highest sequence number accepted
	seen uint64 // bit i: top-i was accepted
	last int64  // receiver's time of the last accepted message, for eviction
}

// NewVerifier returns a Verifier with the shared key and a time window (0: DefaultWindow).
func NewVerifier(key []byte, window time.Duration) (*Verifier, error) {
	if len(key) < MinKeyLen {
		return nil, ErrKey
	}
	if window <= 0 {
		window = DefaultWindow
	}
	return &Verifier{mac: hmac.New(sha256.New, key), window: int64(window)}, nil
}

// Decode checks the authenticated message b and decodes it into msg as the package's Decode
// does. Before the records it checks the header (ErrShort, ErrSize, ErrSyncID as Decode), that
// the message is authenticated (ErrUnsigned: a plain message, which an authenticated
// deployment refuses), its HMAC (ErrAuth), its time against now (ErrStale) and its sequence
// number (ErrReplay). A message that passes these counts as seen even if a record is bad.
func (v *Verifier) Decode(b []byte, syncID uint8, msg *Message, now time.Time) error {
	msg.reset()
	if err := checkHeader(b, syncID, msg); err != nil {
		return err
	}
	if !isV1(b) || be16(b[6:]) != authMarker {
		return ErrUnsigned
	}
	end := len(b) - TrailerLen
	if end < HeaderLen || end&3 != 0 {
		return ErrAuth
	}
	t := b[end:]
	sender, seq, ts := be32(t), binary.BigEndian.Uint64(t[4:]), int64(binary.BigEndian.Uint64(t[12:]))

	v.mu.Lock()
	v.mac.Reset()
	v.mac.Write(b[:len(b)-sha256.Size])
	ok := hmac.Equal(v.mac.Sum(v.sum[:0]), b[len(b)-sha256.Size:])
	var err error
	switch nowNs := now.UnixNano(); {
	case !ok:
		err = ErrAuth
	case ts < nowNs-v.window || ts > nowNs+v.window:
		err = ErrStale
	case !v.accept(sender, seq, nowNs):
		err = ErrReplay
	}
	v.mu.Unlock()
	if err != nil {
		return err
	}
	return decodeV1(b, end, msg)
}

// accept records sequence number seq of sender, or reports that it was seen (or is too old
// to tell).
func (v *Verifier) accept(sender uint32, seq uint64, now int64) bool {
	w := &v.senders[0]
	found := false
	for i := range v.senders {
		s := &v.senders[i]
		if s.used && s.id == sender {
			w, found = s, true
			break
		}
		if !s.used || (w.used && s.last < w.last) {
			w = s // a free slot, or the least recently heard sender
		}
	}
	if !found {
		*w = senderWindow{id: sender, used: true, top: seq, seen: 1, last: now}
		return true
	}
	switch {
	case seq > w.top:
		if d := seq - w.top; d < replayWindow {
			w.seen = w.seen<<d | 1
		} else {
			w.seen = 1
		}
		w.top = seq
	case w.top-seq >= replayWindow:
		return false
	default:
		bit := uint64(1) << (w.top - seq)
		if w.seen&bit != 0 {
			return false
		}
		w.seen |= bit
	}
	w.last = now
	return true
}
