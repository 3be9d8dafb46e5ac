package adm_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/uvs-lb/uvs/control"
)

// emptyTable is an appliance with nothing configured yet.
func emptyTable() *control.Snapshot {
	return &control.Snapshot{Table: control.TableCounts{Capacity: 4096}}
}

func svcSpec(s control.ServiceSpec) *control.ServiceSpec { return &s }
func srvSpec(s control.ServerSpec) *control.ServerSpec   { return &s }

// TestEdits checks that each edit command becomes the right control.Edit, with ipvsadm's
// defaults filled in.
func TestEdits(t *testing.T) {
	web := tcp("10.0.0.1", 80)
	fwm1 := control.ServiceKey{FWMark: 1, Family: "inet"}
	fwm6 := control.ServiceKey{FWMark: 7, Family: "inet6"}
	for _, tc := range []struct {
		name string
		snap *control.Snapshot // nil: the fixture
		args []string
		want control.Edit
	}{
		{"add default scheduler", emptyTable(), []string{"-A", "-t", "10.0.0.1:80"},
			control.Edit{Op: control.OpAddService, Service: svcSpec(control.ServiceSpec{ServiceKey: web, Scheduler: "wlc"})}},
		{"add clustered", emptyTable(), []string{"-At", "10.0.0.1:80", "-srr"},
			control.Edit{Op: control.OpAddService, Service: svcSpec(control.ServiceSpec{ServiceKey: web, Scheduler: "rr"})}},
		{"add long options", emptyTable(), []string{"--add-service", "--tcp-service=10.0.0.1:http", "--scheduler", "lc"},
			control.Edit{Op: control.OpAddService, Service: svcSpec(control.ServiceSpec{ServiceKey: web, Scheduler: "lc"})}},
		{"add persistent default", emptyTable(), []string{"-A", "-t", "10.0.0.1:80", "-p"},
			control.Edit{Op: control.OpAddService, Service: svcSpec(control.ServiceSpec{ServiceKey: web, Scheduler: "wlc", Persistence: 300})}},
		{"add persistent then option", emptyTable(), []string{"-A", "-t", "10.0.0.1:0", "-p", "-M", "255.255.0.0", "-s", "sh", "-b", "sh-port,flag-1"},
			control.Edit{Op: control.OpAddService, Service: svcSpec(control.ServiceSpec{ServiceKey: tcp("10.0.0.1", 0),
				Scheduler: "sh", SchedFlags: []string{"sh-fallback", "sh-port"}, Persistence: 300, PersistMask: 16})}},
		{"add persistent timeout", emptyTable(), []string{"-A", "-t", "10.0.0.1:80", "-p", "3600", "-M", "255.255.255.255"},
			control.Edit{Op: control.OpAddService, Service: svcSpec(control.ServiceSpec{ServiceKey: web, Scheduler: "wlc", Persistence: 3600})}},
		{"add udp ops", emptyTable(), []string{"-A", "-u", "10.0.0.2:53", "-s", "rr", "-o"},
			control.Edit{Op: control.OpAddService, Service: svcSpec(control.ServiceSpec{
				ServiceKey: control.ServiceKey{Proto: "UDP", Addr: ip("10.0.0.2"), Port: 53}, Scheduler: "rr", OnePacket: true})}},
		{"add ipv6", emptyTable(), []string{"-A", "-t", "[2001:db8::1]:443", "-p", "60", "-M", "64"},
			control.Edit{Op: control.OpAddService, Service: svcSpec(control.ServiceSpec{ServiceKey: tcp("2001:db8::1", 443),
				Scheduler: "wlc", Persistence: 60, PersistMask: 64})}},
		{"add fwmark", emptyTable(), []string{"-A", "-f", "1", "-s", "mh", "-b", "mh-port"},
			control.Edit{Op: control.OpAddService, Service: svcSpec(control.ServiceSpec{ServiceKey: fwm1, Scheduler: "mh", SchedFlags: []string{"mh-port"}})}},
		{"add fwmark ipv6", emptyTable(), []string{"-A", "-f", "7", "-6", "-p", "10", "-M", "48"},
			control.Edit{Op: control.OpAddService, Service: svcSpec(control.ServiceSpec{ServiceKey: fwm6, Scheduler: "wlc", Persistence: 10, PersistMask: 48})}},
		{"edit resets to defaults", nil, []string{"-E", "-t", "10.0.0.1:443", "-s", "rr"},
			control.Edit{Op: control.OpEditService, Service: svcSpec(control.ServiceSpec{ServiceKey: tcp("10.0.0.1", 443), Scheduler: "rr"})}},
		{"delete", nil, []string{"-D", "-t", "10.0.0.1:80"},
			control.Edit{Op: control.OpDeleteService, Service: svcSpec(control.ServiceSpec{ServiceKey: web})}},
		{"delete fwmark ipv6", nil, []string{"--delete-service", "-f", "2", "-6"},
			control.Edit{Op: control.OpDeleteService, Service: svcSpec(control.ServiceSpec{ServiceKey: control.ServiceKey{FWMark: 2, Family: "inet6"}})}},
		{"add server defaults", nil, []string{"-a", "-t", "10.0.0.1:80", "-r", "192.168.1.7"},
			control.Edit{Op: control.OpAddServer, Server: srvSpec(control.ServerSpec{Service: web, Addr: ip("192.168.1.7"), Port: 80, Method: "Route", Weight: 1})}},
		{"add server masq", nil, []string{"-a", "-t", "10.0.0.1:80", "-r", "192.168.1.7:8080", "-m", "-w", "3", "-x", "1000", "-y", "800"},
			control.Edit{Op: control.OpAddServer, Server: srvSpec(control.ServerSpec{Service: web, Addr: ip("192.168.1.7"), Port: 8080,
				Method: "Masq", Weight: 3, Upper: 1000, Lower: 800})}},
		{"add server route keeps the service port", nil, []string{"-a", "-t", "10.0.0.1:80", "-r", "192.168.1.7:8080", "-g", "-w", "0"},
			control.Edit{Op: control.OpAddServer, Server: srvSpec(control.ServerSpec{Service: web, Addr: ip("192.168.1.7"), Port: 80, Method: "Route", Weight: 0})}},
		{"add server fullnat", nil, []string{"-a", "-u", "10.0.0.2:53", "-r", "192.168.2.9:5353", "--fullnat"},
			control.Edit{Op: control.OpAddServer, Server: srvSpec(control.ServerSpec{
				Service: control.ServiceKey{Proto: "UDP", Addr: ip("10.0.0.2"), Port: 53}, Addr: ip("192.168.2.9"), Port: 5353, Method: "FullNat", Weight: 1})}},
		{"add server tunnel ipip", nil, []string{"-a", "-t", "[2001:db8::1]:80", "-r", "192.168.4.2", "-i", "--tun-type", "ipip"},
			control.Edit{Op: control.OpAddServer, Server: srvSpec(control.ServerSpec{Service: tcp("2001:db8::1", 80), Addr: ip("192.168.4.2"), Port: 80, Method: "Tunnel", Weight: 1})}},
		{"add server tunnel gue", nil, []string{"-a", "-f", "1", "-r", "192.168.3.9", "-i", "--tun-type", "gue", "--tun-port", "6080"},
			control.Edit{Op: control.OpAddServer, Server: srvSpec(control.ServerSpec{Service: fwm1, Addr: ip("192.168.3.9"), Method: "Tunnel", Weight: 1,
				TunType: "gue", TunPort: 6080, TunFlags: "nocsum"})}},
		{"add server tunnel gre csum", nil, []string{"-a", "-f", "1", "-r", "192.168.3.9:0", "-i", "--tun-type", "gre", "--tun-csum"},
			control.Edit{Op: control.OpAddServer, Server: srvSpec(control.ServerSpec{Service: fwm1, Addr: ip("192.168.3.9"), Method: "Tunnel", Weight: 1,
				TunType: "gre", TunFlags: "csum"})}},
		{"edit server resets to defaults", nil, []string{"-e", "-t", "10.0.0.1:80", "-r", "192.168.1.2:8080", "-m"},
			control.Edit{Op: control.OpEditServer, Server: srvSpec(control.ServerSpec{Service: web, Addr: ip("192.168.1.2"), Port: 8080, Method: "Masq", Weight: 1})}},
		{"delete server", nil, []string{"-d", "-t", "10.0.0.1:80", "-r", "192.168.1.1:8080"},
			control.Edit{Op: control.OpDeleteServer, Server: srvSpec(control.ServerSpec{Service: web, Addr: ip("192.168.1.1"), Port: 8080})}},
		{"delete server without port", nil, []string{"-d", "-t", "10.0.0.1:443", "-r", "192.168.1.12"},
			control.Edit{Op: control.OpDeleteServer, Server: srvSpec(control.ServerSpec{Service: tcp("10.0.0.1", 443), Addr: ip("192.168.1.12"), Port: 443})}},
		{"clear", nil, []string{"-C"}, control.Edit{Op: control.OpClear}},
		{"set", nil, []string{"--set", "900", "0", "300"},
			control.Edit{Op: control.OpSetTimeouts, Timeouts: &control.Timeouts{TCP: 900, TCPFin: 0, UDP: 300}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap := tc.snap
			if snap == nil {
				snap = fixture()
			}
			api := &fakeAPI{snap: snap}
			r := run(t, api, "", tc.args...)
			if r.status != 0 || r.stderr != "" || r.stdout != "" {
				t.Fatalf("status %d, stdout %q, stderr %q", r.status, r.stdout, r.stderr)
			}
			if len(api.edits) != 1 || len(api.edits[0]) != 1 {
				t.Fatalf("edits %+v, want one call with one edit", api.edits)
			}
			if got := api.edits[0][0]; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("edit\n%s\nwant\n%s", show(got), show(tc.want))
			}
		})
	}
}

