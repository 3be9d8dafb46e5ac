package lab

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/uvs-lb/uvs/lab/apps"
	"github.com/uvs-lb/uvs/netstack"
	"github.com/uvs-lb/uvs/netstack/port"
	"github.com/uvs-lb/uvs/packet"
	"github.com/uvs-lb/uvs/tunnel"
)

// hostNode runs a host or a client: a standalone gVisor host per incarnation, the services
// of a host, and the dialer a client's loads use, which follows the node through restarts.
type hostNode struct {
	n     *Node
	jacks []*jack // by interface
	macs  []net.HardwareAddr
	svcs  []*serviceRun

	mu sync.Mutex
	h  *netstack.Host // nil while killed

	// What a TUN real server's decapsulator did, over every incarnation.
	decapsulated, tunnelDropped atomic.Uint64
}

func newHostNode(n *Node, jacks []*jack, macs []net.HardwareAddr) *hostNode {
	hn := &hostNode{n: n, jacks: jacks, macs: macs}
	for _, s := range n.Services {
		hn.svcs = append(hn.svcs, newServiceRun(n.Name, s))
	}
	return hn
}

// boot builds and starts a new incarnation: new pipes into the jacks, a new host, and the
// services that are not stopped.
func (hn *hostNode) boot(ctx context.Context) error {
	hc := netstack.HostConfig{Standalone: true}
	var ports []port.Port
	ingress := hn.ingress()
	for i, ifc := range hn.n.Interfaces {
		p := hn.jacks[i].connect(port.MemConfig{Name: ifc.Name, MAC: hn.macs[i], MTU: ifc.MTU})
		ports = append(ports, p)
		hc.NICs = append(hc.NICs, netstack.NICConfig{Port: p, Addrs: ifc.Addrs, Hidden: hiddenOn(ifc, hn.n.VIPs), Ingress: ingress})
		for _, r := range ifc.Routes {
			hc.Routes = append(hc.Routes, netstack.Route{Dst: r.Dst, Gateway: r.Via})
		}
	}
	h, err := netstack.NewHost(hc)
	if err != nil {
		for _, p := range ports {
			p.Close()
		}
		return fmt.Errorf("%s: %w", hn.n.Name, err)
	}
	if err := h.Start(ctx); err != nil {
		h.Close()
		return fmt.Errorf("%s: %w", hn.n.Name, err)
	}
	for _, s := range hn.svcs {
		if err := s.start(ctx, h, hn.families()); err != nil {
			for _, s := range hn.svcs {
				s.stop()
			}
			h.Close()
			return fmt.Errorf("%s: %w", hn.n.Name, err)
		}
	}
	hn.mu.Lock()
	hn.h = h
	hn.mu.Unlock()
	return nil
}

// hiddenOn returns the VIPs an interface holds: those of the families it has addresses of.
func hiddenOn(ifc Interface, vips []netip.Addr) []netip.Addr {
	var out []netip.Addr
	for _, a := range vips {
		if hasFamily([]Interface{ifc}, a.Is4()) {
			out = append(out, a)
		}
	}
	return out
}

// ingress returns the receive hook of a TUN real server's interfaces, or nil for a host that
// terminates no tunnel: the decapsulator, for tunnels to any of the host's addresses whose
// inner packet is for one of its VIPs. A tunnel packet it refuses is dropped and counted; one
// of a type the host does not terminate goes to the stack as it is, which refuses it as a
// host without that tunnel driver would.
func (hn *hostNode) ingress() func([]byte) []byte {
	n := hn.n
	if n.TunType == "" {
		return nil
	}
	cfg := tunnel.DecapConfig{VIPs: n.VIPs}
	for _, ifc := range n.Interfaces {
		for _, p := range ifc.Addrs {
			cfg.Local = append(cfg.Local, p.Addr())
		}
	}
	if n.TunType.GUE() {
		cfg.GUEPorts = []uint16{n.TunPort}
	}
	d := tunnel.NewDecapsulator(cfg)
	ipip := n.TunType.IPIP()
	return func(f []byte) []byte {
		if !ipip && isIPIP(f) {
			return f
		}
		out, res := d.Decap(f)
		switch res {
		case tunnel.Decapsulated:
			hn.decapsulated.Add(1)
		case tunnel.Dropped:
			hn.tunnelDropped.Add(1)
			return nil
		}
		return out
	}
}

// isIPIP reports whether an (untagged: lab ports are) Ethernet frame is IP in IP: an IPv4
// packet of protocol 4 or 41, or an IPv6 packet whose next header is.
func isIPIP(f []byte) bool {
	if len(f) < packet.EthernetLen+packet.IPv6Len {
		return false
	}
	var proto byte
	switch packet.Ethernet(f).EtherType() {
	case packet.EtherTypeIPv4:
		proto = f[packet.EthernetLen+9]
	case packet.EtherTypeIPv6:
		proto = f[packet.EthernetLen+6]
	default:
		return false
	}
	return proto == packet.ProtoIPIP || proto == packet.ProtoIPv6
}

// kill stops the services and closes the host, which closes its ends of the pipes.
func (hn *hostNode) kill() {
	hn.mu.Lock()
	h := hn.h
	hn.h = nil
	hn.mu.Unlock()
	if h == nil {
		return
	}
	for _, s := range hn.svcs {
		s.stop()
	}
	h.Close()
}

