package lb

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/uvs-lb/uvs/lb/sched"
	"github.com/uvs-lb/uvs/packet"
)

// Config is the whole virtual-server configuration the engine compiles into a Table. It is
// plain data: package conf builds it from TOML, tests build it by hand.
type Config struct {
	Services []ServiceConfig
	// Marks classify packets into firewall marks, standing in for iptables -j MARK. Rules are
	// tried in order; the first that matches gives the mark.
	Marks []MarkRule
	// ExpireNoDestConn drops packets of connections whose real server has left the service and
	// expires those connections (IPVS sysctl expire_nodest_conn). Off: they keep flowing.
	ExpireNoDestConn bool
	// ExpireQuiescentTemplate expires persistence templates whose server has weight 0, so
	// persistent clients move (IPVS sysctl expire_quiescent_template).
	ExpireQuiescentTemplate bool
	// ConnReuseMode is IPVS's conn_reuse_mode: bit 0 reschedules a new SYN that hits a
	// TIME_WAIT connection; bit 1 also one that hits FIN_WAIT of an input-only (DR/TUN)
	// connection. IPVS's default is 1.
	ConnReuseMode int
	// SloppyTCP lets any non-RST segment open a connection, not only a SYN (IPVS sysctl
	// sloppy_tcp): useful when a backup takes over without connection sync.
	SloppyTCP bool
	// Defense is the connection table's size and the flood defenses (IPVS sysctls
	// amemthresh, drop_entry, drop_packet, am_droprate, secure_tcp). Apply changes them live.
	Defense Defense
}

// ServiceConfig is one virtual service: a (protocol, VIP, port) — port 0 meaning every port —
// or a firewall mark.
type ServiceConfig struct {
	Proto uint8      // packet.ProtoTCP or ProtoUDP; 0 for firewall-mark services
	VIP   netip.Addr // unset for firewall-mark services
	Port  uint16     // 0: all ports (IPVS "port zero" service)
	Mark  uint32     // nonzero: a firewall-mark service (Proto, VIP and Port unused)
	// Family of a firewall-mark service (IPVS keys fwmark services by mark and family).
	Family packet.Family

	Scheduler   string      // IPVS name; "" means wlc, the IPVS default
	SchedFlags  sched.Flags // sh-fallback, sh-port, mh-fallback, mh-port
	MHTableSize int         // Maglev table size (prime); 0 = default

	// Persistence keeps a client on one real server for this long after its last connection
	// (ipvsadm -p; IPVS default when enabled without a value: 360 s). 0 disables it.
	Persistence time.Duration
	// PersistMask is the prefix length clients are grouped by (ipvsadm -M): 0 means /32 for
	// IPv4 and /128 for IPv6.
	PersistMask int

	OnePacket bool // UDP one-packet scheduling (ipvsadm -o): every datagram is scheduled

	Method Method // the servers' default forwarding method; 0 = NAT

	// LocalAddrs and LocalPorts are the full-NAT SNAT pool (used when a server's method is
	// MethodFullNAT). Ports default to 1024–65535.
	LocalAddrs []netip.Addr
	LocalPorts [2]uint16

	Servers []ServerConfig
	// Sorry is used for new connections when no real server can take them (keepalived's
	// sorry_server). Nil: such connections are rejected with ICMP port unreachable, as IPVS.
	Sorry *ServerConfig
}

// ServerConfig is one real server of a service.
type ServerConfig struct {
	Addr   netip.Addr
	Port   uint16 // 0: the port the client asked for (port-0 and firewall-mark services)
	Weight int32  // 0 = quiesced: no new connections, existing ones keep flowing
	Method Method // 0 = the service's Method
	// Upper and Lower connection thresholds (ipvsadm -x / -y). Upper 0 = unlimited. With
	// Lower 0, the server is usable again below 3/4 of Upper, as IPVS.
	Upper, Lower uint32
	// Tunnel is the encapsulation of a TUN server (ignored for the other methods).
	Tunnel Tunnel
}

// MarkRule sets a firewall mark on matching packets (iptables -t mangle ... -j MARK).
type MarkRule struct {
	Proto uint8        // 0 = any protocol
	Src   netip.Prefix // zero = any source
	Dst   netip.Prefix // zero = any destination
	Ports []PortRange  // destination ports; empty = any
	Mark  uint32
}

