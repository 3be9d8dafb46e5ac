package packet

// Ethernet header sizes.
const (
	EthernetLen = 14 // destination MAC, source MAC, EtherType
	VLANTagLen  = 4  // one 802.1Q tag: TPID (0x8100) is the outer EtherType, then TCI, then the inner EtherType
)

// EtherTypeQinQ is the 802.1ad service tag; Parse reports it as ErrUnsupported.
const EtherTypeQinQ uint16 = 0x88A8

// Ethernet is a view of an Ethernet II header. Like every header view in this package it
// checks nothing: the caller (usually Parse) has made sure the bytes are there, and an
// accessor on a short slice panics as any out-of-range slice access does.
type Ethernet []byte

// Dst returns the destination MAC address.
func (e Ethernet) Dst() [6]byte { return [6]byte(e[0:6]) }

// Src returns the source MAC address.
func (e Ethernet) Src() [6]byte { return [6]byte(e[6:12]) }

// SetDst sets the destination MAC address.
func (e Ethernet) SetDst(m [6]byte) { copy(e[0:6], m[:]) }

// SetSrc sets the source MAC address.
func (e Ethernet) SetSrc(m [6]byte) { copy(e[6:12], m[:]) }

// EtherType returns the EtherType field right after the addresses: EtherTypeVLAN when the
// frame is tagged (see VLANTCI and InnerEtherType).
func (e Ethernet) EtherType() uint16 { return be16(e[12:]) }

// SetEtherType sets the EtherType field right after the addresses.
func (e Ethernet) SetEtherType(t uint16) { put16(e[12:], t) }

// VLANTCI returns the tag control information of a tagged frame (PCP, DEI, VLAN ID).
func (e Ethernet) VLANTCI() uint16 { return be16(e[14:]) }

// InnerEtherType returns the EtherType that follows the 802.1Q tag of a tagged frame.
func (e Ethernet) InnerEtherType() uint16 { return be16(e[16:]) }

// PutEthernet writes an untagged Ethernet header at the start of b, which must hold
// EthernetLen bytes, and returns EthernetLen. Builders write IP packets; to send one on a wire,
// build it at b[EthernetLen:] and put the header in front.
func PutEthernet(b []byte, dst, src [6]byte, etherType uint16) int {
	e := Ethernet(b[:EthernetLen])
	e.SetDst(dst)
	e.SetSrc(src)
	e.SetEtherType(etherType)
	return EthernetLen
}

// PutEthernetVLAN writes an Ethernet header with one 802.1Q tag (priority 0, VLAN vid) at the
// start of b, which must hold EthernetLen+VLANTagLen bytes, and returns that length.
func PutEthernetVLAN(b []byte, dst, src [6]byte, vid, etherType uint16) int {
	e := Ethernet(b[:EthernetLen+VLANTagLen])
	e.SetDst(dst)
	e.SetSrc(src)
	e.SetEtherType(EtherTypeVLAN)
	put16(e[14:], vid&0x0FFF)
	put16(e[16:], etherType)
	return EthernetLen + VLANTagLen
}
