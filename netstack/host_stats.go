package netstack

// HostStats are a Host's own counters, per NIC: what its links dropped or changed on the
// way between the port and the stack. The stack's own traffic is not counted here.
type HostStats struct {
	NICs []NICStats // by NIC index
}

// NICStats are the counters of one NIC of a Host.
type NICStats struct {
	Name string
	// IngressDropped counts the received frames NICConfig.Ingress dropped.
	IngressDropped uint64
	// HiddenDropped counts the received ARP requests and neighbor solicitations for a hidden
	// address (NICConfig.Hidden), dropped unanswered.
	HiddenDropped uint64
	// HiddenRewritten counts the host's ARP requests and neighbor solicitations whose sender
	// was a hidden address, sent from the NIC's own address instead.
	HiddenRewritten uint64
	// TxDropped counts the host's frames the port refused (SendIP's too).
	TxDropped uint64
	// ProtocolHandled counts the received packets given to a protocol handler
	// (Host.HandleProtocol); ProtocolDropped those of a handled protocol dropped instead
	// (fragments, bad IPv4 header checksums, frames to another MAC).
	ProtocolHandled, ProtocolDropped uint64
	// MACRewritten counts the host's frames sent with the MAC of the address they are from
	// or for (Host.SetVIPMAC) rather than the port's.
	MACRewritten uint64
}

// Stats returns the host's counters. It may be called at any time, before Start and after
// Close too.
func (h *Host) Stats() HostStats {
	s := HostStats{NICs: make([]NICStats, len(h.links))}
	for i, l := range h.links {
		s.NICs[i] = NICStats{
			Name:            l.port.Name(),
			IngressDropped:  l.ingressDropped.Load(),
			HiddenDropped:   l.hiddenDropped.Load(),
			HiddenRewritten: l.hiddenRewritten.Load(),
			TxDropped:       l.txDropped.Load(),
			ProtocolHandled: l.protoHandled.Load(),
			ProtocolDropped: l.protoDropped.Load(),
			MACRewritten:    l.macRewritten.Load(),
		}
	}
	return s
}