// host returns the running incarnation, or nil.
func (hn *hostNode) host() *netstack.Host {
	hn.mu.Lock()
	defer hn.mu.Unlock()
	return hn.h
}

// DialContext dials from the node's current incarnation: the loads of a client keep running
// through a kill and restart, and fail while the node is down.
func (hn *hostNode) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	h := hn.host()
	if h == nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", syscall.EHOSTDOWN)}
	}
	return h.DialContext(ctx, network, address)
}

// NextHop, WriteFrames and Headroom let a client's loads write raw frames (a SYN flood)
// from the node's current incarnation, below its stack, as DialContext dials from it: they
// fail while the node is down.
func (hn *hostNode) NextHop(dst netip.Addr) (int, [6]byte, [6]byte, error) {
	h := hn.host()
	if h == nil {
		return 0, [6]byte{}, [6]byte{}, &net.OpError{Op: "write", Net: "ip4", Err: os.NewSyscallError("sendmsg", syscall.EHOSTDOWN)}
	}
	return h.NextHop(dst)
}

func (hn *hostNode) WriteFrames(nic int, bufs [][]byte, sizes []int, offset int) (int, error) {
	h := hn.host()
	if h == nil {
		return 0, &net.OpError{Op: "write", Net: "ip4", Err: os.NewSyscallError("sendmsg", syscall.EHOSTDOWN)}
	}
	return h.WriteFrames(nic, bufs, sizes, offset)
}

func (hn *hostNode) Headroom(nic int) int {
	if h := hn.host(); h != nil {
		return h.Headroom(nic)
	}
	return 0
}

// service returns the service called name.
func (hn *hostNode) service(name string) *serviceRun {
	for _, s := range hn.svcs {
		if s.svc.Name == name {
			return s
		}
	}
	return nil
}

// families lists the unspecified addresses of the families the host has addresses (or VIPs)
// of: a service with no address listens on each, its VIPs included.
func (hn *hostNode) families() []netip.Addr {
	var has4, has6 bool
	for _, ifc := range hn.n.Interfaces {
		for _, p := range ifc.Addrs {
			has4, has6 = has4 || p.Addr().Is4(), has6 || p.Addr().Is6()
		}
	}
	for _, a := range hn.n.VIPs {
		has4, has6 = has4 || a.Is4(), has6 || a.Is6()
	}
	var out []netip.Addr
	if has4 {
		out = append(out, netip.IPv4Unspecified())
	}
	if has6 {
		out = append(out, netip.IPv6Unspecified())
	}
	return out
}

// setStopped stops or starts a service (service_stop, service_start). A service stopped on a
// killed node stays stopped when it restarts, and one started is started then. Like every
// change to a node, it is made by the timeline's goroutine only.
func (hn *hostNode) setStopped(ctx context.Context, name string, stop bool) error {
	s := hn.service(name)
	s.stopped = stop
	h := hn.host()
	switch {
	case h == nil:
		return nil
	case stop:
		s.stop()
		return nil
	}
	return s.start(ctx, h, hn.families())
}

// serviceRun is one service of a host: its server programs, one per listening address.
type serviceRun struct {
	node    string
	svc     *Service
	http    *apps.HTTPServer // one for the whole run: its request count spans restarts
	stopped bool             // by a service_stop

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newServiceRun(node string, s *Service) *serviceRun {
	sr := &serviceRun{node: node, svc: s}
	if s.Type == ServiceHTTP {
		sr.http = &apps.HTTPServer{Name: node, Body: s.Body, Status: s.Status, Latency: s.Latency}
		sr.http.SetFailing(s.Failing)
	}
	return sr
}

// start listens and serves on h, unless the service is stopped or running already.
func (sr *serviceRun) start(ctx context.Context, h *netstack.Host, families []netip.Addr) error {
	if sr.stopped || sr.cancel != nil {
		return nil
	}
	addrs := families
	if sr.svc.Listen.Addr().IsValid() {
		addrs = []netip.Addr{sr.svc.Listen.Addr()}
	}
	ctx, cancel := context.WithCancel(ctx)
	for _, a := range addrs {
		ap := netip.AddrPortFrom(a, sr.svc.Listen.Port())
		serve, err := sr.listen(h, ap)
		if err != nil {
			cancel()
			sr.wg.Wait()
			return fmt.Errorf("service %s on %s: %w", sr.svc.Name, ap, err)
		}
		sr.wg.Go(func() { serve(ctx) })
	}
	sr.cancel = cancel
	return nil
}

// listen opens the service's socket on ap and returns what serves it until its context ends.
func (sr *serviceRun) listen(h *netstack.Host, ap netip.AddrPort) (func(context.Context), error) {
	if sr.svc.Type == ServiceUDPEcho {
		pc, err := h.ListenUDP(ap)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) { apps.ServeUDPEcho(ctx, pc, sr.node) }, nil
	}
	ln, err := h.ListenTCP(ap)
	if err != nil {
		return nil, err
	}
	if sr.http != nil {
		return func(ctx context.Context) { sr.http.Serve(ctx, ln) }, nil
	}
	return func(ctx context.Context) { apps.ServeTCPEcho(ctx, ln, sr.node) }, nil
}

// stop closes the service's sockets and connections, as a stopped daemon's, and waits.
func (sr *serviceRun) stop() {
	if sr.cancel == nil {
		return
	}
	sr.cancel()
	sr.wg.Wait()
	sr.cancel = nil
}
