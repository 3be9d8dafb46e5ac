package netstack

import (
	"fmt"
	"net/netip"
	"slices"

	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// AddVIP makes the host own a virtual address: it answers ARP / neighbor solicitations for
// it, echo requests to it, and what reaches it on no virtual service. The address goes on the
// NIC whose prefix contains it, or else on the VIP home NIC. When the host runs, the address
// is announced at once (gratuitous ARP / unsolicited neighbor advertisement): a neighbor that
// cached a failed resolution, or the previous owner's MAC, would otherwise keep sending
// elsewhere. Adding an address the host already owns announces it again.
//
// A VIP is never chosen as the source of the host's own traffic.
func (h *Host) AddVIP(addr netip.Addr) error {
	addr = addr.Unmap()
	nic, err := h.vipNIC(addr)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state == hostClosed {
		return errNotRunning
	}
	if cur, ok := h.vips[addr]; ok {
		if h.state == hostStarted {
			return h.announce(cur, addr)
		}
		return nil
	}
	if h.state == hostStarted {
		if err := addAddress(h.stack, nic, addr, addr.BitLen(), stack.NeverPrimaryEndpoint); err != nil {
			return fmt.Errorf("netstack: add VIP: %w", err)
		}
	}
	h.vips[addr] = nic
	if h.state == hostStarted {
		return h.announce(nic, addr)
	}
	return nil
}

// RemoveVIP gives a virtual address up. Removing an address the host does not own is not an
// error.
func (h *Host) RemoveVIP(addr netip.Addr) error {
	addr = addr.Unmap()
	h.mu.Lock()
	defer h.mu.Unlock()
	nic, ok := h.vips[addr]
	if !ok {
		return nil
	}
	delete(h.vips, addr)
	if h.state != hostStarted {
		return nil
	}
	return stackError("remove VIP "+addr.String(), h.stack.RemoveAddress(nicID(nic), toTCPIP(addr)))
}

// VIPs returns the virtual addresses the host owns, sorted.
func (h *Host) VIPs() []netip.Addr {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]netip.Addr, 0, len(h.vips))
	for a := range h.vips {
		out = append(out, a)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// Announce sends a gratuitous ARP (IPv4) or unsolicited neighbor advertisement (IPv6) for a
// VIP the host owns, as VRRP does again after taking over, at the MAC the host gives the VIP
// (the port's, or SetVIPMAC's; AnnounceFrom names one).
func (h *Host) Announce(addr netip.Addr) error {
	addr = addr.Unmap()
	h.mu.Lock()
	defer h.mu.Unlock()
	nic, ok := h.vips[addr]
	if !ok {
		return fmt.Errorf("netstack: announce %s: not a VIP of this host", addr)
	}
	if h.state != hostStarted {
		return errNotRunning
	}
	return h.announce(nic, addr)
}

// vipNIC is the NIC a VIP belongs on: the first whose prefixes contain it, or the VIP home.
func (h *Host) vipNIC(addr netip.Addr) (int, error) {
	if !addr.IsValid() || addr.Zone() != "" {
		return 0, fmt.Errorf("netstack: VIP %q is not an IPv4 or IPv6 address", addr)
	}
	home := -1
	for i, n := range h.cfg.NICs {
		for _, p := range n.Addrs {
			if p.Contains(addr) {
				return i, nil
			}
		}
		if n.VIPHome {
			home = i
		}
	}
	if home < 0 {
		return 0, fmt.Errorf("netstack: VIP %s is on no NIC's prefix and no NIC is the VIP home", addr)
	}
	return home, nil
}

// announce writes the announcement of addr, at the MAC the host gives it (SetVIPMAC), to NIC
// nic's port. h.mu is held.
func (h *Host) announce(nic int, addr netip.Addr) error {
	return h.announceAt(nic, addr, h.addrMAC(nic, addr))
}

// announceAt writes the announcement of addr at mac to NIC nic's port.
func (h *Host) announceAt(nic int, addr netip.Addr, mac [6]byte) error {
	l := h.links[nic]
	b := make([]byte, l.headroom+announceLen)
	var n int
	if addr.Is4() {
		n = putGratuitousARP(b[l.headroom:], mac, addr.As4())
	} else {
		n = putUnsolicitedNA(b[l.headroom:], mac, addr.As16())
	}
	if _, err := l.port.Write([][]byte{b}, []int{n}, l.headroom); err != nil {
		return fmt.Errorf("netstack: announce %s on %s: %w", addr, l.port.Name(), err)
	}
	return nil
}
