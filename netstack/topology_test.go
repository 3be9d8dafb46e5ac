package netstack

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/dr"
	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/nat"
	"github.com/uvs-lb/uvs/netstack/nettest"
	"github.com/uvs-lb/uvs/netstack/port"
	"github.com/uvs-lb/uvs/packet"
	"github.com/uvs-lb/uvs/tunnel"
)

// The test topology: a client on 10.0.0.0/24 (2001:db8::/64), the appliance between it and
// 192.168.1.0/24 (2001:db8:1::/64), where two real servers sit behind a switch. The NAT
// service 10.0.0.1:80 (and UDP :53, and [2001:db8::1]:80) balances over both servers' :8080
// (:8053), round robin.
//
//	client 10.0.0.2 ── lb0 [appliance 10.0.0.254, VIP 10.0.0.1] lb1 192.168.1.1 ── switch ─┬─ rs1 192.168.1.10
//	                                                                                         └─ rs2 192.168.1.11
var (
	vip         = netip.MustParseAddr("10.0.0.1")
	vip6        = netip.MustParseAddr("2001:db8::1")
	clientAddr  = netip.MustParsePrefix("10.0.0.2/24")
	clientAddr6 = netip.MustParsePrefix("2001:db8::2/64")
	lbInside    = netip.MustParsePrefix("10.0.0.254/24")
	lbInside6   = netip.MustParsePrefix("2001:db8::fe/64")
	lbOutside   = netip.MustParsePrefix("192.168.1.1/24")
	lbOutside6  = netip.MustParsePrefix("2001:db8:1::1/64")
	rsAddrs     = []netip.Prefix{netip.MustParsePrefix("192.168.1.10/24"), netip.MustParsePrefix("192.168.1.11/24")}
	rsAddrs6    = []netip.Prefix{netip.MustParsePrefix("2001:db8:1::10/64"), netip.MustParsePrefix("2001:db8:1::11/64")}
	rsNames     = []string{"rs1", "rs2"}

	macClient = [6]byte{0x02, 0, 0, 0, 0x00, 0x02}
	macLB0    = [6]byte{0x02, 0, 0, 0, 0x01, 0x00}
	macLB1    = [6]byte{0x02, 0, 0, 0, 0x01, 0x01}
	macServer = [6]byte{0x02, 0, 0, 0, 0x02, 0x0a}
)

const (
	tcpServicePort = 80
	udpServicePort = 53
	tcpServerPort  = 8080
	udpServerPort  = 8053
	waitFor        = 10 * time.Second // generous: a first SYN lost to resolution costs 1 s
)

// natConfig is the NAT service over the given real servers, with weights (1 when absent).
func natConfig(servers []netip.Prefix, weights ...int32) *lb.Config {
	return &lb.Config{Services: []lb.ServiceConfig{
		natService(vip, packet.ProtoTCP, tcpServicePort, tcpServerPort, servers, weights...),
		natService(vip, packet.ProtoUDP, udpServicePort, udpServerPort, servers, weights...),
	}}
}

// labConfig is natConfig over both real servers, plus the TCP service over IPv6.
func labConfig() *lb.Config {
	c := natConfig(rsAddrs)
	c.Services = append(c.Services, natService(vip6, packet.ProtoTCP, tcpServicePort, tcpServerPort, rsAddrs6))
	return c
}

func natService(vip netip.Addr, proto uint8, port, rsPort uint16, servers []netip.Prefix, weights ...int32) lb.ServiceConfig {
	s := lb.ServiceConfig{Proto: proto, VIP: vip, Port: port, Scheduler: "rr", Method: lb.MethodNAT}
	for i, a := range servers {
		w := int32(1)
		if i < len(weights) {
			w = weights[i]
		}
		s.Servers = append(s.Servers, lb.ServerConfig{Addr: a.Addr(), Port: rsPort, Weight: w})
	}
	return s
}

func mem(name string, mac [6]byte) port.MemConfig {
	return port.MemConfig{Name: name, MAC: net.HardwareAddr(mac[:])}
}

func mustHost(t testing.TB, cfg HostConfig) *Host {
	t.Helper()
	h, err := NewHost(cfg)
	if err != nil {
		t.Fatalf("NewHost: %v", err)
	}
	return h
}

