package packet

// ICMPLen is the length of the ICMP and ICMPv6 header: type, code, checksum and the 4-byte
// rest-of-header (identifier and sequence for echo, MTU for "too big", zero or a pointer for
// the other errors). An error's quoted packet starts right after it.
const ICMPLen = 8

// ICMPv4 message types (RFC 792).
const (
	ICMPv4EchoReply       uint8 = 0
	ICMPv4DestUnreachable uint8 = 3
	ICMPv4SourceQuench    uint8 = 4
	ICMPv4Redirect        uint8 = 5
	ICMPv4EchoRequest     uint8 = 8
	ICMPv4TimeExceeded    uint8 = 11
	ICMPv4ParamProblem    uint8 = 12
)

// ICMPv4 destination unreachable codes (RFC 792, RFC 1812).
const (
	ICMPv4NetUnreachable   uint8 = 0
	ICMPv4HostUnreachable  uint8 = 1
	ICMPv4ProtoUnreachable uint8 = 2
	ICMPv4PortUnreachable  uint8 = 3
	ICMPv4FragNeeded       uint8 = 4 // the rest-of-header carries the next-hop MTU (RFC 1191)
	ICMPv4AdminProhibited  uint8 = 13
)

// ICMPv6 message types (RFC 4443). Types below 128 are errors.
const (
	ICMPv6DestUnreachable uint8 = 1
	ICMPv6PacketTooBig    uint8 = 2
	ICMPv6TimeExceeded    uint8 = 3
	ICMPv6ParamProblem    uint8 = 4
	ICMPv6EchoRequest     uint8 = 128
	ICMPv6EchoReply       uint8 = 129
)

// ICMPv6 destination unreachable codes (RFC 4443 3.1).
const (
	ICMPv6NoRoute          uint8 = 0
	ICMPv6AdminProhibited  uint8 = 1
	ICMPv6BeyondScope      uint8 = 2
	ICMPv6AddrUnreachable  uint8 = 3
	ICMPv6PortUnreachable  uint8 = 4
	ICMPv6SourcePolicyFail uint8 = 5
	ICMPv6RejectRoute      uint8 = 6
)

// ICMPv4 is a view of an ICMPv4 message. Accessors check nothing; see Ethernet.
type ICMPv4 []byte

// Type returns the message type.
func (m ICMPv4) Type() uint8 { return m[0] }

// Code returns the message code.
func (m ICMPv4) Code() uint8 { return m[1] }

// SetType sets the message type. The checksum is not updated.
func (m ICMPv4) SetType(v uint8) { m[0] = v }

// SetCode sets the message code. The checksum is not updated.
func (m ICMPv4) SetCode(v uint8) { m[1] = v }

// Checksum returns the checksum field. ICMPv4 sums the message only, no pseudo-header.
func (m ICMPv4) Checksum() uint16 { return be16(m[2:]) }

// SetChecksum sets the checksum field.
func (m ICMPv4) SetChecksum(v uint16) { put16(m[2:], v) }

// Ident returns the identifier of an echo request or reply.
func (m ICMPv4) Ident() uint16 { return be16(m[4:]) }

// SetIdent sets the identifier of an echo request or reply. The checksum is not updated.
func (m ICMPv4) SetIdent(v uint16) { put16(m[4:], v) }

// Sequence returns the sequence number of an echo request or reply.
func (m ICMPv4) Sequence() uint16 { return be16(m[6:]) }

// MTU returns the next-hop MTU of a fragmentation-needed message (type 3 code 4).
func (m ICMPv4) MTU() uint16 { return be16(m[6:]) }

// SetMTU sets the next-hop MTU of a fragmentation-needed message. The checksum is not updated.
func (m ICMPv4) SetMTU(v uint16) { put16(m[6:], v) }

// Gateway returns the gateway address of a redirect.
func (m ICMPv4) Gateway() [4]byte { return [4]byte(m[4:8]) }

// Payload returns the bytes after the 8-byte header: for an error, the quoted packet.
func (m ICMPv4) Payload() []byte { return m[ICMPLen:] }

// ICMPv6 is a view of an ICMPv6 message. Accessors check nothing; see Ethernet.
type ICMPv6 []byte

// Type returns the message type.
func (m ICMPv6) Type() uint8 { return m[0] }

// Code returns the message code.
func (m ICMPv6) Code() uint8 { return m[1] }

// SetType sets the message type. The checksum is not updated.
func (m ICMPv6) SetType(v uint8) { m[0] = v }

// SetCode sets the message code. The checksum is not updated.
func (m ICMPv6) SetCode(v uint8) { m[1] = v }

// Checksum returns the checksum field. ICMPv6 sums a pseudo-header too (RFC 4443 2.3).
func (m ICMPv6) Checksum() uint16 { return be16(m[2:]) }

// SetChecksum sets the checksum field.
func (m ICMPv6) SetChecksum(v uint16) { put16(m[2:], v) }

// Ident returns the identifier of an echo request or reply.
func (m ICMPv6) Ident() uint16 { return be16(m[4:]) }

// SetIdent sets the identifier of an echo request or reply. The checksum is not updated.
func (m ICMPv6) SetIdent(v uint16) { put16(m[4:], v) }

// Sequence returns the sequence number of an echo request or reply.
func (m ICMPv6) Sequence() uint16 { return be16(m[6:]) }

// MTU returns the MTU of a packet-too-big message (also the pointer of a parameter problem).
func (m ICMPv6) MTU() uint32 { return be32(m[4:]) }

// SetMTU sets the MTU of a packet-too-big message. The checksum is not updated.
func (m ICMPv6) SetMTU(v uint32) { put32(m[4:], v) }

// Payload returns the bytes after the 8-byte header: for an error, the quoted packet.
func (m ICMPv6) Payload() []byte { return m[ICMPLen:] }

// icmpIsEcho reports whether typ is an echo request or reply for the family; their identifier
// is what tells flows apart, so Parse reports it as both ports.
func icmpIsEcho(f Family, typ uint8) bool {
	if f == FamilyIPv4 {
		return typ == ICMPv4EchoRequest || typ == ICMPv4EchoReply
	}
	return typ == ICMPv6EchoRequest || typ == ICMPv6EchoReply
}

// icmpIsError reports whether typ is an error that quotes the packet that caused it, and
// which the engine therefore relates to a connection.
func icmpIsError(f Family, typ uint8) bool {
	if f == FamilyIPv4 {
		switch typ {
		case ICMPv4DestUnreachable, ICMPv4SourceQuench, ICMPv4Redirect, ICMPv4TimeExceeded, ICMPv4ParamProblem:
			return true
		}
		return false
	}
	return typ >= ICMPv6DestUnreachable && typ <= ICMPv6ParamProblem
}
