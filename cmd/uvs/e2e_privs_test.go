package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunDropsPrivileges runs `uvs run` with [run] user = "nobody": once its ports and its
// control socket are open it must be nobody on every thread, with no capability and
// no_new_privs, the control socket nobody's and 0600; traffic must still flow, a SIGHUP
// reload (reading the file as nobody) must still work, and a misc_check script must run as
// nobody with no_new_privs. The binary is built without cgo, as the VM image's is, so that
// no_new_privs reaches every thread (privs.go says why a cgo build cannot). Needs root.
func TestRunDropsPrivileges(t *testing.T) {
	needRoot(t, "network namespaces, AF_PACKET, switching users", "ip", "nginx", "curl")
	dir := t.TempDir()
	bin := filepath.Join(dir, "uvs")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// What nobody must read (the configuration, for reloads) and run (the check script) lives
	// in a directory root owns and everyone may enter; the script writes into one of nobody's.
	pub, err := os.MkdirTemp("", "uvs-privs-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(pub) })
	out := filepath.Join(pub, "out")
	for _, err := range []error{os.Chmod(pub, 0o755), os.Mkdir(out, 0o755), os.Chown(out, 65534, 65534)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	check := filepath.Join(pub, "check.sh")
	if err := os.WriteFile(check, []byte("#!/bin/sh\ncat /proc/self/status > "+out+"/status\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	n := newNATTopo(t)
	for i, r := range n.rs {
		startNginx(t, dir, r, i+1)
	}
	cfgPath := filepath.Join(pub, "uvs.toml")
	writeCfg := func(weight2 int) {
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

[run]
user = "nobody"

[log]
format = "json"
`, check, weight2)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeCfg(1)
	socket := filepath.Join(dir, "uvs.sock") // startUVS's (withSocket)
	uvs := startUVS(t, dir, "ip", "netns", "exec", n.lb, bin, "run", "-c", cfgPath)
	curl := func() (string, error) { return curlIn(n.cli, "http://10.77.1.100/") }
	waitFor(t, uvs, 20*time.Second, curl)
	checkRR(t, 4, curl)

	// Every thread of the process.
	pid := uvs.cmd.Process.Pid
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("threads of %d: %v", pid, err)
	}
	for _, task := range tasks {
		b, err := os.ReadFile(task)
		if err != nil {
			t.Fatal(err)
		}
		checkDropped(t, task, string(b))
	}
	t.Logf("%d threads: nobody, no capabilities, no_new_privs", len(tasks))

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

	// A reload, reading the file as nobody, still works.
	writeCfg(3)
	uvs.cmd.Process.Signal(syscall.SIGHUP)
	waitLoggedTimes(t, uvs, "configuration reloaded", 1, 10*time.Second)
	checkRR(t, 4, curl)
	if strings.Contains(uvs.logged(), "reload refused") {
		t.Errorf("reload refused:\n%s", uvs.logged())
	}
}

// checkDropped checks a /proc status: nobody's uids and gids, no capability, no_new_privs.
func checkDropped(t *testing.T, what, status string) {
	t.Helper()
	want := map[string]string{
		"Uid": "65534\t65534\t65534\t65534", "CapEff": "0000000000000000", "CapPrm": "0000000000000000",
		"CapAmb": "0000000000000000", "NoNewPrivs": "1",
	}
	got := map[string]string{}
	for _, line := range strings.Split(status, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			got[k] = strings.TrimSpace(v)
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s = %q, want %q", what, k, got[k], v)
		}
	}
	if g := strings.Fields(got["Gid"]); len(g) != 4 || g[0] != g[1] || g[0] != g[2] || g[0] != g[3] || g[0] == "0" {
		t.Errorf("%s: Gid = %q, want one non-root group", what, got["Gid"])
	}
	if got["Groups"] != "" && strings.Contains(" "+got["Groups"]+" ", " 0 ") {
		t.Errorf("%s: Groups = %q, root's group kept", what, got["Groups"])
	}
}