// show spells an Edit for a failure message.
func show(e control.Edit) string {
	s := e.Op
	if e.Service != nil {
		s += fmt.Sprintf(" service %+v", *e.Service)
	}
	if e.Server != nil {
		s += fmt.Sprintf(" server %+v", *e.Server)
	}
	if e.Timeouts != nil {
		s += fmt.Sprintf(" timeouts %+v", *e.Timeouts)
	}
	return s
}

// TestRestoreRoundTrip restores what -S printed and checks that the edits rebuild the
// table -S saw, as one batch.
func TestRestoreRoundTrip(t *testing.T) {
	api := &fakeAPI{snap: fixture()}
	saved := run(t, api, "", "-Sn")
	if saved.status != 0 {
		t.Fatalf("-Sn: %+v", saved)
	}
	r := run(t, api, "# saved by uvs adm -Sn\n\n"+saved.stdout, "-R")
	if r.status != 0 || r.stderr != "" {
		t.Fatalf("-R: %+v", r)
	}
	if len(api.edits) != 1 {
		t.Fatalf("-R made %d Edit calls, want 1 batch", len(api.edits))
	}

	// What the table holds, in -S's order: each service, then its real servers as IPVS
	// holds them (current weight; ipvsadm saves no thresholds).
	s := fixture()
	svcs := slices.Clone(s.Services)
	order := []string{"[10.0.0.1]:tcp:80", "[10.0.0.1]:tcp:443", "[192.168.100.1]:tcp:8080", "[10.0.0.2]:udp:53",
		"[2001:db8::1]:tcp:80", "FWM 1 IPv4", "FWM 2 IPv6"}
	slices.SortFunc(svcs, func(a, b control.Service) int { return slices.Index(order, a.Name) - slices.Index(order, b.Name) })
	var want []control.Edit
	for _, sv := range svcs {
		want = append(want, control.Edit{Op: control.OpAddService, Service: svcSpec(sv.ServiceSpec)})
		var ds []control.Server
		for _, d := range sv.Servers {
			if d.InTable {
				ds = append(ds, d)
			}
		}
		slices.SortFunc(ds, func(a, b control.Server) int {
			if c := a.Addr.Compare(b.Addr); c != 0 {
				return c
			}
			return int(a.Port) - int(b.Port)
		})
		for _, d := range ds {
			spec := d.ServerSpec
			spec.Weight, spec.Upper, spec.Lower = d.CurrentWeight, 0, 0
			want = append(want, control.Edit{Op: control.OpAddServer, Server: srvSpec(spec)})
		}
	}
	got := api.edits[0]
	if len(got) != len(want) {
		t.Fatalf("%d edits, want %d:\n%s", len(got), len(want), saved.stdout)
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("edit %d\n%s\nwant\n%s", i, show(got[i]), show(want[i]))
		}
	}

	// And the batch restores the same -S text: printing the edits' table gives it back.
	rebuilt := emptyTable()
	for _, e := range got {
		switch e.Op {
		case control.OpAddService:
			rebuilt.Services = append(rebuilt.Services, control.Service{ServiceSpec: *e.Service})
		case control.OpAddServer:
			sv := &rebuilt.Services[len(rebuilt.Services)-1]
			sv.Servers = append(sv.Servers, control.Server{ServerSpec: *e.Server, CurrentWeight: e.Server.Weight, InTable: true})
		}
	}
	if again := run(t, &fakeAPI{snap: rebuilt}, "", "-S", "-n"); again.stdout != saved.stdout {
		t.Errorf("-S of the restored table:\n%s\nwant\n%s", again.stdout, saved.stdout)
	}
}

