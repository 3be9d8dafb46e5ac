package lab

import (
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"

	"github.com/uvs-lb/uvs/conf"
	"github.com/uvs-lb/uvs/lb"
)

// check refuses what can only be seen across the topology: links to ports that do not exist
// or are cabled twice, interfaces left unplugged, addresses used twice, events about things
// that are not there (or not in the state the event needs then), expectations about unknown
// subjects, and appliance features the file does not declare it requires.
func (r *reader) check(t *Topology) {
	r.checkLinks(t)
	r.checkAddresses(t)
	r.checkEvents(t)
	r.checkFaultEvents(t)
	r.checkExpectations(t)
	r.checkRequires(t)
	r.checkLoadWindows(t)
}

// checkLinks checks every endpoint and that every interface is on exactly one link.
func (r *reader) checkLinks(t *Topology) {
	cabled := map[Endpoint]string{} // endpoint → key of the endpoint that took it
	names := map[string]string{}    // link name → key
	for _, l := range t.Links {
		if l.Name != "" {
			if prev := names[l.Name]; prev != "" {
				r.Errorf(l.key+".name", "link %s is already defined at line %d", l.Name, r.Line(prev))
			}
			names[l.Name] = l.key
		}
		for i, ep := range []Endpoint{l.A, l.B} {
			key := fmt.Sprintf("%s.endpoints[%d]", l.key, i)
			if ep.Node == "" {
				continue // refused already
			}
			n := t.node(ep.Node)
			if n == nil {
				r.Errorf(key, "no node %s", ep.Node)
				continue
			}
			if !r.portExists(key, n, ep.Port) {
				continue
			}
			if prev := cabled[ep]; prev != "" {
				r.Errorf(key, "%s is already cabled at line %d", ep, r.Line(prev))
				continue
			}
			cabled[ep] = key
		}
		if l.A.Node != "" && l.A.Node == l.B.Node {
			r.Errorf(l.key+".endpoints", "both ends are on %s; a link joins two nodes", l.A.Node)
		}
	}
	for _, n := range t.Nodes {
		for _, name := range r.interfaceNames(n) {
			if cabled[Endpoint{n.Name, name}] == "" {
				r.Errorf(n.key, "interface %s of %s is on no link; add one with endpoints = [\"%s:%s\", ...]", name, n.Name, n.Name, name)
			}
		}
		if n.Kind == KindSwitch {
			for _, x := range n.External {
				if prev := cabled[Endpoint{n.Name, x.Name}]; prev != "" {
					r.Errorf(x.key+".name", "port %s of %s is also cabled at line %d; an external port is a port of its own", x.Name, n.Name, r.Line(prev))
				}
			}
		}
	}
	for _, l := range t.Links {
		if l.Name == "" {
			continue
		}
		// A link's name must not be another link's endpoint, or events naming it would be
		// ambiguous.
		for ep, key := range cabled {
			if ep.String() == l.Name && !strings.HasPrefix(key, l.key+".") {
				r.Errorf(l.key+".name", "%s is an endpoint of another link (line %d)", l.Name, r.Line(key))
			}
		}
	}
}

// portExists reports (and refuses) a port that n does not have or that cannot be cabled.
func (r *reader) portExists(key string, n *Node, port string) bool {
	switch n.Kind {
	case KindSwitch:
		return true // links make a switch's ports
	case KindAppliance:
		if n.Config == nil {
			return false // its configuration has errors, reported already
		}
		for _, ifc := range n.Config.Interfaces {
			if ifc.Name != port {
				continue
			}
			if ifc.Kind != conf.KindMemory {
				r.Errorf(key, "interface %s of %s is kind %s, a real interface: only memory interfaces are cabled in the lab", port, n.Name, ifc.Kind)
				return false
			}
			return true
		}
	default:
		for _, ifc := range n.Interfaces {
			if ifc.Name == port {
				return true
			}
		}
	}
	r.Errorf(key, "%s has no interface %s (it has %s)", n.Name, port, joinOr(r.interfaceNames(n)))
	return false
}

