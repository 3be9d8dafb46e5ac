package netstack

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/netstack/port"
)

// EncapHeadroom is the room the loops leave in front of every received frame for a Forwarder
// to grow into (an IPv6 outer header with GUE needs 52 bytes), on top of the ports' own
// headroom.
const EncapHeadroom = 64

// Config describes a Dataplane.
type Config struct {
	// Host is the appliance's host. Its NICs' ports are the ports the dataplane reads, one
	// loop per port, and it receives the frames the engine passes. The dataplane owns the host
	// and the ports: Start starts the host, Close closes the ports and the host. It must not
	// be Standalone.
	Host *Host
	// Engine decides each frame; every loop has a Worker of its own.
	Engine *lb.Engine
	// Forwarders rewrite forwarded frames by method: nat.New() for lb.MethodNAT and
	// lb.MethodFullNAT, and so on. A frame whose method has none is dropped (DropNoForwarder).
	Forwarders map[lb.Method]lb.Forwarder
	// ICMPRate bounds the ICMP errors (port unreachable for rejected connections, time
	// exceeded) each loop originates, per second, with a burst of as many. 0 = 1000, the
	// kernel's icmp_msgs_per_sec.
	ICMPRate int
}

const defaultICMPRate = 1000

// Dataplane runs the port loops: one goroutine per port that reads a batch of frames, has the
// engine decide them, forwards, passes, rejects or drops each, and writes what it forwards
// in one batch per egress port. See the package documentation.
type Dataplane struct {
	host   *Host
	engine *lb.Engine
	fwd    [256]lb.Forwarder // by lb.Method: indexing by a uint8 needs no bounds check
	encap  [256]lb.Encapsulator
	ports  []portInfo // by NIC index
	loops  []*loop

	mu         sync.Mutex
	state      hostState
	stopCtx    func() bool
	stopping   atomic.Bool
	closePorts sync.Once
	wg         sync.WaitGroup
}

// portInfo is what a loop needs to know of a port, to read from it or send out of it.
type portInfo struct {
	port     port.Port
	mac      [6]byte
	mtu      int
	headroom int  // the port's own
	vnet     bool // the port keeps a virtio-net header in front of each frame
	// src4 and src6 are the host's first addresses on the port: the source of the ICMP
	// errors the loop originates as a router (time exceeded). Invalid when it has none.
	src4, src6 netip.Addr
}

// New checks cfg and builds the loops with all their buffers. It starts nothing.
func New(cfg Config) (*Dataplane, error) {
	switch {
	case cfg.Host == nil:
		return nil, errors.New("netstack: dataplane needs a host")
	case cfg.Host.cfg.Standalone:
		return nil, errors.New("netstack: dataplane host must not be standalone: the dataplane reads its ports")
	case cfg.Engine == nil:
		return nil, errors.New("netstack: dataplane needs an engine")
	}
	if cfg.ICMPRate <= 0 {
		cfg.ICMPRate = defaultICMPRate
	}
	d := &Dataplane{host: cfg.Host, engine: cfg.Engine}
	for m, f := range cfg.Forwarders {
		if m == 0 || f == nil {
			return nil, fmt.Errorf("netstack: forwarder for method %s (%d) is not usable", m, m)
		}
		d.fwd[m] = f
		if e, ok := f.(lb.Encapsulator); ok {
			d.encap[m] = e // asserted once here, not per packet
		}
	}
	headroom := 0
	for _, n := range cfg.Host.cfg.NICs {
		p := n.Port
		e := portInfo{port: p, mac: [6]byte(p.HardwareAddr()), mtu: p.MTU(), headroom: p.Headroom(),
			vnet: p.Headroom() >= port.VNetHdrLen}
		for _, a := range n.Addrs {
			if a.Addr().Is4() && !e.src4.IsValid() {
				e.src4 = a.Addr()
			} else if a.Addr().Is6() && !e.src6.IsValid() {
				e.src6 = a.Addr()
			}
		}
		d.ports = append(d.ports, e)
		headroom = max(headroom, e.headroom)
	}
	for i := range d.ports {
		d.loops = append(d.loops, newLoop(d, i, headroom+EncapHeadroom, cfg.ICMPRate))
	}
	return d, nil
}

// Host returns the dataplane's host.
func (d *Dataplane) Host() *Host { return d.host }

// Start starts the host and one loop per port. Cancelling ctx stops the loops as Close does;
// Close must still be called.
func (d *Dataplane) Start(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state != hostNew {
		return errors.New("netstack: dataplane already started or closed")
	}
	if err := d.host.Start(ctx); err != nil {
		return err
	}
	d.state = hostStarted
	d.stopCtx = context.AfterFunc(ctx, d.stop)
	for _, l := range d.loops {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			l.run()
		}()
	}
	return nil
}

// stop closes the ports, which ends every loop's Read.
func (d *Dataplane) stop() {
	d.closePorts.Do(func() {
		d.stopping.Store(true)
		for _, e := range d.ports {
			e.port.Close()
		}
	})
}

// Close stops the loops (by closing the ports), waits for them, and closes the host.
func (d *Dataplane) Close() error {
	d.mu.Lock()
	stopCtx := d.stopCtx
	d.state = hostClosed
	d.mu.Unlock()
	if stopCtx != nil {
		stopCtx()
	}
	d.stop()
	d.wg.Wait()
	return d.host.Close()
}
