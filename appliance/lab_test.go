package appliance

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/uvs-lb/uvs/conf"
	"github.com/uvs-lb/uvs/netstack"
	"github.com/uvs-lb/uvs/netstack/nettest"
	"github.com/uvs-lb/uvs/netstack/port"
	"github.com/uvs-lb/uvs/packet"
)

// A lab is the appliance built from a TOML configuration (two memory interfaces, eth0 facing
// the client and eth1 the real servers' switch), a client host on eth0's wire and real-server
// hosts on the switch, all real gVisor stacks. Unlike newRig, the hosts' addresses and routes
// are the test's choice (IPv6, servers without a route back), each real server answers TCP
// and UDP on every address it has with its name and the peer address it sees, and the client
// and server ports record the ICMP errors that cross them.
//
//	client ── eth0 [appliance] eth1 ── switch ─┬─ rs1
//	                                           └─ rs2 ...

const (
	labTCPPort = 8080 // each real server's TCP greeter
	labUDPPort = 5353 // each real server's UDP echo
	labWait    = 10 * time.Second
)

// labServer is a real server: its addresses (with prefixes) and routes. No routes at all means
// it reaches only its connected networks.
type labServer struct {
	name   string
	addrs  []string
	routes []netstack.Route
}

type labSpec struct {
	config       string // the appliance's TOML
	clientAddrs  []string
	clientRoutes []netstack.Route
	servers      []labServer
	edit         func(*conf.Config) // if set, changes the parsed configuration before New
	logTo        io.Writer          // if set, the appliance's log goes there too (JSON lines)
	// setup, if set, runs once the hosts are up and before the appliance starts (to open
	// what its health checks must find from their first check). What it starts, the test
	// stops in a cleanup of its own registered after newLab returns.
	setup func(*lab)
}

type lab struct {
	a        *Appliance
	client   *netstack.Host
	cliSniff *sniffer
	rsSniff  map[string]*sniffer       // by server name
	hosts    map[string]*netstack.Host // the real servers' hosts, by name
}

// defaultVia is a default route of gw's family through gw.
func defaultVia(gw string) netstack.Route {
	a := netip.MustParseAddr(gw)
	dst := netip.MustParsePrefix("0.0.0.0/0")
	if a.Is6() {
		dst = netip.MustParsePrefix("::/0")
	}
	return netstack.Route{Dst: dst, Gateway: a}
}

