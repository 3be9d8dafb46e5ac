package netstack

import (
	"sync"
	"sync/atomic"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"github.com/uvs-lb/uvs/netstack/port"
)

// link is the gVisor link endpoint of one NIC: an Ethernet link whose receive side is fed by
// Host.Deliver (from the port loop, or the host's own reader when standalone) and whose
// transmit side writes frames to the NIC's Port. Unlike channel.Endpoint, nothing polls: a
// frame goes up the stack in the goroutine that delivers it, and down to the port in the
// goroutine that sends it.
type link struct {
	port     port.Port
	nic      int // the NIC's index
	addr     tcpip.LinkAddress
	mac      [6]byte // addr
	mtu      atomic.Uint32
	headroom int // the port's; a zero virtio-net header sits there on ports that use one

	// ingress (NICConfig.Ingress) and hidden (NICConfig.Hidden, nil when the NIC hides
	// nothing) filter frames between the port and the stack; both are fixed by newLink.
	ingress func(frame []byte) []byte
	hidden  *hiddenAddrs

	// protos are the host's protocol handlers (proto.go); macs the NIC's further MACs
	// (mac.go), nil when it has none.
	protos *atomic.Pointer[protoTable]
	macs   atomic.Pointer[linkMACs]
	// learn forgets neighbors a gratuitous ARP says moved (garp.go).
	learn garpLearner

	dispatcher atomic.Pointer[dispatcher] // nil until the NIC is attached, and after it is removed
	frames     sync.Pool                  // *txFrames

	txDropped       atomic.Uint64 // frames the port refused
	ingressDropped  atomic.Uint64 // received frames ingress dropped
	hiddenDropped   atomic.Uint64 // received ARP requests / NS for a hidden address
	hiddenRewritten atomic.Uint64 // sent ARP requests / NS whose hidden sender was replaced
	protoHandled    atomic.Uint64 // received packets given to a protocol handler
	protoDropped    atomic.Uint64 // received packets of a handled protocol dropped
	macRewritten    atomic.Uint64 // sent frames given an address's own MAC (SetVIPMAC)
}

type dispatcher struct{ stack.NetworkDispatcher }

// txFrames is the scratch space of one WritePackets call, recycled through link.frames.
type txFrames struct {
	store [][]byte // frame buffers, grown as needed and kept
	bufs  [][]byte // this call's frames: store[i][:headroom+size]
	sizes []int
}

var _ stack.LinkEndpoint = (*link)(nil)

func newLink(n *NICConfig) *link {
	p := n.Port
	l := &link{port: p, addr: tcpip.LinkAddress(p.HardwareAddr()), mac: [6]byte(p.HardwareAddr()),
		headroom: p.Headroom(), ingress: n.Ingress, hidden: newHiddenAddrs(n)}
	l.mtu.Store(uint32(p.MTU()))
	l.frames.New = func() any { return new(txFrames) }
	return l
}

// deliver hands one Ethernet frame to the stack, after the NIC's ingress hook and hidden
// address filter, unless a protocol handler takes it (proto.go). The frame is copied: the
// caller's buffer is reused as soon as this returns (the ingress hook may have rewritten it
// in place).
func (l *link) deliver(frame []byte) {
	d := l.dispatcher.Load()
	if d == nil {
		return
	}
	if frame = l.admit(frame); len(frame) < header.EthernetMinimumSize {
		return
	}
	if l.protos != nil {
		if t := l.protos.Load(); t != nil && l.divert(t, frame) {
			return
		}
	}
	l.watchGARP(frame)
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(frame)})
	defer pkt.DecRef()
	if !l.ParseHeader(pkt) {
		return
	}
	eth := header.Ethernet(pkt.LinkHeader().Slice())
	switch dst := eth.DestinationAddress(); {
	case dst == header.EthernetBroadcastAddress:
		pkt.PktType = tcpip.PacketBroadcast
	case header.IsMulticastEthernetAddress(dst):
		pkt.PktType = tcpip.PacketMulticast
	case dst == l.addr || l.acceptsMAC([6]byte(eth[:6])):
		pkt.PktType = tcpip.PacketHost
	default:
		pkt.PktType = tcpip.PacketOtherHost
	}
	d.DeliverNetworkPacket(eth.Type(), pkt)
}

// admit runs a received frame through the NIC's filters and returns what the stack gets, or
// nil when they drop it (counted). It allocates nothing.
func (l *link) admit(frame []byte) []byte {
	if l.ingress != nil {
		if frame = l.ingress(frame); frame == nil {
			l.ingressDropped.Add(1)
			return nil
		}
	}
	if l.hidden != nil && len(frame) >= header.EthernetMinimumSize && l.hidden.solicits(frame) {
		l.hiddenDropped.Add(1)
		return nil
	}
	return frame
}

