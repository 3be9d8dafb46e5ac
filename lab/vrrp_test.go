package lab

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestVRRPTakeover kills the MASTER of an HA pair mid-run and checks what the report measured:
// lb1 goes DOWN at the kill, lb2 becomes MASTER "master down" one master-down interval after
// the last advert it heard (3 × advert_int + its skew time, less up to an advert interval:
// the kill falls somewhere between two adverts), and the clients' new connections are served
// again right after: their short timeout (250 ms, under TCP's first SYN retransmission)
// makes every request sent to the dead master an error, so the last error after the kill
// dates when new connections reached lb2. The long-lived connections lb1 carried break (no
// connection sync) and reconnect through lb2.
//
// Two timings: keepalived's usual (version 2, an advert a second: 3.61 s) and a fast one
// (version 3, every 100 ms: 0.36 s).
func TestVRRPTakeover(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name      string
		version   int
		advert    time.Duration
		skewUnit  time.Duration // version 2 skews in seconds, version 3 in advert intervals
		kill, end time.Duration
	}{
		{"v3-100ms", 3, 100 * time.Millisecond, 100 * time.Millisecond, 2 * time.Second, 4 * time.Second},
		{"v2-1s", 2, time.Second, time.Second, 3 * time.Second, 9 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			topo, err := Parse(c.name+".toml", []byte(takeoverTopology(c.version, c.advert, c.kill, c.end)))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), c.end+30*time.Second)
			defer cancel()
			rep, err := Run(ctx, topo, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { explain(t, rep) })
			for _, x := range rep.Failed() {
				t.Errorf("expectation failed: %v", x.Error())
			}
			// The master-down interval of lb2 (priority 100).
			masterDown := 3*c.advert + (256-100)*c.skewUnit/256
			takeover := takeoverTime(t, rep, "VI_FRONT", "lb2", c.kill)
			const slack = 50 * time.Millisecond // the watch's dating, timers, a busy machine
			if takeover < masterDown-c.advert-slack || takeover > masterDown+slack {
				t.Errorf("lb2 took over %v after the kill; want %v − %v to %v", takeover, masterDown, c.advert, masterDown)
			}
			if back := takeoverTime(t, rep, "VI_BACK", "lb2", c.kill); back-takeover > 2*vrrpPoll {
				t.Errorf("VI_BACK followed VI_FRONT %v later; a sync group moves together", back-takeover)
			}
			served := servedAgain(rep, c.kill)
			t.Logf("takeover %v after the kill (master-down interval %v); new connections served again %v after it", takeover, masterDown, served)
			if served < 0 || served > takeover+200*time.Millisecond {
				t.Errorf("new connections served again %v after the kill, %v after the takeover", served, served-takeover)
			}
			long := client(t, rep, "c2/tcp-long")
			if long.Errors < 4 {
				t.Errorf("the long-lived connections saw %d errors; the 4 lb1 carried break with it (%v)", long.Errors, long.ErrorKinds)
			}
			last := c.end - time.Second
			if n := answeredIn(rep, "rs1", last, c.end) + answeredIn(rep, "rs2", last, c.end); n < 150 {
				t.Errorf("%d requests answered in the last second", n)
			}
			if n := errorsIn(rep, c.kill+takeover+500*time.Millisecond, c.end); n > 0 {
				t.Errorf("%d errors after the takeover", n)
			}
		})
	}
}

// takeoverTime returns how long after at the report says app became MASTER of instance.
func takeoverTime(t *testing.T, rep *Report, instance, app string, at time.Duration) time.Duration {
	t.Helper()
	i := slices.IndexFunc(rep.VRRP, func(v VRRPTransition) bool {
		return v.Instance == instance && v.Appliance == app && v.To == "MASTER" && v.At >= at
	})
	if i < 0 {
		t.Fatalf("%s never became MASTER of %s after %v: %+v", app, instance, at, rep.VRRP)
	}
	if v := rep.VRRP[i]; v.From != "BACKUP" || v.Reason != "master down" {
		t.Errorf("%s %s %s → %s: %s; want BACKUP → MASTER: master down", app, instance, v.From, v.To, v.Reason)
	}
	return rep.VRRP[i].At - at
}

// servedAgain returns how long after at the clients' requests stopped failing: the end of
// the last bucket with errors after at (at itself when none failed).
func servedAgain(rep *Report, at time.Duration) time.Duration {
	end := at
	for _, p := range rep.Series {
		if p.Start+rep.Bucket > at && p.Errors > 0 {
			end = p.Start + rep.Bucket
		}
	}
	return end - at
}

