package netstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"

	"github.com/uvs-lb/uvs/netstack/port"
)

// Host is the appliance's own host: a gVisor stack (IPv4, IPv6, ARP, NDP, ICMP, TCP, UDP)
// with one NIC per port. It answers ARP and neighbor solicitations for its addresses and
// VIPs, echo requests, and what reaches a VIP on no virtual service (TCP RST, ICMP port
// unreachable), as any host does; it carries health checks and management traffic. It never
// carries forwarded traffic: that stays in the port loops (see the package documentation).
//
// New starts nothing; Start builds the stack and starts the host's goroutines; Close stops
// them and waits.
type Host struct {
	cfg    HostConfig
	links  []*link
	routes *routeTable
	neigh  *Neighbors

	protos atomic.Pointer[protoTable] // HandleProtocol's handlers; nil when there is none
	ipID   atomic.Uint32              // the identification of SendIP's IPv4 packets

	mu      sync.Mutex
	state   hostState
	stack   *stack.Stack           // from Start on
	vips    map[netip.Addr]int     // VIP → NIC index
	macs    [][][6]byte            // by NIC: the further MACs it accepts (AddMAC)
	vipMACs map[netip.Addr][6]byte // addresses with a MAC of their own (SetVIPMAC)
	cancel  context.CancelFunc     // stops the host's goroutines
	stopCtx func() bool            // unregisters the port closing tied to Start's context
	wg      sync.WaitGroup

	closePorts sync.Once
}

type hostState uint8

const (
	hostNew hostState = iota
	hostStarted
	hostClosed
)

// errNotRunning is returned by what needs the stack before Start or after Close.
var errNotRunning = errors.New("netstack: host is not running")

// NewHost checks cfg and returns a host that is not started.
func NewHost(cfg HostConfig) (*Host, error) {
	routes, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	if cfg.ResolveEvery == 0 {
		cfg.ResolveEvery = defaultResolveEvery
	}
	cfg.NICs = append([]NICConfig(nil), cfg.NICs...)
	h := &Host{cfg: cfg, routes: routes, neigh: newNeighbors(len(cfg.NICs)), vips: make(map[netip.Addr]int),
		macs: make([][][6]byte, len(cfg.NICs)), vipMACs: make(map[netip.Addr][6]byte)}
	for i := range cfg.NICs {
		l := newLink(&cfg.NICs[i])
		l.nic, l.protos, l.learn = i, &h.protos, h.forgetMoved
		h.links = append(h.links, l)
	}
	return h, nil
}

// Start builds the stack: NICs, addresses, routes, the VIPs added so far, and announces the
// host's addresses and VIPs (gratuitous ARP, unsolicited neighbor advertisement). It starts
// the resolver and, for a standalone host, one reader per port. Cancelling ctx stops them as
// Close does, except that the stack stays until Close.
func (h *Host) Start(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state != hostNew {
		return errors.New("netstack: host already started or closed")
	}
	s, err := h.buildStack()
	if err != nil {
		return err
	}
	h.stack = s
	h.state = hostStarted
	ctx, h.cancel = context.WithCancel(ctx)
	r := &resolver{s: s, n: h.neigh, interval: h.cfg.ResolveEvery}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		r.run(ctx)
	}()
	if h.cfg.Standalone {
		h.stopCtx = context.AfterFunc(ctx, h.closeOwnPorts)
		for i := range h.links {
			h.wg.Add(1)
			go h.read(ctx, i)
		}
	}
	for i, n := range h.cfg.NICs {
		for _, p := range n.Addrs {
			h.announce(i, p.Addr())
		}
	}
	for vip, nic := range h.vips {
		h.announce(nic, vip)
	}
	return nil
}