func prefixes(t *testing.T, ss []string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, s := range ss {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func newLab(t *testing.T, spec labSpec) *lab {
	t.Helper()
	cfg, err := conf.Parse("lab.toml", []byte(spec.config))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	if spec.edit != nil {
		spec.edit(cfg)
	}
	ctx := context.Background()
	clientPort, eth0 := port.Pipe(port.MemConfig{Name: "client", MAC: mac(1)}, port.MemConfig{Name: "eth0", MAC: mac(2)})
	eth1, sw0 := port.Pipe(port.MemConfig{Name: "eth1", MAC: mac(3)}, port.MemConfig{Name: "sw0", MAC: mac(4)})
	var logw io.Writer = zerolog.NewTestWriter(t)
	if spec.logTo != nil {
		logw = io.MultiWriter(logw, spec.logTo)
	}
	a, err := New(Options{Config: cfg, Log: zerolog.New(logw), Ports: map[string]port.Port{"eth0": eth0, "eth1": eth1}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	l := &lab{a: a, rsSniff: map[string]*sniffer{}, hosts: map[string]*netstack.Host{}}
	var hosts []*netstack.Host
	host := func(p port.Port, addrs []string, routes []netstack.Route) *netstack.Host {
		h, err := netstack.NewHost(netstack.HostConfig{Standalone: true,
			NICs: []netstack.NICConfig{{Port: p, Addrs: prefixes(t, addrs)}}, Routes: routes})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Start(ctx); err != nil {
			t.Fatal(err)
		}
		hosts = append(hosts, h)
		return h
	}
	l.cliSniff = &sniffer{Port: clientPort}
	l.client = host(l.cliSniff, spec.clientAddrs, spec.clientRoutes)

	swPorts := []port.Port{sw0}
	var wg sync.WaitGroup
	var closers []func() error
	for i, s := range spec.servers {
		p, sw := port.Pipe(port.MemConfig{Name: s.name, MAC: mac(byte(10 + i))}, port.MemConfig{Name: fmt.Sprint("sw", i+1), MAC: mac(byte(20 + i))})
		swPorts = append(swPorts, sw)
		sn := &sniffer{Port: p}
		l.rsSniff[s.name] = sn
		h := host(sn, s.addrs, s.routes)
		l.hosts[s.name] = h
		for _, pfx := range prefixes(t, s.addrs) {
			ln, err := h.ListenTCP(netip.AddrPortFrom(pfx.Addr(), labTCPPort))
			if err != nil {
				t.Fatal(err)
			}
			closers = append(closers, ln.Close)
			wg.Add(1)
			go greet(ln, s.name, &wg)
			pc, err := h.ListenUDP(netip.AddrPortFrom(pfx.Addr(), labUDPPort))
			if err != nil {
				t.Fatal(err)
			}
			closers = append(closers, pc.Close)
			wg.Add(1)
			go echoUDP(pc, s.name, &wg)
		}
	}
	sw := nettest.NewSwitch(swPorts...)
	sw.Start()
	if spec.setup != nil {
		spec.setup(l)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		for _, c := range closers {
			c()
		}
		wg.Wait()
		for _, h := range hosts {
			h.Close()
		}
		sw.Close()
		a.Close()
	})
	// Resolve the real servers from the appliance first: otherwise the first packet to each
	// is dropped while the appliance resolves it, and TCP waits a second to retransmit.
	for _, s := range spec.servers {
		for _, pfx := range prefixes(t, s.addrs) {
			l.resolve(t, 1, pfx.Addr())
		}
	}
	return l
}

// resolve waits until the appliance knows addr's MAC on NIC nic.
func (l *lab) resolve(t *testing.T, nic int, addr netip.Addr) {
	t.Helper()
	n := l.a.Host().Neighbors()
	deadline := time.Now().Add(labWait)
	for {
		if _, ok := n.Lookup(nic, addr); ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the appliance never resolved %s on NIC %d", addr, nic)
		}
		n.Resolve(nic, addr)
		time.Sleep(10 * time.Millisecond)
	}
}

// greet greets each TCP connection with "NAME PEER" (the peer address the server sees), then
// echoes lines prefixed with its name.
func greet(ln net.Listener, name string, wg *sync.WaitGroup) {
	defer wg.Done()
	var conns sync.WaitGroup
	defer conns.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		conns.Add(1)
		go func() {
			defer conns.Done()
			defer c.Close()
			fmt.Fprintf(c, "%s %s\n", name, c.RemoteAddr())
			sc := bufio.NewScanner(c)
			for sc.Scan() {
				fmt.Fprintf(c, "%s %s\n", name, sc.Text())
			}
		}()
	}
}

// echoUDP answers each datagram with "NAME PEER MESSAGE".
func echoUDP(pc net.PacketConn, name string, wg *sync.WaitGroup) {
	defer wg.Done()
	buf := make([]byte, 2048)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		pc.WriteTo([]byte(fmt.Sprintf("%s %s %s", name, from, buf[:n])), from)
	}
}

// tcp opens a connection from the client to addr and returns it with the server's greeting:
// the server's name and the peer address it saw.
func (l *lab) tcp(t *testing.T, addr string) (c net.Conn, br *bufio.Reader, server, peer string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), labWait)
	defer cancel()
	c, err := l.client.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("dial tcp %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(labWait))
	br = bufio.NewReader(c)
	hello, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("greeting from %s: %v", addr, err)
	}
	server, peer, _ = strings.Cut(strings.TrimSpace(hello), " ")
	return c, br, server, peer
}