// TestRestoreAllOrNothing checks that a bad line stops the restore before anything is
// applied, and that ipvsadm's own command lines ("ipvsadm -A ...") restore.
func TestRestoreAllOrNothing(t *testing.T) {
	api := &fakeAPI{snap: emptyTable()}
	in := "ipvsadm -A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 192.168.1.1 -w 70000\n"
	r := run(t, api, in, "-R")
	if r.status != 2 || r.stderr != "restore line 2: illegal weight specified\n" {
		t.Errorf("got %+v", r)
	}
	if len(api.edits) != 0 {
		t.Errorf("edits applied: %+v", api.edits)
	}

	for _, tc := range []struct{ in, stderr string }{
		{"-L -n\n", "restore line 1: the 'list' command cannot be restored (only -A -E -D -a -e -d -C --set)\n"},
		{"-R\n", "restore line 1: Try `uvs adm -h' or 'uvs adm --help' for more information.\n"},
		{"-A --sctp-service 10.0.0.1:80\n", "restore line 1: Protocol not available\n"},
	} {
		r := run(t, api, tc.in, "-R")
		if r.status == 0 || r.stderr != tc.stderr {
			t.Errorf("-R of %q: %+v, want stderr %q", tc.in, r, tc.stderr)
		}
	}

	r = run(t, api, "ipvsadm -A -t 10.0.0.1:80 -s rr   # web\n-a -t 10.0.0.1:80 -r 192.168.1.1 -m\n--set 0 60 0\n-C\n", "-R")
	if r.status != 0 || len(api.edits) != 1 || len(api.edits[0]) != 4 {
		t.Fatalf("got %+v, edits %+v", r, api.edits)
	}
	ops := []string{}
	for _, e := range api.edits[0] {
		ops = append(ops, e.Op)
	}
	if want := []string{control.OpAddService, control.OpAddServer, control.OpSetTimeouts, control.OpClear}; !slices.Equal(ops, want) {
		t.Errorf("ops %v, want %v", ops, want)
	}

	// An empty restore asks nothing.
	api = &fakeAPI{snap: emptyTable()}
	if r := run(t, api, "\n# nothing\n", "-R"); r.status != 0 || len(api.edits) != 0 {
		t.Errorf("empty restore: %+v, %+v", r, api.edits)
	}

	// The appliance refusing the batch.
	api = &fakeAPI{snap: emptyTable(), fail: errors.New("add-server [10.0.0.1]:tcp:80: no such service")}
	if r := run(t, api, "-a -t 10.0.0.1:80 -r 192.168.1.1\n", "-R"); r.status != 255 || r.stderr != "add-server [10.0.0.1]:tcp:80: no such service\n" {
		t.Errorf("refused restore: %+v", r)
	}
}

