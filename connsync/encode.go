package connsync

import (
	"encoding/binary"

	"github.com/uvs-lb/uvs/packet"
)

// Outer header lengths that MaxLen takes off the MTU.
const (
	ipv4HeaderLen = 20 // struct iphdr
	ipv6HeaderLen = 40 // struct ipv6hdr
	udpHeaderLen  = 8  // struct udphdr
)

// MaxLen returns the largest sync message (UDP payload) that fits in one packet of the given
// MTU, as the kernel computes sync_maxlen when none is configured (start_sync_thread): the
// MTU less the IPv4 (20) or IPv6 (40) header of the multicast socket's family and the UDP
// header (8). MaxLen(1500, false) is 1472, MaxLen(1500, true) 1452.
//
// Which MTU the kernel uses matters when a kernel is the peer: its master always takes 1500,
// whatever the interface (so it sends at most 1472-byte messages over IPv4), and its backup
// takes the interface MTU clamped to [1500, 65535] and receives into a buffer of exactly
// MaxLen bytes, truncating (and so dropping, for the size check) anything longer. A uvs
// master that sends to a kernel backup must not exceed the backup's MaxLen. A configured
// sync_maxlen (ipvsadm --sync-maxlen) replaces the computed value, clamped to
// [1, 65535 − headers] on a master and [1024, 65535 − headers] on a backup. Kernels before
// 4.3 sized the master's messages for version 0 records instead:
// 4 + 24 × min((MTU − 28 − 4 − 20) / 24, 255), 1444 bytes at MTU 1500.
func MaxLen(mtu int, ipv6 bool) int {
	h := ipv4HeaderLen + udpHeaderLen
	if ipv6 {
		h = ipv6HeaderLen + udpHeaderLen
	}
	return mtu - h
}

// Encoder packs records into version 1 messages of at most maxLen bytes, as the kernel's
// master fills its sync buffers (ip_vs_sync_conn): header, then records, each after the zero
// padding that aligns it to 32 bits, the size field counting everything but padding after the
// last record, at most MaxConns records (nr_conns is one byte; the kernel does not check it,
// which matters only for a sync_maxlen of 9,224 bytes or more). A record that does not fit in
// an empty message is sent alone, longer than maxLen, as the kernel does.
//
// It allocates its two buffers once: Add and Flush allocate nothing. A returned message is
// owned by the Encoder and stays valid until the Encoder returns the next one (two buffers
// alternate). An Encoder is not safe for concurrent use.
type Encoder struct {
	syncID uint8
	limit  int     // records end at most here: maxLen, less the trailer when signing
	signer *Signer // nil: plain kernel-compatible messages
	buf    [2][]byte
	cur    int // the buffer being filled
	n      int // records in it
}

// NewEncoder returns an Encoder of messages for sync ID syncID of at most maxLen bytes (see
// MaxLen). With a Signer, every message carries its authentication trailer within maxLen
// (see Signer).
func NewEncoder(syncID uint8, maxLen int, s *Signer) (*Encoder, error) {
	limit := maxLen
	if s != nil {
		limit -= TrailerLen
	}
	if limit < HeaderLen+RecordLenV4 || maxLen > 0xFFFF {
		return nil, ErrMaxLen
	}
	size := max(maxLen, HeaderLen+MaxRecordLen+3+TrailerLen)
	e := &Encoder{syncID: syncID, limit: limit, signer: s}
	for i := range e.buf {
		e.buf[i] = make([]byte, 0, size)
	}
	return e, nil
}

// Add appends c to the message being built. When c does not fit, the message is finished
// and returned (to be sent) and c starts the next one; otherwise full is nil. The kernel's
// master leaves FlagHashed out of the flags it sends; so does Add.
func (e *Encoder) Add(c *Conn) (full []byte, err error) {
	n, err := recordLen(c)
	if err != nil {
		return nil, err
	}
	b := e.buf[e.cur]
	if e.n > 0 {
		pad := -len(b) & 3
		if len(b)+pad+n > e.limit || e.n == MaxConns {
			full = e.finish()
			b = e.buf[e.cur]
		} else {
			for ; pad > 0; pad-- {
				b = append(b, 0)
			}
		}
	}
	if e.n == 0 {
		// struct ip_vs_sync_mesg: reserved 0, syncid, size (set by finish), nr_conns (set by
		// finish), version, spare 0.
		b = append(b[:0], 0, e.syncID, 0, 0, 0, ProtoVersion, 0, 0)
	}
	e.buf[e.cur] = appendRecord(b, c, n)
	e.n++
	return full, nil
}

