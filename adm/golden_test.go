package adm_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uvs-lb/uvs/adm"
	"github.com/uvs-lb/uvs/control"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/")

// golden compares got with testdata/NAME.golden (or rewrites it with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s: output differs from %s\n--- got:\n%s--- want:\n%s", name, path, got, want)
	}
}

// TestGoldenListings renders the fixture in every ipvsadm format and compares each with
// its golden file. The golden files were checked against ipvsadm 1.31's printf formats
// (print_title, print_service_entry, print_largenum, print_conn, list_timeout,
// list_daemon), trailing blanks included.
func TestGoldenListings(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"list", []string{"-Ln"}},
		{"list-names", []string{"-L"}},
		{"list-noargs", nil},
		{"list-nosort", []string{"-Ln", "--nosort"}},
		{"list-sort", []string{"-L", "-n", "--sort"}},
		{"list-stats", []string{"-Ln", "--stats"}},
		{"list-stats-exact", []string{"-Ln", "--stats", "--exact"}},
		{"list-rate", []string{"-Ln", "--rate"}},
		{"list-rate-exact", []string{"-l", "--rate", "-X", "-n"}},
		{"list-thresholds", []string{"-Ln", "--thresholds"}},
		{"list-persistent-conn", []string{"-Ln", "--persistent-conn"}},
		{"list-tun-info", []string{"-Ln", "--tun-info"}},
		{"list-service", []string{"-Ln", "-t", "10.0.0.1:80"}},
		{"list-service-stats", []string{"--list", "--numeric", "--tcp-service", "10.0.0.1:443", "--stats"}},
		{"list-service-fwm6", []string{"-Ln", "-f", "2", "-6"}},
		{"list-service-ipv6", []string{"-Ln", "-t", "[2001:db8::1]:80"}},
		{"list-timeout", []string{"-L", "--timeout"}},
		{"list-daemon", []string{"-L", "--daemon"}},
		{"conns", []string{"-Lnc"}},
		{"conns-persistent", []string{"-L", "-c", "--persistent-conn"}},
		{"save", []string{"-Sn"}},
		{"save-names", []string{"--save"}},
		{"vrrp", []string{"--vrrp"}},
		{"checks", []string{"--checks"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := &fakeAPI{snap: fixture(), conns: fixtureConns()}
			r := run(t, api, "", tc.args...)
			if r.status != 0 || r.stderr != "" {
				t.Fatalf("status %d, stderr %q", r.status, r.stderr)
			}
			golden(t, tc.name, r.stdout)
			if len(api.edits)+len(api.zeros)+len(api.started)+len(api.stopped)+api.reloads != 0 {
				t.Errorf("a listing changed something: %+v", api)
			}
		})
	}
}

// TestGoldenDumps renders keepalived's SIGUSR1 and SIGUSR2 dumps.
func TestGoldenDumps(t *testing.T) {
	var b bytes.Buffer
	adm.WriteDataDump(&b, fixture())
	golden(t, "data-dump", b.String())
	b.Reset()
	adm.WriteStatsDump(&b, fixture())
	golden(t, "stats-dump", b.String())
}

// TestListByHand checks a small listing against text written out by hand from
// ipvsadm's format strings, column by column, independently of the golden files.
func TestListByHand(t *testing.T) {
	key := tcp("10.0.0.1", 80)
	s := &control.Snapshot{
		Table: control.TableCounts{Capacity: 4096},
		Services: []control.Service{{
			ServiceSpec: control.ServiceSpec{ServiceKey: key, Scheduler: "wlc", Persistence: 360},
			Servers: []control.Server{
				server(key, "192.168.1.1", 80, "Masq", 1),
				server(key, "192.168.1.2", 80, "Route", 100),
			},
		}},
	}
	s.Services[0].Servers[0].ActiveConns = 3
	s.Services[0].Servers[0].InactConns = 12
	s.Services[0].Stats = control.Stats{Conns: 5, InPkts: 123_456_789, OutPkts: 0, InBytes: 99_999_999, OutBytes: 1_000_000_000}

	// "%-4s %s" + " %s" + " persistent %u"; "  -> %-28s %-7s %-6d %-10u %-10u".
	want := "IP Virtual Server version 1.2.1 (size=4096)\n" +
		"Prot LocalAddress:Port Scheduler Flags\n" +
		"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n" +
		"TCP  10.0.0.1:80 wlc persistent 360\n" +
		"  -> 192.168.1.1:80               Masq    1      3          12        \n" +
		"  -> 192.168.1.2:80               Route   100    0          0         \n"
	if r := run(t, &fakeAPI{snap: s}, "", "-Ln"); r.stdout != want {
		t.Errorf("-Ln:\n%q\nwant\n%q", r.stdout, want)
	}

	// "%-33s" + 5 × print_largenum (9 wide, K/M/G above 10^8).
	want = "IP Virtual Server version 1.2.1 (size=4096)\n" +
		"Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n" +
		"  -> RemoteAddress:Port\n" +
		"TCP  10.0.0.1:80                         5  123456K        0 99999999    1000M\n" +
		"  -> 192.168.1.1:80                      0        0        0        0        0\n" +
		"  -> 192.168.1.2:80                      0        0        0        0        0\n"
	if r := run(t, &fakeAPI{snap: s}, "", "-Ln", "--stats"); r.stdout != want {
		t.Errorf("-Ln --stats:\n%q\nwant\n%q", r.stdout, want)
	}

	// --exact: each number right-aligned in max(9, digits+1).
	want = "TCP  10.0.0.1:80                         5 123456789        0 99999999 1000000000\n"
	if r := run(t, &fakeAPI{snap: s}, "", "-Ln", "--stats", "--exact"); !strings.Contains(r.stdout, want) {
		t.Errorf("-Ln --stats --exact:\n%s\nwant a line\n%q", r.stdout, want)
	}

	want = "-A -t 10.0.0.1:80 -s wlc -p 360\n" +
		"-a -t 10.0.0.1:80 -r 192.168.1.1:80 -m -w 1\n" +
		"-a -t 10.0.0.1:80 -r 192.168.1.2:80 -g -w 100\n"
	if r := run(t, &fakeAPI{snap: s}, "", "-Sn"); r.stdout != want {
		t.Errorf("-Sn:\n%q\nwant\n%q", r.stdout, want)
	}
}