// PortRange is an inclusive range of ports.
type PortRange struct{ Lo, Hi uint16 }

// MinLocalPorts is the narrowest full-NAT local port range: a connection's local port must
// land in the connection-table shard of its client endpoint (so both directions share one
// lock), and a range narrower than the table's shards (conntab.DefaultShards) would leave
// some connections no port at all.
const MinLocalPorts = 256

// Default values, as IPVS and keepalived have them.
const (
	DefaultScheduler   = "wlc"
	DefaultPersistence = 360 * time.Second
)

func (s *ServiceConfig) family() packet.Family {
	if s.Mark != 0 {
		return s.Family
	}
	if s.VIP.Is4() {
		return packet.FamilyIPv4
	}
	return packet.FamilyIPv6
}

// String names the service as ipvsadm does: "TCP 10.0.0.1:80", "FWM 80".
func (s *ServiceConfig) String() string {
	if s.Mark != 0 {
		return fmt.Sprintf("FWM %d", s.Mark)
	}
	return fmt.Sprintf("%s %s", protoName(s.Proto), netip.AddrPortFrom(s.VIP, s.Port))
}

// KeepalivedName names the service as keepalived's logs and mails do: "[10.0.0.1]:tcp:80",
// "FWM 80 IPv4" (a mark service carries its family: two families may share a mark).
func (s *ServiceConfig) KeepalivedName() string {
	if s.Mark != 0 {
		return fmt.Sprintf("FWM %d IPv%d", s.Mark, s.Family)
	}
	p := "tcp"
	if s.Proto == packet.ProtoUDP {
		p = "udp"
	}
	return fmt.Sprintf("[%s]:%s:%d", s.VIP, p, s.Port)
}

// ProtoName is ipvsadm's word for an IP protocol: "TCP", "UDP", "SCTP".
func ProtoName(p uint8) string { return protoName(p) }

func protoName(p uint8) string {
	switch p {
	case packet.ProtoTCP:
		return "TCP"
	case packet.ProtoUDP:
		return "UDP"
	case packet.ProtoSCTP:
		return "SCTP"
	}
	return fmt.Sprintf("proto-%d", p)
}

// validate checks what the engine itself relies on. Package conf reports richer errors with
// file positions; this is the last line of defence for hand-built configs.
func (c *Config) validate() error {
	var errs []error
	if err := c.Defense.validate(); err != nil {
		errs = append(errs, err)
	}
	seen := make(map[svcKey]bool)
	vips := make(map[netip.Addr]bool)
	for i := range c.Services {
		if c.Services[i].Mark == 0 {
			vips[c.Services[i].VIP] = true
		}
	}
	for i := range c.Services {
		// A local (full-NAT) address must not be a VIP: replies to it would be taken for
		// new inbound traffic.
		for _, a := range c.Services[i].LocalAddrs {
			if vips[a] {
				errs = append(errs, fmt.Errorf("service %d (%s): local address %s is a virtual address", i, &c.Services[i], a))
			}
		}
	}
	for i := range c.Services {
		s := &c.Services[i]
		if err := s.validate(); err != nil {
			errs = append(errs, fmt.Errorf("service %d (%s): %w", i, s, err))
			continue
		}
		k := s.key()
		if seen[k] {
			errs = append(errs, fmt.Errorf("service %d (%s): defined twice", i, s))
		}
		seen[k] = true
	}
	for i, r := range c.Marks {
		if r.Mark == 0 {
			errs = append(errs, fmt.Errorf("mark rule %d: mark must be nonzero", i))
		}
		for _, pr := range r.Ports {
			if pr.Lo > pr.Hi {
				errs = append(errs, fmt.Errorf("mark rule %d: port range %d-%d is reversed", i, pr.Lo, pr.Hi))
			}
		}
	}
	return errors.Join(errs...)
}

