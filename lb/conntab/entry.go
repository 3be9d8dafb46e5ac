package conntab

import (
	"encoding/binary"
	"sync/atomic"
	"unsafe"

	"github.com/uvs-lb/uvs/packet"
)

// entry is one connection or template as stored: 88 bytes (TestEntrySize), no pointers.
//
// The state (13 values) and the engine's method (it has 4) share a byte, which leaves one for
// the inbound packet count that connection sync's threshold rule needs.
type entry struct {
	caddr, vaddr, daddr, laddr [16]byte // laddr[:4] holds a template's timeout in ticks
	cport, vport, dport, lport uint16
	expires                    uint32 // tick at which the entry expires (see the package doc)
	dest                       uint32 // real server id; next free entry while on the free list
	ctl                        uint32 // conns: template Ref; templates: control count (atomic)
	proto                      uint8
	sm                         uint8 // state (low 4 bits) | method << 4
	flags                      Flags // public flags | flagV6 | flagUsed | flagDoomed
	pkts                       uint8 // inbound packets, counted with Config.CountPackets
}

// maxMethod bounds Conn.Method: the method has the high 4 bits of entry.sm.
const maxMethod = 15

func (e *entry) state() State     { return State(e.sm & 0x0f) }
func (e *entry) putState(s State) { e.sm = e.sm&0xf0 | uint8(s) }
func (e *entry) method() uint8    { return e.sm >> 4 }

// Private flag bits, above the public ones.
const (
	flagV6     Flags = 1 << 5 // IPv6 entry (else IPv4): the family costs no byte
	flagUsed   Flags = 1 << 6 // allocated (else on the free list)
	flagDoomed Flags = 1 << 7 // deleted template waiting for its control count to drop to 0
)

// chunkSize is as many entries as fit in 16 KiB (186), one of the Go allocator's size classes,
// so no memory is lost rounding chunks up (256 entries, 22 KiB, would waste 8 % in the 24 KiB
// class). Dividing an index by it is a multiplication.
const chunkSize = 16384 / uint32(unsafe.Sizeof(entry{}))

// chunk is a fixed block of entries. Chunks are never freed or moved, so an entry's address is
// stable for the life of the table.
type chunk [chunkSize]entry

func (e *entry) family() packet.Family {
	if e.flags&flagV6 != 0 {
		return packet.FamilyIPv6
	}
	return packet.FamilyIPv4
}

func (e *entry) isTemplate() bool { return e.flags&FlagTemplate != 0 }

// hasReply reports whether the entry has a reply key in the index.
func (e *entry) hasReply() bool { return e.flags&(FlagTemplate|FlagInputOnly) == 0 }

// inKey is the inbound tuple: client → virtual service.
func (e *entry) inKey(k *packet.FlowKey) {
	*k = packet.FlowKey{
		Src: e.caddr, Dst: e.vaddr, SrcPort: e.cport, DstPort: e.vport,
		Proto: e.proto, Family: e.family(),
	}
}

// outKey is the reply tuple: real server → client (NAT) or → local endpoint (full-NAT).
func (e *entry) outKey(k *packet.FlowKey) {
	*k = packet.FlowKey{
		Src: e.daddr, Dst: e.caddr, SrcPort: e.dport, DstPort: e.cport,
		Proto: e.proto, Family: e.family(),
	}
	if e.flags&FlagFullNAT != 0 {
		k.Dst, k.DstPort = e.laddr, e.lport
	}
}

// matchIn reports whether k is e's inbound tuple.
func (e *entry) matchIn(k *packet.FlowKey) bool {
	return e.cport == k.SrcPort && e.vport == k.DstPort && e.proto == k.Proto &&
		e.caddr == k.Src && e.vaddr == k.Dst && e.family() == k.Family
}

// matchOut reports whether k is e's reply tuple.
func (e *entry) matchOut(k *packet.FlowKey) bool {
	if e.dport != k.SrcPort || e.proto != k.Proto || e.daddr != k.Src || e.family() != k.Family {
		return false
	}
	if e.flags&FlagFullNAT != 0 {
		return e.lport == k.DstPort && e.laddr == k.Dst
	}
	return e.cport == k.DstPort && e.caddr == k.Dst
}

// ctlCount is a template's control count; connections in other shards change it atomically.
func (e *entry) ctlCount() uint32 { return atomic.LoadUint32(&e.ctl) }

// tmplTimeout is a template's own timeout in ticks, kept in its (unused) local address.
func (e *entry) tmplTimeout() uint32 { return binary.LittleEndian.Uint32(e.laddr[:4]) }

func (e *entry) setTmplTimeout(t uint32) { binary.LittleEndian.PutUint32(e.laddr[:4], t) }

// load fills e from c (everything but state, expiry and control word).
func (e *entry) load(c *Conn) {
	e.caddr, e.vaddr, e.daddr = c.CAddr, c.VAddr, c.DAddr
	e.cport, e.vport, e.dport = c.CPort, c.VPort, c.DPort
	e.laddr, e.lport = c.LAddr, c.LPort
	e.dest = c.Dest
	e.proto = c.Proto
	e.sm = c.Method<<4 | e.sm&0x0f
	e.flags = c.Flags&(publicFlags&^FlagInactive) | flagUsed
	if c.Family == packet.FamilyIPv6 {
		e.flags |= flagV6
	}
	if e.isTemplate() {
		e.laddr, e.lport = [16]byte{}, 0
	}
}

// store copies e into c. now is the tick of the call's clock, used to resolve the expiry.
func (e *entry) store(c *Conn, self Ref, now int64) {
	*c = Conn{
		Family: e.family(), Proto: e.proto, State: e.state(), Prev: e.state(), Method: e.method(),
		Flags: e.flags & publicFlags, Pkts: e.pkts,
		CPort: e.cport, VPort: e.vport, DPort: e.dport, LPort: e.lport,
		CAddr: e.caddr, VAddr: e.vaddr, DAddr: e.daddr, LAddr: e.laddr,
		Dest: e.dest, Self: self, Expires: expiresAt(e.expires, now),
	}
	if e.isTemplate() {
		c.LAddr = [16]byte{}
	} else {
		c.Tmpl = Ref(e.ctl)
	}
}
