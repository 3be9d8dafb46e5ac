// Package realserver terminates IPVS TUN-method tunnels (IPIP, IPv6-in-IP, GUE) on a Linux
// real server whose kernel cannot: no ipip, ip6_tunnel or fou module. It receives the
// encapsulated packets on raw and UDP sockets, checks that each inner packet is for one of
// the server's VIPs, and writes it to a TUN device it creates, so that the kernel delivers it
// to the local VIP (held on lo) as if it had arrived on the wire; an unmodified server
// (nginx, ...) answers the client directly, as with the kernel's own tunnel devices.
//
// What it receives, per configured Types and the VIPs' families:
//
//   - IPIP over IPv4: AF_INET raw sockets for protocol 4 (IPv4 inside) and 41 (IPv6 inside);
//     they deliver the outer IPv4 header too, which is stripped.
//   - IPIP over IPv6: AF_INET6 raw sockets for next headers 4 and 41 (payload only).
//   - GUE: UDP sockets (IPv4 and IPv6) bound to GUEPort; variant 0 (a 4-byte header with
//     payload protocol 4 or 41, optional fields skipped) and variant 1 (a bare IP packet).
//
// A raw socket for a protocol also keeps the kernel from answering that protocol with ICMP
// protocol unreachable. Sockets are opened for the inner families that have VIPs only: a
// server with IPv4 VIPs alone does not take protocol 41.
//
// Each inner packet is checked by tunnel.Decapsulator (a whole IP packet of the announced
// family, GUE data of a known version, a VIP as destination: no open relay), and here for a
// correct IPv4 header checksum and no nested tunnel; the outer ECN field is applied to it as
// RFC 6040 says (read from the outer IPv4 header, or from IP_RECVTOS / IPV6_RECVTCLASS
// control messages where the socket does not deliver the outer header). What fails is
// counted by reason (Drop), never logged per packet.
//
// The TUN device (IFF_TUN|IFF_NO_PI, default uvsrs0) is created up, with
// net.ipv4.conf.DEV.rp_filter=0 (the inner source is the client, routed via another
// interface: strict reverse-path filtering would drop every packet) and, when there are IPv6
// VIPs, IPv6 enabled on it without addresses (addr_gen_mode=1). accept_local stays 0: it
// matters only when the inner source is one of this host's own addresses, which a client of
// the balancer is not. The kernel uses max(all, DEV) for rp_filter, so Start warns when
// net.ipv4.conf.all.rp_filter is 1.
package realserver

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"
)

// Types says which encapsulations to receive (ipvsadm --tun-type).
type Types uint8

const (
	IPIP Types = 1 << iota // IP in IP: protocol 4 or 41 behind an IPv4 or IPv6 header
	GUE                    // Generic UDP Encapsulation to GUEPort
)

// ParseTypes parses "ipip", "gue" or "both" (also "ipip,gue").
func ParseTypes(s string) (Types, error) {
	var t Types
	for _, f := range strings.Split(s, ",") {
		switch strings.TrimSpace(strings.ToLower(f)) {
		case "ipip":
			t |= IPIP
		case "gue":
			t |= GUE
		case "both":
			t |= IPIP | GUE
		default:
			return 0, fmt.Errorf("unknown tunnel type %q (ipip, gue or both)", f)
		}
	}
	return t, nil
}

func (t Types) String() string {
	switch t {
	case IPIP:
		return "ipip"
	case GUE:
		return "gue"
	case IPIP | GUE:
		return "both"
	}
	return "none"
}

// DefaultDevice is the TUN device's name unless configured.
const DefaultDevice = "uvsrs0"

// DefaultMaxPacket is the largest encapsulated packet received unless configured: a 9000-byte
// jumbo frame's IP packet with room to spare. Larger ones are counted as DropOversize.
const DefaultMaxPacket = 9216

// DefaultBatch is how many packets one recvmmsg call may return.
const DefaultBatch = 32

