package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/uvs-lb/uvs/appliance"
	"github.com/uvs-lb/uvs/conf"
	"github.com/uvs-lb/uvs/netstack"
	"github.com/uvs-lb/uvs/netstack/nettest"
	"github.com/uvs-lb/uvs/netstack/port"
)

// The scenario's addresses. The appliance's own come from demoConfig.
var (
	demoVIP       = netip.MustParseAddrPort("10.0.0.1:80")
	demoClientGW  = netip.MustParseAddr("10.0.0.254")
	demoServerGW  = netip.MustParseAddr("192.168.1.254")
	demoServerIPs = []netip.Addr{
		netip.MustParseAddr("192.168.1.20"),
		netip.MustParseAddr("192.168.1.21"),
		netip.MustParseAddr("192.168.1.22"),
	}
)

const demoServerPort = 8080

// demoServer is a real server: a gVisor host running a small HTTP/1.1 server (net/http) that
// answers every request with its name and the client address it saw. Its host is plugged
// into the servers' switch through a jack, so it can be rebooted.
type demoServer struct {
	name string
	addr netip.AddrPort
	mac  net.HardwareAddr
	jack *demoJack
	ctx  context.Context

	host *netstack.Host
	mu   sync.Mutex
	srv  *http.Server
	wg   sync.WaitGroup // the Serve goroutine
}

// boot starts a fresh host for the server, its link plugged into the jack. The host
// announces its address (gratuitous ARP) as it starts.
func (s *demoServer) boot() error {
	p, sw := port.Pipe(port.MemConfig{Name: s.name, MAC: s.mac}, port.MemConfig{Name: s.jack.name, MAC: s.jack.mac})
	h, err := netstack.NewHost(netstack.HostConfig{Standalone: true,
		NICs:   []netstack.NICConfig{{Port: p, Addrs: []netip.Prefix{netip.PrefixFrom(s.addr.Addr(), 24)}}},
		Routes: []netstack.Route{{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: demoServerGW}}})
	if err != nil {
		p.Close()
		sw.Close()
		return err
	}
	s.jack.plug(sw)
	s.host = h
	return h.Start(s.ctx)
}

// reboot stops the server's host (its connections die with it) and boots a fresh one with
// the same address and MAC.
func (s *demoServer) reboot() error {
	s.stop()
	s.host.Close()
	return s.boot()
}

// start listens on :8080 and serves until stop.
func (s *demoServer) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return nil
	}
	ln, err := s.host.ListenTCP(netip.AddrPortFrom(netip.IPv4Unspecified(), demoServerPort))
	if err != nil {
		return fmt.Errorf("%s: listen: %w", s.name, err)
	}
	name := s.name
	s.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprintf(w, "%s %s\n", name, r.RemoteAddr)
		}),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       time.Minute,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	srv := s.srv
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		srv.Serve(ln)
	}()
	return nil
}

// stop stops the HTTP server as a crashing process stops: the listener and every connection
// are closed at once. The host stays up, so new connections are refused (RST).
func (s *demoServer) stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
	s.wg.Wait()
}

// demoClient is a client host.
type demoClient struct {
	name string
	addr netip.Addr
	host *netstack.Host
}

// demoTopology is everything of the scenario that runs: the appliance, both switches, the
// client and server hosts. close stops all of it and waits for it.
type demoTopology struct {
	app      *appliance.Appliance
	clients  []*demoClient
	servers  []*demoServer
	switches []*nettest.Switch
	loose    []port.Port // switch ports while the switches are not built
	cancel   context.CancelFunc
}

func demoMAC(a, b byte) net.HardwareAddr { return net.HardwareAddr{0x02, 0x00, 0x5e, 0x00, a, b} }