// takeoverTopology is an HA pair (lb1 MASTER, lb2 BACKUP; the client side's VIP and the
// servers' gateway in one sync group) in front of two real servers, with lb1 killed at kill.
// c1 makes a new connection for each request, 200 a second; c2 holds 4 long-lived ones.
func takeoverTopology(version int, advert, kill, end time.Duration) string {
	appliance := func(n int, state string, prio int) string {
		var b strings.Builder
		fmt.Fprintf(&b, "[nodes.lb%d]\nkind = \"appliance\"\nconfig = '''\n", n)
		fmt.Fprintf(&b, "[[interface]]\nname = \"eth0\"\nkind = \"memory\"\naddresses = [\"10.0.0.%d/24\"]\n", n+1)
		fmt.Fprintf(&b, "[[interface]]\nname = \"eth1\"\nkind = \"memory\"\naddresses = [\"192.168.1.%d/24\"]\n", n+1)
		b.WriteString("[[vrrp_sync_group]]\nname = \"VG1\"\ngroup = [\"VI_FRONT\", \"VI_BACK\"]\n")
		for _, in := range []struct {
			name, ifc, vip string
			vrid           int
		}{{"VI_FRONT", "eth0", "10.0.0.1", 51}, {"VI_BACK", "eth1", "192.168.1.254", 52}} {
			fmt.Fprintf(&b, "[[vrrp_instance]]\nname = %q\nstate = %q\ninterface = %q\nvirtual_router_id = %d\npriority = %d\n",
				in.name, state, in.ifc, in.vrid, prio)
			fmt.Fprintf(&b, "version = %d\nadvert_int = %g\nvirtual_ipaddress = [%q]\n", version, advert.Seconds(), in.vip)
		}
		b.WriteString("[[virtual_server]]\naddress = \"10.0.0.1:80\"\nlb_algo = \"rr\"\n")
		b.WriteString("  [[virtual_server.real_server]]\n  address = \"192.168.1.21:80\"\n")
		b.WriteString("  [[virtual_server.real_server]]\n  address = \"192.168.1.22:80\"\n")
		b.WriteString("[[virtual_server]]\naddress = \"10.0.0.1:7\"\nlb_algo = \"rr\"\n")
		b.WriteString("  [[virtual_server.real_server]]\n  address = \"192.168.1.21:7\"\n")
		b.WriteString("  [[virtual_server.real_server]]\n  address = \"192.168.1.22:7\"\n'''\n\n")
		return b.String()
	}
	return fmt.Sprintf(`name = "takeover"
duration = "%v"
bucket = "10ms"
requires = ["vrrp"]

%s%s[nodes.front]
kind = "switch"

[nodes.back]
kind = "switch"

[nodes.c1]
kind = "client"
interface = [{ name = "eth0", addresses = ["10.0.0.11/24"] }]
load = [{ type = "http", target = "10.0.0.1:80", rate = 200, timeout = "250ms" }]

[nodes.c2]
kind = "client"
interface = [{ name = "eth0", addresses = ["10.0.0.12/24"] }]
load = [{ type = "tcp-long", target = "10.0.0.1:7", conns = 4, interval = "100ms", timeout = "250ms" }]

[nodes.rs1]
kind = "host"
interface = [{ name = "eth0", addresses = ["192.168.1.21/24"], gateway = "192.168.1.254" }]
service = [{ type = "http", port = 80 }, { type = "tcp-echo", port = 7 }]

[nodes.rs2]
kind = "host"
interface = [{ name = "eth0", addresses = ["192.168.1.22/24"], gateway = "192.168.1.254" }]
service = [{ type = "http", port = 80 }, { type = "tcp-echo", port = 7 }]

[[links]]
endpoints = ["lb1:eth0", "front:p1"]
[[links]]
endpoints = ["lb2:eth0", "front:p2"]
[[links]]
endpoints = ["lb1:eth1", "back:p1"]
[[links]]
endpoints = ["lb2:eth1", "back:p2"]
[[links]]
endpoints = ["c1:eth0", "front:p11"]
[[links]]
endpoints = ["c2:eth0", "front:p12"]
[[links]]
endpoints = ["rs1:eth0", "back:p21"]
[[links]]
endpoints = ["rs2:eth0", "back:p22"]

[[events]]
at = "%v"
action = "kill"
node = "lb1"

[[expect]]
vrrp = "VI_FRONT"
takeover_within = "%v"
master = "lb2"
[[expect]]
vrrp = "VI_BACK"
takeover_within = "%v"
master = "lb2"
`, end, appliance(1, "MASTER", 150), appliance(2, "BACKUP", 100), kill, 4*advert, 4*advert)
}