// TestErrors checks ipvsadm's messages and exit statuses: 2 for bad options (fail(2)),
// 255 for what popt rejects and for refused commands (main returns -1), 1 for listings.
func TestErrors(t *testing.T) {
	const tryHelp = "Try `uvs adm -h' or 'uvs adm --help' for more information.\n"
	for _, tc := range []struct {
		args   []string
		status int
		stderr string
	}{
		{[]string{"-n", "-L"}, 255, tryHelp},
		{[]string{"--bogus"}, 255, tryHelp},
		{[]string{"10.0.0.1"}, 255, tryHelp},
		{[]string{"-L", "--bogus"}, 255, "--bogus: unknown option\n"},
		{[]string{"-Lq"}, 255, "-q: unknown option\n"},
		{[]string{"-A", "-t"}, 255, "-t: missing argument\n"},
		{[]string{"-L", "--stats=1"}, 255, "--stats=1: option does not take an argument\n"},
		{[]string{"-L", "-A"}, 2, "invalid option `-A'\n"},
		{[]string{"-L", "-h"}, 2, "invalid option `-h'\n"},
		{[]string{"-A"}, 2, "You need to supply the 'service-address' option for the 'add-service' command\n"},
		{[]string{"-a", "-t", "10.0.0.1:80"}, 2, "You need to supply the 'real-server' option for the 'add-server' command\n"},
		{[]string{"-A", "-t", "10.0.0.1:80", "-n"}, 2, "Illegal 'numeric' option with the 'add-service' command\n"},
		{[]string{"-D", "-t", "10.0.0.1:80", "-s", "rr"}, 2, "Illegal 'scheduler' option with the 'delete-service' command\n"},
		{[]string{"-d", "-t", "10.0.0.1:80", "-r", "192.168.1.1", "-w", "2"}, 2, "Illegal 'weight' option with the 'delete-server' command\n"},
		{[]string{"-C", "-t", "10.0.0.1:80"}, 2, "Illegal 'service-address' option with the 'flush' command\n"},
		{[]string{"-S", "--stats"}, 2, "Illegal 'stats' option with the 'save' command\n"},
		{[]string{"-L", "-c", "--timeout"}, 2, "The option 'timeout' conflicts with the 'connection' option in the 'list' command\n"},
		{[]string{"-L", "-t", "10.0.0.1:80", "-c"}, 2, "The option 'service-address' conflicts with the 'connection' option in the 'list' command\n"},
		{[]string{"-L", "-c", "--stats"}, 2, "options conflicts in the list command\n"},
		{[]string{"-L", "--daemon", "--persistent-conn"}, 2, "options conflicts in the list command\n"},
		{[]string{"-A", "-t", "10.0.0.1:80", "-t", "10.0.0.2:80"}, 2, "multiple 'service-address' options specified\n"},
		{[]string{"-a", "-t", "10.0.0.1:80", "-r", "192.168.1.1", "-m", "-g"}, 2, "multiple 'forwarding-method' options specified\n"},
		{[]string{"-A", "-t", "10.0.0.1"}, 2, "Zero port specified for non-persistent service\n"},
		{[]string{"-A", "-t", "10.0.0.1:80", "-o"}, 2, "One-Packet Scheduling is only for UDP virtual services\n"},
		{[]string{"-A", "-t", "80"}, 2, "illegal virtual server address[:port] specified\n"},
		{[]string{"-A", "-t", "10.0.0.1:99999"}, 2, "illegal virtual server address[:port] specified\n"},
		{[]string{"-A", "-t", "[2001:db8::1]"}, 2, "illegal virtual server address[:port] specified\n"},
		{[]string{"-a", "-t", "10.0.0.1:80", "-r", "192.168.1.1:x y"}, 2, "illegal real server address[:port] specified\n"},
		{[]string{"-A", "-f", "0"}, 2, "invalid fwmark value `0' specified\n"},
		{[]string{"-A", "-f", "4294967296"}, 2, "invalid fwmark value `4294967296' specified\n"},
		{[]string{"-A", "-t", "10.0.0.1:80", "-6"}, 2, "-6 used before -f\n\n"},
		{[]string{"-A", "-t", "10.0.0.1:80", "-p", "0"}, 2, "invalid timeout value `0' specified\n"},
		{[]string{"-A", "-t", "10.0.0.1:80", "-p", "2678401"}, 2, "invalid timeout value `2678401' specified\n"},
		{[]string{"-A", "-t", "10.0.0.1:80", "-p", "-M", "255.0.255.0"}, 2, "illegal virtual server persistent mask specified\n"},
		{[]string{"-A", "-t", "[::1]:80", "-p", "-M", "129"}, 2, "illegal ipv6 netmask specified\n"},
		{[]string{"-A", "-t", "10.0.0.1:80", "-b", "sh-port"}, 2, "incompatible scheduler flag `sh-port'\n"},
		{[]string{"-A", "-t", "10.0.0.1:80", "-s", "sh", "-b", "sh-bogus"}, 2, "invalid scheduler flag `sh-bogus'\n"},
		{[]string{"-a", "-t", "10.0.0.1:80", "-r", "192.168.1.1", "-w", "65536"}, 2, "illegal weight specified\n"},
		{[]string{"-a", "-t", "10.0.0.1:80", "-r", "192.168.1.1", "-x", "-1"}, 2, "illegal u_threshold specified\n"},
		{[]string{"-a", "-t", "10.0.0.1:80", "-r", "192.168.1.1", "-y", "x"}, 2, "illegal l_threshold specified\n"},
		{[]string{"-a", "-t", "10.0.0.1:80", "-r", "2001:db8::9", "-m"}, 2, "Different address family is allowed only for tunneling servers\n"},
		{[]string{"-a", "-t", "10.0.0.1:80", "-r", "192.168.1.1", "-m", "--tun-type", "gue"}, 2, "Tunnel options conflict with forward method\n"},
		{[]string{"-a", "-t", "10.0.0.1:80", "-r", "192.168.1.1", "-i", "--tun-type", "vxlan"}, 2, "illegal tunnel type specified\n"},
		{[]string{"-a", "-t", "10.0.0.1:80", "-r", "192.168.1.1", "-i", "--tun-type", "gue"}, 2, "You need to supply the 'tun-port' option for the 'gue' tunnel type\n"},
		{[]string{"-a", "-t", "10.0.0.1:80", "-r", "192.168.1.1", "-i", "--tun-port", "6080"}, 2, "Illegal 'tun-port' option with the 'ipip' tunnel type\n"},
		{[]string{"-a", "-t", "10.0.0.1:80", "-r", "192.168.1.1", "-i", "--tun-type", "gre", "--tun-remcsum"}, 2, "Illegal 'tun-remcsum' option with the 'gre' tunnel type\n"},
		{[]string{"-a", "-t", "10.0.0.1:80", "-r", "192.168.1.1", "-i", "--tun-type", "gue", "--tun-port", "1", "--tun-csum", "--tun-nocsum"}, 2,
			"The option 'tun-csum' conflicts with the 'tun-nocsum' option in the 'gue' tunnel type\n"},
		{[]string{"--set", "900", "120"}, 2, "--set option requires 3 timeout values\n"},
		{[]string{"--set", "900", "120", "300", "1"}, 2, "unexpected argument 1\n"},
		{[]string{"--set", "900", "x", "300"}, 2, "invalid timeout value `x' specified\n"},
		{[]string{"-L", "extra"}, 2, "unexpected argument extra\n"},
		{[]string{"--start-daemon", "primary"}, 2, "illegal start-daemon parameter specified\n"},
		{[]string{"--stop-daemon", "primary"}, 2, "illegal start_daemon specified\n"},
		{[]string{"--start-daemon", "master", "--mcast-group", "10.0.0.1"}, 2, "invalid IPv4 mcast-group `10.0.0.1'\n"},
		{[]string{"--start-daemon", "master", "--mcast-group", "2001:db8::1"}, 2, "invalid IPv6 mcast-group `2001:db8::1'\n"},
		{[]string{"--start-daemon", "master", "--mcast-port", "0"}, 2, "illegal mcast-port specified\n"},
		{[]string{"--start-daemon", "master", "--mcast-ttl", "256"}, 2, "illegal mcast-ttl specified\n"},
		{[]string{"--start-daemon", "master", "--sync-maxlen", "65508"}, 2, "illegal sync-maxlen specified\n"},
		{[]string{"--start-daemon", "master", "--syncid", "256"}, 2, "illegal syncid specified\n"},
		{[]string{"--stop-daemon", "master", "--mcast-interface", "eth0"}, 2, "Illegal 'mcast-interface' option with the 'stop-daemon' command\n"},
		{[]string{"--reload", "-n"}, 2, "Illegal 'numeric' option with the 'reload' command\n"},
		// Refusals, in ipvsadm's (the kernel's) words.
		{[]string{"-A", "-t", "10.0.0.1:80"}, 255, "Service already exists\n"},
		{[]string{"-E", "-t", "10.9.9.9:80"}, 255, "No such service\n"},
		{[]string{"-D", "-f", "1", "-6"}, 255, "No such service\n"},
		{[]string{"-a", "-t", "10.9.9.9:80", "-r", "192.168.1.1"}, 255, "Service not defined\n"},
		{[]string{"-d", "-t", "10.9.9.9:80", "-r", "192.168.1.1"}, 255, "Service not defined\n"},
		{[]string{"-a", "-t", "10.0.0.1:80", "-r", "192.168.1.1:8080", "-m"}, 255, "Destination already exists\n"},
		{[]string{"-e", "-t", "10.0.0.1:80", "-r", "192.168.1.77:8080", "-m"}, 255, "No such destination\n"},
		{[]string{"-d", "-t", "10.0.0.1:80", "-r", "192.168.1.1"}, 255, "No such destination\n"},
		{[]string{"-Z", "-t", "10.9.9.9:80"}, 255, "No such service\n"},
		{[]string{"--start-daemon", "backup"}, 255, "Daemon has already run\n"},
		{[]string{"-A", "-t", "10.0.0.9:80", "--pe", "sip"}, 255, "Scheduler or persistence engine not found\n"},
		{[]string{"-A", "--sctp-service", "10.0.0.9:80"}, 255, "Protocol not available\n"},
		{[]string{"-L", "-n", "-t", "10.9.9.9:80"}, 1, "No such service\n"},
	} {
		api := &fakeAPI{snap: fixture()}
		r := run(t, api, "", tc.args...)
		if r.status != tc.status || r.stderr != tc.stderr || r.stdout != "" {
			t.Errorf("%q: status %d, stderr %q, stdout %q; want status %d, stderr %q",
				tc.args, r.status, r.stderr, r.stdout, tc.status, tc.stderr)
		}
		if len(api.edits)+len(api.zeros)+len(api.started)+len(api.stopped)+api.reloads != 0 {
			t.Errorf("%q changed something: %+v", tc.args, api)
		}
	}
}

