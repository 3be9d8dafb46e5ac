package packet

import "encoding/binary"

// SCTPLen is the length of the SCTP common header (RFC 9260 3.1).
const SCTPLen = 12

// SCTP is a view of the SCTP common header. Accessors check nothing; see Ethernet.
type SCTP []byte

// SrcPort returns the source port.
func (s SCTP) SrcPort() uint16 { return be16(s[0:]) }

// DstPort returns the destination port.
func (s SCTP) DstPort() uint16 { return be16(s[2:]) }

// SetSrcPort sets the source port. The checksum is not updated (see RewriteSrc4/6).
func (s SCTP) SetSrcPort(v uint16) { put16(s[0:], v) }

// SetDstPort sets the destination port. The checksum is not updated (see RewriteDst4/6).
func (s SCTP) SetDstPort(v uint16) { put16(s[2:], v) }

// VerificationTag returns the verification tag.
func (s SCTP) VerificationTag() uint32 { return be32(s[4:]) }

// Checksum returns the CRC32c checksum field. SCTP stores it least significant byte first,
// unlike every other field (RFC 9260 appendix A).
func (s SCTP) Checksum() uint32 { return binary.LittleEndian.Uint32(s[8:]) }

// SetChecksum sets the CRC32c checksum field.
func (s SCTP) SetChecksum(v uint32) { binary.LittleEndian.PutUint32(s[8:], v) }
