package connsync

import (
	"errors"
	"strconv"

	"github.com/uvs-lb/uvs/packet"
)

// Transport constants of the kernel's sync daemon (net/netfilter/ipvs/ip_vs_sync.c).
const (
	// Port is the UDP port of the sync messages (IP_VS_SYNC_PORT). The kernel's sync_ports
	// sysctl runs several threads that use Port, Port+1, ...
	Port = 8848
	// ProtoVersion is the version byte of a version 1 header (SYNC_PROTO_VER).
	ProtoVersion = 1
)

// Group is the default IPv4 multicast group of the sync messages, 224.0.0.81
// (IP_VS_SYNC_GROUP), in packet.FlowKey's array form.
var Group = [4]byte{224, 0, 0, 81}

// Sizes on the wire.
const (
	HeaderLen   = 8  // struct ip_vs_sync_mesg (version 1)
	HeaderLenV0 = 4  // struct ip_vs_sync_mesg_v0
	RecordLenV4 = 36 // struct ip_vs_sync_v4, without options
	RecordLenV6 = 72 // struct ip_vs_sync_v6, without options
	RecordLenV0 = 24 // struct ip_vs_sync_conn_v0 (SIMPLE_CONN_SIZE)
	SeqLen      = 24 // struct ip_vs_sync_conn_options: two struct ip_vs_seq
	// MaxPEName is the longest persistence-engine name (IP_VS_PENAME_MAXLEN).
	MaxPEName = 16
	// MaxPEData is the most persistence-engine data (IP_VS_PEDATA_MAXLEN).
	MaxPEData = 255
	// MaxConns is the most records one message holds: nr_conns is one byte.
	MaxConns = 255
	// MaxRecordLen is the longest record the Encoder writes: an IPv6 record with the sequence
	// option, the largest persistence-engine data and name, and the uvs local endpoint.
	MaxRecordLen = RecordLenV6 + 2 + SeqLen + 2 + MaxPEData + 2 + MaxPEName + 2 + localLenV6
)

// Option types of a version 1 record (IPVS_OPT_*). The kernel reads the type with
// OptFlagParam masked off, so 0x41 is a sequence option too.
const (
	OptSeqData = 1 // IPVS_OPT_SEQ_DATA: struct ip_vs_sync_conn_options, network order
	OptPEData  = 2 // IPVS_OPT_PE_DATA: persistence-engine data (the SIP Call-ID)
	OptPEName  = 3 // IPVS_OPT_PE_NAME: persistence-engine name ("sip")
	// OptFlagParam marks an option a receiver that does not know it may skip
	// (IPVS_OPT_F_PARAM); without it an unknown option makes the kernel drop the record.
	OptFlagParam = 1 << (7 - 1)
	// OptLocal is uvs's own option: the full-NAT local endpoint. It carries OptFlagParam and
	// its type without that bit (0x35) is none the kernel knows, so a kernel backup skips it.
	// Data: local port (2 bytes) then local address (4 or 16 bytes, the record's family).
	OptLocal = OptFlagParam | 0x35 // 0x75, 'u'
)

const (
	localLenV4 = 2 + 4
	localLenV6 = 2 + 16
)

// Flags are IPVS connection flags (IP_VS_CONN_F_*, include/uapi/linux/ip_vs.h), 32 bits in
// version 1, the low 16 bits in version 0.
type Flags uint32