// Config configures a Server.
type Config struct {
	// VIPs are the virtual addresses this server answers for (held on lo). Required. Inner
	// packets to any other destination are dropped and counted (DropNotVIP).
	VIPs []netip.Addr
	// Types to receive; 0 means IPIP (ipvsadm's default --tun-type).
	Types Types
	// GUEPort is the UDP port GUE arrives on (ipvsadm --tun-port, keepalived tun_port).
	// Required with GUE: there is no standard port, and IPVS and keepalived have no default.
	GUEPort uint16
	// Device is the TUN device's name; "" means DefaultDevice. It is created when Start runs
	// and vanishes at Close. An existing TUN device of that name is attached to if unused.
	Device string
	// MaxPacket is the largest encapsulated packet received; 0 means DefaultMaxPacket.
	MaxPacket int
	// Batch is the most packets one receive call returns; 0 means DefaultBatch.
	Batch int
	// Log receives start-up, warning and error messages (never one per packet).
	Log zerolog.Logger
}

// Stats are a server's counters since Start.
type Stats struct {
	Received     uint64            // encapsulated packets read from the sockets
	Decapsulated uint64            // inner packets that passed the checks (for a VIP)
	Written      uint64            // inner packets the TUN device accepted
	Dropped      [NumDrops]uint64  // by reason, indexed by Drop (Dropped[DropNone] stays 0)
	BySocket     map[string]uint64 // Received per socket ("ipip4", "ip6ip6", "gue4", ...)
}

// TotalDropped is the sum of Dropped.
func (s Stats) TotalDropped() uint64 {
	var n uint64
	for _, d := range s.Dropped {
		n += d
	}
	return n
}

// DropCounts returns the nonzero drop counters by name.
func (s Stats) DropCounts() map[string]uint64 {
	m := map[string]uint64{}
	for i, d := range s.Dropped {
		if d != 0 {
			m[Drop(i).String()] = d
		}
	}
	return m
}

// Server terminates tunnels for a set of VIPs. New builds it, Start opens the device and the
// sockets and starts one receive goroutine per socket, Close stops them and waits.
type Server struct {
	cfg Config
	dec decapsulator
	log zerolog.Logger

	mu      sync.Mutex
	started bool
	closed  bool
	sys     *system // open descriptors, nil before Start
	recv    []*receiver
	wg      sync.WaitGroup
	stop    chan struct{} // closed by Close: ends the context watcher

	writeErrLogged atomic.Bool
}

// counters of one receiver, so that receive goroutines never share a cache line of counters.
type counters struct {
	received, decapsulated, written atomic.Uint64
	dropped                         [NumDrops]atomic.Uint64
	_                               [64]byte
}

// New checks cfg and returns a Server; it opens nothing and starts nothing.
func New(cfg Config) (*Server, error) {
	if len(cfg.VIPs) == 0 {
		return nil, errors.New("realserver: at least one VIP is required")
	}
	vips := make([]netip.Addr, 0, len(cfg.VIPs))
	for _, a := range cfg.VIPs {
		a = a.Unmap()
		if !a.IsValid() || a.IsUnspecified() || a.IsMulticast() || a.Zone() != "" {
			return nil, fmt.Errorf("realserver: %v is not a usable VIP", a)
		}
		vips = append(vips, a)
	}
	cfg.VIPs = vips
	if cfg.Types == 0 {
		cfg.Types = IPIP
	}
	if cfg.Types&^(IPIP|GUE) != 0 {
		return nil, fmt.Errorf("realserver: unknown tunnel types %#x", uint8(cfg.Types))
	}
	if cfg.Types&GUE != 0 && cfg.GUEPort == 0 {
		return nil, errors.New("realserver: GUE needs its UDP port (the balancer's tun_port / --tun-port); there is no default")
	}
	if cfg.Device == "" {
		cfg.Device = DefaultDevice
	}
	if len(cfg.Device) >= 16 || strings.ContainsAny(cfg.Device, "/ \t\n:") || cfg.Device == "." || cfg.Device == ".." {
		return nil, fmt.Errorf("realserver: %q is not a usable interface name (at most 15 bytes, no '/', ':' or spaces)", cfg.Device)
	}
	if cfg.MaxPacket == 0 {
		cfg.MaxPacket = DefaultMaxPacket
	}
	if cfg.MaxPacket < 1280 || cfg.MaxPacket > 65535+64 {
		return nil, fmt.Errorf("realserver: MaxPacket %d out of range [1280, 65599]", cfg.MaxPacket)
	}
	if cfg.Batch == 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Batch < 1 || cfg.Batch > 1024 {
		return nil, fmt.Errorf("realserver: Batch %d out of range [1, 1024]", cfg.Batch)
	}
	return &Server{cfg: cfg, dec: newDecapsulator(vips), log: cfg.Log, stop: make(chan struct{})}, nil
}

