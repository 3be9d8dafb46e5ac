package lab

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestForwardingMethods runs every forwarding method over every family, with lab hosts as
// the real servers: a client makes one TCP connection per HTTP request to the VIP, through
// one appliance, to two real servers (rr). Every connection must succeed, both servers must
// serve, the appliance must have scheduled every connection, and the replies must come back
// the method's way: through the appliance for NAT and FNAT (its Out packet counters count
// them), straight from the real servers for DR and TUN (its Out counters stay 0, while its In
// counters count the clients' packets). DR and TUN real servers hold the VIP hidden (vips);
// TUN ones terminate the tunnel (tun_type), IPIP or GUE, in the service's family or the
// other.
//
// NAT and FNAT run on two segments, client in front of the appliance and real servers
// behind it (FNAT's servers have no route back: only its source NAT brings the replies
// home); DR and TUN on one, where the real servers reach the client without the appliance.
func TestForwardingMethods(t *testing.T) {
	t.Parallel()
	for _, c := range []methodCase{
		{kind: "NAT"}, {kind: "NAT", svc6: true, rs6: true},
		{kind: "FNAT"}, {kind: "FNAT", svc6: true, rs6: true},
		{kind: "DR"}, {kind: "DR", svc6: true, rs6: true},
		{kind: "TUN", tun: "ipip"}, {kind: "TUN", tun: "ipip", svc6: true, rs6: true},
		{kind: "TUN", tun: "gue"}, {kind: "TUN", tun: "gue", svc6: true, rs6: true},
		{kind: "TUN", tun: "ipip", rs6: true}, {kind: "TUN", tun: "ipip", svc6: true},
		{kind: "TUN", tun: "gue", rs6: true}, {kind: "TUN", tun: "gue", svc6: true},
	} {
		t.Run(c.name(), func(t *testing.T) {
			t.Parallel()
			c.run(t)
		})
	}
}

// methodCase is one forwarding method with the families of the service and its servers.
type methodCase struct {
	kind      string // lb_kind
	tun       string // TUN: tun_type
	svc6, rs6 bool   // IPv6 service, IPv6 real servers (they differ only with TUN)
}

// methodRequests is the number of requests (connections) of a case: 20 per second for 1 s.
// The last ones may still be in flight when the run ends, which counts them neither way: a
// case must see three quarters of them answered, and no error.
const (
	methodRequests = 20
	methodAnswered = methodRequests * 3 / 4
)

func (c methodCase) name() string {
	fam := func(v6 bool) string {
		if v6 {
			return "ipv6"
		}
		return "ipv4"
	}
	n := c.kind
	if c.tun != "" {
		n += "-" + c.tun
	}
	if c.svc6 == c.rs6 {
		return n + "/" + fam(c.svc6)
	}
	return n + "/" + fam(c.svc6) + "-in-" + fam(c.rs6)
}

func (c methodCase) direct() bool { return c.kind == "DR" || c.kind == "TUN" }

func (c methodCase) run(t *testing.T) {
	src := c.topology()
	topo, err := Parse(strings.ReplaceAll(c.name(), "/", "_")+".toml", []byte(src))
	if err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	ctx, cancel := context.WithTimeout(context.Background(), topo.Duration+30*time.Second)
	defer cancel()
	rep, err := Run(ctx, topo, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("topology:\n%s\nreport:\n%s\nappliance %+v\nservers %+v", src, rep.Text(), rep.Appliances, rep.Servers)
		}
	})
	for _, x := range rep.Failed() {
		t.Errorf("expectation failed: %v", x.Error())
	}
	cl := client(t, rep, "c1/http")
	if cl.Requests < methodAnswered || cl.Errors != 0 {
		t.Errorf("%d requests, %d errors %v; want about %d, all answered", cl.Requests, cl.Errors, cl.ErrorKinds, methodRequests)
	}
	for _, s := range []string{"rs1", "rs2"} {
		if cl.PerServer[s] < cl.Requests/4 {
			t.Errorf("%s answered %d of %d requests (rr over two servers)", s, cl.PerServer[s], cl.Requests)
		}
	}
	a := rep.Appliances[0]
	if a.Conns < cl.Requests {
		t.Errorf("the appliance scheduled %d connections for %d requests: some went around it", a.Conns, cl.Requests)
	}
	if a.InPackets < 3*cl.Requests {
		t.Errorf("the appliance counted %d packets from the client for %d connections", a.InPackets, cl.Requests)
	}
	switch {
	case c.direct() && a.OutPackets != 0:
		t.Errorf("the appliance carried %d reply packets; %s real servers answer the client directly", a.OutPackets, c.kind)
	case !c.direct() && a.OutPackets < 2*cl.Requests:
		t.Errorf("the appliance carried %d reply packets for %d %s connections", a.OutPackets, cl.Requests, c.kind)
	}
	if a.Dropped != 0 {
		t.Errorf("the appliance dropped %d frames: %v", a.Dropped, a.Drops)
	}
	for _, s := range rep.Servers {
		switch {
		case c.kind == "TUN" && (s.Decapsulated < 3*s.Answered || s.TunnelDropped != 0):
			t.Errorf("%s answered %d requests, decapsulated %d packets and refused %d", s.Name, s.Answered, s.Decapsulated, s.TunnelDropped)
		case c.kind != "TUN" && s.Decapsulated+s.TunnelDropped != 0:
			t.Errorf("%s terminated tunnels: %+v", s.Name, s)
		}
	}
}