const (
	FwdMask       Flags = 0x0007 // IP_VS_CONN_F_FWD_MASK: the forwarding method
	FwdMasq       Flags = 0x0000 // masquerading (NAT)
	FwdLocalNode  Flags = 0x0001 // the real server is the director itself
	FwdTunnel     Flags = 0x0002 // IP-in-IP tunnelling
	FwdDRoute     Flags = 0x0003 // direct routing
	FwdBypass     Flags = 0x0004 // cache bypass
	FlagSync      Flags = 0x0020 // entry created by sync (set by the receiver)
	FlagHashed    Flags = 0x0040 // hashed entry (never sent)
	FlagNoOutput  Flags = 0x0080 // no output packets (every method but masquerading)
	FlagInactive  Flags = 0x0100 // not established: counted in the real server's inactconns
	FlagOutSeq    Flags = 0x0200 // must do output sequence adjustment
	FlagInSeq     Flags = 0x0400 // must do input sequence adjustment
	FlagSeqMask   Flags = 0x0600 // either adjustment
	FlagNoCPort   Flags = 0x0800 // no client port set yet (FTP data templates)
	FlagTemplate  Flags = 0x1000 // persistence template, not a connection
	FlagOnePacket Flags = 0x2000 // one-packet scheduling (never synced by the kernel)

	// BackupMask is what a kernel backup keeps of the received flags
	// (IP_VS_CONN_F_BACKUP_MASK); it adds FlagSync.
	BackupMask = FwdMask | FlagNoOutput | FlagInactive | FlagSeqMask | FlagNoCPort | FlagTemplate
)

// Fwd returns the forwarding method bits.
func (f Flags) Fwd() Flags { return f & FwdMask }

// IPVS state numbers (include/net/ip_vs.h). TCP's are conntab.State's StateNone …
// StateSynAck, in the same order.
const (
	TCPStates        = 11 // IP_VS_TCP_S_LAST
	UDPStates        = 1  // IP_VS_UDP_S_LAST: IP_VS_UDP_S_NORMAL only
	SCTPStates       = 14 // IP_VS_SCTP_S_LAST (Linux ≥ 3.19's table)
	SCTPEstablished  = 8  // IP_VS_SCTP_S_ESTABLISHED
	TemplateNone     = 0  // IP_VS_CTPL_S_NONE: the state of every template IPVS makes
	TemplateAssured  = 1  // IP_VS_CTPL_S_ASSURED
	TemplateStates   = 2  // IP_VS_CTPL_S_LAST
	protoAH          = 51
	protoESP         = 50
	singleStateCount = 1
)

// numStates returns how many states a kernel backup accepts for protocol p (the num_states
// of its ip_vs_protocol), 0 when it has no IPVS protocol for p (TCP, UDP, SCTP, AH and ESP
// are the kernel's).
func numStates(p uint8) int {
	switch p {
	case packet.ProtoTCP:
		return TCPStates
	case packet.ProtoUDP:
		return UDPStates
	case packet.ProtoSCTP:
		return SCTPStates
	case protoAH, protoESP:
		return singleStateCount
	}
	return 0
}

// Seq is one direction's sequence adjustment (struct ip_vs_seq).
type Seq struct {
	InitSeq       uint32 // add Delta from this sequence number on
	Delta         uint32 // delta in sequence numbers
	PreviousDelta uint32 // delta before the last resized packet
}

// Conn is one sync record: a connection or persistence template as the kernel describes it
// (union ip_vs_sync_conn plus its options, or struct ip_vs_sync_conn_v0).
//
// Addresses use packet.FlowKey's array form: IPv4 in the first 4 bytes, the rest zero. For a
// template of a firewall-mark service VAddr holds the mark (first 4 bytes, big-endian) and
// Protocol is 0, as the kernel's ip_vs_sched_persist makes them (and as conntab keeps them).
type Conn struct {
	Family   packet.Family // FamilyIPv4 or FamilyIPv6 (record type STYPE_F_INET6)
	Protocol uint8
	Flags    Flags  // as received: the kernel keeps Flags&BackupMask | FlagSync
	State    uint16 // IPVS state number of the protocol; a template's is TemplateNone
	CPort    uint16
	VPort    uint16
	DPort    uint16
	CAddr    [16]byte
	VAddr    [16]byte
	DAddr    [16]byte
	Fwmark   uint32 // the packet's firewall mark (version 1; 0 in version 0)
	// Timeout is the entry's timeout in seconds (version 1): the full timeout of its state, or
	// a template's persistence timeout. 0 (always in version 0) tells the receiver to use its
	// own timeout for the state (3 minutes for templates, in the kernel).
	Timeout uint32

	// HasSeq says the sequence option is present (version 1), or that the flags asked for
	// it (version 0, where it follows the record whenever Flags&FlagSeqMask != 0).
	HasSeq bool
	InSeq  Seq // input direction (client → real server)
	OutSeq Seq // output direction

	// PEName and PEData are the persistence-engine name and data options, nil when absent.
	// Decode leaves them pointing into the message, so they are valid only while it is; the
	// Encoder copies them.
	PEName []byte
	PEData []byte

	// HasLocal says the uvs local-endpoint option (OptLocal) is present: the connection is
	// full-NAT and LAddr:LPort is the local (SNAT) endpoint it uses towards the real server.
	HasLocal bool
	LPort    uint16
	LAddr    [16]byte
}

