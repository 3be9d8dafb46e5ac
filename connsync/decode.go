package connsync

import (
	"encoding/binary"

	"github.com/uvs-lb/uvs/packet"
)

func be16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }
func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }

// Decode decodes the sync datagram b into msg, with the checks of the kernel's receiver
// (ip_vs_process_message): the size field must equal len(b); a message of another sync ID is
// refused unless syncID is 0 (accept any); the header is version 1 when its first byte (the
// version 0 connection count) is 0, its version byte is ProtoVersion and its spare field is
// 0, and version 0 otherwise. Then each record is checked as the kernel checks it (see
// Message.Skipped for the records it skips and *Error for those that make it drop the rest).
//
// msg is reused: its Conns keep their capacity, so decoding into the same Message allocates
// nothing once it has grown. Conn.PEName and Conn.PEData point into b. On an *Error, msg
// holds the records before the bad one, which the kernel would already have applied.
func Decode(b []byte, syncID uint8, msg *Message) error {
	msg.reset()
	if err := checkHeader(b, syncID, msg); err != nil {
		return err
	}
	if isV1(b) {
		switch be16(b[6:]) {
		case 0:
			return decodeV1(b, len(b), msg)
		case authMarker:
			return ErrSigned
		}
	}
	return decodeV0(b, msg)
}

// checkHeader applies the checks common to both versions and fills msg.SyncID.
func checkHeader(b []byte, syncID uint8, msg *Message) error {
	if len(b) < HeaderLenV0 {
		return ErrShort
	}
	if int(be16(b[2:])) != len(b) {
		return ErrSize
	}
	msg.SyncID = b[1]
	if syncID != 0 && b[1] != syncID {
		return ErrSyncID
	}
	return nil
}

// isV1 reports whether the header has version 1's reserved byte and version (the spare field
// is checked by the caller).
func isV1(b []byte) bool { return len(b) >= HeaderLen && b[0] == 0 && b[5] == ProtoVersion }

// decodeV1 decodes the records of a version 1 message whose records end at end (len(b), or
// the start of the authentication trailer).
func decodeV1(b []byte, end int, msg *Message) error {
	msg.Version = 1
	n := int(b[4])
	p := HeaderLen
	for i := 0; i < n; i++ {
		if p+RecordLenV4 > end {
			return &Error{ErrTruncated, i, p}
		}
		vs := be16(b[p+2:])
		size := int(vs & 0x0FFF)
		if p+size > end {
			return &Error{ErrTruncated, i, p}
		}
		if vs>>12 != 0 {
			return &Error{ErrRecordVersion, i, p + 2}
		}
		msg.Conns = append(msg.Conns, Conn{})
		c := &msg.Conns[len(msg.Conns)-1]
		skip, off, err := parseRecord(b[p:end], size, c)
		if err != nil {
			msg.Conns = msg.Conns[:len(msg.Conns)-1]
			return &Error{err, i, p + off}
		}
		if skip != nil {
			msg.Conns = msg.Conns[:len(msg.Conns)-1]
			msg.skip(skip)
		}
		p += (size + 3) &^ 3 // the next record starts 32-bit aligned
	}
	return nil
}

func (m *Message) skip(err error) {
	if m.Skipped == 0 {
		m.SkipErr = err
	}
	m.Skipped++
}

