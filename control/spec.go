package control

import (
	"fmt"
	"strings"
	"time"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/packet"
)

// serviceConfigOf turns a service key into the engine's identity of it.
func serviceConfigOf(k *ServiceKey) (lb.ServiceConfig, error) {
	var sc lb.ServiceConfig
	if k.FWMark != 0 {
		sc.Mark = k.FWMark
		switch k.Family {
		case "", "inet":
			sc.Family = packet.FamilyIPv4
		case "inet6":
			sc.Family = packet.FamilyIPv6
		default:
			return sc, fmt.Errorf("family %q: want inet or inet6", k.Family)
		}
		return sc, nil
	}
	switch strings.ToUpper(k.Proto) {
	case "TCP":
		sc.Proto = packet.ProtoTCP
	case "UDP":
		sc.Proto = packet.ProtoUDP
	case "SCTP":
		return sc, fmt.Errorf("SCTP services are not supported")
	default:
		return sc, fmt.Errorf("protocol %q: want TCP or UDP, or a firewall mark", k.Proto)
	}
	if !k.Addr.IsValid() {
		return sc, fmt.Errorf("a service needs an address")
	}
	sc.VIP, sc.Port = k.Addr.Unmap(), k.Port
	return sc, nil
}

// serviceOf turns an ipvsadm -A / -E specification into the engine's service settings.
func serviceOf(sp *ServiceSpec) (lb.ServiceConfig, error) {
	sc, err := serviceConfigOf(&sp.ServiceKey)
	if err != nil {
		return sc, err
	}
	sc.Scheduler = sp.Scheduler
	for _, f := range sp.SchedFlags {
		found := false
		for _, n := range schedFlagNames {
			if n.name == f {
				sc.SchedFlags |= n.f
				found = true
			}
		}
		if !found {
			return sc, fmt.Errorf("scheduler flag %q: want sh-fallback, sh-port, mh-fallback or mh-port", f)
		}
	}
	sc.Persistence = time.Duration(sp.Persistence) * time.Second
	sc.PersistMask = sp.PersistMask
	sc.OnePacket = sp.OnePacket
	return sc, nil
}

// methodOf reads ipvsadm's forwarding names (and -g/-i/-m's words).
func methodOf(m string) (lb.Method, error) {
	switch strings.ToLower(m) {
	case "", "masq", "nat", "masquerading":
		return lb.MethodNAT, nil
	case "route", "dr", "gatewaying", "direct":
		return lb.MethodDR, nil
	case "tunnel", "tun", "ipip", "tunneling":
		return lb.MethodTUN, nil
	case "fullnat", "fnat":
		return lb.MethodFullNAT, nil
	}
	return 0, fmt.Errorf("forwarding method %q: want Masq, Route, Tunnel or FullNat", m)
}

// serverOf turns an ipvsadm -a / -e specification into the engine's server settings.
func serverOf(sp *ServerSpec) (lb.ServerConfig, error) {
	rs := lb.ServerConfig{Addr: sp.Addr.Unmap(), Port: sp.Port, Weight: sp.Weight, Upper: sp.Upper, Lower: sp.Lower}
	if !rs.Addr.IsValid() {
		return rs, fmt.Errorf("a real server needs an address")
	}
	if sp.Weight < 0 {
		return rs, fmt.Errorf("weight %d: must be 0 or more", sp.Weight)
	}
	m, err := methodOf(sp.Method)
	if err != nil {
		return rs, err
	}
	rs.Method = m
	if m == lb.MethodTUN {
		switch strings.ToLower(sp.TunType) {
		case "", "ipip":
			rs.Tunnel.Type = lb.TunnelIPIP
		case "gue":
			rs.Tunnel.Type = lb.TunnelGUE
			rs.Tunnel.Port = sp.TunPort
			switch sp.TunFlags {
			case "", "nocsum":
			case "csum":
				rs.Tunnel.Csum = true
			default:
				return rs, fmt.Errorf("tunnel flags %q: want nocsum or csum (remcsum is not supported)", sp.TunFlags)
			}
		default:
			return rs, fmt.Errorf("tunnel type %q: want ipip or gue (gre is not supported)", sp.TunType)
		}
	}
	return rs, nil
}
