package conf

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/packet"
)

// The errors of the edits, in ipvsadm's words (libipvs's ipvs_strerror), which is why they
// are capitalised. The edits wrap them with the service or server concerned; errors.Is
// tells them apart.
var (
	ErrServiceExists     = errors.New("Service already exists")
	ErrNoService         = errors.New("No such service")
	ErrServiceNotDefined = errors.New("Service not defined")
	ErrDestExists        = errors.New("Destination already exists")
	ErrNoDest            = errors.New("No such destination")
)

// The edits change a Config as ipvsadm changes IPVS, for the control API: -A, -E, -D, -a, -e,
// -d, -C and --set. They check only what identifies services and servers; whether the result
// is a configuration uvs accepts is Recheck's question, which the control API asks before
// applying it. An edit that fails leaves c as it was.
//
// A service is identified as IPVS identifies it: a firewall-mark service by its mark and
// family (family 0 meaning IPv4, as ipvsadm -f without -6), any other by protocol, VIP and
// port. A real server is identified by address and port within its service; port 0 on a
// VIP:port service means the service's port, as ipvsadm -a -r without a port.

// Clone returns a deep copy of c: nothing of the copy is shared with c, so one may be edited
// while the other is in use.
func (c *Config) Clone() *Config {
	if c == nil {
		return nil
	}
	d := *c
	d.Interfaces = slices.Clone(c.Interfaces)
	for i := range d.Interfaces {
		ifc := &d.Interfaces[i]
		ifc.Addresses = slices.Clone(ifc.Addresses)
		ifc.Routes = slices.Clone(ifc.Routes)
	}
	d.Management.Addresses = slices.Clone(c.Management.Addresses)
	d.Management.Routes = slices.Clone(c.Management.Routes)
	d.Services = slices.Clone(c.Services)
	for i := range d.Services {
		d.Services[i].clone()
	}
	d.Marks = slices.Clone(c.Marks)
	for i := range d.Marks {
		d.Marks[i].Ports = slices.Clone(d.Marks[i].Ports)
	}
	d.VRRPInstances = slices.Clone(c.VRRPInstances)
	for i := range d.VRRPInstances {
		v := &d.VRRPInstances[i]
		v.VIPs = slices.Clone(v.VIPs)
		v.VIPsExcluded = slices.Clone(v.VIPsExcluded)
		v.UnicastPeers = slices.Clone(v.UnicastPeers)
		v.TrackInterfaces = slices.Clone(v.TrackInterfaces)
		v.TrackScripts = slices.Clone(v.TrackScripts)
		v.TrackFiles = slices.Clone(v.TrackFiles)
		for k := range v.refKeys {
			v.refKeys[k] = slices.Clone(v.refKeys[k])
		}
	}
	d.VRRPScripts = slices.Clone(c.VRRPScripts)
	d.VRRPTrackFiles = slices.Clone(c.VRRPTrackFiles)
	d.VRRPSyncGroups = slices.Clone(c.VRRPSyncGroups)
	for i := range d.VRRPSyncGroups {
		g := &d.VRRPSyncGroups[i]
		g.Instances = slices.Clone(g.Instances)
		g.TrackInterfaces = slices.Clone(g.TrackInterfaces)
		g.TrackScripts = slices.Clone(g.TrackScripts)
		g.TrackFiles = slices.Clone(g.TrackFiles)
		for k := range g.refKeys {
			g.refKeys[k] = slices.Clone(g.refKeys[k])
		}
	}
	d.Sync.AuthKey = slices.Clone(c.Sync.AuthKey)
	d.Alerts.Emails = slices.Clone(c.Alerts.Emails)
	return &d
}

// clone replaces what s shares with the service it was copied from by copies.
func (s *Service) clone() {
	sc := &s.ServiceConfig
	sc.LocalAddrs = slices.Clone(sc.LocalAddrs)
	sc.Servers = slices.Clone(sc.Servers)
	if sc.Sorry != nil {
		sorry := *sc.Sorry
		sc.Sorry = &sorry
	}
	s.locals = slices.Clone(s.locals)
	s.ServerHealth = slices.Clone(s.ServerHealth)
	for i := range s.ServerHealth {
		sh := &s.ServerHealth[i]
		sh.Checks = slices.Clone(sh.Checks)
		for j := range sh.Checks {
			ck := &sh.Checks[j]
			ck.URLs = slices.Clone(ck.URLs)
			for k := range ck.URLs {
				ck.URLs[k].Status = slices.Clone(ck.URLs[k].Status)
			}
			ck.Payload = slices.Clone(ck.Payload)
			ck.Reply = slices.Clone(ck.Reply)
		}
	}
}