// TestApplianceErrors checks that the appliance's refusals and an unreachable appliance
// are reported with its words.
func TestApplianceErrors(t *testing.T) {
	api := &fakeAPI{snap: emptyTable(), fail: errors.New("scheduler \"xyz\" unknown")}
	r := run(t, api, "", "-A", "-t", "10.0.0.1:80", "-s", "xyz")
	if r.status != 255 || r.stderr != "scheduler \"xyz\" unknown\n" {
		t.Errorf("refused edit: %+v", r)
	}
	r = run(t, &fakeAPI{}, "", "-Ln")
	if r.status != 1 || !strings.Contains(r.stderr, "no such file or directory") {
		t.Errorf("unreachable appliance: %+v", r)
	}
	// Without a status the edit is still tried: the appliance has the last word.
	down := &fakeAPI{}
	if r := run(t, down, "", "-C"); r.status != 0 || len(down.edits) != 1 {
		t.Errorf("edit without status: %+v, %+v", r, down.edits)
	}
}

// TestOtherCommands checks -Z, the sync daemon, help, version and the uvs extensions.
func TestOtherCommands(t *testing.T) {
	api := &fakeAPI{snap: fixture(), config: []byte("[global]\nrouter_id = \"lb1\"\n")}
	for _, args := range [][]string{
		{"-Z"},
		{"-Z", "-t", "10.0.0.1:80"},
		{"--zero", "-f", "2", "-6"},
		{"--stop-daemon", "master"},
		{"--reload"},
	} {
		if r := run(t, api, "", args...); r.status != 0 || r.stderr != "" || r.stdout != "" {
			t.Errorf("%q: %+v", args, r)
		}
	}
	web := tcp("10.0.0.1", 80)
	wantZeros := []*control.ServiceKey{nil, &web, {FWMark: 2, Family: "inet6"}}
	if !reflect.DeepEqual(api.zeros, wantZeros) {
		t.Errorf("zeros %+v, want %+v", api.zeros, wantZeros)
	}
	if !slices.Equal(api.stopped, []string{"master"}) || api.reloads != 1 {
		t.Errorf("stopped %v, reloads %d", api.stopped, api.reloads)
	}

	stopped := fixture()
	stopped.Sync = control.Sync{}
	api = &fakeAPI{snap: stopped}
	r := run(t, api, "", "--start-daemon", "master", "--mcast-interface", "eth1", "--syncid", "9",
		"--sync-maxlen", "1400", "--mcast-group", "239.1.1.1", "--mcast-port", "9000", "--mcast-ttl", "2")
	want := control.SyncDaemon{State: "master", McastInterface: "eth1", SyncID: 9, SyncMaxLen: 1400,
		McastGroup: "239.1.1.1", McastPort: 9000, McastTTL: 2}
	if r.status != 0 || len(api.started) != 1 || api.started[0] != want {
		t.Errorf("--start-daemon: %+v, started %+v", r, api.started)
	}
	if r := run(t, api, "", "--stop-daemon", "backup"); r.status != 255 || r.stderr != "No daemon is running\n" {
		t.Errorf("--stop-daemon of a stopped daemon: %+v", r)
	}
	if r := run(t, api, "", "-L", "--daemon"); r.status != 0 || r.stdout != "" {
		t.Errorf("-L --daemon of a stopped daemon: %+v", r)
	}

	api = &fakeAPI{snap: fixture(), config: []byte("[global]\nrouter_id = \"lb1\"\n")}
	if r := run(t, api, "", "--config"); r.status != 0 || r.stdout != "[global]\nrouter_id = \"lb1\"\n" {
		t.Errorf("--config: %+v", r)
	}
	r = run(t, api, "", "-h", "--bogus")
	if r.status != 0 || !strings.HasPrefix(r.stdout, "ipvsadm v1.31 2019/12/24 (uvs adm") ||
		!strings.Contains(r.stdout, "  uvs adm --set tcp tcpfin udp\n") || !strings.Contains(r.stdout, "--vrrp") {
		t.Errorf("-h: %+v", r)
	}
	if r := run(t, api, "", "--version"); r.status != 0 || r.stdout != "ipvsadm v1.31 2019/12/24 (uvs adm, IPVS v1.2.1 formats)\n" {
		t.Errorf("-v: %+v", r)
	}
}