// appliance builds the appliance on two ports: its host (with the VIP), engine and
// dataplane, with the real NAT forwarder. Nothing is started.
func appliance(t testing.TB, inside, outside port.Port, cfg *lb.Config) (*Dataplane, *lb.Engine) {
	t.Helper()
	host := mustHost(t, HostConfig{NICs: []NICConfig{
		{Port: inside, Addrs: []netip.Prefix{lbInside, lbInside6}},
		{Port: outside, Addrs: []netip.Prefix{lbOutside, lbOutside6}},
	}})
	if err := host.AddVIP(vip); err != nil {
		t.Fatalf("AddVIP: %v", err)
	}
	if cfg.Services[len(cfg.Services)-1].VIP == vip6 {
		if err := host.AddVIP(vip6); err != nil {
			t.Fatalf("AddVIP: %v", err)
		}
	}
	e := lb.New(lb.Options{})
	if err := e.Apply(cfg); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	f := nat.New()
	dp, err := New(Config{Host: host, Engine: e, Forwarders: map[lb.Method]lb.Forwarder{
		lb.MethodNAT: f, lb.MethodFullNAT: f, lb.MethodDR: dr.New(), lb.MethodTUN: tunnel.New()}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return dp, e
}

// lab is the whole topology with real gVisor hosts as client and servers.
type lab struct {
	dp      *Dataplane
	engine  *lb.Engine
	client  *Host
	servers []*Host
}

func newLab(t *testing.T) *lab {
	t.Helper()
	ctx := context.Background()
	clientPort, lb0 := port.Pipe(mem("client0", macClient), mem("lb0", macLB0))
	lb1, sw0 := port.Pipe(mem("lb1", macLB1), mem("sw0", [6]byte{0x02, 0, 0, 0, 0x03, 0}))
	dp, e := appliance(t, lb0, lb1, labConfig())
	l := &lab{dp: dp, engine: e}
	l.client = mustHost(t, HostConfig{Standalone: true,
		NICs: []NICConfig{{Port: clientPort, Addrs: []netip.Prefix{clientAddr, clientAddr6}}},
		Routes: []Route{
			{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: lbInside.Addr()},
			{Dst: netip.MustParsePrefix("::/0"), Gateway: lbInside6.Addr()},
		},
	})
	swPorts := []port.Port{sw0}
	for i, a := range rsAddrs {
		mac := macServer
		mac[5] += byte(i)
		p, sw := port.Pipe(mem(rsNames[i], mac), mem(fmt.Sprintf("sw%d", i+1), [6]byte{0x02, 0, 0, 0, 0x03, byte(i + 1)}))
		swPorts = append(swPorts, sw)
		l.servers = append(l.servers, mustHost(t, HostConfig{Standalone: true,
			NICs: []NICConfig{{Port: p, Addrs: []netip.Prefix{a, rsAddrs6[i]}}},
			Routes: []Route{
				{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: lbOutside.Addr()},
				{Dst: netip.MustParsePrefix("::/0"), Gateway: lbOutside6.Addr()},
			},
		}))
	}
	sw := nettest.NewSwitch(swPorts...)
	var programs sync.WaitGroup
	var closers []func() error
	t.Cleanup(func() {
		for _, c := range closers {
			c()
		}
		l.client.Close()
		for _, s := range l.servers {
			s.Close()
		}
		programs.Wait()
		sw.Close()
		dp.Close()
		e.Close()
	})
	sw.Start()
	must(t, e.Start(ctx))
	must(t, dp.Start(ctx))
	must(t, l.client.Start(ctx))
	for i, s := range l.servers {
		must(t, s.Start(ctx))
		closers = append(closers,
			serveTCP(t, s, netip.AddrPortFrom(netip.IPv4Unspecified(), tcpServerPort), rsNames[i], &programs),
			serveTCP(t, s, netip.AddrPortFrom(rsAddrs6[i].Addr(), tcpServerPort), rsNames[i], &programs),
			serveUDP(t, s, rsNames[i], &programs))
	}
	return l
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// serveTCP runs the real servers' program: greet with the server's name, then echo each line
// prefixed with it.
func serveTCP(t testing.TB, h *Host, addr netip.AddrPort, name string, wg *sync.WaitGroup) func() error {
	t.Helper()
	ln, err := h.ListenTCP(addr)
	must(t, err)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				fmt.Fprintf(c, "%s\n", name)
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					fmt.Fprintf(c, "%s: %s\n", name, sc.Text())
				}
			}()
		}
	}()
	return ln.Close
}

// serveUDP answers each datagram with the server's name and the datagram.
func serveUDP(t testing.TB, h *Host, name string, wg *sync.WaitGroup) func() error {
	t.Helper()
	pc, err := h.ListenUDP(netip.AddrPortFrom(netip.IPv4Unspecified(), udpServerPort))
	must(t, err)
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(fmt.Appendf(nil, "%s: %s", name, buf[:n]), from)
		}
	}()
	return pc.Close
}

// resolve has the appliance resolve addr on NIC nic and waits for the snapshot to have it.
func resolve(t testing.TB, h *Host, nic int, addr netip.Addr) [6]byte {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		if mac, ok := h.Neighbors().Lookup(nic, addr); ok {
			return mac
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s on NIC %d was not resolved", addr, nic)
		}
		h.Neighbors().Resolve(nic, addr)
		time.Sleep(10 * time.Millisecond)
	}
}

// session is a client's TCP connection to the service.
type session struct {
	c      net.Conn
	r      *bufio.Reader
	server string // the greeting: which real server answered
}

func (l *lab) connect(t testing.TB) *session {
	t.Helper()
	return l.connectTo(t, netip.AddrPortFrom(vip, tcpServicePort))
}

func (l *lab) connectTo(t testing.TB, svc netip.AddrPort) *session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, err := l.client.DialContext(ctx, "tcp", svc.String())
	if err != nil {
		t.Fatalf("dial %s: %v", svc, err)
	}
	s := &session{c: c, r: bufio.NewReader(c)}
	s.server = s.line(t)
	return s
}

func (s *session) line(t testing.TB) string {
	t.Helper()
	s.c.SetReadDeadline(time.Now().Add(waitFor))
	line, err := s.r.ReadString('\n')
	if err != nil {
		t.Fatalf("read: %v (got %q)", err, line)
	}
	return strings.TrimSuffix(line, "\n")
}

// echo sends msg and checks the server's answer.
func (s *session) echo(t testing.TB, msg string) {
	t.Helper()
	if _, err := fmt.Fprintf(s.c, "%s\n", msg); err != nil {
		t.Fatalf("write: %v", err)
	}
	if got, want := s.line(t), s.server+": "+msg; got != want {
		t.Fatalf("answer %q, want %q", got, want)
	}
}