// interfaceNames lists the ports of n that must be cabled: an appliance's memory interfaces,
// a host's or client's interfaces.
func (r *reader) interfaceNames(n *Node) []string {
	var out []string
	switch n.Kind {
	case KindAppliance:
		if n.Config != nil {
			for _, ifc := range n.Config.Interfaces {
				if ifc.Kind == conf.KindMemory {
					out = append(out, ifc.Name)
				}
			}
		}
	case KindHost, KindClient:
		for _, ifc := range n.Interfaces {
			if ifc.Name != "" {
				out = append(out, ifc.Name)
			}
		}
	}
	return out
}

// checkAddresses refuses an address that two nodes (or two interfaces) both hold: in a lab it
// is a copy-and-paste slip far more often than two separate segments.
func (r *reader) checkAddresses(t *Topology) {
	owner := map[netip.Addr]string{}
	for _, n := range t.Nodes {
		var addrs []netip.Addr
		switch n.Kind {
		case KindAppliance:
			if n.Config != nil {
				for _, ifc := range n.Config.Interfaces {
					for _, p := range ifc.Addresses {
						addrs = append(addrs, p.Addr())
					}
				}
			}
		case KindHost, KindClient:
			for _, ifc := range n.Interfaces {
				for _, p := range ifc.Addrs {
					addrs = append(addrs, p.Addr())
				}
			}
		}
		for _, a := range addrs {
			if prev := owner[a]; prev != "" {
				r.Errorf(n.key, "%s is already an address of %s", a, prev)
				continue
			}
			owner[a] = n.Name
		}
	}
	// A real server's VIP is shared by design (every real server of the service and the
	// appliance hold it), but it is nobody's interface address.
	for _, n := range t.Nodes {
		for _, a := range n.VIPs {
			if prev := owner[a]; prev != "" {
				r.Errorf(n.key+".vips", "%s is an interface address of %s, not a virtual address", a, prev)
			}
		}
	}
}

// checkRequires refuses a direct-routing appliance in a file that does not require "dr" (the
// appliance would drop every frame of it, and the file should say that it waits for DR), and
// VRRP instances in one that does not require "vrrp".
func (r *reader) checkRequires(t *Topology) {
	if !slices.Contains(t.Requires, "vrrp") {
		for _, n := range t.Nodes {
			if n.Kind == KindAppliance && n.Config != nil && len(n.Config.VRRPInstances) > 0 {
				r.Errorf(n.key, "%s runs VRRP instances; add requires = [\"vrrp\"] to the topology", n.Name)
			}
		}
	}
	if !slices.Contains(t.Requires, "sync") {
		for _, n := range t.Nodes {
			if n.Kind == KindAppliance && n.Config != nil && n.Config.Sync.Enabled {
				r.Errorf(n.key, "%s syncs connections ([sync]); add requires = [\"sync\"] to the topology", n.Name)
			}
		}
		for _, e := range t.Events {
			if e.Action == ActReload && e.Config != nil && e.Config.Sync.Enabled {
				r.Errorf(e.key, "the new configuration syncs connections ([sync]); add requires = [\"sync\"] to the topology")
			}
		}
	}
	if slices.Contains(t.Requires, "dr") {
		return
	}
	for _, n := range t.Nodes {
		if n.Kind == KindAppliance && usesDR(n.Config) {
			r.Errorf(n.key, "%s uses lb_kind DR; add requires = [\"dr\"] to the topology", n.Name)
		}
	}
	for _, e := range t.Events {
		if e.Action == ActReload && usesDR(e.Config) {
			r.Errorf(e.key, "the new configuration uses lb_kind DR; add requires = [\"dr\"] to the topology")
		}
	}
}

func usesDR(c *conf.Config) bool {
	if c == nil {
		return false
	}
	for _, s := range c.Services {
		if s.Method == lb.MethodDR {
			return true
		}
		for _, d := range s.Servers {
			if d.Method == lb.MethodDR {
				return true
			}
		}
	}
	return false
}

