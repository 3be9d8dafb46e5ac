package convert

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/uvs-lb/uvs/conf"
)

// ka converts a keepalived.conf given as text.
func ka(t *testing.T, text string) *Result {
	t.Helper()
	res, err := KeepalivedFS(fstest.MapFS{"keepalived.conf": {Data: []byte(text)}}, "keepalived.conf")
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func has(t *testing.T, res *Result, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(string(res.TOML), l) {
			t.Errorf("no %q in\n%s", l, res.TOML)
		}
	}
}

// hasNot checks that the TOML, without its comments, does not contain any of the strings.
func hasNot(t *testing.T, res *Result, strs ...string) {
	t.Helper()
	var b strings.Builder
	for _, l := range strings.Split(string(res.TOML), "\n") {
		if i := strings.Index(l, "#"); i >= 0 {
			l = l[:i]
		}
		b.WriteString(l + "\n")
	}
	for _, s := range strs {
		if strings.Contains(b.String(), s) {
			t.Errorf("%q in\n%s", s, res.TOML)
		}
	}
}

func hasNote(t *testing.T, res *Result, notes ...string) {
	t.Helper()
	for _, want := range notes {
		found := false
		for _, n := range res.Unsupported {
			found = found || strings.Contains(n.String(), want)
		}
		if !found {
			var all []string
			for _, n := range res.Unsupported {
				all = append(all, n.String())
			}
			t.Errorf("no note %q in:\n%s", want, strings.Join(all, "\n"))
		}
	}
}

// accepts parses a conversion as conf does (its interfaces made memory ones).
func accepts(t *testing.T, res *Result) *conf.Config {
	t.Helper()
	return parseConverted(t, "converted", res.TOML)
}

// TestMasterWithoutPriority: keepalived makes such an instance the address owner, whose
// virtual addresses are its own.
func TestMasterWithoutPriority(t *testing.T) {
	res := ka(t, `
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 9
    nopreempt
    virtual_ipaddress {
        10.0.0.1/24
    }
}`)
	has(t, res, `priority = 255`, `"10.0.0.1/24", # the address owner's virtual address`)
	hasNot(t, res, "nopreempt")
	hasNote(t, res, "keepalived ignores nopreempt with state MASTER or priority 255")
	c := accepts(t, res)
	if c.VRRPInstances[0].Priority != 255 || c.VRRPInstanceOf(c.Interfaces[0].Addresses[0].Addr()) != nil {
		t.Errorf("not the address owner: %+v", c.VRRPInstances[0])
	}
	runAppliance(t, c)
}

// TestInstanceAdjustments: what keepalived ignores or rounds, the conversion leaves out or
// rounds the same way.
func TestInstanceAdjustments(t *testing.T) {
	res := ka(t, `
vrrp_instance A {
    state BACKUP
    interface eth0
    virtual_router_id 1
    priority 100
    advert_int 1.5
    nopreempt
    preempt_delay 10
    unicast_src_ip 10.0.0.5
    authentication {
        auth_type PASS
        auth_pass averylongpassword
    }
    virtual_ipaddress {
        10.0.0.1 dev eth1 brd 10.0.0.255 scope global
    }
    garp_lower_prio_repeat 3
    notify_master /bin/notify master
}
vrrp_instance B {
    interface eth0
    virtual_router_id 2
    version 3
    advert_int 0.125
    authentication {
        auth_type PASS
        auth_pass x
    }
    virtual_ipaddress {
        10.0.1.1
    }
    track_process {
        haproxy
    }
}`)
	has(t, res,
		`advert_int = 2`, `keepalived rounds advert_int 1.5 for VRRP version 2`,
		`advert_int = 0.13`,
		`auth_pass = "averylon"`, `keepalived sends the first 8 bytes of "averylongpassword"`,
		`mcast_src_ip = "10.0.0.5"`, `{ address = "10.0.0.1", dev = "eth1" }`,
		`notify_master = "/bin/notify"`)
	hasNot(t, res, "preempt_delay", "unicast_src_ip")
	hasNote(t, res,
		"keepalived ignores preempt_delay with nopreempt or state MASTER",
		"brd 10.0.0.255: uvs puts no address on the host; scope global: uvs puts no address on the host",
		"garp_lower_prio_repeat 3: not supported",
		"master: not supported (notify and quorum scripts run as the user uvs runs as; if these words were meant as the script's arguments",
		"VRRP version 3 has no authentication",
		"track_process: not supported")
	accepts(t, res)
}