// AddService adds a service with its servers, as ipvsadm -A (and -a for each server). The
// servers have no health checks; the service has keepalived's health defaults (quorum 1,
// delay_loop 60 s). It fails with ErrServiceExists when a service has s's identity.
func (c *Config) AddService(s lb.ServiceConfig) error {
	if i := c.findService(&s); i >= 0 {
		return fmt.Errorf("%s: %w", serviceName(&c.Services[i].ServiceConfig), ErrServiceExists)
	}
	svc := Service{
		ServiceConfig: s,
		Health:        ServiceHealth{Quorum: 1, DelayLoop: defaultDelayLoop},
		SMTPAlert:     c.Alerts.SMTPAlertChecker, // what Parse gives a service that says nothing
	}
	svc.clone()
	sc := &svc.ServiceConfig
	// ipvsadm's and keepalived's defaults, as Parse gives them.
	if sc.Mark != 0 && sc.Family == 0 {
		sc.Family = packet.FamilyIPv4
	}
	if sc.Scheduler == "" {
		sc.Scheduler = lb.DefaultScheduler
	}
	if sc.Method == 0 {
		sc.Method = lb.MethodNAT
	}
	for i := range sc.Servers {
		sc.Servers[i].Port = serverPort(sc, sc.Servers[i].Port)
	}
	svc.ServerHealth = make([]ServerHealth, len(sc.Servers))
	c.Services = append(c.Services, svc)
	return nil
}

// EditService changes what ipvsadm -E changes: the scheduler, its flags and Maglev table
// size, persistence and its granularity, and one-packet scheduling, all replaced by s's as
// ipvsadm replaces them (an empty scheduler is wlc). The servers, their checks, the method,
// the full-NAT pool and the health settings stay. It fails with ErrNoService when no service
// has s's identity.
func (c *Config) EditService(s lb.ServiceConfig) error {
	i := c.findService(&s)
	if i < 0 {
		return fmt.Errorf("%s: %w", serviceName(&s), ErrNoService)
	}
	sc := &c.Services[i].ServiceConfig
	sc.Scheduler = s.Scheduler
	if sc.Scheduler == "" {
		sc.Scheduler = lb.DefaultScheduler
	}
	sc.SchedFlags = s.SchedFlags
	sc.MHTableSize = s.MHTableSize
	sc.Persistence = s.Persistence
	sc.PersistMask = s.PersistMask
	sc.OnePacket = s.OnePacket
	return nil
}

// DeleteService removes the service with key's identity, its servers and their checks, as
// ipvsadm -D. The [[mark]] rules of a firewall-mark service stay (ipvsadm leaves iptables
// alone), and Recheck then reports a rule whose mark no service has. It fails with
// ErrNoService.
func (c *Config) DeleteService(key lb.ServiceConfig) error {
	i := c.findService(&key)
	if i < 0 {
		return fmt.Errorf("%s: %w", serviceName(&key), ErrNoService)
	}
	c.Services = slices.Delete(c.Services, i, i+1)
	return nil
}

// AddServer adds rs to the service with svc's identity, as ipvsadm -a, without health checks.
// It fails with ErrServiceNotDefined when there is no such service, and with ErrDestExists
// when the service has a real server (or a sorry server) at rs's address and port.
func (c *Config) AddServer(svc lb.ServiceConfig, rs lb.ServerConfig) error {
	s, err := c.service(&svc)
	if err != nil {
		return err
	}
	rs.Port = serverPort(&s.ServiceConfig, rs.Port)
	ap := netip.AddrPortFrom(rs.Addr, rs.Port)
	sorry := s.Sorry != nil && s.Sorry.Addr == rs.Addr && s.Sorry.Port == rs.Port
	if s.findServer(rs.Addr, rs.Port) >= 0 || sorry {
		return fmt.Errorf("%s: %s: %w", serviceName(&s.ServiceConfig), ap, ErrDestExists)
	}
	s.fixHealth()
	s.Servers = append(s.Servers, rs)
	s.ServerHealth = append(s.ServerHealth, ServerHealth{})
	return nil
}

// EditServer changes what ipvsadm -e changes of the real server at rs's address and port:
// its weight, forwarding method, connection thresholds and tunnel (whose source, which Parse
// derives from the interfaces, is kept unless rs gives one). Its checks stay. It fails with
// ErrServiceNotDefined or ErrNoDest.
func (c *Config) EditServer(svc lb.ServiceConfig, rs lb.ServerConfig) error {
	s, err := c.service(&svc)
	if err != nil {
		return err
	}
	rs.Port = serverPort(&s.ServiceConfig, rs.Port)
	i := s.findServer(rs.Addr, rs.Port)
	if i < 0 {
		return fmt.Errorf("%s: %s: %w", serviceName(&s.ServiceConfig), netip.AddrPortFrom(rs.Addr, rs.Port), ErrNoDest)
	}
	s.fixHealth()
	old := &s.Servers[i]
	if !rs.Tunnel.Source.IsValid() {
		rs.Tunnel.Source = old.Tunnel.Source
	}
	old.Weight, old.Method, old.Upper, old.Lower, old.Tunnel = rs.Weight, rs.Method, rs.Upper, rs.Lower, rs.Tunnel
	return nil
}

