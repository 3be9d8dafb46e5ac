package netstack

import (
	"fmt"
	"net/netip"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
)

// Conversions between the standard library's address types, which the package's API uses, and
// gVisor's, which stay inside it.

func toTCPIP(a netip.Addr) tcpip.Address {
	if a.Is4() {
		return tcpip.AddrFrom4(a.As4())
	}
	return tcpip.AddrFrom16(a.As16())
}

func fromTCPIP(a tcpip.Address) netip.Addr {
	switch a.Len() {
	case 4:
		return netip.AddrFrom4(a.As4())
	case 16:
		return netip.AddrFrom16(a.As16())
	}
	return netip.Addr{}
}

func protocolOf(a netip.Addr) tcpip.NetworkProtocolNumber {
	if a.Is4() {
		return ipv4.ProtocolNumber
	}
	return ipv6.ProtocolNumber
}

func toSubnet(p netip.Prefix) tcpip.Subnet {
	p = p.Masked()
	return tcpip.AddressWithPrefix{Address: toTCPIP(p.Addr()), PrefixLen: p.Bits()}.Subnet()
}

func toFullAddress(ap netip.AddrPort) tcpip.FullAddress {
	fa := tcpip.FullAddress{Port: ap.Port()}
	if !ap.Addr().IsUnspecified() {
		fa.Addr = toTCPIP(ap.Addr())
	}
	return fa
}

// stackError turns a gVisor error into an error at the package's edge, so that no caller needs
// gVisor's types to read it.
func stackError(op string, err tcpip.Error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("netstack: %s: %s", op, err)
}
