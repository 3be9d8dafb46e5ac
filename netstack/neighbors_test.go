package netstack

import (
	"net/netip"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

func TestNeighborSnapshotFollowsTheCache(t *testing.T) {
	n := newNeighbors(2)
	ip := netip.MustParseAddr("192.168.1.10")
	entry := func(state stack.NeighborState, mac [6]byte) stack.NeighborEntry {
		return stack.NeighborEntry{Addr: toTCPIP(ip), LinkAddr: tcpip.LinkAddress(mac[:]), State: state}
	}
	d := nudDispatcher{n}
	d.OnNeighborAdded(nicID(1), entry(stack.Incomplete, [6]byte{}))
	if _, ok := n.Lookup(1, ip); ok {
		t.Fatal("an incomplete entry was published")
	}
	d.OnNeighborChanged(nicID(1), entry(stack.Reachable, macServer))
	if mac, ok := n.Lookup(1, ip); !ok || mac != macServer {
		t.Fatalf("Lookup = %x, %v after resolution", mac, ok)
	}
	if _, ok := n.Lookup(0, ip); ok {
		t.Error("a neighbor of NIC 1 was found on NIC 0")
	}
	before := n.tables[1].Load()
	d.OnNeighborChanged(nicID(1), entry(stack.Stale, macServer))
	if n.tables[1].Load() != before {
		t.Error("a state change without a new address copied the table")
	}
	moved := [6]byte{0x02, 0, 0, 0, 0x09, 0x09}
	d.OnNeighborChanged(nicID(1), entry(stack.Stale, moved))
	if mac, _ := n.Lookup(1, ip); mac != moved {
		t.Errorf("moved neighbor at %x, want %x", mac, moved)
	}
	d.OnNeighborChanged(nicID(1), entry(stack.Unreachable, moved))
	if _, ok := n.Lookup(1, ip); ok {
		t.Error("an unreachable neighbor stayed published")
	}
	d.OnNeighborAdded(nicID(1), entry(stack.Static, macServer))
	d.OnNeighborRemoved(nicID(1), entry(stack.Static, macServer))
	if _, ok := n.Lookup(1, ip); ok {
		t.Error("a removed neighbor stayed published")
	}
	if _, ok := n.Lookup(7, ip); ok {
		t.Error("a NIC out of range answered")
	}
	n.set(1, ip, macServer)
	if allocs := testing.AllocsPerRun(100, func() { n.Lookup(1, ip) }); allocs != 0 {
		t.Errorf("Lookup allocates %v times", allocs)
	}
}

func TestResolveNeverBlocks(t *testing.T) {
	n := newNeighbors(1)
	for i := range 2 * resolveQueue { // nobody drains the queue: the excess is dropped
		n.Resolve(0, netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}))
	}
	if len(n.requests) != resolveQueue {
		t.Errorf("%d requests queued, want %d", len(n.requests), resolveQueue)
	}
}

func TestResolverRateLimitsPerAddress(t *testing.T) {
	r := &resolver{interval: time.Second, last: map[neighborRequest]time.Time{}}
	a := neighborRequest{0, netip.MustParseAddr("10.0.0.50")}
	b := neighborRequest{0, netip.MustParseAddr("10.0.0.51")}
	now := time.Now()
	for _, c := range []struct {
		req  neighborRequest
		at   time.Duration
		want bool
	}{
		{a, 0, true},
		{a, 500 * time.Millisecond, false}, // within the interval
		{b, 500 * time.Millisecond, true},  // another address
		{a, 1000 * time.Millisecond, true}, // the interval has passed
		{a, 1500 * time.Millisecond, false},
	} {
		if got := r.due(c.req, now.Add(c.at)); got != c.want {
			t.Errorf("due(%s) at +%v = %v, want %v", c.req.ip, c.at, got, c.want)
		}
	}
	for i := range pruneAt {
		r.due(neighborRequest{1, netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})}, now)
	}
	r.due(b, now.Add(time.Hour))
	if len(r.last) > 2 {
		t.Errorf("%d requests remembered after pruning, want the fresh ones only", len(r.last))
	}
}

func TestResolverSendsARPRequest(t *testing.T) {
	h := mustHost(t, HostConfig{NICs: []NICConfig{{Port: &sinkPort{name: "a", mac: macLB0}, Addrs: []netip.Prefix{lbInside}}}})
	s, err := h.buildStack()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Destroy()
	r := &resolver{s: s, n: h.neigh, interval: defaultResolveEvery, last: map[neighborRequest]time.Time{}}
	r.resolve(neighborRequest{0, netip.MustParseAddr("10.0.0.50")}, time.Now())
	port := h.links[0].port.(*sinkPort)
	deadline := time.Now().Add(waitFor)
	for port.written.Load() == 0 { // the stack sends its first probe from a timer
		if time.Now().After(deadline) {
			t.Fatal("no ARP request was sent")
		}
		time.Sleep(time.Millisecond)
	}
}
