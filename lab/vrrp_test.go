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
// dates when new connections reached lb2. The long-lived connections lb1 carried break
// without connection sync, and reconnect through lb2; with it ([sync] following VI_FRONT)
// lb2 has them, and they live on: none breaks, none reconnects.
//
// Two timings: keepalived's usual (version 2, an advert a second: 3.61 s) and a fast one
// (version 3, every 100 ms: 0.36 s); each without sync and with it. Without, the long-lived
// connections give up on an echo after 250 ms, as the short requests do; with it, after
// 2 s and 8 s, for TCP to send the lines lost with lb1 again to lb2 (it tries again 0.2 s,
// 0.4 s, 0.8 s, ... after the loss: the first try after the takeover is the one at 0.4 s,
// and at 6.4 s after a takeover of 3.6 s).
func TestVRRPTakeover(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name        string
		version     int
		advert      time.Duration
		skewUnit    time.Duration // version 2 skews in seconds, version 3 in advert intervals
		kill, end   time.Duration
		sync        bool
		longTimeout time.Duration
	}{
		{"v3-100ms", 3, 100 * time.Millisecond, 100 * time.Millisecond, 2 * time.Second, 4 * time.Second, false, 250 * time.Millisecond},
		{"v2-1s", 2, time.Second, time.Second, 3 * time.Second, 9 * time.Second, false, 250 * time.Millisecond},
		{"v3-100ms-sync", 3, 100 * time.Millisecond, 100 * time.Millisecond, 2 * time.Second, 5 * time.Second, true, 2 * time.Second},
		{"v2-1s-sync", 2, time.Second, time.Second, 3 * time.Second, 12 * time.Second, true, 8 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			topo, err := Parse(c.name+".toml", []byte(takeoverTopology(c.version, c.advert, c.kill, c.end, c.sync, c.longTimeout)))
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
			t.Logf("long-lived connections: %d, kept %d, broken %d, reconnected %d; errors %v; slowest echo %v",
				long.Conns, long.Kept, long.Broken, long.Reconnects, long.ErrorKinds, long.Max)
			if !c.sync && (long.Broken < 4 || long.Reconnects < 4 || long.Kept != 0) {
				t.Errorf("without sync, the 4 long-lived connections lb1 carried break with it and reconnect: kept %d, broken %d, reconnected %d (%v)",
					long.Kept, long.Broken, long.Reconnects, long.ErrorKinds)
			}
			if c.sync {
				if long.Conns != 4 || long.Kept != 4 || long.Broken != 0 || long.Reconnects != 0 || long.Errors != 0 {
					t.Errorf("with sync, the 4 long-lived connections live through the takeover: kept %d of %d, broken %d, reconnected %d, errors %v",
						long.Kept, long.Conns, long.Broken, long.Reconnects, long.ErrorKinds)
				}
				lb1, lb2 := applianceReport(t, rep, "lb1"), applianceReport(t, rep, "lb2")
				if lb1.Sync == nil || lb2.Sync == nil || lb1.Sync.ConnsSent == 0 || lb2.Sync.Installed == 0 || lb2.Sync.InstallFailed != 0 || lb2.Sync.Role != "master" {
					t.Errorf("sync: lb1 %+v, lb2 %+v", lb1.Sync, lb2.Sync)
				}
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

// applianceReport returns the report of appliance name.
func applianceReport(t *testing.T, rep *Report, name string) ApplianceReport {
	t.Helper()
	i := slices.IndexFunc(rep.Appliances, func(a ApplianceReport) bool { return a.Name == name })
	if i < 0 {
		t.Fatalf("no appliance %s", name)
	}
	return rep.Appliances[i]
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
// servers' gateway in one sync group) in front of two real servers, with lb1 killed at kill;
// with sync, the pair syncs its connections, the role following VI_FRONT. c1 makes a new
// connection for each request, 200 a second; c2 holds 4 long-lived ones, which give up on
// an echo after longTimeout.
func takeoverTopology(version int, advert, kill, end time.Duration, sync bool, longTimeout time.Duration) string {
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
		if sync {
			b.WriteString("[sync]\ninterface = \"eth1\"\nvrrp_instance = \"VI_FRONT\"\n")
		}
		b.WriteString("[[virtual_server]]\naddress = \"10.0.0.1:80\"\nlb_algo = \"rr\"\n")
		b.WriteString("  [[virtual_server.real_server]]\n  address = \"192.168.1.21:80\"\n")
		b.WriteString("  [[virtual_server.real_server]]\n  address = \"192.168.1.22:80\"\n")
		b.WriteString("[[virtual_server]]\naddress = \"10.0.0.1:7\"\nlb_algo = \"rr\"\n")
		b.WriteString("  [[virtual_server.real_server]]\n  address = \"192.168.1.21:7\"\n")
		b.WriteString("  [[virtual_server.real_server]]\n  address = \"192.168.1.22:7\"\n'''\n\n")
		return b.String()
	}
	requires := `"vrrp"`
	if sync {
		requires += `, "sync"`
	}
	return fmt.Sprintf(`name = "takeover"
duration = "%v"
bucket = "10ms"
requires = [%s]

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
load = [{ type = "tcp-long", target = "10.0.0.1:7", conns = 4, interval = "100ms", timeout = "%v" }]

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
`, end, requires, appliance(1, "MASTER", 150), appliance(2, "BACKUP", 100), longTimeout, kill, 4*advert, 4*advert)
}
