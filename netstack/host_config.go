package netstack

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/uvs-lb/uvs/netstack/port"
)

// HostConfig describes a Host: its NICs, one per port, and its routes.
type HostConfig struct {
	NICs []NICConfig
	// Routes are static routes and default gateways (Dst 0.0.0.0/0 or ::/0). Each gateway
	// must be on-link: inside a prefix of one of the NICs, which is the NIC the route uses.
	Routes []Route
	// Standalone makes the host read its ports itself, and close them on Close: a plain host
	// such as a lab client or real server. An appliance leaves it false: its Dataplane reads
	// the ports, passes the host what the engine does not forward, and owns the ports.
	Standalone bool
	// ResolveEvery is the shortest time between two link-address resolutions of one address
	// started by Neighbors.Resolve. 0 = 1 s.
	ResolveEvery time.Duration
}

// NICConfig is one NIC of a Host.
type NICConfig struct {
	Port port.Port
	// Addrs are the host's own addresses on this link with their connected prefixes
	// (10.0.0.254/24). They route the prefixes to this NIC, for the host and the data plane.
	Addrs []netip.Prefix
	// OnLink are further prefixes reached directly on this link, with no address of the
	// host's in them (a route without a gateway).
	OnLink []netip.Prefix
	// VIPHome makes this NIC take the virtual addresses that no NIC's prefix contains.
	VIPHome bool
	// Hidden are addresses the host holds on this NIC without telling anyone: what a
	// direct-routing or tunnelling real server holds its VIPs as (Linux: the VIP on lo,
	// arp_ignore=1, arp_announce=2). The host accepts and answers traffic to them, and its
	// sockets may bind them, but it never answers ARP requests or neighbor solicitations for
	// them (they are dropped and counted: NICStats.HiddenDropped), never announces them, runs
	// no duplicate address detection on them, never picks them as the source of its own
	// connections, and never sends them as the sender of its ARP requests or neighbor
	// solicitations: the NIC's own address of the family (the one whose prefix holds the
	// target, or else the first) goes instead (NICStats.HiddenRewritten). So the NIC needs
	// an address in Addrs of each hidden address's family. Unlike a VIP (Host.AddVIP), a
	// hidden address routes nothing: its prefix is the single address.
	Hidden []netip.Addr
	// Ingress, if set, sees every frame received on this NIC before the stack does, in the
	// goroutine that delivers it (one at a time per NIC): it returns the frame to deliver,
	// which may be a subslice of frame rewritten in place (a decapsulated tunnel packet), or
	// nil to drop it (counted: NICStats.IngressDropped). It must not keep frame or the
	// result: the buffer is reused once it returns.
	Ingress func(frame []byte) []byte
}

// Route sends traffic for Dst through Gateway.
type Route struct {
	Dst     netip.Prefix
	Gateway netip.Addr
}

const defaultResolveEvery = time.Second

// checkHidden checks the hidden addresses of NIC i: plain unicast addresses, each once, none
// an address of a NIC, and the NIC has an address of each one's family to send its
// neighbor discovery from.
func checkHidden(nics []NICConfig, i int) []error {
	n := &nics[i]
	var errs []error
	bad := func(a netip.Addr, format string, args ...any) {
		errs = append(errs, fmt.Errorf("NIC %d (%s): hidden address %s: %s", i, n.Port.Name(), a, fmt.Sprintf(format, args...)))
	}
	for j, a := range n.Hidden {
		if !a.IsValid() || a.Zone() != "" || a.Is4In6() || a.IsUnspecified() || a.IsMulticast() || a.IsLoopback() {
			bad(a, "not a plain unicast IPv4 or IPv6 address")
			continue
		}
		if slices.Contains(n.Hidden[:j], a) {
			bad(a, "listed twice")
			continue
		}
		for k := range nics {
			if slices.ContainsFunc(nics[k].Addrs, func(p netip.Prefix) bool { return p.Addr() == a }) {
				bad(a, "is an address of NIC %d", k)
			}
		}
		if !slices.ContainsFunc(n.Addrs, func(p netip.Prefix) bool { return p.Addr().Is4() == a.Is4() }) {
			bad(a, "the NIC has no address of its family to send ARP requests or neighbor solicitations from")
		}
	}
	return errs
}

// validate checks c and returns the routing view it describes: every NIC's connected
// prefixes and the configured routes.
func (c *HostConfig) validate() (*routeTable, error) {
	if len(c.NICs) == 0 {
		return nil, errors.New("netstack: a host needs at least one NIC")
	}
	var errs []error
	var rows []route
	homes := 0
	for i := range c.NICs {
		n := &c.NICs[i]
		if n.Port == nil {
			errs = append(errs, fmt.Errorf("NIC %d: no port", i))
			continue
		}
		if len(n.Port.HardwareAddr()) != 6 {
			errs = append(errs, fmt.Errorf("NIC %d (%s): port has no Ethernet address", i, n.Port.Name()))
		}
		if n.VIPHome {
			homes++
		}
		for _, p := range n.Addrs {
			if !p.IsValid() || p.Addr().Zone() != "" || p.Addr().Is4In6() {
				errs = append(errs, fmt.Errorf("NIC %d (%s): address %s is not a plain IPv4 or IPv6 prefix", i, n.Port.Name(), p))
				continue
			}
			rows = append(rows, route{dst: p.Masked(), nic: i})
		}
		errs = append(errs, checkHidden(c.NICs, i)...)
		for _, p := range n.OnLink {
			if !p.IsValid() || p.Addr().Zone() != "" || p.Addr().Is4In6() {
				errs = append(errs, fmt.Errorf("NIC %d (%s): on-link prefix %s is not a plain IPv4 or IPv6 prefix", i, n.Port.Name(), p))
				continue
			}
			rows = append(rows, route{dst: p.Masked(), nic: i})
		}
	}
	if homes > 1 {
		errs = append(errs, errors.New("more than one NIC is the VIP home"))
	}
	connected := newRouteTable(rows)
	for i, r := range c.Routes {
		if !r.Dst.IsValid() || !r.Gateway.IsValid() || r.Dst.Addr().Is4() != r.Gateway.Is4() {
			errs = append(errs, fmt.Errorf("route %d (%s via %s): needs a destination and a gateway of one family", i, r.Dst, r.Gateway))
			continue
		}
		nic, _, ok := connected.lookup(r.Gateway)
		if !ok {
			errs = append(errs, fmt.Errorf("route %d (%s via %s): gateway is on no NIC's prefix", i, r.Dst, r.Gateway))
			continue
		}
		rows = append(rows, route{dst: r.Dst.Masked(), gw: r.Gateway, nic: nic})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("netstack: host config: %w", err)
	}
	return newRouteTable(rows), nil
}
