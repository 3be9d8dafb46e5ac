package metrics

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/uvs-lb/uvs/control"
	"github.com/uvs-lb/uvs/vrrp"
)

var update = flag.Bool("update", false, "rewrite testdata/collector.golden from the collector's output")

var (
	t0      = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	started = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
)

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func tcpKey(a string, port uint16) control.ServiceKey {
	k := control.ServiceKey{Proto: "TCP", Addr: ip(a), Port: port, Family: "inet"}
	if k.Addr.Is6() {
		k.Family = "inet6"
	}
	return k
}

// richSnapshot is an appliance with a bit of everything: TCP and UDP services, IPv6,
// full-NAT and tunnel servers, a server out of the table, checkers (two of one kind on one
// server), firewall-mark services of both families with the same mark, a sorry server in
// use, two VRRP instances, the sync daemon, drops and ports.
func richSnapshot() *control.Snapshot {
	web := tcpKey("10.0.0.1", 80)
	dns := control.ServiceKey{Proto: "UDP", Addr: ip("10.0.0.1"), Port: 53, Family: "inet"}
	web6 := tcpKey("2001:db8::1", 443)
	fwm4 := control.ServiceKey{FWMark: 1, Family: "inet"}
	fwm6 := control.ServiceKey{FWMark: 1, Family: "inet6"}
	spec := func(k control.ServiceKey, sched string) control.ServiceSpec {
		return control.ServiceSpec{ServiceKey: k, Scheduler: sched}
	}
	server := func(svc control.ServiceKey, a string, port uint16, method string, w int32) control.Server {
		return control.Server{ServerSpec: control.ServerSpec{Service: svc, Addr: ip(a), Port: port, Method: method, Weight: w},
			CurrentWeight: w, InTable: true, Alive: true}
	}

	web1 := server(web, "192.168.1.21", 8080, "Masq", 100)
	web1.ActiveConns, web1.InactConns, web1.PersistConns = 12, 3, 0
	web1.Stats = control.Stats{Conns: 1000, InPkts: 20000, OutPkts: 18000, InBytes: 3_000_000, OutBytes: 90_000_000}
	web1.Checks = []control.Check{{Kind: "HTTP_GET", Up: true, LastCheck: t0.Add(-2 * time.Second), Checks: 500, Failed: 2, Ups: 2, Downs: 1}}
	web2 := server(web, "192.168.1.22", 8080, "Masq", 100)
	web2.CurrentWeight, web2.InTable, web2.Alive = 0, false, false
	web2.Checks = []control.Check{{Kind: "TCP_CHECK", Up: false, LastCheck: t0.Add(-1 * time.Second), LastReason: "connection refused", Checks: 480, Failed: 40, Ups: 1, Downs: 2}}

	dns1 := server(dns, "192.168.1.31", 53, "Route", 1)
	dns1.InactConns = 40
	dns1.Stats = control.Stats{Conns: 700, InPkts: 700, OutPkts: 0, InBytes: 49_000, OutBytes: 0}

	v6a := server(web6, "2001:db8:1::10", 8443, "FullNat", 50)
	v6a.ActiveConns, v6a.InactConns = 5, 1
	v6a.Stats = control.Stats{Conns: 300, InPkts: 6000, OutPkts: 5800, InBytes: 800_000, OutBytes: 7_000_000}
	v6a.Checks = []control.Check{
		{Kind: "HTTP_GET", Up: true, Checks: 100, Failed: 0, Ups: 1},
		{Kind: "HTTP_GET", Up: true, Checks: 100, Failed: 1, Ups: 1},
	}
	v6b := server(web6, "2001:db8:1::11", 8443, "Tunnel", 50)
	v6b.TunType = "gue"
	v6b.CurrentWeight = 0 // inhibit_on_failure: in the table at weight 0
	v6b.Alive = false
	v6b.Checks = []control.Check{{Kind: "SSL_GET", Up: false, Checks: 90, Failed: 90, Downs: 1}}

	f4 := server(fwm4, "192.168.1.41", 0, "Route", 10)
	f4.Stats = control.Stats{Conns: 10, InPkts: 100, OutPkts: 0, InBytes: 10_000, OutBytes: 0}
	f4.Alive = false
	f4.InTable = false
	f4.CurrentWeight = 0
	sorry := server(fwm4, "192.168.1.99", 80, "Masq", 1)
	sorry.Sorry = true
	sorry.ActiveConns = 2
	sorry.Stats = control.Stats{Conns: 5, InPkts: 50, OutPkts: 40, InBytes: 5000, OutBytes: 4000}
	f6 := server(fwm6, "2001:db8:1::41", 0, "Route", 10)
	f6.ActiveConns = 1
	f6.Stats = control.Stats{Conns: 20, InPkts: 200, OutPkts: 0, InBytes: 20_000, OutBytes: 0}

	return &control.Snapshot{
		Time:    t0,
		Build:   control.Build{Version: "1.2.3", Revision: "abc", GoVersion: "go1.26.3"},
		Started: started,
		Services: []control.Service{
			{ServiceSpec: spec(web, "wlc"), Name: "[10.0.0.1]:tcp:80", QuorumUp: true, Servers: []control.Server{web1, web2},
				Stats: control.Stats{Conns: 1000, InPkts: 20000, OutPkts: 18000, InBytes: 3_000_000, OutBytes: 90_000_000}},
			{ServiceSpec: spec(dns, "rr"), Name: "[10.0.0.1]:udp:53", QuorumUp: true, Servers: []control.Server{dns1},
				Stats: control.Stats{Conns: 700, InPkts: 700, InBytes: 49_000}},
			{ServiceSpec: spec(web6, "mh"), Name: "[2001:db8::1]:tcp:443", QuorumUp: true, Servers: []control.Server{v6a, v6b},
				Stats: control.Stats{Conns: 300, InPkts: 6000, OutPkts: 5800, InBytes: 800_000, OutBytes: 7_000_000}},
			{ServiceSpec: spec(fwm4, "sh"), Name: "FWM 1 IPv4", QuorumUp: false, Servers: []control.Server{f4, sorry},
				Sorry: &sorry.ServerSpec, Stats: control.Stats{Conns: 15, InPkts: 150, OutPkts: 40, InBytes: 15_000, OutBytes: 4000}},
			{ServiceSpec: spec(fwm6, "sh"), Name: "FWM 1 IPv6", QuorumUp: true, Servers: []control.Server{f6},
				Stats: control.Stats{Conns: 20, InPkts: 200, InBytes: 20_000}},
		},
		VRRP: []control.VRRPInstance{
			{Name: "VI_1", Interface: "eth0", VRID: 51, State: "MASTER", Priority: 150, Version: 3, Interval: time.Second,
				Master: ip("10.0.0.2"), MasterPriority: 150, VIPs: []netip.Addr{ip("10.0.0.1"), ip("2001:db8::1")},
				Stats: map[string]uint64{"advert_rcvd": 10, "advert_sent": 7200, "become_master": 2, "release_master": 1,
					"packet_len_err": 1, "advert_interval_err": 0, "ip_ttl_err": 3, "invalid_type_rcvd": 0, "addr_list_err": 4,
					"invalid_authtype": 0, "authtype_mismatch": 0, "auth_failure": 5, "pri_zero_rcvd": 1, "pri_zero_sent": 1,
					"chk_err": 6, "vers_err": 7, "vrid_err": 8}},
			// Stats partly missing: every counter is still exported, at 0.
			{Name: "VI_2", Interface: "eth1", VRID: 52, State: "BACKUP", Priority: 100, Version: 2, Interval: time.Second,
				Master: ip("10.0.1.3"), MasterPriority: 200, Stats: map[string]uint64{"advert_rcvd": 3600}},
		},
		Sync: control.Sync{Enabled: true, Role: "master", Interface: "eth1", SyncID: 9, Group: "224.0.0.81:8848",
			MessagesSent: 100, ConnsSent: 2500, Installed: 0, SendFailures: 1, Bulk: 2},
		Timeouts: control.Timeouts{TCP: 900, TCPFin: 120, UDP: 300},
		Table:    control.TableCounts{Current: 60, Templates: 2, Capacity: 1 << 20, Inserted: 2035, Expired: 1975, Refused: 0, ClockJumps: 1, ClockOffset: -3599.25},
		Health:   control.HealthCounts{ServersDown: 4, ServersUp: 3, QuorumLost: 1, QuorumGained: 0, Scripts: 6, ScriptFailures: 1},
		Drops:    map[string]uint64{"no_server": 7, "ttl_exceeded": 1, "no_route": 0, "not_for_us": 1234, "icmp_suppressed": 2},
		Ports: []control.Port{
			{Name: "eth0", RxFrames: 40000, RxDropped: 517, RxSYNDropped: 500, Forwarded: 38000, Passed: 700, Rejected: 7, Dropped: 1242, TxFrames: 20000},
			{Name: "eth1", RxFrames: 30000, RxErrors: 1, Forwarded: 29990, Passed: 10, TxFrames: 68000, TxDropped: 3},
		},
	}
}

