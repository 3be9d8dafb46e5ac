package packet

// ARPLen is the length of an ARP packet for IPv4 over Ethernet (RFC 826).
const ARPLen = 28

// ARP operations.
const (
	ARPRequest uint16 = 1
	ARPReply   uint16 = 2
)

// ARP is a view of an ARP packet. The address accessors assume IPv4 over Ethernet (6-byte
// hardware, 4-byte protocol addresses), the only kind Parse accepts; IsEthernetIPv4 checks it.
type ARP []byte

// HardwareType returns the hardware type (1 for Ethernet).
func (a ARP) HardwareType() uint16 { return be16(a[0:]) }

// ProtocolType returns the protocol type (EtherTypeIPv4 for IPv4).
func (a ARP) ProtocolType() uint16 { return be16(a[2:]) }

// HardwareLen returns the hardware address length.
func (a ARP) HardwareLen() uint8 { return a[4] }

// ProtocolLen returns the protocol address length.
func (a ARP) ProtocolLen() uint8 { return a[5] }

// IsEthernetIPv4 reports whether the header describes IPv4 over Ethernet.
func (a ARP) IsEthernetIPv4() bool {
	return a.HardwareType() == 1 && a.ProtocolType() == EtherTypeIPv4 && a[4] == 6 && a[5] == 4
}

// Op returns the operation (ARPRequest, ARPReply).
func (a ARP) Op() uint16 { return be16(a[6:]) }

// SetOp sets the operation.
func (a ARP) SetOp(op uint16) { put16(a[6:], op) }

// SenderMAC returns the sender hardware address.
func (a ARP) SenderMAC() [6]byte { return [6]byte(a[8:14]) }

// SenderIP returns the sender protocol address.
func (a ARP) SenderIP() [4]byte { return [4]byte(a[14:18]) }

// TargetMAC returns the target hardware address.
func (a ARP) TargetMAC() [6]byte { return [6]byte(a[18:24]) }

// TargetIP returns the target protocol address.
func (a ARP) TargetIP() [4]byte { return [4]byte(a[24:28]) }

// SetSenderMAC sets the sender hardware address.
func (a ARP) SetSenderMAC(m [6]byte) { copy(a[8:14], m[:]) }

// SetSenderIP sets the sender protocol address.
func (a ARP) SetSenderIP(ip [4]byte) { copy(a[14:18], ip[:]) }

// SetTargetMAC sets the target hardware address.
func (a ARP) SetTargetMAC(m [6]byte) { copy(a[18:24], m[:]) }

// SetTargetIP sets the target protocol address.
func (a ARP) SetTargetIP(ip [4]byte) { copy(a[24:28], ip[:]) }