// Message is one sync datagram, decoded.
type Message struct {
	SyncID  uint8
	Version uint8  // 0 or 1
	Conns   []Conn // reused by Decode: truncated, then appended to
	// Skipped counts the records the kernel would skip one by one while applying the others:
	// an unknown option without OptFlagParam, a protocol it has no IPVS protocol for, a state
	// out of its protocol's range, persistence-engine data without a name. SkipErr is the
	// reason for the first (ErrMandatoryOption, ErrProtocol, ErrState or ErrPE).
	Skipped int
	SkipErr error
}

func (m *Message) reset() {
	m.SyncID, m.Version, m.Conns, m.Skipped, m.SkipErr = 0, 0, m.Conns[:0], 0, nil
}

// Errors. Decode returns the message-level ones as they are and the record-level ones in an
// *Error; compare with errors.Is.
var (
	// Message level: the kernel drops the datagram.
	ErrShort  = errors.New("connsync: message shorter than its header")
	ErrSize   = errors.New("connsync: size field differs from the datagram length")
	ErrSyncID = errors.New("connsync: message of another sync ID")
	// ErrSigned means a uvs-authenticated message (see Signer) reached Decode, which cannot
	// check it; a kernel backup reads such a message as version 0 with no connections.
	ErrSigned = errors.New("connsync: authenticated message; decode it with a Verifier")

	// Record level: the kernel drops the rest of the datagram (records before it were applied).
	ErrTruncated     = errors.New("connsync: record runs past the end of the message")
	ErrRecordVersion = errors.New("connsync: unknown record version")
	ErrRecordType    = errors.New("connsync: unknown record type")
	ErrRecordSize    = errors.New("connsync: record shorter than its fixed part")
	ErrOption        = errors.New("connsync: option truncated or of length 0")
	ErrSeqOption     = errors.New("connsync: sequence option of bad length or repeated")
	ErrPEOption      = errors.New("connsync: persistence-engine option too long or repeated")
	ErrLocalOption   = errors.New("connsync: uvs local-endpoint option of bad length or repeated")

	// Record level: the kernel skips this record only (Message.SkipErr).
	ErrMandatoryOption = errors.New("connsync: unknown mandatory option")
	ErrProtocol        = errors.New("connsync: protocol without IPVS support")
	ErrState           = errors.New("connsync: state out of the protocol's range")
	ErrPE              = errors.New("connsync: persistence-engine data without a name")

	// Encoder and conversions.
	ErrMaxLen = errors.New("connsync: message size limit out of range")
	ErrFamily = errors.New("connsync: address family is neither IPv4 nor IPv6")
	ErrPELen  = errors.New("connsync: persistence-engine name or data too long")
	ErrMethod = errors.New("connsync: forwarding method uvs cannot carry")
)

// Error is a record-level decoding error: which record, where, and why.
type Error struct {
	Err    error // one of the record-level Err* values
	Record int   // index of the record in the message, from 0
	Offset int   // byte offset in the message where the problem was found
}

func (e *Error) Error() string {
	return e.Err.Error() + " (record " + strconv.Itoa(e.Record) + ", offset " + strconv.Itoa(e.Offset) + ")"
}

func (e *Error) Unwrap() error { return e.Err }
