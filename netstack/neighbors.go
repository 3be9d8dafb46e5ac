package netstack

import (
	"maps"
	"net/netip"
	"sync"
	"sync/atomic"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// Neighbors publishes, per NIC, the link addresses the host's stack has resolved, for the
// port loops that forward frames without the stack.
//
// The stack tells of every change to its neighbor cache through its NUD dispatcher (ARP and
// NDP replies, requests from neighbors, expiry), and each change replaces the NIC's table
// with an updated copy behind an atomic pointer. Readers load the pointer and look an address
// up in an immutable map: no lock, no allocation, and they see a resolution as soon as the
// stack has it. Polling stack.Neighbors instead would lag by its period and copy the whole
// cache each time even when nothing changed; changes are rare (a new neighbor, a moved
// address), so copying one table per change is cheap.
type Neighbors struct {
	tables   []atomic.Pointer[neighborTable] // by NIC index
	mu       sync.Mutex                      // serializes writers
	requests chan neighborRequest            // to the host's resolver goroutine
}

type neighborTable map[netip.Addr][6]byte

type neighborRequest struct {
	nic int
	ip  netip.Addr
}

// resolveQueue bounds the resolutions waiting for the resolver; beyond it, requests are
// dropped (the next packet to the address asks again).
const resolveQueue = 256

func newNeighbors(nics int) *Neighbors {
	n := &Neighbors{
		tables:   make([]atomic.Pointer[neighborTable], nics),
		requests: make(chan neighborRequest, resolveQueue),
	}
	for i := range n.tables {
		n.tables[i].Store(&neighborTable{})
	}
	return n
}

// Lookup returns the link address of ip on NIC nic, if the stack has resolved it. It takes no
// lock and does not allocate: the port loops call it for every forwarded frame.
func (n *Neighbors) Lookup(nic int, ip netip.Addr) ([6]byte, bool) {
	if uint(nic) >= uint(len(n.tables)) {
		return [6]byte{}, false
	}
	mac, ok := (*n.tables[nic].Load())[ip]
	return mac, ok
}

// Resolve asks for ip on NIC nic to be resolved (ARP or NDP) and returns at once; the result
// appears in Lookup. Requests for one address are rate-limited (HostConfig.ResolveEvery), and
// a request that finds the queue full is dropped, so a port loop may call Resolve for every
// frame it cannot send.
func (n *Neighbors) Resolve(nic int, ip netip.Addr) {
	select {
	case n.requests <- neighborRequest{nic, ip}:
	default:
	}
}

func (n *Neighbors) set(nic int, ip netip.Addr, mac [6]byte) {
	if uint(nic) >= uint(len(n.tables)) {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	old := *n.tables[nic].Load()
	if cur, ok := old[ip]; ok && cur == mac {
		return
	}
	t := maps.Clone(old)
	if t == nil {
		t = neighborTable{}
	}
	t[ip] = mac
	n.tables[nic].Store(&t)
}

func (n *Neighbors) remove(nic int, ip netip.Addr) {
	if uint(nic) >= uint(len(n.tables)) {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	old := *n.tables[nic].Load()
	if _, ok := old[ip]; !ok {
		return
	}
	t := maps.Clone(old)
	delete(t, ip)
	n.tables[nic].Store(&t)
}

// update applies one neighbor-cache entry: an entry the stack would send to (it has a link
// address, confirmed or not yet re-confirmed) is published; one it would not (incomplete,
// unreachable) is withdrawn, so the loops ask for resolution again.
func (n *Neighbors) update(nic int, e stack.NeighborEntry) {
	ip := fromTCPIP(e.Addr)
	switch e.State {
	case stack.Reachable, stack.Stale, stack.Delay, stack.Probe, stack.Static:
		if len(e.LinkAddr) == 6 {
			n.set(nic, ip, [6]byte([]byte(e.LinkAddr)))
			return
		}
	}
	n.remove(nic, ip)
}

// nudDispatcher receives the stack's neighbor-cache events. The stack calls it with the
// entry's lock held, so it must not call back into the stack.
type nudDispatcher struct{ n *Neighbors }

func (d nudDispatcher) OnNeighborAdded(id tcpip.NICID, e stack.NeighborEntry) {
	d.n.update(nicIndex(id), e)
}

func (d nudDispatcher) OnNeighborChanged(id tcpip.NICID, e stack.NeighborEntry) {
	d.n.update(nicIndex(id), e)
}

func (d nudDispatcher) OnNeighborRemoved(id tcpip.NICID, e stack.NeighborEntry) {
	d.n.remove(nicIndex(id), fromTCPIP(e.Addr))
}

// NIC ids in the stack are the NIC's index in HostConfig.NICs plus one (0 means "any").
func nicID(index int) tcpip.NICID { return tcpip.NICID(index + 1) }
func nicIndex(id tcpip.NICID) int { return int(id) - 1 }