// WritePackets serializes each packet into an Ethernet frame (its header was pushed by
// AddHeader) and writes them to the port in one batch.
func (l *link) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	tx := l.frames.Get().(*txFrames)
	defer l.frames.Put(tx)
	tx.bufs, tx.sizes = tx.bufs[:0], tx.sizes[:0]
	for i, pkt := range pkts.AsSlice() {
		size := pkt.Size()
		need := l.headroom + size
		if i == len(tx.store) {
			tx.store = append(tx.store, nil)
		}
		if cap(tx.store[i]) < need {
			tx.store[i] = make([]byte, max(need, 2048))
		}
		b := tx.store[i][:need]
		clear(b[:l.headroom]) // a zero virtio-net header asks no offload of the port
		n := l.headroom
		for _, s := range pkt.AsSlices() {
			n += copy(b[n:], s)
		}
		if l.hidden != nil && l.hidden.unhide(b[l.headroom:]) {
			l.hiddenRewritten.Add(1)
		}
		if m := l.macs.Load(); m != nil && m.rewrite(b[l.headroom:]) {
			l.macRewritten.Add(1)
		}
		tx.bufs = append(tx.bufs, b)
		tx.sizes = append(tx.sizes, size)
	}
	n, err := l.port.Write(tx.bufs, tx.sizes, l.headroom)
	if n < len(tx.bufs) {
		l.txDropped.Add(uint64(len(tx.bufs) - n))
	}
	if err != nil && n == 0 {
		return 0, &tcpip.ErrClosedForSend{}
	}
	return n, nil
}

// Attach implements stack.NetworkLinkEndpoint.
func (l *link) Attach(d stack.NetworkDispatcher) {
	if d == nil {
		l.dispatcher.Store(nil)
		return
	}
	l.dispatcher.Store(&dispatcher{d})
}

// IsAttached implements stack.NetworkLinkEndpoint.
func (l *link) IsAttached() bool { return l.dispatcher.Load() != nil }

// MTU implements stack.NetworkLinkEndpoint: the largest IP packet, as the port says.
func (l *link) MTU() uint32 { return l.mtu.Load() }

// SetMTU implements stack.NetworkLinkEndpoint.
func (l *link) SetMTU(mtu uint32) { l.mtu.Store(mtu) }

// MaxHeaderLength implements stack.NetworkLinkEndpoint.
func (*link) MaxHeaderLength() uint16 { return header.EthernetMinimumSize }

// LinkAddress implements stack.NetworkLinkEndpoint.
func (l *link) LinkAddress() tcpip.LinkAddress { return l.addr }

// SetLinkAddress implements stack.NetworkLinkEndpoint. The address is the port's; it does
// not change.
func (*link) SetLinkAddress(tcpip.LinkAddress) {}

// Capabilities implements stack.NetworkLinkEndpoint: Ethernet needs ARP and NDP. Checksums
// are computed and verified in software: frames cross real wires.
func (*link) Capabilities() stack.LinkEndpointCapabilities {
	return stack.CapabilityResolutionRequired
}

// Wait implements stack.NetworkLinkEndpoint: the link starts no goroutine.
func (*link) Wait() {}

// ARPHardwareType implements stack.NetworkLinkEndpoint.
func (*link) ARPHardwareType() header.ARPHardwareType { return header.ARPHardwareEther }

// AddHeader implements stack.NetworkLinkEndpoint.
func (*link) AddHeader(pkt *stack.PacketBuffer) {
	eth := header.Ethernet(pkt.LinkHeader().Push(header.EthernetMinimumSize))
	eth.Encode(&header.EthernetFields{
		SrcAddr: pkt.EgressRoute.LocalLinkAddress,
		DstAddr: pkt.EgressRoute.RemoteLinkAddress,
		Type:    pkt.NetworkProtocolNumber,
	})
}

// ParseHeader implements stack.NetworkLinkEndpoint.
func (*link) ParseHeader(pkt *stack.PacketBuffer) bool {
	_, ok := pkt.LinkHeader().Consume(header.EthernetMinimumSize)
	return ok
}

// Close implements stack.NetworkLinkEndpoint. The port is not the link's to close: the
// Dataplane (or a standalone Host) owns it.
func (*link) Close() {}

// SetOnCloseAction implements stack.NetworkLinkEndpoint.
func (*link) SetOnCloseAction(func()) {}
