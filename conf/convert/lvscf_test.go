package convert

import (
	"testing"
)

func lvscf(t *testing.T, text string) *Result {
	t.Helper()
	res, err := LVSCF("lvs.cf", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestLVSCFStandalone: without a backup, there is no VRRP; the NAT router is the router's
// own address.
func TestLVSCFStandalone(t *testing.T) {
	res := lvscf(t, `
primary = 192.168.0.10
backup_active = 0
backup = 192.168.0.11
network = nat
nat_router = 10.0.0.1 eth1:1
syncdaemon = 1
syncd_iface = eth1
syncd_id = 3
tcp_timeout = 600
udp_timeout = 0
virtual dns {
    active = 1
    address = 192.168.0.100 eth0:1
    port = domain
    protocol = udp
    send = "\x00"
    expect = "ok"
    scheduler = rr
    persistent = 60
    pmask = 255.255.255.0
    timeout = 5
    quiesce_server = 1
    load_monitor = ruptime
    sorry_server = 10.0.0.99
    server a {
        address = 10.0.0.20
        active = 1
        weight = 2
        port = 5353
    }
    server b {
        address = 10.0.0.21
        active = 0
    }
}
virtual off {
    active = 0
    address = 192.168.0.101 eth0:2
}
failover ftp {
    address = 192.168.0.102 eth0:3
}
`)
	has(t, res, `"10.0.0.1/24", # lvs.cf's nat_router`, `"192.168.0.10/24", # lvs.cf's primary`,
		`address = "192.168.0.100:53"`, `protocol = "udp"`, `lb_kind = "NAT"`, `persistence_granularity = "255.255.255.0"`,
		`inhibit_on_failure = true`, `rise = 36`, `address = "10.0.0.20:5353"`, `weight = 2`,
		`[[virtual_server.real_server.udp_check]]`, `require_reply = "0x 6f 6b"`, `connect_port = 5353`,
		`[virtual_server.sorry_server]`, `[sync]`, `role = "master"`, `id = 3`, `tcp = 600`)
	hasNot(t, res, "vrrp_instance", "10.0.0.21", "192.168.0.101")
	hasNote(t, res, "backup = 192.168.0.11: not supported (no backup router", "load_monitor = ruptime",
		"server b: not supported (inactive", "virtual off: not supported (inactive", "failover ftp")
	c := accepts(t, res)
	runAppliance(t, c)
}

// TestLVSCFChecks: the send and expect strings become the closest checker.
func TestLVSCFChecks(t *testing.T) {
	res := lvscf(t, `
primary = 10.0.0.2
network = direct
virtual web {
    address = 10.0.0.10 eth0
    port = 80
    send = "HEAD /ping HTTP/1.1\r\nHost: x\r\n\r\n"
    expect = "HTTP/1."
    server s { address = 10.0.0.20 }
}
`)
	if len(res.Unsupported) == 0 {
		t.Fatalf("the one-line server block is refused by Piranha: expected a note")
	}
	res = lvscf(t, `
primary = 10.0.0.2
network = direct
keepalive = 1
deadtime = 10
backup_active = 1
backup = 10.0.0.3
monitor_links = 0
active_cmd = "/usr/local/bin/became-active now"
inactive_cmd = /bin/x y
virtual web {
    address = 10.0.0.10 eth0
    port = http
    send = "HEAD /ping HTTP/1.1\r\nHost: x\r\n\r\n"
    expect = "HTTP/1."
    server s {
        address = 10.0.0.20
    }
}
virtual smtp {
    address = 10.0.0.11 eth0
    port = 25
    expect = "220"
    server s {
        address = 10.0.0.20
        port = 2525
    }
}
virtual re {
    address = 10.0.0.12 eth0
    port = 80
    send = "GET / HTTP/1.0\r\n\r\n"
    expect = "HTTP.*200"
    use_regex = 1
    server s {
        address = 10.0.0.20
    }
}
`)
	has(t, res, `path = "/ping"`, `status_code = "100-599"`, `[[virtual_server.real_server.tcp_check]]`,
		`dont_track_primary = true`, `notify_master = "/usr/local/bin/became-active now"`, `advert_int = 1`,
		`virtual_ipaddress = ["10.0.0.10", "10.0.0.11", "10.0.0.12"]`, `unicast_peer = ["10.0.0.3"]`,
		`address = "10.0.0.20"`)
	hasNote(t, res, "expect = 220: not supported (uvs's tcp_check sends nothing and expects nothing",
		"use_regex = 1: not supported (uvs has no regular expressions", "deadtime = 10: not supported (VRRP declares a master dead after 3 advert intervals",
		"port = 2525: not supported (DR servers get the client's port",
		"inactive_cmd = /bin/x y: not supported (inactive_cmd takes 1 value(s)")
	c := accepts(t, res)
	runAppliance(t, c)
}

func TestLVSCFNotLVS(t *testing.T) {
	if _, err := LVSCF("x", []byte("just some words\n")); err == nil {
		t.Error("a file with no setting is accepted")
	}
}
