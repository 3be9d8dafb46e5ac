// Package connsync is the wire format of IPVS connection synchronisation: the UDP messages a
// master director multicasts (224.0.0.81:8848 by default) so that its backups hold its
// connections and persistence templates and can take them over. It is byte-compatible with
// the Linux kernel's sync protocol version 1 in both directions and reads version 0, so uvs
// and kernel directors can back each other up. No sockets here: Encoder builds datagrams,
// Decode reads them; the master and backup roles live elsewhere.
//
// The layouts below were learned from net/netfilter/ipvs/ip_vs_sync.c (struct
// ip_vs_sync_mesg, ip_vs_sync_mesg_v0, ip_vs_sync_v4, ip_vs_sync_v6, ip_vs_sync_conn_v0,
// ip_vs_sync_conn_options; the senders ip_vs_sync_conn and ip_vs_sync_conn_v0, the receivers
// ip_vs_process_message, ip_vs_proc_sync_conn, ip_vs_process_message_v0, ip_vs_proc_conn;
// start_sync_thread for the sizes), include/uapi/linux/ip_vs.h (IP_VS_CONN_F_*) and
// include/net/ip_vs.h (struct ip_vs_seq, the state numbers). All fields are big-endian
// unless said otherwise.
//
// # Version 1 message
//
//	off len  field                        (struct ip_vs_sync_mesg)
//	0   1    reserved: 0                  a version 0 receiver reads "0 connections" here
//	1   1    syncid                       the master's sync ID
//	2   2    size                         the whole datagram, header included
//	4   1    nr_conns                     records that follow (at most 255)
//	5   1    version: 1                   SYNC_PROTO_VER
//	6   2    spare: 0
//	8        records, each starting 32-bit aligned (zero padding before it, not counted in
//	         its size; none after the last record)
//
// A receiver takes a header for version 1 when reserved is 0, version is 1 and spare is 0,
// and for version 0 otherwise (after checking that size equals the datagram's length and, if
// it has a sync ID of its own, that syncid is it). Bytes after the last record are ignored.
//
// # Version 1 record
//
//	off len  field                        (struct ip_vs_sync_v4 / ip_vs_sync_v6)
//	0   1    type                         bit 0 STYPE_F_INET6: IPv6; any other bit: invalid
//	1   1    protocol                     IP protocol (0 for a firewall-mark template)
//	2   2    ver_size                     version (top 4 bits, 0) | size (12 bits, options
//	                                      included, padding not)
//	4   4    flags                        IP_VS_CONN_F_* without HASHED
//	8   2    state                        the protocol's IPVS state number
//	10  2    cport
//	12  2    vport
//	14  2    dport
//	16  4    fwmark                       the packet's firewall mark
//	20  4    timeout                      seconds
//	24  4|16 caddr
//	28  4|16 vaddr                        (offset 40 for IPv6)
//	32  4|16 daddr                        (offset 56 for IPv6)
//	36|72    options: type (1), length (1, never 0), data
//
// The fixed part is 36 bytes (IPv4) or 72 (IPv6). Options, in the order the kernel sends
// them:
//
//	type 1  IPVS_OPT_SEQ_DATA, length 24: in_seq then out_seq, each init_seq, delta,
//	        previous_delta (struct ip_vs_seq, 3 × 4 bytes), big-endian. Sent when the
//	        flags have IP_VS_CONN_F_IN_SEQ or OUT_SEQ (NAT connections whose payload an
//	        application helper resized, i.e. FTP).
//	type 2  IPVS_OPT_PE_DATA, length ≤ 255: persistence-engine data (the SIP Call-ID).
//	type 3  IPVS_OPT_PE_NAME, length ≤ 16: persistence-engine name, sent after PE data.
//
// A receiver reads the type with bit 0x40 (IPVS_OPT_F_PARAM) masked off: an option it does
// not know is skipped when the type has that bit and makes it drop the record when not. The
// kernel checks while parsing, and drops the rest of the datagram (records before were
// applied) on: a record past the end, a nonzero record version, a bad type, a size below the
// fixed part, an option header or data past the size, an option of length 0, a sequence
// option not 24 bytes long or repeated, a PE name over 16 bytes, a repeated PE option. It
// skips the one record (and applies the next) on: an unknown mandatory option, a protocol it
// has no IPVS protocol for (TCP, UDP, SCTP, AH, ESP are the kernel's), a state out of the
// protocol's range (templates take any), PE data without a PE name or with a PE it has not
// loaded. It keeps flags & IP_VS_CONN_F_BACKUP_MASK and adds IP_VS_CONN_F_SYNC; a timeout of
// 0 means its own timeout for the state (3 minutes for a template).
//
// Persistence-engine data is what keys a template of a service with a persistence engine
// (ipvsadm --pe sip: the Call-ID rather than the client address). A kernel backup without
// that engine skips those records. Decode keeps them and exposes PEName and PEData, except PE
// data without a name (skipped, as the kernel does); Conn.ToConntab refuses a template keyed
// by PE data (uvs has no persistence engines) and converts a connection carrying some, whose
// key is its addresses and ports anyway.
//
// # Version 0 message (receive only)
//
//	off len  field                        (struct ip_vs_sync_mesg_v0)
//	0   1    nr_conns
//	1   1    syncid
//	2   2    size
//	4        records, back to back:
//
//	off len  field                        (struct ip_vs_sync_conn_v0)
//	0   1    reserved
//	1   1    protocol
//	2   2    cport
//	4   2    vport
//	6   2    dport
//	8   4    caddr
//	12  4    vaddr
//	16  4    daddr
//	20  2    flags                        the low 16 bits of IP_VS_CONN_F_*
//	22  2    state
//	24  24   struct ip_vs_sync_conn_options, present when flags & IP_VS_CONN_F_SEQ_MASK:
//	         copied from the master's memory, so in its byte order (little-endian on x86
//	         and arm64, which Decode assumes)
//
// Version 0 is IPv4 only and has no timeout, firewall mark or options. A record past the end
// drops the rest; an unsupported protocol or state skips the record.
//
// # Sizes
//
// A master fills a message up to sync_maxlen bytes (MaxLen: the MTU less the IP and UDP
// headers; the kernel's master takes MTU 1500 whatever its interface's, 1472 bytes over IPv4)
// and sends it when full or 2 s after its first record. A backup receives into a buffer of
// its own sync_maxlen and drops longer messages.
//
// # What uvs adds: full-NAT
//
// IPVS has no full-NAT (NAT plus SNAT to a local address, so replies need no route back), so
// no forwarding code for it. A uvs full-NAT connection is sent as a masquerading one
// (FwdMasq) carrying an extra option, OptLocal (type 0x75): local port (2 bytes) then local
// address (4 or 16 bytes, the record's family). 0x75 has the IPVS_OPT_F_PARAM bit and its
// type without that bit (0x35) is none the kernel knows, so ip_vs_proc_sync_conn's option
// loop skips it (its default case, "Param data mandatory?": only an option without the bit
// makes it drop the record). A kernel backup therefore takes the connection as masquerading
// to the same real server (useless to it, since replies would not come back through it, but
// harmless), and a uvs backup gets the local endpoint it needs to keep the connection. A
// malformed OptLocal (wrong length, twice) is refused as a bad sequence option is.
//
// # What uvs adds: authentication (optional, off by default)
//
// The kernel's sync has no authentication: anyone on the segment can inject connections. With
// a shared key (Signer on the master's Encoder, Verifier on the backup) uvs peers append a
// trailer to each version 1 message and mark its header:
//
//	off     len  field
//	6       2    spare: 0x5541 ("UA") instead of 0
//	end     ...  zero padding of the last record to 32 bits
//	+0      4    sender: random id of the Signer
//	+4      8    sequence number: 1, 2, ... per sender
//	+12     8    time: the sender's wall clock, Unix nanoseconds
//	+20     32   HMAC-SHA256 with the key over everything before it, header included
//
// The size field counts the trailer. The Verifier refuses a message whose HMAC does not match,
// whose time is more than its window (30 s by default) from its own clock, or whose sequence
// number it has seen (per sender, 64 numbers below the highest are remembered for
// reordering), and refuses plain messages (ErrUnsigned): an authenticated deployment does not
// fall back. A kernel backup, reading a nonzero spare, takes the message for version 0, whose
// connection count is the reserved byte, 0: it applies nothing and logs nothing, so a kernel
// in the group is never fed unauthenticated connections from an authenticated master (nor
// can it check them). Decode (without a key) returns ErrSigned for such messages. Mixing
// kernel and uvs directors therefore means running without authentication.
package connsync