// DeleteServer removes the real server at addr and port, and its checks, as ipvsadm -d. It
// fails with ErrServiceNotDefined or ErrNoDest.
func (c *Config) DeleteServer(svc lb.ServiceConfig, addr netip.Addr, port uint16) error {
	s, err := c.service(&svc)
	if err != nil {
		return err
	}
	port = serverPort(&s.ServiceConfig, port)
	i := s.findServer(addr, port)
	if i < 0 {
		return fmt.Errorf("%s: %s: %w", serviceName(&s.ServiceConfig), netip.AddrPortFrom(addr, port), ErrNoDest)
	}
	s.fixHealth()
	s.Servers = slices.Delete(s.Servers, i, i+1)
	s.ServerHealth = slices.Delete(s.ServerHealth, i, i+1)
	return nil
}

// ClearServices removes every service, as ipvsadm -C. The [[mark]] rules stay, as iptables
// rules stay; Recheck then reports those whose mark no service has.
func (c *Config) ClearServices() { c.Services = nil }

// SetTimeouts sets IPVS's timeouts of established TCP connections, of TCP connections after
// a FIN, and of UDP, as ipvsadm --set; 0 keeps a timeout as it is. The file holds whole
// seconds: Recheck refuses a fraction, as it refuses a negative value.
func (c *Config) SetTimeouts(tcp, tcpfin, udp time.Duration) {
	for _, t := range []struct {
		v   time.Duration
		dst *time.Duration
	}{{tcp, &c.IPVS.TCP}, {tcpfin, &c.IPVS.TCPFin}, {udp, &c.IPVS.UDP}} {
		if t.v != 0 {
			*t.dst = t.v
		}
	}
}

// Recheck validates an edited configuration as a file is validated: it returns
// Parse(name, Export(c)), the configuration to apply, with what Parse derives filled in
// (tunnel sources, health defaults, the positions of its messages). Its errors are Errors
// whose keys name what is wrong (virtual_server[2].real_server[0].weight); their lines and
// columns refer to the exported text, not to the file c was first read from, which the edits
// have made stale. c itself is not changed.
func Recheck(name string, c *Config) (*Config, error) {
	return Parse(name, Export(c))
}

// findService returns the index of the service with s's identity, or -1.
func (c *Config) findService(s *lb.ServiceConfig) int {
	return slices.IndexFunc(c.Services, func(o Service) bool { return sameService(&o.ServiceConfig, s) })
}

// service returns the service with svc's identity, or ErrServiceNotDefined, as ipvsadm's
// server commands say.
func (c *Config) service(svc *lb.ServiceConfig) (*Service, error) {
	i := c.findService(svc)
	if i < 0 {
		return nil, fmt.Errorf("%s: %w", serviceName(svc), ErrServiceNotDefined)
	}
	return &c.Services[i], nil
}

// sameService reports whether a and b are one service for IPVS.
func sameService(a, b *lb.ServiceConfig) bool {
	if a.Mark != 0 || b.Mark != 0 {
		return a.Mark == b.Mark && markFamily(a) == markFamily(b)
	}
	return a.Proto == b.Proto && a.VIP == b.VIP && a.Port == b.Port
}

// markFamily is a firewall-mark service's family, IPv4 when unset (ipvsadm -f without -6).
func markFamily(s *lb.ServiceConfig) packet.Family {
	if s.Family == 0 {
		return packet.FamilyIPv4
	}
	return s.Family
}

// serverPort is the port of a real server given port: a VIP:port service's own for 0, as
// ipvsadm -a -r without a port and as Parse (placeServer) give it.
func serverPort(sc *lb.ServiceConfig, port uint16) uint16 {
	if port == 0 && sc.Mark == 0 {
		return sc.Port
	}
	return port
}

// findServer returns the index of s's real server at addr and port, or -1.
func (s *Service) findServer(addr netip.Addr, port uint16) int {
	return slices.IndexFunc(s.Servers, func(rs lb.ServerConfig) bool { return rs.Addr == addr && rs.Port == port })
}

// fixHealth makes ServerHealth as long as Servers (one entry a server, in order), should a
// hand-built Config have them apart, before an edit moves them together: a server without an
// entry has no checks.
func (s *Service) fixHealth() {
	switch n := len(s.Servers); {
	case len(s.ServerHealth) < n:
		s.ServerHealth = append(s.ServerHealth, make([]ServerHealth, n-len(s.ServerHealth))...)
	case len(s.ServerHealth) > n:
		s.ServerHealth = s.ServerHealth[:n:n]
	}
}
