package packet

// UDPLen is the length of a UDP header.
const UDPLen = 8

// UDP is a view of a UDP header (RFC 768). Accessors check nothing; see Ethernet.
type UDP []byte

// SrcPort returns the source port.
func (u UDP) SrcPort() uint16 { return be16(u[0:]) }

// DstPort returns the destination port.
func (u UDP) DstPort() uint16 { return be16(u[2:]) }

// SetSrcPort sets the source port. The checksum is not updated (see RewriteSrc4/6).
func (u UDP) SetSrcPort(v uint16) { put16(u[0:], v) }

// SetDstPort sets the destination port. The checksum is not updated (see RewriteDst4/6).
func (u UDP) SetDstPort(v uint16) { put16(u[2:], v) }

// Length returns the length field: header plus payload.
func (u UDP) Length() uint16 { return be16(u[4:]) }

// SetLength sets the length field.
func (u UDP) SetLength(v uint16) { put16(u[4:], v) }

// Checksum returns the checksum field. Over IPv4, 0 means the sender computed none.
func (u UDP) Checksum() uint16 { return be16(u[6:]) }

// SetChecksum sets the checksum field.
func (u UDP) SetChecksum(v uint16) { put16(u[6:], v) }

// Payload returns the bytes after the header up to the length field.
func (u UDP) Payload() []byte { return u[UDPLen:u.Length()] }