func (s *ServiceConfig) validate() error {
	fam := s.family()
	if s.Mark == 0 {
		if !s.VIP.IsValid() {
			return errors.New("no virtual address")
		}
		switch s.Proto {
		case packet.ProtoTCP, packet.ProtoUDP:
		case packet.ProtoSCTP:
			return errors.New("SCTP services are not supported yet")
		default:
			return fmt.Errorf("protocol %d is not TCP or UDP", s.Proto)
		}
	} else if fam != packet.FamilyIPv4 && fam != packet.FamilyIPv6 {
		return errors.New("a firewall-mark service needs a family (4 or 6)")
	}
	if s.OnePacket && s.Proto != packet.ProtoUDP && s.Mark == 0 {
		return errors.New("one-packet scheduling is for UDP services")
	}
	max := 32
	if fam == packet.FamilyIPv6 {
		max = 128
	}
	if s.PersistMask < 0 || s.PersistMask > max {
		return fmt.Errorf("persistence netmask /%d out of range for IPv%d", s.PersistMask, fam)
	}
	if s.Persistence < 0 {
		return errors.New("negative persistence timeout")
	}
	if s.LocalPorts[0] > s.LocalPorts[1] {
		return fmt.Errorf("local port range %d-%d is reversed", s.LocalPorts[0], s.LocalPorts[1])
	}
	if s.LocalPorts != [2]uint16{} && int(s.LocalPorts[1])-int(s.LocalPorts[0])+1 < MinLocalPorts {
		return fmt.Errorf("local port range %d-%d is narrower than %d ports", s.LocalPorts[0], s.LocalPorts[1], MinLocalPorts)
	}
	for _, a := range s.LocalAddrs {
		if (a.Is4() && fam != packet.FamilyIPv4) || (!a.Is4() && fam == packet.FamilyIPv4) {
			return fmt.Errorf("local address %s is not of the service's family", a)
		}
	}
	rs := s.Servers
	if s.Sorry != nil {
		rs = append(rs[:len(rs):len(rs)], *s.Sorry)
	}
	seen := make(map[netip.AddrPort]bool)
	for _, r := range rs {
		ap := netip.AddrPortFrom(r.Addr, r.Port)
		if !r.Addr.IsValid() {
			return errors.New("a real server has no address")
		}
		if seen[ap] {
			return fmt.Errorf("real server %s listed twice", ap)
		}
		seen[ap] = true
		if r.Weight < 0 {
			return fmt.Errorf("real server %s: negative weight", ap)
		}
		if r.Lower > r.Upper && r.Upper != 0 {
			return fmt.Errorf("real server %s: lower threshold %d above upper %d", ap, r.Lower, r.Upper)
		}
		m := r.Method
		if m == 0 {
			m = s.Method
		}
		if m == 0 {
			m = MethodNAT
		}
		if m >= numMethods {
			return fmt.Errorf("real server %s: unknown forwarding method %d", ap, m)
		}
		if m.InputOnly() && r.Port != 0 && r.Port != s.Port {
			return fmt.Errorf("real server %s: %s cannot map ports (service port %d)", ap, m, s.Port)
		}
		if m == MethodFullNAT && len(s.LocalAddrs) == 0 {
			return fmt.Errorf("real server %s: full-NAT needs local addresses on the service", ap)
		}
		if m != MethodTUN && (r.Addr.Is4() != (fam == packet.FamilyIPv4)) {
			return fmt.Errorf("real server %s: family differs from the service's (only TUN may mix)", ap)
		}
		if m == MethodTUN {
			if err := r.Tunnel.validate(r.Addr); err != nil {
				return fmt.Errorf("real server %s: %w", ap, err)
			}
		}
	}
	return nil
}

func (t *Tunnel) validate(server netip.Addr) error {
	switch {
	case t.Type >= numTunnelTypes:
		return fmt.Errorf("unknown tunnel type %d", t.Type)
	case t.Type == TunnelGUE && t.Port == 0:
		return errors.New("a GUE tunnel needs the server's UDP port")
	case !t.Source.IsValid():
		return errors.New("a TUN server needs the tunnel's source address")
	case t.Source.Is4() != server.Is4():
		return fmt.Errorf("tunnel source %s is not of the server's family", t.Source)
	}
	return nil
}

// ends compiles a TUN server's tunnel.
func (t *Tunnel) ends(server netip.Addr) *TunnelEnds {
	e := &TunnelEnds{Type: t.Type, Port: t.Port, Csum: t.Csum, Family: packet.FamilyIPv6, Dst: addrArray(server), Src: addrArray(t.Source)}
	if server.Is4() {
		e.Family = packet.FamilyIPv4
	}
	return e
}