// parseRecord decodes one version 1 record of size bytes at the start of r (which holds at
// least RecordLenV4 bytes and size bytes) into c, as ip_vs_proc_sync_conn does. err means
// the kernel drops the rest of the message (off is where, from the record's start); skip
// means it drops this record only.
func parseRecord(r []byte, size int, c *Conn) (skip error, off int, err error) {
	var fixed int
	switch {
	case r[0]&1 != 0: // STYPE_F_INET6: the kernel tests this bit alone
		c.Family, fixed = packet.FamilyIPv6, RecordLenV6
	case r[0] == 0:
		c.Family, fixed = packet.FamilyIPv4, RecordLenV4
	default:
		return nil, 0, ErrRecordType
	}
	if size < fixed {
		return nil, 2, ErrRecordSize
	}
	r = r[:size]
	c.Protocol = r[1]
	c.Flags = Flags(be32(r[4:]))
	c.State = be16(r[8:])
	c.CPort, c.VPort, c.DPort = be16(r[10:]), be16(r[12:]), be16(r[14:])
	c.Fwmark, c.Timeout = be32(r[16:]), be32(r[20:])
	if c.Family == packet.FamilyIPv4 {
		copy(c.CAddr[:4], r[24:28])
		copy(c.VAddr[:4], r[28:32])
		copy(c.DAddr[:4], r[32:36])
	} else {
		copy(c.CAddr[:], r[24:40])
		copy(c.VAddr[:], r[40:56])
		copy(c.DAddr[:], r[56:72])
	}

	// Options: type, length (never 0), data; the last may leave padding unaccounted for.
	p := fixed
	for p < len(r) {
		if p+2 > len(r) {
			return nil, p, ErrOption
		}
		typ, n := r[p], int(r[p+1])
		p += 2
		if n == 0 || p+n > len(r) {
			return nil, p - 1, ErrOption
		}
		d := r[p : p+n]
		if typ == OptLocal {
			if err := c.setLocal(d); err != nil {
				return nil, p - 2, err
			}
			p += n
			continue
		}
		switch typ &^ OptFlagParam {
		case OptSeqData:
			if n != SeqLen || c.HasSeq {
				return nil, p - 2, ErrSeqOption
			}
			c.HasSeq = true
			c.InSeq = seqBE(d[0:])
			c.OutSeq = seqBE(d[12:])
		case OptPEData:
			if c.PEData != nil {
				return nil, p - 2, ErrPEOption
			}
			c.PEData = d
		case OptPEName:
			if n > MaxPEName || c.PEName != nil {
				return nil, p - 2, ErrPEOption
			}
			c.PEName = d
		default:
			if typ&OptFlagParam == 0 {
				return ErrMandatoryOption, p - 2, nil
			}
		}
		p += n
	}
	return checkConn(c), 0, nil
}

// checkConn returns why the kernel would skip c after parsing it, or nil: unknown protocol or
// state out of range (templates take any state), PE data without a PE name.
func checkConn(c *Conn) error {
	if c.Flags&FlagTemplate == 0 {
		ns := numStates(c.Protocol)
		if ns == 0 {
			return ErrProtocol
		}
		if int(c.State) >= ns {
			return ErrState
		}
	}
	if c.PEData != nil && c.PEName == nil {
		return ErrPE
	}
	return nil
}

func (c *Conn) setLocal(d []byte) error {
	want := localLenV4
	if c.Family == packet.FamilyIPv6 {
		want = localLenV6
	}
	if len(d) != want || c.HasLocal {
		return ErrLocalOption
	}
	c.HasLocal = true
	c.LPort = be16(d)
	copy(c.LAddr[:], d[2:])
	return nil
}

func seqBE(b []byte) Seq {
	return Seq{be32(b), be32(b[4:]), be32(b[8:])}
}

// seqHost reads a version 0 sequence structure, which the kernel copies from memory as it
// is: host order, little-endian on every architecture IPVS directors run on in practice.
func seqHost(b []byte) Seq {
	le := binary.LittleEndian
	return Seq{le.Uint32(b), le.Uint32(b[4:]), le.Uint32(b[8:])}
}

// decodeV0 decodes a version 0 message (ip_vs_process_message_v0): IPv4 only, 16-bit flags,
// no timeout or firewall mark, the sequence structures right after the record when the flags
// ask for them.
func decodeV0(b []byte, msg *Message) error {
	msg.Version = 0
	n := int(b[0])
	p := HeaderLenV0
	for i := 0; i < n; i++ {
		if p+RecordLenV0 > len(b) {
			return &Error{ErrTruncated, i, p}
		}
		r := b[p:]
		flags := Flags(be16(r[20:]))
		size := RecordLenV0
		if flags&FlagSeqMask != 0 {
			size += SeqLen
			if p+size > len(b) {
				return &Error{ErrTruncated, i, p}
			}
		}
		msg.Conns = append(msg.Conns, Conn{})
		c := &msg.Conns[len(msg.Conns)-1]
		c.Family = packet.FamilyIPv4
		c.Protocol = r[1]
		c.CPort, c.VPort, c.DPort = be16(r[2:]), be16(r[4:]), be16(r[6:])
		copy(c.CAddr[:4], r[8:12])
		copy(c.VAddr[:4], r[12:16])
		copy(c.DAddr[:4], r[16:20])
		c.Flags = flags
		c.State = be16(r[22:])
		if flags&FlagSeqMask != 0 {
			c.HasSeq = true
			c.InSeq = seqHost(r[24:])
			c.OutSeq = seqHost(r[36:])
		}
		if err := checkConn(c); err != nil {
			msg.Conns = msg.Conns[:len(msg.Conns)-1]
			msg.skip(err)
		}
		p += size
	}
	return nil
}