// TestScanner checks popt's ways with option arguments.
func TestScanner(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want control.ServiceSpec
	}{
		// An optional argument is taken from the same word, after "=", or from the next
		// word unless it starts with '-'.
		{[]string{"-A", "-t", "10.0.0.1:80", "-p360"}, control.ServiceSpec{ServiceKey: tcp("10.0.0.1", 80), Scheduler: "wlc", Persistence: 360}},
		{[]string{"-A", "-t", "10.0.0.1:80", "--persistent=361"}, control.ServiceSpec{ServiceKey: tcp("10.0.0.1", 80), Scheduler: "wlc", Persistence: 361}},
		{[]string{"-A", "-t", "10.0.0.1:80", "-p", "-s", "rr"}, control.ServiceSpec{ServiceKey: tcp("10.0.0.1", 80), Scheduler: "rr", Persistence: 300}},
		// A required one is taken from the next word whatever it is.
		{[]string{"-A", "-t10.0.0.1:80", "-s", "sed"}, control.ServiceSpec{ServiceKey: tcp("10.0.0.1", 80), Scheduler: "sed"}},
	} {
		api := &fakeAPI{snap: emptyTable()}
		r := run(t, api, "", tc.args...)
		if r.status != 0 || len(api.edits) != 1 || !reflect.DeepEqual(*api.edits[0][0].Service, tc.want) {
			t.Errorf("%q: %+v, edits %+v", tc.args, r, api.edits)
		}
	}
	// Words that are not options are kept wherever they are (popt permutes them), so
	// --set's values may come anywhere on the line; "--" ends the options.
	for _, args := range [][]string{
		{"900", "--set", "120", "300"},
		{"--set", "900", "120", "--", "300"},
	} {
		api := &fakeAPI{snap: emptyTable()}
		if r := run(t, api, "", args...); r.status != 0 || len(api.edits) != 1 ||
			*api.edits[0][0].Timeouts != (control.Timeouts{TCP: 900, TCPFin: 120, UDP: 300}) {
			t.Errorf("%q: %+v, %+v", args, r, api.edits)
		}
	}
	if r := run(t, &fakeAPI{snap: emptyTable()}, "", "-A", "--", "-t"); r.status != 2 || r.stderr != "unexpected argument -t\n" {
		t.Errorf("-A -- -t: %+v", r)
	}
}