// checkExpectations checks that each expectation's subject exists and is of its kind.
func (r *reader) checkExpectations(t *Topology) {
	for _, x := range t.Expect {
		switch {
		case x.Client != "":
			node, load, hasLoad := strings.Cut(x.Client, "/")
			n := t.node(node)
			switch {
			case n == nil || n.Kind != KindClient:
				r.Errorf(x.key+".client", "no client %s", node)
			case hasLoad && !slices.ContainsFunc(n.Loads, func(l *Generator) bool { return l.Name == load }):
				r.Errorf(x.key+".client", "client %s has no load %s", node, load)
			default:
				r.checkLongBounds(t, x, n, load)
				r.checkGoodputBound(t, x, n, load)
			}
		case x.Server != "":
			if n := t.node(x.Server); n == nil || n.Kind != KindHost {
				r.Errorf(x.key+".server", "no host %s (a real server is a host node)", x.Server)
			} else {
				r.checkHealthBounds(t, x, n)
			}
		case x.Appliance != "":
			if n := t.node(x.Appliance); n == nil || n.Kind != KindAppliance {
				r.Errorf(x.key+".appliance", "no appliance %s", x.Appliance)
			}
		case x.VRRP != "":
			r.checkVRRPBounds(t, x)
		default:
			r.checkLongBounds(t, x, nil, "")
			r.checkGoodputBound(t, x, nil, "")
		}
	}
}

// checkLongBounds refuses the bounds on long-lived connections (max_broken, max_reconnects)
// for clients that hold none: those of the expectation (its client n, its load named load;
// every client when n is nil) with no tcp-long or bulk load.
func (r *reader) checkLongBounds(t *Topology, x *Expectation, n *Node, load string) {
	if !x.HasMaxBroken && !x.HasMaxReconnects {
		return
	}
	long := func(n *Node) bool {
		return slices.ContainsFunc(n.Loads, func(l *Generator) bool {
			return (l.Type == LoadTCPLong || l.Type == LoadBulk) && (load == "" || l.Name == load)
		})
	}
	what := "no client has a tcp-long or bulk load"
	if n != nil {
		what = x.Client + " is not a tcp-long or bulk load"
		if load == "" {
			what = x.Client + " has no tcp-long or bulk load"
		}
	}
	if n != nil && long(n) || n == nil && slices.ContainsFunc(t.Nodes, func(n *Node) bool { return n.Kind == KindClient && long(n) }) {
		return
	}
	if x.HasMaxBroken {
		r.Errorf(x.key+".max_broken", "%s: it bounds long-lived connections", what)
	}
	if x.HasMaxReconnects {
		r.Errorf(x.key+".max_reconnects", "%s: it bounds long-lived connections", what)
	}
}