// udpConn is a connected UDP socket of the client.
func (l *lab) udpConn(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := l.client.DialContext(context.Background(), "udp", addr)
	if err != nil {
		t.Fatalf("dial udp %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ask sends msg on a connected UDP socket until an answer comes (a datagram may be lost while
// a neighbor is resolved) and returns the answering server and the peer address it saw.
func ask(t *testing.T, c net.Conn, msg string) (server, peer string) {
	t.Helper()
	buf := make([]byte, 2048)
	deadline := time.Now().Add(labWait)
	for time.Now().Before(deadline) {
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatalf("udp write: %v", err)
		}
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		n, err := c.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			t.Fatalf("udp read: %v", err)
		}
		f := strings.SplitN(string(buf[:n]), " ", 3)
		if len(f) != 3 || f[2] != msg {
			t.Fatalf("answer %q to %q", buf[:n], msg)
		}
		return f[0], f[1]
	}
	t.Fatalf("no answer to %q from %s", msg, c.RemoteAddr())
	return "", ""
}

// sniffer is a port that records the ICMP errors it carries, in both directions, parsed, and
// counts the UDP datagrams it receives by source address and destination port.
type sniffer struct {
	port.Port
	drop  atomic.Bool // while set, the host behind receives nothing: a server that died
	mu    sync.Mutex
	seen  []icmpSeen
	udpIn map[netip.AddrPort]int // source address, destination port
}

type icmpSeen struct {
	out        bool // written by the host (sent), else read (received)
	typ, code  uint8
	src, dst   netip.Addr     // the error's own addresses
	qSrc, qDst netip.AddrPort // the quoted packet's
	qProto     uint8
	csumOK     bool // the IPv4 header's and the ICMP message's checksums verify (computed here)
}

func (s icmpSeen) String() string {
	dir := "received"
	if s.out {
		dir = "sent"
	}
	ck := "checksums ok"
	if !s.csumOK {
		ck = "BAD CHECKSUM"
	}
	return fmt.Sprintf("%s ICMP %d/%d %s → %s quoting %d %s → %s, %s", dir, s.typ, s.code, s.src, s.dst, s.qProto, s.qSrc, s.qDst, ck)
}

func (s *sniffer) record(out bool, bufs [][]byte, sizes []int, offset, n int) {
	var p packet.Packet
	for i := 0; i < n; i++ {
		f := bufs[i][offset : offset+sizes[i]]
		if packet.Parse(f, &p) != nil {
			continue
		}
		if !out && p.Key.Proto == packet.ProtoUDP && p.Has(packet.FlagL4) {
			s.mu.Lock()
			if s.udpIn == nil {
				s.udpIn = map[netip.AddrPort]int{}
			}
			s.udpIn[netip.AddrPortFrom(p.Key.SrcAddr(), p.Key.DstPort)]++
			s.mu.Unlock()
		}
		if !p.Has(packet.FlagICMPError) {
			continue
		}
		k, q := p.Key, p.Inner.Key
		e := icmpSeen{out: out, typ: p.ICMPType, code: p.ICMPCode, src: k.SrcAddr(), dst: k.DstAddr(),
			qSrc: netip.AddrPortFrom(q.SrcAddr(), q.SrcPort), qDst: netip.AddrPortFrom(q.DstAddr(), q.DstPort), qProto: q.Proto,
			csumOK: icmpChecksumsOK(f[p.L3Off:p.L3End()], p.L4Off-p.L3Off)}
		s.mu.Lock()
		s.seen = append(s.seen, e)
		s.mu.Unlock()
	}
}

func (s *sniffer) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	for {
		n, err := s.Port.Read(bufs, sizes, offset)
		if err == nil && s.drop.Load() {
			continue
		}
		s.record(false, bufs, sizes, offset, n)
		return n, err
	}
}

func (s *sniffer) Write(bufs [][]byte, sizes []int, offset int) (int, error) {
	s.record(true, bufs, sizes, offset, len(bufs))
	return s.Port.Write(bufs, sizes, offset)
}

func (s *sniffer) errors() []icmpSeen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]icmpSeen(nil), s.seen...)
}

// icmpChecksumsOK verifies an ICMP error's checksums with its own RFC 1071 sum, independent of
// package packet's: the IPv4 header's, and the ICMP (IPv4) or ICMPv6 (with its pseudo-header)
// message's. ip is the IP packet, l4 the offset of the ICMP header in it.
func icmpChecksumsOK(ip []byte, l4 int) bool {
	sum := func(acc uint32, b []byte) uint32 {
		for len(b) >= 2 {
			acc += uint32(b[0])<<8 | uint32(b[1])
			b = b[2:]
		}
		if len(b) == 1 {
			acc += uint32(b[0]) << 8
		}
		return acc
	}
	fold := func(acc uint32) uint16 {
		for acc > 0xffff {
			acc = acc&0xffff + acc>>16
		}
		return uint16(acc)
	}
	if l4 <= 0 || l4 > len(ip) {
		return false
	}
	msg := ip[l4:]
	if ip[0]>>4 == 4 {
		return fold(sum(0, ip[:l4])) == 0xffff && fold(sum(0, msg)) == 0xffff
	}
	pseudo := sum(0, ip[8:40]) + uint32(len(msg)) + 58
	return fold(sum(pseudo, msg)) == 0xffff
}

// udpReceived counts the UDP datagrams from src to port the port received.
func (s *sniffer) udpReceived(src netip.Addr, port uint16) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.udpIn[netip.AddrPortFrom(src, port)]
}
