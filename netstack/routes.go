package netstack

import (
	"cmp"
	"net/netip"
	"slices"
)

// route is one row of the routing view: destinations in dst are reached through nic, via
// gateway gw, or directly (on-link) when gw is not valid.
type route struct {
	dst netip.Prefix
	gw  netip.Addr
	nic int
}

// routeTable is the routing view the port loops use for forwarded frames: the connected
// prefixes of every NIC and the configured routes, longest prefix first. It is immutable, so
// loops read it without a lock; a handful of rows is scanned faster than any trie is walked.
type routeTable struct {
	v4, v6 []route
}

func newRouteTable(rows []route) *routeTable {
	t := &routeTable{}
	for _, r := range rows {
		if r.dst.Addr().Is4() {
			t.v4 = append(t.v4, r)
		} else {
			t.v6 = append(t.v6, r)
		}
	}
	longestFirst := func(a, b route) int { return cmp.Compare(b.dst.Bits(), a.dst.Bits()) }
	slices.SortStableFunc(t.v4, longestFirst)
	slices.SortStableFunc(t.v6, longestFirst)
	return t
}

// lookup returns the NIC and the next hop (dst itself when on-link) for dst. It does not
// allocate.
func (t *routeTable) lookup(dst netip.Addr) (nic int, nextHop netip.Addr, ok bool) {
	rows := t.v6
	if dst.Is4() {
		rows = t.v4
	}
	for i := range rows {
		r := &rows[i]
		if r.dst.Contains(dst) {
			if r.gw.IsValid() {
				return r.nic, r.gw, true
			}
			return r.nic, dst, true
		}
	}
	return 0, netip.Addr{}, false
}