// checkEvents plays the timeline through, in time order, to check that each event names
// what exists and finds it in the state it needs: a node is killed before it is restarted,
// a service stopped before it is started, a weight change names a server of the
// configuration in force at its time.
func (r *reader) checkEvents(t *Topology) {
	killed := map[string]bool{}
	stopped := map[string]bool{} // "node/service"
	failing := map[string]bool{}
	config := map[string]*conf.Config{}
	for _, n := range t.Nodes {
		config[n.Name] = n.Config
		for _, s := range n.Services {
			failing[n.Name+"/"+s.Name] = s.Failing
		}
	}
	for _, e := range t.Events { // in time order
		if e.Link != "" && t.link(e.Link) == nil {
			r.Errorf(e.key+".link", "no link %s (a link's name, or one of its endpoints)", e.Link)
		}
		if e.Action == ActPartition {
			r.checkGroups(t, e)
		}
		if e.Node == "" {
			continue
		}
		n := t.node(e.Node)
		if n == nil {
			r.Errorf(e.key+".node", "no node %s", e.Node)
			continue
		}
		switch {
		case e.Action == ActRestart && !killed[n.Name]:
			r.Errorf(e.key+".node", "%s is not killed at %v", n.Name, e.At)
			continue
		case e.Action != ActRestart && killed[n.Name]:
			r.Errorf(e.key+".node", "%s is killed at %v (restart it first)", n.Name, e.At)
			continue
		}
		switch e.Action {
		case ActKill, ActRestart:
			if n.Kind == KindSwitch {
				r.Errorf(e.key+".node", "%s is a switch; cut its links with link_down or a partition instead", n.Name)
			}
			killed[n.Name] = e.Action == ActKill
		case ActServiceStop, ActServiceStart, ActServiceFail, ActServiceRecover:
			r.checkServiceEvent(n, e, stopped, failing)
		case ActReload, ActWeight:
			if n.Kind != KindAppliance {
				r.Errorf(e.key+".node", "%s is a %s; %s applies to appliances", n.Name, n.Kind, e.Action)
				continue
			}
			cur := config[n.Name]
			if cur == nil {
				continue // its configuration has errors
			}
			if e.Action == ActReload {
				if e.Config != nil && !reflect.DeepEqual(cur.Interfaces, e.Config.Interfaces) {
					r.Errorf(e.key, "the new configuration changes %s's interfaces; a reload cannot (kill and restart it instead)", n.Name)
					continue
				}
				if e.Config != nil {
					config[n.Name] = e.Config
				}
				continue
			}
			if !e.Server.IsValid() {
				continue
			}
			next, changed := withWeight(cur, e.Server, e.Virtual, e.Weight)
			if changed == 0 {
				where := ""
				if e.Virtual != "" {
					where = " in " + e.Virtual
				}
				r.Errorf(e.key+".server", "%s has no real server %s%s at %v", n.Name, serverName(e.Server), where, e.At)
				continue
			}
			config[n.Name] = next
		}
	}
}

// checkServiceEvent checks that a service event names an existing service in a state the
// event can change.
func (r *reader) checkServiceEvent(n *Node, e *Event, stopped, failing map[string]bool) {
	if n.Kind != KindHost {
		r.Errorf(e.key+".node", "%s is a %s; services run on hosts", n.Name, n.Kind)
		return
	}
	i := slices.IndexFunc(n.Services, func(s *Service) bool { return s.Name == e.Service })
	if i < 0 {
		var names []string
		for _, s := range n.Services {
			names = append(names, s.Name)
		}
		r.Errorf(e.key+".service", "%s has no service %s (it has %s)", n.Name, e.Service, joinOr(names))
		return
	}
	id := n.Name + "/" + e.Service
	switch e.Action {
	case ActServiceStop, ActServiceStart:
		if stop := e.Action == ActServiceStop; stopped[id] == stop {
			r.Errorf(e.key+".action", "%s is already %s at %v", id, map[bool]string{true: "stopped", false: "running"}[stop], e.At)
		} else {
			stopped[id] = stop
		}
	case ActServiceFail, ActServiceRecover:
		if n.Services[i].Type != ServiceHTTP {
			r.Errorf(e.key+".service", "%s is a %s service; only http services can fail (stop it instead)", id, n.Services[i].Type)
			return
		}
		if fail := e.Action == ActServiceFail; failing[id] == fail {
			r.Errorf(e.key+".action", "%s is already %s at %v", id, map[bool]string{true: "failing", false: "answering normally"}[fail], e.At)
		} else {
			failing[id] = fail
		}
	}
}

// checkGroups checks a partition's groups: known nodes, each in one group at most.
func (r *reader) checkGroups(t *Topology, e *Event) {
	if len(e.Groups) == 0 {
		r.Errorf(e.key+".groups", "a partition needs at least one group")
		return
	}
	in := map[string]int{}
	for i, g := range e.Groups {
		if len(g) == 0 {
			r.Errorf(fmt.Sprintf("%s.groups[%d]", e.key, i), "is empty")
		}
		for _, name := range g {
			key := fmt.Sprintf("%s.groups[%d]", e.key, i)
			if t.node(name) == nil {
				r.Errorf(key, "no node %s", name)
				continue
			}
			if j, dup := in[name]; dup {
				r.Errorf(key, "%s is already in group %d", name, j)
				continue
			}
			in[name] = i
		}
	}
}