func staticSource(s *control.Snapshot) Source {
	return func(context.Context) (*control.Snapshot, error) { return s, nil }
}

// scrape GETs the handler's /metrics and returns the body.
func scrape(t *testing.T, h http.Handler, header http.Header) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// TestExposition checks the semantics that matter line by line: node_exporter's label
// values (FWM, IPv6, port 0), the aggregation of the two families' FWM 1, the servers out
// of the table, the checkers, VRRP and the rest, through the HTTP handler.
func TestExposition(t *testing.T) {
	srv := httptest.NewServer(Handler(staticSource(richSnapshot())))
	defer srv.Close()

	const want = `
# HELP uvs_ipvs_backend_connections_active IPVS: the real server's active connections (ipvsadm ActiveConn).
# TYPE uvs_ipvs_backend_connections_active gauge
uvs_ipvs_backend_connections_active{local_address="",local_mark="00000001",local_port="0",proto="FWM",remote_address="192.168.1.99",remote_port="80"} 2
uvs_ipvs_backend_connections_active{local_address="",local_mark="00000001",local_port="0",proto="FWM",remote_address="2001:db8:1::41",remote_port="0"} 1
uvs_ipvs_backend_connections_active{local_address="10.0.0.1",local_mark="",local_port="53",proto="UDP",remote_address="192.168.1.31",remote_port="53"} 0
uvs_ipvs_backend_connections_active{local_address="10.0.0.1",local_mark="",local_port="80",proto="TCP",remote_address="192.168.1.21",remote_port="8080"} 12
uvs_ipvs_backend_connections_active{local_address="2001:db8::1",local_mark="",local_port="443",proto="TCP",remote_address="2001:db8:1::10",remote_port="8443"} 5
uvs_ipvs_backend_connections_active{local_address="2001:db8::1",local_mark="",local_port="443",proto="TCP",remote_address="2001:db8:1::11",remote_port="8443"} 0
# HELP uvs_ipvs_backend_weight IPVS: the real server's current weight, what the scheduler uses (0 while a check holds it down with inhibit_on_failure).
# TYPE uvs_ipvs_backend_weight gauge
uvs_ipvs_backend_weight{local_address="",local_mark="00000001",local_port="0",proto="FWM",remote_address="192.168.1.99",remote_port="80"} 1
uvs_ipvs_backend_weight{local_address="",local_mark="00000001",local_port="0",proto="FWM",remote_address="2001:db8:1::41",remote_port="0"} 10
uvs_ipvs_backend_weight{local_address="10.0.0.1",local_mark="",local_port="53",proto="UDP",remote_address="192.168.1.31",remote_port="53"} 1
uvs_ipvs_backend_weight{local_address="10.0.0.1",local_mark="",local_port="80",proto="TCP",remote_address="192.168.1.21",remote_port="8080"} 100
uvs_ipvs_backend_weight{local_address="2001:db8::1",local_mark="",local_port="443",proto="TCP",remote_address="2001:db8:1::10",remote_port="8443"} 50
uvs_ipvs_backend_weight{local_address="2001:db8::1",local_mark="",local_port="443",proto="TCP",remote_address="2001:db8:1::11",remote_port="8443"} 0
# HELP uvs_ipvs_service_connections_total IPVS: the virtual service's connections scheduled.
# TYPE uvs_ipvs_service_connections_total counter
uvs_ipvs_service_connections_total{local_address="",local_mark="00000001",local_port="0",proto="FWM"} 35
uvs_ipvs_service_connections_total{local_address="10.0.0.1",local_mark="",local_port="53",proto="UDP"} 700
uvs_ipvs_service_connections_total{local_address="10.0.0.1",local_mark="",local_port="80",proto="TCP"} 1000
uvs_ipvs_service_connections_total{local_address="2001:db8::1",local_mark="",local_port="443",proto="TCP"} 300
# HELP uvs_ipvs_service_quorum_up Whether the virtual service's alive real servers reach its quorum (1) or not (0); 1 without checks.
# TYPE uvs_ipvs_service_quorum_up gauge
uvs_ipvs_service_quorum_up{local_address="",local_mark="00000001",local_port="0",proto="FWM"} 0
uvs_ipvs_service_quorum_up{local_address="10.0.0.1",local_mark="",local_port="53",proto="UDP"} 1
uvs_ipvs_service_quorum_up{local_address="10.0.0.1",local_mark="",local_port="80",proto="TCP"} 1
uvs_ipvs_service_quorum_up{local_address="2001:db8::1",local_mark="",local_port="443",proto="TCP"} 1
# HELP uvs_ipvs_connections_total IPVS: all virtual services' connections scheduled.
# TYPE uvs_ipvs_connections_total counter
uvs_ipvs_connections_total 2035
# HELP uvs_ipvs_outgoing_bytes_total IPVS: all virtual services' bytes toward the clients, IP headers included.
# TYPE uvs_ipvs_outgoing_bytes_total counter
uvs_ipvs_outgoing_bytes_total 9.7004e+07
# HELP uvs_real_server_in_table Whether the real server is in the scheduling table (1) or out of it after failing its checks (0).
# TYPE uvs_real_server_in_table gauge
uvs_real_server_in_table{local_address="",local_mark="00000001",local_port="0",proto="FWM",remote_address="192.168.1.41",remote_port="0"} 0
uvs_real_server_in_table{local_address="",local_mark="00000001",local_port="0",proto="FWM",remote_address="192.168.1.99",remote_port="80"} 1
uvs_real_server_in_table{local_address="",local_mark="00000001",local_port="0",proto="FWM",remote_address="2001:db8:1::41",remote_port="0"} 1
uvs_real_server_in_table{local_address="10.0.0.1",local_mark="",local_port="53",proto="UDP",remote_address="192.168.1.31",remote_port="53"} 1
uvs_real_server_in_table{local_address="10.0.0.1",local_mark="",local_port="80",proto="TCP",remote_address="192.168.1.21",remote_port="8080"} 1
uvs_real_server_in_table{local_address="10.0.0.1",local_mark="",local_port="80",proto="TCP",remote_address="192.168.1.22",remote_port="8080"} 0
uvs_real_server_in_table{local_address="2001:db8::1",local_mark="",local_port="443",proto="TCP",remote_address="2001:db8:1::10",remote_port="8443"} 1
uvs_real_server_in_table{local_address="2001:db8::1",local_mark="",local_port="443",proto="TCP",remote_address="2001:db8:1::11",remote_port="8443"} 1
# HELP uvs_health_check_up Whether the health checker finds the real server up (1) or down (0).
# TYPE uvs_health_check_up gauge
uvs_health_check_up{checker="HTTP_GET",checker_index="0",local_address="10.0.0.1",local_mark="",local_port="80",proto="TCP",remote_address="192.168.1.21",remote_port="8080"} 1
uvs_health_check_up{checker="HTTP_GET",checker_index="0",local_address="2001:db8::1",local_mark="",local_port="443",proto="TCP",remote_address="2001:db8:1::10",remote_port="8443"} 1
uvs_health_check_up{checker="HTTP_GET",checker_index="1",local_address="2001:db8::1",local_mark="",local_port="443",proto="TCP",remote_address="2001:db8:1::10",remote_port="8443"} 1
uvs_health_check_up{checker="SSL_GET",checker_index="0",local_address="2001:db8::1",local_mark="",local_port="443",proto="TCP",remote_address="2001:db8:1::11",remote_port="8443"} 0
uvs_health_check_up{checker="TCP_CHECK",checker_index="0",local_address="10.0.0.1",local_mark="",local_port="80",proto="TCP",remote_address="192.168.1.22",remote_port="8080"} 0
# HELP uvs_health_check_transitions_total Transitions of the checker's verdict, to up or to down.
# TYPE uvs_health_check_transitions_total counter
uvs_health_check_transitions_total{checker="HTTP_GET",checker_index="0",local_address="10.0.0.1",local_mark="",local_port="80",proto="TCP",remote_address="192.168.1.21",remote_port="8080",to="down"} 1
uvs_health_check_transitions_total{checker="HTTP_GET",checker_index="0",local_address="10.0.0.1",local_mark="",local_port="80",proto="TCP",remote_address="192.168.1.21",remote_port="8080",to="up"} 2
uvs_health_check_transitions_total{checker="HTTP_GET",checker_index="0",local_address="2001:db8::1",local_mark="",local_port="443",proto="TCP",remote_address="2001:db8:1::10",remote_port="8443",to="down"} 0
uvs_health_check_transitions_total{checker="HTTP_GET",checker_index="0",local_address="2001:db8::1",local_mark="",local_port="443",proto="TCP",remote_address="2001:db8:1::10",remote_port="8443",to="up"} 1
uvs_health_check_transitions_total{checker="HTTP_GET",checker_index="1",local_address="2001:db8::1",local_mark="",local_port="443",proto="TCP",remote_address="2001:db8:1::10",remote_port="8443",to="down"} 0
uvs_health_check_transitions_total{checker="HTTP_GET",checker_index="1",local_address="2001:db8::1",local_mark="",local_port="443",proto="TCP",remote_address="2001:db8:1::10",remote_port="8443",to="up"} 1
uvs_health_check_transitions_total{checker="SSL_GET",checker_index="0",local_address="2001:db8::1",local_mark="",local_port="443",proto="TCP",remote_address="2001:db8:1::11",remote_port="8443",to="down"} 1
uvs_health_check_transitions_total{checker="SSL_GET",checker_index="0",local_address="2001:db8::1",local_mark="",local_port="443",proto="TCP",remote_address="2001:db8:1::11",remote_port="8443",to="up"} 0
uvs_health_check_transitions_total{checker="TCP_CHECK",checker_index="0",local_address="10.0.0.1",local_mark="",local_port="80",proto="TCP",remote_address="192.168.1.22",remote_port="8080",to="down"} 2
uvs_health_check_transitions_total{checker="TCP_CHECK",checker_index="0",local_address="10.0.0.1",local_mark="",local_port="80",proto="TCP",remote_address="192.168.1.22",remote_port="8080",to="up"} 1
# HELP uvs_real_server_info A real server of a virtual service, with its forwarding method (Masq, Route, Tunnel, FullNat); always 1.
# TYPE uvs_real_server_info gauge
uvs_real_server_info{local_address="",local_mark="00000001",local_port="0",method="Masq",proto="FWM",remote_address="192.168.1.99",remote_port="80"} 1
uvs_real_server_info{local_address="",local_mark="00000001",local_port="0",method="Route",proto="FWM",remote_address="192.168.1.41",remote_port="0"} 1
uvs_real_server_info{local_address="",local_mark="00000001",local_port="0",method="Route",proto="FWM",remote_address="2001:db8:1::41",remote_port="0"} 1
uvs_real_server_info{local_address="10.0.0.1",local_mark="",local_port="53",method="Route",proto="UDP",remote_address="192.168.1.31",remote_port="53"} 1
uvs_real_server_info{local_address="10.0.0.1",local_mark="",local_port="80",method="Masq",proto="TCP",remote_address="192.168.1.21",remote_port="8080"} 1
uvs_real_server_info{local_address="10.0.0.1",local_mark="",local_port="80",method="Masq",proto="TCP",remote_address="192.168.1.22",remote_port="8080"} 1
uvs_real_server_info{local_address="2001:db8::1",local_mark="",local_port="443",method="FullNat",proto="TCP",remote_address="2001:db8:1::10",remote_port="8443"} 1
uvs_real_server_info{local_address="2001:db8::1",local_mark="",local_port="443",method="Tunnel",proto="TCP",remote_address="2001:db8:1::11",remote_port="8443"} 1
# HELP uvs_vrrp_state The VRRP instance's state: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT (keepalived-exporter's encoding), -1 unknown.
# TYPE uvs_vrrp_state gauge
uvs_vrrp_state{iname="VI_1",intf="eth0",vrid="51"} 2
uvs_vrrp_state{iname="VI_2",intf="eth1",vrid="52"} 1
# HELP uvs_vrrp_vip A virtual address the VRRP instance holds now (only while MASTER); always 1.
# TYPE uvs_vrrp_vip gauge
uvs_vrrp_vip{iname="VI_1",intf="eth0",ip_address="10.0.0.1",vrid="51"} 1
uvs_vrrp_vip{iname="VI_1",intf="eth0",ip_address="2001:db8::1",vrid="51"} 1
# HELP uvs_become_master_total Transitions of the instance to MASTER (keepalived's become_master).
# TYPE uvs_become_master_total counter
uvs_become_master_total{iname="VI_1",intf="eth0",vrid="51"} 2
uvs_become_master_total{iname="VI_2",intf="eth1",vrid="52"} 0
# HELP uvs_vrrp_vrid_errors_total VRRP packets dropped for a VRID no instance has (VRRP MIB vrrpv3StatisticsVrIdErrors).
# TYPE uvs_vrrp_vrid_errors_total counter
uvs_vrrp_vrid_errors_total{iname="VI_1",intf="eth0",vrid="51"} 8
uvs_vrrp_vrid_errors_total{iname="VI_2",intf="eth1",vrid="52"} 0
# HELP uvs_dropped_packets_total Frames dropped, by reason (icmp_suppressed counts ICMP errors not sent instead).
# TYPE uvs_dropped_packets_total counter
uvs_dropped_packets_total{reason="icmp_suppressed"} 2
uvs_dropped_packets_total{reason="no_route"} 0
uvs_dropped_packets_total{reason="no_server"} 7
uvs_dropped_packets_total{reason="not_for_us"} 1234
uvs_dropped_packets_total{reason="ttl_exceeded"} 1
# HELP uvs_sync_daemon_running Whether the connection-sync daemon runs in the mode (master, backup) (1) or not (0).
# TYPE uvs_sync_daemon_running gauge
uvs_sync_daemon_running{mode="backup"} 0
uvs_sync_daemon_running{mode="master"} 1
# HELP uvs_port_transmit_dropped_frames_total Frames the port refused to send (queue full, write error).
# TYPE uvs_port_transmit_dropped_frames_total counter
uvs_port_transmit_dropped_frames_total{device="eth0"} 0
uvs_port_transmit_dropped_frames_total{device="eth1"} 3
# HELP uvs_connection_table_entries Entries in the connection table, persistence templates included.
# TYPE uvs_connection_table_entries gauge
uvs_connection_table_entries 60
# HELP uvs_health_server_transitions_total Transitions of whole real servers, to up or to down (keepalived's notify_up / notify_down).
# TYPE uvs_health_server_transitions_total counter
uvs_health_server_transitions_total{to="down"} 4
uvs_health_server_transitions_total{to="up"} 3
# HELP uvs_up Whether the last scrape could read the appliance's state (1) or not (0).
# TYPE uvs_up gauge
uvs_up 1
# HELP uvs_scrape_errors_total Scrapes that could not read the appliance's state.
# TYPE uvs_scrape_errors_total counter
uvs_scrape_errors_total 0
`
	names := []string{
		"uvs_ipvs_backend_connections_active", "uvs_ipvs_backend_weight", "uvs_ipvs_service_connections_total",
		"uvs_ipvs_service_quorum_up", "uvs_ipvs_connections_total", "uvs_ipvs_outgoing_bytes_total",
		"uvs_real_server_in_table", "uvs_health_check_up", "uvs_health_check_transitions_total", "uvs_real_server_info",
		"uvs_vrrp_state", "uvs_vrrp_vip", "uvs_become_master_total", "uvs_vrrp_vrid_errors_total",
		"uvs_dropped_packets_total", "uvs_sync_daemon_running", "uvs_port_transmit_dropped_frames_total",
		"uvs_connection_table_entries", "uvs_health_server_transitions_total", "uvs_up", "uvs_scrape_errors_total",
	}
	if err := testutil.ScrapeAndCompare(srv.URL, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}

	// uvs_build_info is the binary's, with the labels Prometheus's own builds use.
	b := control.BuildInfo()
	body := scrape(t, Handler(staticSource(richSnapshot())), nil)
	line := `uvs_build_info{goversion="` + b.GoVersion + `",revision="` + b.Revision + `",version="` + b.Version + `"} 1`
	if !strings.Contains(body, line+"\n") {
		t.Errorf("no %s in the exposition", line)
	}
	for _, prefix := range []string{"go_goroutines ", "process_", "promhttp_metric_handler_requests_total{"} {
		if !strings.Contains(body, "\n"+prefix) {
			t.Errorf("no %s... in the exposition", prefix)
		}
	}
}

