package afpacket

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// KernelAddrs returns the IP addresses the kernel holds on the interface name, in the calling
// thread's network namespace (link-local IPv6 included: the kernel answers neighbor
// discovery for it, and a stack that derives its own link-local address from the same MAC
// gets the same one).
func KernelAddrs(name string) ([]netip.Prefix, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, err
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(n.IP)
		if !ok {
			continue
		}
		bits, _ := n.Mask.Size()
		out = append(out, netip.PrefixFrom(ip.Unmap(), bits))
	}
	return out, nil
}

// Warning returns the warning `uvs run` prints when the kernel holds IP addresses on a port's
// interface, or "" when it holds none. A port takes its interface whole (DESIGN.md, "Ports own
// their interfaces"): with an address on it, the kernel answers ARP/ND, pings and TCP for that
// address on the same wire as uvs (RSTs for connections it does not know, duplicate ARP
// replies). Run uvs on an interface the kernel does not use: a dedicated NIC, or a veth or
// macvlan handed to uvs, with `ip addr flush dev X` and, for IPv6 link-local,
// `sysctl net.ipv6.conf.X.disable_ipv6=1` (or addr_gen_mode 1).
func Warning(name string) (string, error) {
	addrs, err := KernelAddrs(name)
	if err != nil || len(addrs) == 0 {
		return "", err
	}
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return fmt.Sprintf("interface %s: the kernel holds %s on it; a uvs port owns its interface, "+
		"and the kernel would answer ARP/ND and traffic on the same wire "+
		"(ip addr flush dev %s; sysctl net.ipv6.conf.%s.disable_ipv6=1)",
		name, strings.Join(s, ", "), name, name), nil
}