// newDemoTopology builds and starts the scenario: nClients client hosts on one switch with
// the appliance's eth0, the three real servers on another with its eth1. The appliance is
// started before the servers, so it hears their gratuitous ARP.
func newDemoTopology(cfg *conf.Config, nClients int, logger zerolog.Logger) (t *demoTopology, err error) {
	ctx, cancel := context.WithCancel(context.Background())
	t = &demoTopology{cancel: cancel}
	defer func() {
		if err != nil {
			t.close()
			t = nil
		}
	}()
	eth0, sw0 := port.Pipe(port.MemConfig{Name: "eth0", MAC: demoMAC(0xfe, 0)}, port.MemConfig{Name: "csw0", MAC: demoMAC(0xfe, 1)})
	eth1, sw1 := port.Pipe(port.MemConfig{Name: "eth1", MAC: demoMAC(0xfe, 2)}, port.MemConfig{Name: "ssw0", MAC: demoMAC(0xfe, 3)})
	t.loose = []port.Port{sw0, sw1}
	app, err := appliance.New(appliance.Options{Config: cfg, Log: logger, Ports: map[string]port.Port{"eth0": eth0, "eth1": eth1}})
	if err != nil {
		eth0.Close()
		eth1.Close()
		return t, err
	}
	t.app = app
	clientPorts, serverPorts := []port.Port{sw0}, []port.Port{sw1}
	newHost := func(name string, addr netip.Addr, gw netip.Addr, mac net.HardwareAddr, swName string) (*netstack.Host, port.Port, error) {
		p, sw := port.Pipe(port.MemConfig{Name: name, MAC: mac}, port.MemConfig{Name: swName, MAC: demoMAC(mac[4]|0x80, mac[5])})
		h, err := netstack.NewHost(netstack.HostConfig{Standalone: true,
			NICs:   []netstack.NICConfig{{Port: p, Addrs: []netip.Prefix{netip.PrefixFrom(addr, 24)}}},
			Routes: []netstack.Route{{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: gw}}})
		if err != nil {
			p.Close()
			sw.Close()
			return nil, nil, err
		}
		return h, sw, nil
	}
	for i := range nClients {
		addr := netip.AddrFrom4([4]byte{10, 0, 0, byte(11 + i)})
		h, sw, err := newHost(fmt.Sprintf("c%d", i+1), addr, demoClientGW, demoMAC(1, byte(i+1)), fmt.Sprintf("csw%d", i+1))
		if err != nil {
			return t, err
		}
		t.clients = append(t.clients, &demoClient{name: fmt.Sprintf("c%d", i+1), addr: addr, host: h})
		clientPorts = append(clientPorts, sw)
		t.loose = append(t.loose, sw)
	}
	for i, addr := range demoServerIPs {
		name := fmt.Sprintf("rs%d", i+1)
		jack := newDemoJack(fmt.Sprintf("ssw%d", i+1), demoMAC(0x82, byte(i+1)))
		t.servers = append(t.servers, &demoServer{name: name, addr: netip.AddrPortFrom(addr, demoServerPort), mac: demoMAC(2, byte(i+1)), jack: jack, ctx: ctx})
		serverPorts = append(serverPorts, jack)
		t.loose = append(t.loose, jack)
	}
	t.loose = nil
	t.switches = []*nettest.Switch{nettest.NewSwitch(clientPorts...), nettest.NewSwitch(serverPorts...)}
	for _, sw := range t.switches {
		sw.Start()
	}
	if err := app.Start(ctx); err != nil {
		return t, err
	}
	for _, c := range t.clients {
		if err := c.host.Start(ctx); err != nil {
			return t, err
		}
	}
	for _, s := range t.servers {
		if err := s.boot(); err != nil {
			return t, err
		}
		if err := s.start(); err != nil {
			return t, err
		}
	}
	return t, nil
}

// preflight connects from the appliance's own host to each real server, as a TCP health
// check would; it also leaves their MAC addresses resolved for the forwarding loops.
func (t *demoTopology) preflight(timeout time.Duration) error {
	var errs []error
	for _, s := range t.servers {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		c, err := t.app.Host().DialContext(ctx, "tcp", s.addr.String())
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", s.name, s.addr, err))
			continue
		}
		c.Close()
	}
	return errors.Join(errs...)
}

// close stops every server, host, switch and the appliance, and waits for their goroutines.
func (t *demoTopology) close() {
	for _, s := range t.servers {
		s.stop()
	}
	for _, c := range t.clients {
		c.host.Close()
	}
	for _, s := range t.servers {
		if s.host != nil {
			s.host.Close()
		}
	}
	for _, sw := range t.switches {
		sw.Close()
	}
	for _, p := range t.loose {
		p.Close()
	}
	if t.app != nil {
		t.app.Close()
	}
	t.cancel()
}
