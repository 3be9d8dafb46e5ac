package lb

import "github.com/uvs-lb/uvs/packet"

// classifier gives packets firewall marks from MarkRules, so firewall-mark services work with
// no iptables. It is compiled once per Table and read concurrently.
type classifier struct {
	rules []MarkRule
}

// mark returns the mark of the first matching rule, or 0.
func (c *classifier) mark(k *packet.FlowKey) uint32 {
	if len(c.rules) == 0 {
		return 0
	}
	src, dst := k.SrcAddr(), k.DstAddr()
	for i := range c.rules {
		r := &c.rules[i]
		if r.Proto != 0 && r.Proto != k.Proto {
			continue
		}
		if r.Dst.IsValid() && !r.Dst.Contains(dst) {
			continue
		}
		if r.Src.IsValid() && !r.Src.Contains(src) {
			continue
		}
		if len(r.Ports) > 0 && !inRanges(r.Ports, k.DstPort) {
			continue
		}
		return r.Mark
	}
	return 0
}

func inRanges(rs []PortRange, p uint16) bool {
	for _, r := range rs {
		if p >= r.Lo && p <= r.Hi {
			return true
		}
	}
	return false
}
