package netstack

import (
	"errors"
	"fmt"
	"net/netip"
)

// ErrNoRoute is returned (wrapped) by NextHop for a destination no route of the host reaches.
var ErrNoRoute = errors.New("netstack: no route")

// NextHop returns how the host's stack would send a packet to dst: the NIC it leaves by, the
// NIC's MAC, and the MAC of the next hop (the gateway of the host's route to dst, or dst
// itself on-link), from the neighbor table the stack keeps. An unresolved next hop starts
// its resolution (ARP or neighbor discovery) and returns an error wrapping ErrUnresolved, so
// asking again a little later succeeds once the neighbor has answered; a destination no
// route reaches returns one wrapping ErrNoRoute. It does not allocate once the next hop is
// resolved. It is what a program that writes its own frames below the stack (WriteFrames)
// addresses them with.
func (h *Host) NextHop(dst netip.Addr) (nic int, src, next [6]byte, err error) {
	dst = dst.Unmap().WithZone("")
	if _, err := h.liveStack(); err != nil {
		return 0, src, next, err
	}
	nic, hop, ok := h.routes.lookup(dst)
	if !ok {
		return 0, src, next, fmt.Errorf("netstack: next hop of %s: %w", dst, ErrNoRoute)
	}
	if next, ok = h.neigh.Lookup(nic, hop); !ok {
		h.neigh.Resolve(nic, hop)
		return nic, src, next, fmt.Errorf("netstack: next hop of %s: %w: %s on %s", dst, ErrUnresolved, hop, h.links[nic].port.Name())
	}
	return nic, h.links[nic].mac, next, nil
}

// WriteFrames writes raw Ethernet frames, bufs[i][offset:offset+sizes[i]], out of NIC nic,
// beside the stack, which never sees them (Port.Write is safe beside the stack's writes): a
// program on the host that builds its own frames, as a raw socket does, such as a lab client
// sending spoofed packets. offset must leave the port's headroom (Headroom: 0 on memory
// ports), which must be zero (a zero virtio-net header asks no offload). It returns how many
// frames the port took; those it refused are counted as the stack's are (NICStats.TxDropped).
// The caller keeps its buffers: the port copies or sends them before Write returns.
func (h *Host) WriteFrames(nic int, bufs [][]byte, sizes []int, offset int) (int, error) {
	if uint(nic) >= uint(len(h.links)) {
		return 0, fmt.Errorf("netstack: write frames: no NIC %d", nic)
	}
	l := h.links[nic]
	if offset < l.headroom {
		return 0, fmt.Errorf("netstack: write frames on %s: offset %d leaves less than the port's headroom %d", l.port.Name(), offset, l.headroom)
	}
	if _, err := h.liveStack(); err != nil {
		return 0, err
	}
	n, err := l.port.Write(bufs, sizes, offset)
	if n < len(bufs) {
		l.txDropped.Add(uint64(len(bufs) - n))
	}
	return n, err
}

// Headroom returns the headroom the port of NIC nic needs before each frame (WriteFrames'
// offset), or 0 for an unknown NIC.
func (h *Host) Headroom(nic int) int {
	if uint(nic) >= uint(len(h.links)) {
		return 0
	}
	return h.links[nic].headroom
}
