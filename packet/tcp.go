package packet

// TCPMinLen is the length of a TCP header without options.
const TCPMinLen = 20

// TCP is a view of a TCP header (RFC 9293). Accessors check nothing; see Ethernet.
type TCP []byte

// SrcPort returns the source port.
func (t TCP) SrcPort() uint16 { return be16(t[0:]) }

// DstPort returns the destination port.
func (t TCP) DstPort() uint16 { return be16(t[2:]) }

// SetSrcPort sets the source port. The checksum is not updated (see RewriteSrc4/6).
func (t TCP) SetSrcPort(v uint16) { put16(t[0:], v) }

// SetDstPort sets the destination port. The checksum is not updated (see RewriteDst4/6).
func (t TCP) SetDstPort(v uint16) { put16(t[2:], v) }

// Seq returns the sequence number.
func (t TCP) Seq() uint32 { return be32(t[4:]) }

// Ack returns the acknowledgment number.
func (t TCP) Ack() uint32 { return be32(t[8:]) }

// DataOffset returns the header length in bytes (data offset × 4).
func (t TCP) DataOffset() int { return int(t[12]>>4) * 4 }

// Flags returns byte 13: TCPFin, TCPSyn, ... TCPCwr.
func (t TCP) Flags() uint8 { return t[13] }

// SetFlags sets byte 13. The checksum is not updated.
func (t TCP) SetFlags(v uint8) { t[13] = v }

// Window returns the receive window.
func (t TCP) Window() uint16 { return be16(t[14:]) }

// Checksum returns the checksum field.
func (t TCP) Checksum() uint16 { return be16(t[16:]) }

// SetChecksum sets the checksum field.
func (t TCP) SetChecksum(v uint16) { put16(t[16:], v) }

// UrgentPointer returns the urgent pointer.
func (t TCP) UrgentPointer() uint16 { return be16(t[18:]) }

// Options returns the option bytes between the fixed header and the data offset.
func (t TCP) Options() []byte { return t[TCPMinLen:t.DataOffset()] }

// Payload returns the bytes after the header (the view's length bounds the segment).
func (t TCP) Payload() []byte { return t[t.DataOffset():] }