// TestSyncGroupTracking: members of a sync group without sync_group_tracking_weight track
// with weight 0, as keepalived makes them.
func TestSyncGroupTracking(t *testing.T) {
	res := ka(t, `
vrrp_script chk {
    script "pidof haproxy"
    weight 2
}
vrrp_script chk0 {
    script "pidof nginx"
}
track_file maint {
    file /run/maint
}
vrrp_sync_group G {
    group {
        A B C
    }
    notify "/bin/group-notify"
}
vrrp_instance A {
    interface eth0
    virtual_router_id 1
    virtual_ipaddress { 10.0.0.1 }
    track_interface {
        eth2 weight -20
    }
    track_script {
        chk
        chk0
    }
    track_file {
        maint
    }
}
vrrp_instance B {
    interface eth1
    virtual_router_id 2
    virtual_ipaddress { 10.1.0.1 }
}`)
	has(t, res, `group = ["A", "B"]`, `track_interface = [{ name = "eth2", weight = 0 }]`,
		`track_script = ["chk0"]`, `track_file = [{ name = "maint", weight = 0 }]`, `name = "eth2"`)
	hasNote(t, res, "vrrp_instance C does not exist",
		"eth2 weight -20: not supported (keepalived ignores the weight in a sync group",
		"chk: not supported (keepalived stops tracking a weighted tracker in a sync group",
		"maint: not supported (keepalived ignores the weight in a sync group")
	accepts(t, res)
}

// TestSyncGroupOfOne: uvs refuses what keepalived only warns about.
func TestSyncGroupOfOne(t *testing.T) {
	res := ka(t, `
vrrp_sync_group G {
    group {
        A
    }
}
vrrp_instance A {
    interface eth0
    virtual_router_id 1
    virtual_ipaddress { 10.0.0.1 }
}`)
	hasNot(t, res, "vrrp_sync_group")
	hasNote(t, res, "a sync group of one instance synchronises nothing")
	accepts(t, res)
}

func TestVirtualServerGroup(t *testing.T) {
	res := ka(t, `
virtual_server_group WEB {
    10.0.0.1-3 80
    2001:db8::10 80
    fwmark 5
}
virtual_server group WEB {
    lb_algo sh
    sh-port
    mh-fallback
    persistence_timeout
    real_server 10.0.1.20 8080 {
        weight 2
        TCP_CHECK {
            connect_timeout 2
        }
    }
}
virtual_server group NONE {
    real_server 10.0.1.21 80 {
    }
}`)
	for _, a := range []string{"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"} {
		has(t, res, `address = "`+a+`"`)
	}
	has(t, res, `fwmark = 5`, `sched_flags = ["sh-port"]`, `persistence_timeout = 360`, `destination = "192.0.2.0/24"`)
	hasNote(t, res, "mh-fallback: not supported (applies to the sh and mh schedulers only",
		"virtual_server group NONE: not supported (no virtual_server_group NONE",
		"virtual_server group WEB: not supported (the packets' firewall marks come from iptables rules",
		"virtual_server group WEB: not supported ([2001:db8::10]:80 has no real server of its family")
	hasNot(t, res, "2001:db8::10")
	accepts(t, res)
}

// TestCheckers converts every checker and the service and server health keys.
func TestCheckers(t *testing.T) {
	res := ka(t, `
track_file weightfile {
    file /run/weight
    weight -3 reverse
}
virtual_server 192.168.1.1 53 {
    protocol UDP
    lb_algo rr
    ops
    delay_loop 2.5
    retry 2
    quorum 1
    hysteresis 0
    quorum_up "/bin/q up"
    alpha
    omega
    real_server 10.0.0.20 53 {
        weight 3
        inhibit_on_failure
        notify_down "/bin/down 10.0.0.20"
        UDP_CHECK {
            payload Ab12f 3
            require_reply 00 0X ff
            min_reply_length 4
        }
        DNS_CHECK {
            type a
            name example.com
        }
        PING_CHECK {
            connect_port 7
            delay_loop 1
        }
        FILE_CHECK {
            track_file weightfile
        }
        SMTP_CHECK {
        }
    }
}
virtual_server 192.168.1.1 443 {
    real_server 10.0.0.20 8443 {
        SSL_GET {
            url {
                path /health
                status_code 200-299 301 503
                regex OK
            }
            enable_sni
            sni_name www.example.com
            http_protocol 1.1
            nb_get_retry 4
        }
        MISC_CHECK {
            misc_path "/usr/bin/check --port 8443"
            misc_timeout 4
            misc_dynamic
            user nobody :nogroup
            fwmark 3
        }
        HTTP_GET {
            connect_port 8080
        }
    }
}`)
	has(t, res,
		`protocol = "udp"`, `ops = true`, `delay_loop = 2.5`, `quorum_up = "/bin/q up"`, `omega = true`,
		`inhibit_on_failure = true`, `notify_down = "/bin/down 10.0.0.20"`,
		`payload = "0x ab 12 0f 03"`, `require_reply = "0x 00"`,
		`type = "A"`, `name = "example.com"`,
		`[[virtual_server.real_server.ping_check]]`,
		`file = "/run/weight"`, `weight = -3`, `reverse = true`,
		`status_code = ["200-299", 301, 503]`, `enable_sni = true`, `sni_name = "www.example.com"`, `retry = 4`,
		`misc_path = "/usr/bin/check --port 8443"`, `misc_timeout = 4`, `misc_dynamic = true`, `user = "nobody"`, `group = "nogroup"`)
	hasNote(t, res, "require_reply 00 0X ff: not supported (uvs has no X wildcards: the reply is matched on the bytes before the first one (1))",
		"min_reply_length 4", "connect_port 7: not supported (an ICMP echo has no port)", "SMTP_CHECK",
		"regex OK", "http_protocol 1.1", ":nogroup: not supported (supplementary groups", "fwmark 3",
		"HTTP_GET: not supported (no url: keepalived ignores the checker)")
	accepts(t, res)
}

