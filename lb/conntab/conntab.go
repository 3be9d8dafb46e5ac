// Package conntab is the engine's connection table: IPVS connections and persistence templates,
// keyed both ways, sharded, with IPVS's TCP state machine, state timeouts and expiry driven by an
// injected clock.
//
// Layout (why it looks like this): every connection lives in exactly one shard, chosen from the
// client endpoint (address, port) — which is the source of the inbound key and the destination
// of the NAT reply key — so both directions of one connection are found under one shard lock.
// For full-NAT the reply key's destination is the local (SNAT) endpoint instead; the engine picks
// local ports with LocalPort so they land in the connection's shard (ShardOf adds the port to
// the address hash linearly, which makes that an O(1) computation). Entries sit in fixed-size
// chunks that never move (stable addresses, no per-connection allocation, nothing for the GC
// to scan), and each shard indexes them with an open-addressing table of 8-byte slots (hash
// tag, entry index, direction). Templates live in the same table.
//
// In detail:
//
//   - A shard is a mutex, an index and its chunks, padded to its own cache lines. Nothing is
//     global on the data path except an atomic entry counter that enforces Capacity.
//   - The index is linear probing over a power-of-two []uint64, grown (doubled) at 80 % load and
//     kept free of tombstones by backward-shift deletion. A slot is tag(32) | entry(31) | dir(1);
//     0 is empty, so entry index 0 is never used. The probe start is taken from the tag, so the
//     index can be rebuilt without touching entries.
//   - An entry is 88 bytes: the four addresses, four ports, the expiry tick, the real server id,
//     a control word, protocol, state and method (one byte), flags (with the address family
//     folded in) and the inbound packet count connection sync needs (Config.CountPackets).
//     Free entries form a list threaded through their dest field.
//   - A connection has one slot for its inbound key (client → virtual service) and, unless it is
//     input-only (DR, TUN) or a template, one for its reply key (real server → client, or
//     → local endpoint for full-NAT), both in the shard of the client endpoint.
//   - The control word of a connection is the Ref of its template; that of a template is its
//     control count (IPVS n_control), changed atomically by connections in other shards.
//
// Time: every now argument is a monotonic clock reading in nanoseconds (the engine's Clock).
// Expiry is kept in ticks of 1/16 s, stored in 32 bits and compared with wrap-around
// arithmetic (as the kernel compares jiffies), so there is no epoch and an entry's timeout may
// be up to 2^31 ticks (about 4 years; longer ones are clamped). An entry expires when the tick
// of now reaches its expiry tick: timeouts are exact to within one tick.
//
// The package starts no goroutines: expiry happens lazily on Lookup and in Sweep, which the
// engine calls periodically.
package conntab

import (
	"errors"

	"github.com/uvs-lb/uvs/lb/sched"
	"github.com/uvs-lb/uvs/packet"
)

// ErrFull is returned by Insert when the table holds Capacity entries; the refusal is counted.
var ErrFull = errors.New("conntab: connection table full")

// ErrExists is returned by Insert when the inbound key is already in the table (another worker
// inserted the same connection first). The existing entry wins: Insert copies it into *c.
var ErrExists = errors.New("conntab: connection exists")

// ErrReplyExists is returned by Insert when the reply key is taken by another entry; for
// full-NAT the engine tries another local port.
var ErrReplyExists = errors.New("conntab: reply key in use")

// ErrInvalid is returned by Insert for a connection it cannot index: an address family other
// than IPv4 or IPv6, or a full-NAT local endpoint outside the connection's shard.
var ErrInvalid = errors.New("conntab: invalid connection")

// Dir is the direction of a packet relative to its connection.
type Dir uint8

const (
	DirIn  Dir = iota // client → virtual service (the connection's first direction)
	DirOut            // real server → client (NAT/full-NAT replies)
)

// Ref is a stable handle to an entry (shard and slot); 0 means none. It is valid while the
// entry lives: once the entry is removed its slot may be reused by another.
type Ref uint32

// Flags of a connection entry.
type Flags uint8

const (
	FlagTemplate  Flags = 1 << iota // persistence template, not a connection
	FlagInputOnly                   // replies bypass the appliance (DR/TUN): INPUT_ONLY state table, no reply key
	FlagFullNAT                     // reply key uses the local (SNAT) endpoint
	FlagOnePacket                   // UDP one-packet scheduling: never inserted (documented here for completeness)
	FlagInactive                    // counted in the dest's Inactive (IPVS IP_VS_CONN_F_INACTIVE); kept by conntab

	publicFlags = FlagTemplate | FlagInputOnly | FlagFullNAT | FlagOnePacket | FlagInactive
)

// Conn is a copy of one entry, filled by Lookup and taken by Insert.
//
// Addresses use packet.FlowKey's array form (IPv4 in the first 4 bytes). For a template,
// CAddr is the client address masked by the persistence netmask, CPort 0, VAddr the VIP (or the
// firewall mark in its first 4 bytes, big-endian, with Proto 0), VPort the service port (0 for
// port-0 and firewall-mark services), and DAddr/DPort the real server it pins.
type Conn struct {
	Family                     packet.Family
	Proto                      uint8
	State                      State
	Prev                       State // Lookup: the state before this packet's transition (conn_reuse_mode looks at it)
	Method                     uint8 // the engine's forwarding method; opaque here (at most 15)
	Flags                      Flags
	CPort, VPort, DPort, LPort uint16
	CAddr, VAddr, DAddr, LAddr [16]byte
	// Pkts is the connection's inbound packet count when the table counts them
	// (Config.CountPackets): modulo Config.PacketPeriod, or stopping at 255 without one.
	// Lookup reports it with this packet counted (replies are not counted); Insert and
	// Install start the count at Pkts (the engine passes 1 for the packet that opens the
	// connection, the sync threshold for a synced one, as IPVS sets in_pkts).
	Pkts uint8
	Dest uint32 // the engine's real-server id; 0 means none
	Tmpl Ref    // controlling template (Insert increments its control count)
	Self Ref    // this entry (filled by Lookup and Insert)
	// Mark is the firewall mark of the connection's service (0 for a service by address),
	// for connection sync. The table does not keep it (its copies have 0): the engine sets
	// it on the records it queues for sync and reads it in InstallSynced.
	Mark uint32
	// Expires is when the entry times out, on the clock of now, to the tick. Lookup,
	// LookupTemplate and Insert resolve it against their now; Range against the now of the
	// latest Sweep.
	Expires int64
}

// Dests gives conntab the live counts of a real server by the engine's id, so it can keep
// IPVS's activeconns / inactconns / persistconns right on insert, state change and expiry.
// Counts is called with a shard lock held: it must not call back into the Table.
type Dests interface {
	Counts(dest uint32) *sched.Counts // nil when unknown (then nothing is counted)
}