// topology writes the case's topology file.
func (c methodCase) topology() string {
	vip := pick(c.svc6, "2001:db8::100", "10.0.0.100")
	var rs [2]netip.Addr
	lbAddrs := `"10.0.0.254/24", "2001:db8::fe/64"`
	for i := range rs {
		if c.direct() {
			rs[i] = netip.MustParseAddr(pick(c.rs6, "2001:db8::2", "10.0.0.2") + fmt.Sprint(i+1))
		} else {
			rs[i] = netip.MustParseAddr(pick(c.rs6, "2001:db8:1::2", "192.168.1.2") + fmt.Sprint(i+1))
		}
	}
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p(`name = %q`, c.name())
	p(`duration = "1s"`)
	if c.kind == "DR" {
		p(`requires = ["dr"]`)
	}
	p("\n[nodes.lb1]\nkind = \"appliance\"\nconfig = '''")
	p("[[interface]]\nname = \"eth0\"\nkind = \"memory\"\naddresses = [%s]", lbAddrs)
	if !c.direct() {
		p("\n[[interface]]\nname = \"eth1\"\nkind = \"memory\"\naddresses = [\"192.168.1.254/24\", \"2001:db8:1::fe/64\"]")
	}
	p("\n[[virtual_server]]\naddress = %q\nlb_algo = \"rr\"\nlb_kind = %q", netip.AddrPortFrom(netip.MustParseAddr(vip), 80), c.kind)
	switch {
	case c.kind == "FNAT":
		p("local_addresses = [%q]", pick(c.svc6, "2001:db8:1::100", "192.168.1.100"))
	case c.tun != "":
		p("tun_type = %q", c.tun)
		if c.tun == "gue" {
			p("tun_port = 6080")
		}
	}
	for _, a := range rs {
		p("  [[virtual_server.real_server]]\n  address = %q", netip.AddrPortFrom(a, 80))
	}
	p("'''")

	if c.direct() {
		p("\n[nodes.lan]\nkind = \"switch\"")
		p("\n[nodes.c1]\nkind = \"client\"")
		p(`interface = [{ name = "eth0", addresses = ["10.0.0.11/24", "2001:db8::11/64"] }]`)
	} else {
		p("\n[nodes.back]\nkind = \"switch\"")
		p("\n[nodes.c1]\nkind = \"client\"")
		p(`interface = [{ name = "eth0", addresses = ["10.0.0.11/24", "2001:db8::11/64"], gateway = "10.0.0.254", gateway6 = "2001:db8::fe" }]`)
	}
	p(`load = [{ type = "http", target = %q, rate = %d }]`, netip.AddrPortFrom(netip.MustParseAddr(vip), 80), methodRequests)
	for i := range rs {
		p("\n[nodes.rs%d]\nkind = \"host\"", i+1)
		last := fmt.Sprint(21 + i)
		switch {
		case c.direct():
			p(`interface = [{ name = "eth0", addresses = ["10.0.0.%s/24", "2001:db8::%s/64"] }]`, last, last)
			p("vips = [%q]", vip)
			if c.tun != "" {
				p("tun_type = %q", c.tun)
				if c.tun == "gue" {
					p("tun_port = 6080")
				}
			}
		case c.kind == "FNAT": // no way back but through the appliance's source NAT
			p(`interface = [{ name = "eth0", addresses = ["192.168.1.%s/24", "2001:db8:1::%s/64"] }]`, last, last)
		default:
			p(`interface = [{ name = "eth0", addresses = ["192.168.1.%s/24", "2001:db8:1::%s/64"], gateway = "192.168.1.254", gateway6 = "2001:db8:1::fe" }]`, last, last)
		}
		p(`service = [{ type = "http", port = 80 }]`)
	}

	if c.direct() {
		for i, ep := range []string{"lb1:eth0", "c1:eth0", "rs1:eth0", "rs2:eth0"} {
			p("\n[[links]]\nendpoints = [%q, \"lan:p%d\"]", ep, i)
		}
	} else {
		p("\n[[links]]\nendpoints = [\"c1:eth0\", \"lb1:eth0\"]")
		for i, ep := range []string{"lb1:eth1", "rs1:eth0", "rs2:eth0"} {
			p("\n[[links]]\nendpoints = [%q, \"back:p%d\"]", ep, i)
		}
	}
	p("\n[[expect]]\nmax_errors = 0\nmin_requests = %d", methodAnswered)
	for _, s := range []string{"rs1", "rs2"} {
		p("\n[[expect]]\nserver = %q\nshare = [25, 75]", s)
	}
	return b.String()
}

func pick(v6 bool, a6, a4 string) string {
	if v6 {
		return a6
	}
	return a4
}