// Config returns the configuration in use, defaults filled in and VIPs unmapped.
func (s *Server) Config() Config {
	c := s.cfg
	c.VIPs = slices.Clone(c.VIPs)
	return c
}

// families reports whether any VIP is IPv4 and whether any is IPv6.
func (s *Server) families() (v4, v6 bool) {
	for _, a := range s.cfg.VIPs {
		v4, v6 = v4 || a.Is4(), v6 || a.Is6()
	}
	return v4, v6
}

// Start creates the TUN device, opens the sockets and starts receiving. It must be called in
// the network namespace the server is to work in (sockets and the device belong to the
// namespace of the calling thread). When ctx ends, receiving stops; Close must still be
// called. A Start that fails leaves nothing open.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("realserver: Start after Close")
	}
	if s.started {
		return errors.New("realserver: already started")
	}
	sys, recv, err := s.open()
	if err != nil {
		return err
	}
	s.launch(ctx, sys, recv)
	return nil
}

// launch starts one receive goroutine per receiver and one that stops them when ctx ends.
// s.mu is held.
func (s *Server) launch(ctx context.Context, sys *system, recv []*receiver) {
	s.started = true
	s.sys, s.recv = sys, recv
	names := make([]string, len(recv))
	for i, r := range recv {
		names[i] = r.name
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.receive(r)
		}()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		select {
		case <-ctx.Done():
			sys.shutdown()
		case <-s.stop:
		}
	}()
	ev := s.log.Info().Str("device", s.cfg.Device).Strs("sockets", names).Str("types", s.cfg.Types.String())
	if s.cfg.Types&GUE != 0 {
		ev = ev.Uint16("gue_port", s.cfg.GUEPort)
	}
	ev.Msg("realserver: receiving tunnelled packets for the VIPs")
}

// Close stops receiving, waits for every goroutine Start started, and closes the sockets and
// the TUN device (which then vanishes). It is safe to call more than once, and without Start.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	close(s.stop)
	if s.sys == nil {
		return nil
	}
	s.sys.shutdown()
	s.wg.Wait()
	return s.sys.close()
}

// Stats returns the counters so far (zero before Start).
func (s *Server) Stats() Stats {
	s.mu.Lock()
	recv := s.recv
	s.mu.Unlock()
	st := Stats{BySocket: map[string]uint64{}}
	for _, r := range recv {
		c := &r.c
		n := c.received.Load()
		st.Received += n
		st.BySocket[r.name] += n
		st.Decapsulated += c.decapsulated.Load()
		st.Written += c.written.Load()
		for i := range st.Dropped {
			st.Dropped[i] += c.dropped[i].Load()
		}
	}
	return st
}

// handle takes one received datagram b from r (msgTrunc: it did not fit the buffer; ecn: the
// outer header's ECN field as a control message gave it, or ecnUnknown) and writes its inner
// packet to the TUN device, or counts why not.
func (s *Server) handle(r *receiver, b []byte, msgTrunc bool, ecn uint8) {
	c := &r.c
	c.received.Add(1)
	if msgTrunc {
		c.dropped[DropOversize].Add(1)
		return
	}
	if r.outerIPv4 {
		var d Drop
		if b, ecn, d = stripIPv4(b); d != DropNone {
			c.dropped[d].Add(1)
			return
		}
	}
	in, d := s.dec.inner(b, r.proto, ecn)
	if d != DropNone {
		c.dropped[d].Add(1)
		return
	}
	c.decapsulated.Add(1)
	if err := s.sys.write(in); err != nil {
		c.dropped[DropWrite].Add(1)
		if !s.writeErrLogged.Swap(true) {
			s.log.Error().Err(err).Str("device", s.cfg.Device).
				Msg("realserver: the TUN device refuses packets (is it down?); counting further failures as dropped write")
		}
		return
	}
	c.written.Add(1)
}
