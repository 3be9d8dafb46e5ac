package lab

import (
	"net/netip"
	"slices"
	"strings"
	"time"
)

// typeKeys are the keys that only some types of service or load take; on another type they
// are an error that names the types that take them.
var (
	serviceTypeKeys = map[string][]string{
		"body": {"http"}, "status": {"http"}, "latency": {"http"}, "failing": {"http"},
	}
	loadTypeKeys = map[string][]string{
		"rate":        {"http", "udp-flows", "syn-flood", "bulk"},
		"concurrency": {"http"}, "keepalive": {"http"}, "path": {"http"},
		"conns": {"tcp-long", "bulk"}, "interval": {"tcp-long"},
		"flows":   {"udp-flows"},
		"sources": {"syn-flood"},
		"timeout": {"http", "tcp-long", "udp-flows", "bulk"},
	}
)

// checkTypeKeys reports the keys of t that typ does not take; what is "service" or "load".
func checkTypeKeys(t *table, what, typ string, keys map[string][]string) {
	for _, k := range sortedKeys(keys) {
		if !t.Has(k) || slices.Contains(keys[k], typ) {
			continue
		}
		t.Allow(k)
		t.Errorf(k, "is for %s %ss, not %s", joinOr(keys[k]), what, typ)
	}
}

// services reads the [[nodes.NAME.service]] of a host.
func (r *reader) services(t *table, n *Node) {
	seen := map[string]string{}
	for _, st := range t.Subs("service") {
		s := &Service{key: st.Path()}
		typ, ok := st.Str("type")
		switch ServiceType(typ) {
		case ServiceHTTP, ServiceTCPEcho, ServiceUDPEcho:
			s.Type = ServiceType(typ)
		default:
			if ok {
				st.Errorf("type", "unknown service type %q (http, tcp-echo or udp-echo)", typ)
			} else if !st.Has("type") {
				st.Errorf("type", "a service needs a type (http, tcp-echo or udp-echo)")
			}
			st.Allow(sortedKeys(st.M)...)
			continue
		}
		s.Name = typ
		if name, ok := st.Str("name"); ok {
			if !validName(name) {
				st.Errorf("name", "%q cannot name a service: %s", name, nameRule)
			}
			s.Name = name
		}
		if prev := seen[s.Name]; prev != "" {
			st.Errorf("name", "%s already has a service %s (line %d); give this one a name", n.Name, s.Name, r.Line(prev))
		}
		seen[s.Name] = st.Path()
		port, hasPort := st.Integer("port", 1, 65535)
		if !hasPort && !st.Has("port") {
			st.Errorf("port", "a service needs the port it listens on")
		}
		addr := netip.Addr{}
		if a, ok := st.Str("address"); ok {
			if addr = r.parseAddr(st.Key("address"), a); !addr.IsValid() {
				hasPort = false
			}
		}
		if hasPort {
			s.Listen = netip.AddrPortFrom(addr, uint16(port))
		}
		checkTypeKeys(st, "service", typ, serviceTypeKeys)
		if body, ok := st.Str("body"); ok {
			s.Body = body
		}
		if status, ok := st.Integer("status", 100, 999); ok {
			s.Status = int(status)
		}
		if d, ok := st.Duration("latency", 0, time.Hour); ok {
			s.Latency = d
		}
		if b, ok := st.Bool("failing"); ok {
			s.Failing = b
		}
		st.Done()
		n.Services = append(n.Services, s)
	}
}

// loads reads the [[nodes.NAME.load]] of a client.
func (r *reader) loads(t *table, n *Node) {
	seen := map[string]string{}
	for _, lt := range t.Subs("load") {
		l := &Generator{key: lt.Path()}
		typ, ok := lt.Str("type")
		switch LoadType(typ) {
		case LoadHTTP, LoadTCPLong, LoadUDPFlows, LoadBulk, LoadSYNFlood:
			l.Type = LoadType(typ)
		default:
			if ok {
				lt.Errorf("type", "unknown load type %q (http, tcp-long, udp-flows, bulk or syn-flood)", typ)
			} else if !lt.Has("type") {
				lt.Errorf("type", "a load needs a type (http, tcp-long, udp-flows, bulk or syn-flood)")
			}
			lt.Allow(sortedKeys(lt.M)...)
			continue
		}
		l.Name = typ
		if name, ok := lt.Str("name"); ok {
			if !validName(name) {
				lt.Errorf("name", "%q cannot name a load: %s", name, nameRule)
			}
			l.Name = name
		}
		if prev := seen[l.Name]; prev != "" {
			lt.Errorf("name", "%s already has a load %s (line %d); give this one a name", n.Name, l.Name, r.Line(prev))
		}
		seen[l.Name] = lt.Path()
		if s, ok := lt.Str("target"); ok {
			ap, err := netip.ParseAddrPort(s)
			if err != nil || ap.Port() == 0 || !hostAddr(ap.Addr()) {
				lt.Errorf("target", "%q is not an IP address and port (like \"10.0.0.1:80\"); hosts have no resolver", s)
			}
			l.Target = ap
		} else if !lt.Has("target") {
			lt.Errorf("target", "a load needs a target (the VIP and port, like \"10.0.0.1:80\")")
		}
		checkTypeKeys(lt, "load", typ, loadTypeKeys)
		if l.Type != LoadBulk { // a bulk load's rate is a bit rate: floodKeys
			if f, ok := lt.Number("rate", 0, 1e6); ok {
				l.Rate = f
			}
		}
		if c, ok := lt.Integer("concurrency", 1, 10000); ok {
			l.Concurrency = int(c)
		}
		if b, ok := lt.Bool("keepalive"); ok {
			l.KeepAlive = b
		}
		if p, ok := lt.Str("path"); ok {
			if !strings.HasPrefix(p, "/") {
				lt.Errorf("path", "%q is not a URL path (it starts with /)", p)
			}
			l.Path = p
		}
		if c, ok := lt.Integer("conns", 1, 100000); ok {
			l.Conns = int(c)
		}
		if d, ok := lt.Duration("interval", time.Millisecond, time.Hour); ok {
			l.Interval = d
		}
		if c, ok := lt.Integer("flows", 1, 100000); ok {
			l.Flows = int(c)
		}
		if d, ok := lt.Duration("timeout", time.Millisecond, time.Hour); ok {
			l.Timeout = d
		}
		r.floodKeys(lt, l)
		r.loadWindow(lt, l)
		lt.Done()
		n.Loads = append(n.Loads, l)
	}
	if len(n.Loads) == 0 && !t.Has("load") {
		t.Errorf("load", "a client needs at least one [[nodes.%s.load]]", n.Name)
	}
}

// parseAddr parses a unicast or unspecified address.
func (r *reader) parseAddr(key, s string) netip.Addr {
	a, err := netip.ParseAddr(s)
	if err != nil || !(hostAddr(a) || a.IsUnspecified()) {
		r.Errorf(key, "%q is not a unicast IP address", s)
		return netip.Addr{}
	}
	return a
}