// TestGolden compares everything the collector sends with testdata/collector.golden, so
// that any change to a name, a help text, a label or a value shows in review. Rewrite it
// with go test ./metrics/ -run TestGolden -update.
func TestGolden(t *testing.T) {
	golden := filepath.Join("testdata", "collector.golden")
	c := NewCollector(staticSource(richSnapshot()))
	if *update {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(c)
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		enc := expfmt.NewEncoder(&out, expfmt.NewFormat(expfmt.TypeTextPlain))
		for _, mf := range mfs {
			if err := enc.Encode(mf); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(golden)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := testutil.CollectAndCompare(c, f); err != nil {
		t.Error(err)
	}
}

// TestPromlint lints the whole /metrics output, the Go, process and promhttp metrics
// included: any problem fails.
func TestPromlint(t *testing.T) {
	body := scrape(t, Handler(staticSource(richSnapshot())), nil)
	problems, err := promlint.New(strings.NewReader(body)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

// TestPedantic has a pedantic registry check that the collector sends only what it
// describes, with consistent label names, and no series twice.
func TestPedantic(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(staticSource(richSnapshot())))
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
	// An empty Snapshot (no services, no VRRP, no ports) is valid too.
	reg = prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(staticSource(&control.Snapshot{})))
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
}

// TestSourceError: a Source that fails, or returns nothing, gives a valid exposition with
// uvs_up 0, counts the failures, and keeps the Go, process and build metrics.
func TestSourceError(t *testing.T) {
	fail := true
	var mu sync.Mutex
	src := func(context.Context) (*control.Snapshot, error) {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			return nil, errors.New("control socket: connection refused")
		}
		return nil, nil
	}
	h := Handler(src)
	for i, wantErrors := range []string{"1", "2"} {
		if i == 1 {
			mu.Lock()
			fail = false // a nil Snapshot without an error is a failure too
			mu.Unlock()
		}
		body := scrape(t, h, nil)
		p := expfmt.NewTextParser(model.LegacyValidation)
		mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
		if err != nil {
			t.Fatalf("scrape %d: not a valid exposition: %v\n%s", i, err, body)
		}
		for _, want := range []string{"uvs_up 0\n", "uvs_scrape_errors_total " + wantErrors + "\n", "\nuvs_build_info{", "\ngo_goroutines "} {
			if !strings.Contains(body, want) {
				t.Errorf("scrape %d: no %q", i, want)
			}
		}
		if _, ok := mfs["uvs_ipvs_connections_total"]; ok {
			t.Errorf("scrape %d: state metrics without a state", i)
		}
	}

	// The failures count stays, and uvs_up comes back, once the Source works again.
	c := newCollector(staticSource(richSnapshot()))
	c.failures.Store(2)
	err := testutil.CollectAndCompare(c, strings.NewReader(`
# HELP uvs_up Whether the last scrape could read the appliance's state (1) or not (0).
# TYPE uvs_up gauge
uvs_up 1
# HELP uvs_scrape_errors_total Scrapes that could not read the appliance's state.
# TYPE uvs_scrape_errors_total counter
uvs_scrape_errors_total 2
`), "uvs_up", "uvs_scrape_errors_total")
	if err != nil {
		t.Error(err)
	}
}

// TestScrapeTimeout: the Source runs under the request's context, bounded by Prometheus's
// scrape timeout header, so a stuck Source costs one timeout and gives uvs_up 0.
func TestScrapeTimeout(t *testing.T) {
	src := func(ctx context.Context) (*control.Snapshot, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	start := time.Now()
	body := scrape(t, Handler(src), http.Header{"X-Prometheus-Scrape-Timeout-Seconds": {"0.2"}})
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the scrape took %v", d)
	}
	if !strings.Contains(body, "uvs_up 0\n") {
		t.Errorf("no uvs_up 0:\n%s", body)
	}
}

// TestConcurrentScrapes runs scrapes in parallel over a Source whose counters move, for
// go test -race, and checks that the global IPVS totals never go back.
func TestConcurrentScrapes(t *testing.T) {
	var mu sync.Mutex
	tick := 0
	src := func(context.Context) (*control.Snapshot, error) {
		mu.Lock()
		tick++
		n := tick
		mu.Unlock()
		s := richSnapshot()
		s.Time = t0.Add(time.Duration(n) * time.Millisecond)
		s.Services[0].Stats.Conns += uint64(n)
		s.Services[0].Servers[0].Stats.Conns += uint64(n)
		if n%3 == 0 { // a service comes and goes
			s.Services = s.Services[1:]
		}
		return s, nil
	}
	h := Handler(src)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := 0.0
			for i := 0; i < 25; i++ {
				req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				p := expfmt.NewTextParser(model.LegacyValidation)
				mfs, err := p.TextToMetricFamilies(rec.Body)
				if err != nil {
					errs <- err
					return
				}
				v := mfs["uvs_ipvs_connections_total"].GetMetric()[0].GetCounter().GetValue()
				if v < last {
					errs <- errors.New("uvs_ipvs_connections_total went back")
					return
				}
				last = v
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestTotals walks the global IPVS totals through what would make a plain sum fall.
func TestTotals(t *testing.T) {
	var tt ipvsTotals
	st := func(conns uint64) control.Stats { return control.Stats{Conns: conns, InBytes: conns * 100} }
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	steps := []struct {
		name    string
		started time.Time
		at      time.Time
		cur     map[string]control.Stats
		want    uint64
	}{
		{"two services", started, at(1), map[string]control.Stats{"a": st(10), "b": st(5)}, 15},
		{"they count", started, at(2), map[string]control.Stats{"a": st(12), "b": st(6)}, 18},
		{"b deleted", started, at(3), map[string]control.Stats{"a": st(13)}, 19},
		{"b re-created", started, at(4), map[string]control.Stats{"a": st(13), "b": st(1)}, 20},
		{"older snapshot", started, at(3), map[string]control.Stats{"a": st(13)}, 20},
		{"ipvsadm -Z", started, at(5), map[string]control.Stats{"a": st(0), "b": st(0)}, 20},
		{"counting again", started, at(6), map[string]control.Stats{"a": st(2), "b": st(1)}, 23},
		{"restart", started.Add(time.Hour), at(7), map[string]control.Stats{"a": st(4)}, 4},
	}
	for _, s := range steps {
		got := tt.update(s.started, s.at, s.cur)
		if got.Conns != s.want || got.InBytes != s.want*100 {
			t.Errorf("%s: conns %d bytes %d, want %d %d", s.name, got.Conns, got.InBytes, s.want, s.want*100)
		}
	}
}

// TestVRRPCounters: every counter keepalived's names give (vrrp.Stats.Visit, what
// control.VRRPInstance.Stats holds) has a metric, and no two metrics share a name.
func TestVRRPCounters(t *testing.T) {
	mapped := map[string]bool{}
	for _, c := range vrrpCounters {
		mapped[c.stat] = true
	}
	var st vrrp.Stats
	n := 0
	st.Visit(func(name string, _ uint64) {
		n++
		if !mapped[name] {
			t.Errorf("keepalived's %s has no metric", name)
		}
	})
	if n != len(vrrpCounters) {
		t.Errorf("%d counters in vrrp.Stats, %d metrics", n, len(vrrpCounters))
	}
	names := map[string]bool{}
	for _, d := range newDescs().all {
		s := d.String()
		if names[s] {
			t.Errorf("described twice: %s", s)
		}
		names[s] = true
	}
}

// TestOddLabels: label values that are not UTF-8 (an interface name is any bytes) are
// repaired rather than panicking the scrape; two ports of one name do not fail it.
func TestOddLabels(t *testing.T) {
	s := richSnapshot()
	s.VRRP[0].Name = "VI_\xff"
	s.Ports = append(s.Ports, control.Port{Name: "eth1"}, control.Port{Name: "tap\xfe"})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(staticSource(s)))
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
	out, err := testutil.CollectAndFormat(NewCollector(staticSource(s)), expfmt.TypeTextPlain, "uvs_vrrp_state")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte(`iname="VI_`+"\uFFFD"+`"`)) {
		t.Errorf("not repaired:\n%s", out)
	}
}

// TestCollectDeadline: NewCollector's Collect, with no context of its own, bounds the
// Source by collectTimeout; the Source sees a deadline.
func TestCollectDeadline(t *testing.T) {
	var has bool
	src := func(ctx context.Context) (*control.Snapshot, error) {
		_, has = ctx.Deadline()
		return &control.Snapshot{}, nil
	}
	testutil.CollectAndCount(NewCollector(src))
	if !has {
		t.Error("the Source's context has no deadline")
	}
}

// TestDocs: docs/metrics.md lists every metric, and names none that does not exist.
func TestDocs(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{"uvs_build_info": true}
	fq := regexp.MustCompile(`fqName: "([a-z_]+)"`)
	for _, d := range newDescs().all {
		m := fq.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("no name in %s", d)
		}
		names[m[1]] = true
	}
	for n := range names {
		if !bytes.Contains(doc, []byte("`"+n+"`")) {
			t.Errorf("docs/metrics.md does not list %s", n)
		}
	}
	for _, m := range regexp.MustCompile("`(uvs_[a-z_]+)`").FindAllSubmatch(doc, -1) {
		if n := string(m[1]); !names[n] {
			t.Errorf("docs/metrics.md lists %s, which does not exist", n)
		}
	}
}
