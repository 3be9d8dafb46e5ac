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
	// TxDropped counts the host's frames the port refused.
	TxDropped uint64
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
		}
	}
	return s
}