// Flush finishes and returns the message being built, or nil when it holds no record. The
// kernel's master flushes a buffer 2 s after its first record at the latest
// (IPVS_SYNC_FLUSH_TIME).
func (e *Encoder) Flush() []byte {
	if e.n == 0 {
		return nil
	}
	return e.finish()
}

// Pending returns how many records the message being built holds.
func (e *Encoder) Pending() int { return e.n }

// Reset drops the message being built.
func (e *Encoder) Reset() {
	e.n = 0
	e.buf[e.cur] = e.buf[e.cur][:0]
}

func (e *Encoder) finish() []byte {
	b := e.buf[e.cur]
	b[4] = byte(e.n)
	if e.signer != nil {
		b = e.signer.sign(b)
	} else {
		binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	}
	e.cur ^= 1
	e.n = 0
	e.buf[e.cur] = e.buf[e.cur][:0]
	return b
}

// recordLen returns the length of c's record, options included, or why it cannot be sent.
func recordLen(c *Conn) (int, error) {
	var n int
	switch c.Family {
	case packet.FamilyIPv4:
		n = RecordLenV4
	case packet.FamilyIPv6:
		n = RecordLenV6
	default:
		return 0, ErrFamily
	}
	if len(c.PEData) > MaxPEData || len(c.PEName) > MaxPEName {
		return 0, ErrPELen
	}
	if c.HasSeq {
		n += 2 + SeqLen
	}
	if len(c.PEData) > 0 {
		n += 2 + len(c.PEData)
	}
	if len(c.PEName) > 0 {
		n += 2 + len(c.PEName)
	}
	if c.HasLocal {
		n += 2 + localLen(c.Family)
	}
	return n, nil
}

func localLen(f packet.Family) int {
	if f == packet.FamilyIPv6 {
		return localLenV6
	}
	return localLenV4
}

// appendRecord appends c's record of length n (from recordLen) to b, laid out as struct
// ip_vs_sync_v4 / ip_vs_sync_v6 followed by its options in the kernel's order (sequence,
// PE data, PE name), then uvs's local endpoint.
func appendRecord(b []byte, c *Conn, n int) []byte {
	be := binary.BigEndian
	var typ byte
	alen := 4
	if c.Family == packet.FamilyIPv6 {
		typ, alen = 1, 16
	}
	b = append(b, typ, c.Protocol)
	b = be.AppendUint16(b, uint16(n)&0x0FFF) // version 0 in the top 4 bits, then the size
	b = be.AppendUint32(b, uint32(c.Flags&^FlagHashed))
	b = be.AppendUint16(b, c.State)
	b = be.AppendUint16(b, c.CPort)
	b = be.AppendUint16(b, c.VPort)
	b = be.AppendUint16(b, c.DPort)
	b = be.AppendUint32(b, c.Fwmark)
	b = be.AppendUint32(b, c.Timeout)
	b = append(b, c.CAddr[:alen]...)
	b = append(b, c.VAddr[:alen]...)
	b = append(b, c.DAddr[:alen]...)
	if c.HasSeq {
		b = append(b, OptSeqData, SeqLen)
		b = appendSeq(b, &c.InSeq)
		b = appendSeq(b, &c.OutSeq)
	}
	if len(c.PEData) > 0 {
		b = append(b, OptPEData, byte(len(c.PEData)))
		b = append(b, c.PEData...)
	}
	if len(c.PEName) > 0 {
		b = append(b, OptPEName, byte(len(c.PEName)))
		b = append(b, c.PEName...)
	}
	if c.HasLocal {
		b = append(b, OptLocal, byte(2+alen))
		b = be.AppendUint16(b, c.LPort)
		b = append(b, c.LAddr[:alen]...)
	}
	return b
}

func appendSeq(b []byte, s *Seq) []byte {
	be := binary.BigEndian
	b = be.AppendUint32(b, s.InitSeq)
	b = be.AppendUint32(b, s.Delta)
	return be.AppendUint32(b, s.PreviousDelta)
}