// TestDRPorts: a DR or TUN server's port is the service's, whatever keepalived.conf says.
func TestDRPorts(t *testing.T) {
	res := ka(t, `
virtual_server 10.0.0.1 80 {
    lb_kind DR
    real_server 10.0.0.20 8080 {
        TCP_CHECK {
        }
    }
    real_server 10.0.0.21 80 {
        lvs_method TUN type gue port 6080 csum
    }
}`)
	has(t, res, `address = "10.0.0.20"  # DR servers get the client's port: keepalived's port 8080 has no effect`,
		`address = "10.0.0.21:80"`, `tun_type = "gue"`, `tun_port = 6080`, `tun_flags = "csum"`)
	accepts(t, res)
}

// TestIPv6Instance: multicast IPv6 adverts need a link-local source, which is derived.
func TestIPv6Instance(t *testing.T) {
	res := ka(t, `
global_defs {
    vrrp_version 3
    vrrp_garp_master_refresh 60
    vrrp_notify_fifo /run/keepalived.fifo root
    notify_fifo_script "/bin/fifo reader"
    lvs_timeouts tcp 7200 tcpfin 60 udp 30
    lvs_sync_daemon eth0 VI_6 id 6 maxlen 1200
}
vrrp_instance VI_6 {
    interface eth0
    virtual_router_id 60
    priority 150
    advert_int 0.5
    virtual_ipaddress {
        fe80::60
        2001:db8:1::10/64
    }
    virtual_ipaddress_excluded {
        203.0.113.10
    }
    notify "/usr/local/bin/vrrp-notify"
}`)
	has(t, res, `"fe80::fe/64", # FILL IN`, `"2001:db8:1::fe/64", # FILL IN`, `"203.0.113.254/24", # FILL IN`,
		`[ipvs.timeouts]`, `tcp = 7200`, `[sync]`, `vrrp_instance = "VI_6"`, `id = 6`, `maxlen = 1200`,
		`notify_fifo = "/run/keepalived.fifo"`, `garp_master_refresh = 60`)
	hasNote(t, res, "root: not supported (the FIFO is created by the user uvs runs as)")
	c := accepts(t, res)
	runAppliance(t, c)
}

// TestUnknownAndUnsupported: whatever is not converted is noted, never dropped silently.
func TestUnknownAndUnsupported(t *testing.T) {
	res := ka(t, `
global_defs {
    router_id lb1
    enable_script_security
    vrrp_iptables
    frobnicate 3
}
static_ipaddress {
    192.168.1.1/24 dev eth0
}
vrp_instance X {
}
virtual_server 10.0.0.1 80 {
    protocol SCTP
    real_server 10.0.0.2 80 {
    }
}
virtual_server 10.0.0.1 81 {
    sorry_server 10.0.0.9 81
}
}
`)
	hasNote(t, res, "router_id lb1", "enable_script_security", "vrrp_iptables: not supported (uvs uses no iptables)",
		"frobnicate 3: not supported (unknown keyword in global_defs",
		"static_ipaddress: not supported", "vrp_instance X: not supported (unknown keyword: keepalived ignores it and its block; did you mean vrrp_instance?",
		"protocol SCTP: not supported (uvs has no SCTP services yet", "virtual_server 10.0.0.1 81: not supported (no real_server",
		"}: not supported (extra '}'")
	accepts(t, res)
}