func (h *Host) buildStack() (*stack.Stack, error) {
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, ipv6.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4, icmp.NewProtocol6},
		NUDDisp:            nudDispatcher{h.neigh},
		HandleLocal:        true,
	})
	fail := func(err error) (*stack.Stack, error) {
		s.Destroy()
		return nil, err
	}
	for i, l := range h.links {
		name := h.cfg.NICs[i].Port.Name()
		if err := s.CreateNICWithOptions(nicID(i), l, stack.NICOptions{Name: name}); err != nil {
			return fail(stackError("create NIC "+name, err))
		}
		for _, p := range h.cfg.NICs[i].Addrs {
			if err := addAddress(s, i, p.Addr(), p.Bits(), stack.CanBePrimaryEndpoint); err != nil {
				return fail(fmt.Errorf("%s: %w", name, err))
			}
		}
		// Every IPv6 link has a link-local address (RFC 4291 2.1): VRRP and NDP speak from
		// it. A NIC configured with none gets the one its MAC makes (LinkLocal).
		if ll, configured := h.linkLocal(i); !configured {
			if err := addAddress(s, i, ll, 64, stack.CanBePrimaryEndpoint); err != nil {
				return fail(fmt.Errorf("%s: link-local: %w", name, err))
			}
		}
		// A hidden address is one address, never a source the stack picks by itself; the
		// link keeps it out of neighbor discovery (hidden.go).
		for _, a := range h.cfg.NICs[i].Hidden {
			if err := addAddress(s, i, a, a.BitLen(), stack.NeverPrimaryEndpoint); err != nil {
				return fail(fmt.Errorf("%s: hidden: %w", name, err))
			}
		}
	}
	for vip, nic := range h.vips {
		if err := addAddress(s, nic, vip, vip.BitLen(), stack.NeverPrimaryEndpoint); err != nil {
			return fail(err)
		}
	}
	s.SetRouteTable(h.stackRoutes())
	return s, nil
}

func addAddress(s *stack.Stack, nic int, a netip.Addr, bits int, peb stack.PrimaryEndpointBehavior) error {
	pa := tcpip.ProtocolAddress{
		Protocol:          protocolOf(a),
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: toTCPIP(a), PrefixLen: bits},
	}
	return stackError("add address "+a.String(), s.AddProtocolAddress(nicID(nic), pa, stack.AddressProperties{PEB: peb}))
}

// stackRoutes is the routing view in gVisor's terms, longest prefix first.
func (h *Host) stackRoutes() []tcpip.Route {
	var out []tcpip.Route
	for _, rows := range [][]route{h.routes.v4, h.routes.v6} {
		for _, r := range rows {
			tr := tcpip.Route{Destination: toSubnet(r.dst), NIC: nicID(r.nic)}
			if r.gw.IsValid() {
				tr.Gateway = toTCPIP(r.gw)
			}
			out = append(out, tr)
		}
	}
	return out
}

// read feeds a standalone host's stack from port i.
func (h *Host) read(ctx context.Context, i int) {
	defer h.wg.Done()
	l := h.links[i]
	p := l.port
	off := p.Headroom()
	bufs, sizes := make([][]byte, p.BatchSize()), make([]int, p.BatchSize())
	for j := range bufs {
		bufs[j] = make([]byte, off+p.MaxFrame())
	}
	for {
		n, err := p.Read(bufs, sizes, off)
		if err != nil {
			if errors.Is(err, port.ErrClosed) || ctx.Err() != nil {
				return
			}
			time.Sleep(readRetry) // a transient port error: do not spin on it
			continue
		}
		for j := range n {
			l.deliver(bufs[j][off : off+sizes[j]])
		}
	}
}

// readRetry is the pause after a failed Read that is not the port's closing.
const readRetry = 10 * time.Millisecond

func (h *Host) closeOwnPorts() {
	h.closePorts.Do(func() {
		for _, n := range h.cfg.NICs {
			n.Port.Close()
		}
	})
}

// Close stops the host's goroutines, waits for them, and tears the stack down (its
// connections are aborted). A standalone host closes its ports first.
func (h *Host) Close() error {
	h.mu.Lock()
	state, s, cancel, stopCtx := h.state, h.stack, h.cancel, h.stopCtx
	h.state = hostClosed
	h.mu.Unlock()
	if h.cfg.Standalone {
		h.closeOwnPorts()
	}
	if state != hostStarted {
		return nil
	}
	if stopCtx != nil {
		stopCtx()
	}
	cancel()
	h.wg.Wait()
	s.Close()
	s.Wait()
	return nil
}

// Deliver hands a frame received on NIC nic to the stack (copied: the caller keeps its
// buffer). The port loop calls it for what the engine passes; frames before Start, after
// Close or for an unknown NIC are dropped.
func (h *Host) Deliver(nic int, frame []byte) {
	if uint(nic) < uint(len(h.links)) {
		h.links[nic].deliver(frame)
	}
}

// Neighbors returns the host's neighbor snapshot, for the port loops and forwarders.
func (h *Host) Neighbors() *Neighbors { return h.neigh }

// NICs returns the number of NICs.
func (h *Host) NICs() int { return len(h.links) }

// HardwareAddr returns the MAC address of NIC nic.
func (h *Host) HardwareAddr(nic int) net.HardwareAddr { return h.cfg.NICs[nic].Port.HardwareAddr() }

// liveStack returns the stack while the host runs.
func (h *Host) liveStack() (*stack.Stack, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state != hostStarted {
		return nil, errNotRunning
	}
	return h.stack, nil
}
