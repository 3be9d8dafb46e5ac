package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunDropsPrivileges runs `uvs run` with [run] user = "nobody" and no script of another
// user: once its ports and its control socket are open it must be nobody on every thread,
// with no capability, an empty bounding set and no_new_privs, the control socket nobody's
// and 0600; traffic must still flow, a SIGHUP reload (reading the file as nobody) must still
// work, and a misc_check script must run as nobody with no_new_privs. Then a reload adds a
// misc_check of another user: capabilities are decided at start, so it is logged as one
// that cannot run (naming the script and the user), fails with that reason, and uvs runs on
// unchanged. The binary is built without cgo, as the VM image's is, so that no_new_privs
// reaches every thread (privs.go says why a cgo build cannot). Needs root.
func TestRunDropsPrivileges(t *testing.T) {
	needRoot(t, "network namespaces, AF_PACKET, switching users", "ip", "nginx", "curl")
	dir := t.TempDir()
	bin := buildStaticUVS(t, dir)
	pub, out := privsDirs(t, 65534)
	check := filepath.Join(pub, "check.sh")
	// Each run also appends its uids and bounding set to runs: every run, the first included,
	// must come after the drop of privileges.
	if err := os.WriteFile(check, []byte("#!/bin/sh\ncat /proc/self/status > "+out+"/status\ngrep -E '^(Uid|CapBnd):' /proc/self/status >> "+out+"/runs\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	n := newNATTopo(t)
	for i, r := range n.rs {
		startNginx(t, dir, r, i+1)
	}
	cfgPath := filepath.Join(pub, "uvs.toml")
	// rs2Check: a misc_check of rs2's, in TOML ("": none). (A reload cannot add a
	// vrrp_script: VRRP changes need a restart.)
	writeCfg := func(weight2 int, rs2Check string) {
		t.Helper()
		if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(natInterfaces+`
[[virtual_server]]
address = "10.77.1.100:80"
protocol = "tcp"
lb_algo = "rr"
lb_kind = "NAT"
delay_loop = 1
  [[virtual_server.real_server]]
  address = "10.77.2.11:8080"
    [[virtual_server.real_server.misc_check]]
    misc_path = %q
  [[virtual_server.real_server]]
  address = "10.77.2.12:8080"
  weight = %d
%s
[run]
user = "nobody"

[log]
format = "json"
`, check, weight2, rs2Check)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeCfg(1, "")
	socket := filepath.Join(dir, "uvs.sock") // startUVS's (withSocket)
	uvs := startUVS(t, dir, "ip", "netns", "exec", n.lb, bin, "run", "-c", cfgPath)
	curl := func() (string, error) { return curlIn(n.cli, "http://10.77.1.100/") }
	waitFor(t, uvs, 20*time.Second, curl)
	checkRR(t, 4, curl)

	// Every thread of the process.
	pid := uvs.cmd.Process.Pid
	tasks := taskStatuses(t, pid)
	for _, task := range tasks {
		checkDropped(t, task.path, task.status)
	}
	t.Logf("%d threads: nobody, no capabilities, empty bounding set, no_new_privs", len(tasks))

	fi, err := os.Stat(socket)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 65534 || fi.Mode().Perm() != 0o600 {
		t.Errorf("control socket: uid %d, mode %v; want nobody's, 0600", st.Uid, fi.Mode().Perm())
	}

	// The check script ran as nobody, without privileges.
	deadline := time.Now().Add(10 * time.Second)
	var status []byte
	for time.Now().Before(deadline) {
		if status, err = os.ReadFile(filepath.Join(out, "status")); err == nil && len(status) > 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(status) == 0 {
		t.Fatalf("the misc_check script never ran: %v", err)
	}
	checkDropped(t, "misc_check script", string(status))
	checkEveryRun(t, filepath.Join(out, "runs"), "65534\t65534\t65534\t65534")

	// A reload, reading the file as nobody, still works.
	writeCfg(3, "")
	uvs.cmd.Process.Signal(syscall.SIGHUP)
	waitLoggedTimes(t, uvs, "configuration reloaded", 1, 10*time.Second)
	checkRR(t, 4, curl)
	if strings.Contains(uvs.logged(), "reload refused") {
		t.Errorf("reload refused:\n%s", uvs.logged())
	}

	// A reload that adds a script of another user: uvs kept no capability at start, so the
	// script cannot run. The reload is applied, the script named with its user in an
	// error, its check fails with that reason (rs2 leaves), and uvs keeps running as it was.
	other := otherUser(t)
	check2 := filepath.Join(pub, "check2.sh")
	if err := os.WriteFile(check2, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeCfg(3, fmt.Sprintf(`    [[virtual_server.real_server.misc_check]]
    misc_path = %q
    user = %q
`, check2, other.Username))
	uvs.cmd.Process.Signal(syscall.SIGHUP)
	waitLoggedTimes(t, uvs, "configuration reloaded", 2, 10*time.Second)
	waitLoggedTimes(t, uvs, "this script runs as another user, which this process cannot switch to", 1, 5*time.Second)
	for _, l := range strings.Split(uvs.logged(), "\n") {
		if strings.Contains(l, "cannot switch to") && (!strings.Contains(l, check2) || !strings.Contains(l, `"user":"`+other.Username+`"`) ||
			!strings.Contains(l, "decided at start")) {
			t.Errorf("the reload's error names neither the script %s, its user %s, nor why: %s", check2, other.Username, l)
		}
	}
	waitLoggedTimes(t, uvs, `cannot run as user \"`+other.Username+`\"`, 1, 20*time.Second)
	if c := strings.Count(uvs.logged(), "this script runs as another user, which this process cannot switch to"); c != 1 {
		t.Errorf("%d scripts reported unable to switch users at the reload; want 1", c)
	}
	for i := 0; i < 4; i++ {
		if got, err := curl(); err != nil || got != "rs1" {
			t.Fatalf("request %d after rs2's check failed: %q, %v; want rs1", i, got, err)
		}
	}
	for _, task := range taskStatuses(t, pid) {
		checkDropped(t, task.path, task.status)
	}
	if err := uvs.running(); err != nil {
		t.Fatal(err)
	}
}

// TestRunDropsPrivilegesKeepsScriptCaps runs `uvs run` with [run] user = "nobody" and
// a misc_check and a vrrp_script of another user (daemon): uvs must keep exactly CAP_SETUID and CAP_SETGID in
// its effective and permitted sets on every thread (nothing inheritable or ambient, an empty
// bounding set, no_new_privs), and the check script must run as that user with no
// capability at all. A check of that user that outlives its misc_timeout must be killed
// (uvs, nobody, has no CAP_KILL: the signal goes out as the script's user) and fail with
// "timeout"; the same for a vrrp_script, whose failure is logged. Needs root.
func TestRunDropsPrivilegesKeepsScriptCaps(t *testing.T) {
	needRoot(t, "network namespaces, AF_PACKET, switching users", "ip", "nginx", "curl", "pgrep")
	other := otherUser(t)
	ouid, _ := strconv.Atoi(other.Uid)
	ogid, _ := strconv.Atoi(other.Gid)
	dir := t.TempDir()
	bin := buildStaticUVS(t, dir)
	pub, out := privsDirs(t, ouid)
	check := filepath.Join(pub, "check.sh")
	// "$1": "" for the misc_check, "vrrp" for the vrrp_script. Each run also appends its uids
	// and bounding set to runs$1.
	if err := os.WriteFile(check, []byte("#!/bin/sh\ncat /proc/self/status > "+out+"/status$1.tmp && mv "+out+"/status$1.tmp "+out+"/status$1\n"+
		"grep -E '^(Uid|CapBnd):' /proc/self/status >> "+out+"/runs$1\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	n := newNATTopo(t)
	for i, r := range n.rs {
		startNginx(t, dir, r, i+1)
	}
	cfgPath := filepath.Join(pub, "uvs.toml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(natInterfaces+`
[[virtual_server]]
address = "10.77.1.100:80"
protocol = "tcp"
lb_algo = "rr"
lb_kind = "NAT"
delay_loop = 1
  [[virtual_server.real_server]]
  address = "10.77.2.11:8080"
    [[virtual_server.real_server.misc_check]]
    misc_path = %q
    user = %q
  [[virtual_server.real_server]]
  address = "10.77.2.12:8080"
    [[virtual_server.real_server.misc_check]]
    misc_path = "/bin/sleep 37"
    misc_timeout = 1
    user = %q

[[vrrp_script]]
name = "chk"
script = %q
interval = 1
user = %q

[[vrrp_script]]
name = "slow"
script = "/bin/sleep 38"
interval = 2
timeout = 1
user = %q

[[vrrp_instance]]
name = "VI_1"
interface = "eth1"
virtual_router_id = 51
priority = 100
virtual_ipaddress = ["10.77.2.253/24"]
track_script = ["chk", "slow"]

[run]
user = "nobody"

[log]
format = "json"
`, check, other.Username, other.Username, check+" vrrp", other.Username, other.Username)), 0o644); err != nil {
		t.Fatal(err)
	}
	uvs := startUVS(t, dir, "ip", "netns", "exec", n.lb, bin, "run", "-c", cfgPath)
	curl := func() (string, error) { return curlIn(n.cli, "http://10.77.1.100/") }
	waitFor(t, uvs, 20*time.Second, curl)
	waitLoggedTimes(t, uvs, "privileges dropped but CAP_SETUID|CAP_SETGID", 1, 5*time.Second)

	pid := uvs.cmd.Process.Pid
	tasks := taskStatuses(t, pid)
	for _, task := range tasks {
		for _, bad := range statusMismatches(task.status, map[string]string{
			"Uid": "65534\t65534\t65534\t65534", "CapEff": "00000000000000c0", "CapPrm": "00000000000000c0",
			"CapInh": "0000000000000000", "CapAmb": "0000000000000000", "CapBnd": "0000000000000000", "NoNewPrivs": "1",
		}) {
			t.Errorf("%s: %s", task.path, bad)
		}
	}
	t.Logf("%d threads: nobody, CAP_SETUID|CAP_SETGID only, empty bounding set, no_new_privs", len(tasks))

	// The check script ran as the other user, without capabilities (a run before the drop,
	// as root, would show a full bounding set: wait for one after it).
	idStr := func(id int) string { return fmt.Sprintf("%d\t%d\t%d\t%d", id, id, id, id) }
	want := map[string]string{
		"Uid": idStr(ouid), "Gid": idStr(ogid), "CapEff": "0000000000000000", "CapPrm": "0000000000000000",
		"CapInh": "0000000000000000", "CapAmb": "0000000000000000", "CapBnd": "0000000000000000", "NoNewPrivs": "1",
	}
	for _, sc := range []struct{ what, file string }{{"misc_check", "status"}, {"vrrp_script", "statusvrrp"}} {
		var bad []string
		deadline := time.Now().Add(10 * time.Second)
		for {
			status, err := os.ReadFile(filepath.Join(out, sc.file))
			bad = []string{fmt.Sprint("no status yet: ", err)}
			if err == nil && len(status) > 0 {
				if bad = statusMismatches(string(status), want); len(bad) == 0 {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("the %s script of %s: %v", sc.what, other.Username, bad)
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Logf("%s script: uid %d, gid %d, no capabilities, no_new_privs", sc.what, ouid, ogid)
	}
	// Every run, the first included (a vrrp_script runs as VRRP starts, before uvs opens its
	// control socket), came after the drop: no run with root's bounding set.
	checkEveryRun(t, filepath.Join(out, "runs"), idStr(ouid))
	checkEveryRun(t, filepath.Join(out, "runsvrrp"), idStr(ouid))

	// The check that sleeps past its timeout is killed (else Run would wait for it forever
	// and never report) and fails; rs2 leaves, rs1 serves.
	waitLoggedTimes(t, uvs, "failed: timeout", 1, 20*time.Second)
	// So is the vrrp_script that does, and that is logged (once: the reason does not change).
	waitLoggedTimes(t, uvs, "vrrp_script failed without an exit status", 1, 20*time.Second)
	for _, l := range strings.Split(uvs.logged(), "\n") {
		if strings.Contains(l, "vrrp_script failed") && (!strings.Contains(l, `"vrrp_script":"slow"`) || !strings.Contains(l, "timed out")) {
			t.Errorf("vrrp_script failure: want slow's, timed out: %s", l)
		}
	}
	time.Sleep(500 * time.Millisecond)
	o, _ := exec.Command("pgrep", "-c", "-u", other.Uid, "-f", "sleep 37").Output()
	if alive, _ := strconv.Atoi(strings.TrimSpace(string(o))); alive > 1 { // the one of the run under way
		t.Errorf("%d sleeps of the timed-out check are alive: not killed", alive)
	}
	for i := 0; i < 4; i++ {
		if got, err := curl(); err != nil || got != "rs1" {
			t.Fatalf("request %d: %q, %v; want rs1", i, got, err)
		}
	}
	if l := uvs.logged(); strings.Contains(l, "cannot switch to") || strings.Contains(l, `"vrrp_script":"chk"`) {
		t.Errorf("a script was reported unable to switch users:\n%s", uvs.logged())
	}
}

// buildStaticUVS builds uvs without cgo, as the VM image's is, so that a setting of every
// thread (no_new_privs, capabilities) reaches every thread (privs.go says why a cgo build
// cannot).
func buildStaticUVS(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "uvs")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// privsDirs makes pub, a directory root owns and everyone may enter, for what nobody must
// read (the configuration, for reloads) and run (check scripts), and in it out, owned by
// uid (where a script running as uid writes); removed at cleanup.
func privsDirs(t *testing.T, uid int) (pub, out string) {
	t.Helper()
	pub, err := os.MkdirTemp("", "uvs-privs-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(pub) })
	out = filepath.Join(pub, "out")
	for _, err := range []error{os.Chmod(pub, 0o755), os.Mkdir(out, 0o755), os.Chown(out, uid, -1)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return pub, out
}

// otherUser is a system user other than root and nobody for a script to run as: daemon.
func otherUser(t *testing.T) *user.User {
	t.Helper()
	u, err := user.Lookup("daemon")
	if err != nil || u.Uid == "0" || u.Uid == "65534" {
		t.Skipf("needs a user daemon (not root, not nobody): %v", err)
	}
	return u
}

// checkEveryRun checks the lines a check script appended at each run (its Uid and CapBnd lines
// of /proc/self/status): every run as uids, with an empty bounding set, which a run before the
// drop of privileges would not have.
func checkEveryRun(t *testing.T, file, uids string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	runs := 0
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, v, _ := strings.Cut(line, ":")
		v = strings.TrimSpace(v)
		switch {
		case k == "Uid":
			runs++
			if v != uids {
				t.Errorf("%s: run %d as Uid %q, want %q", file, runs, v, uids)
			}
		case k == "CapBnd" && v != "0000000000000000":
			t.Errorf("%s: run %d with CapBnd %s: before the drop of privileges", file, runs, v)
		}
	}
	if runs == 0 {
		t.Errorf("%s: no run", file)
	}
}

type taskStatus struct{ path, status string }

// taskStatuses reads /proc/PID/task/*/status: every thread of a process.
func taskStatuses(t *testing.T, pid int) []taskStatus {
	t.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("threads of %d: %v", pid, err)
	}
	var out []taskStatus
	for _, task := range tasks {
		b, err := os.ReadFile(task)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, taskStatus{task, string(b)})
	}
	return out
}

// statusMismatches compares the fields of a /proc status with want.
func statusMismatches(status string, want map[string]string) []string {
	got := map[string]string{}
	for _, line := range strings.Split(status, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			got[k] = strings.TrimSpace(v)
		}
	}
	var bad []string
	for k, v := range want {
		if got[k] != v {
			bad = append(bad, fmt.Sprintf("%s = %q, want %q", k, got[k], v))
		}
	}
	sort.Strings(bad)
	return bad
}

// checkDropped checks a /proc status: nobody's uids and gids, no capability, an empty bounding
// set, no_new_privs.
func checkDropped(t *testing.T, what, status string) {
	t.Helper()
	want := map[string]string{
		"Uid": "65534\t65534\t65534\t65534", "CapEff": "0000000000000000", "CapPrm": "0000000000000000",
		"CapInh": "0000000000000000", "CapAmb": "0000000000000000", "CapBnd": "0000000000000000", "NoNewPrivs": "1",
	}
	for _, bad := range statusMismatches(status, want) {
		t.Errorf("%s: %s", what, bad)
	}
	got := map[string]string{}
	for _, line := range strings.Split(status, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			got[k] = strings.TrimSpace(v)
		}
	}
	if g := strings.Fields(got["Gid"]); len(g) != 4 || g[0] != g[1] || g[0] != g[2] || g[0] != g[3] || g[0] == "0" {
		t.Errorf("%s: Gid = %q, want one non-root group", what, got["Gid"])
	}
	if got["Groups"] != "" && strings.Contains(" "+got["Groups"]+" ", " 0 ") {
		t.Errorf("%s: Groups = %q, root's group kept", what, got["Groups"])
	}
}
