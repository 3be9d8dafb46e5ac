package health_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uvs-lb/uvs/health"
)

// TestScriptSecurity applies keepalived's rule to files and directories of every kind of
// owner and mode. Making files of other owners needs root; without it, a file of one's own is
// accepted (uvs trusts its own user's files as root's) unless everyone may write it.
func TestScriptSecurity(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	script := func(rel string, mode os.FileMode) string {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\nexit 0\n"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if os.Geteuid() != 0 {
		if err := health.CheckScriptSecurity(dir); err != nil {
			t.Skipf("the temporary directory itself is insecure here: %v", err)
		}
		if err := health.CheckScriptSecurity(script("mine.sh", 0o755)); err != nil {
			t.Errorf("a script of uid %d's own: %v, want accepted", os.Geteuid(), err)
		}
		if err := health.CheckScriptSecurity(script("everyones.sh", 0o757)); err == nil || !strings.Contains(err.Error(), "writable by everyone") {
			t.Errorf("a world-writable script: %v, want refused", err)
		}
		t.Skip("the rest needs root (files of other owners)")
	}
	// /tmp and the test's directories must pass for the cases below to mean anything.
	if err := health.CheckScriptSecurity(dir); err != nil {
		t.Skipf("the temporary directory itself is insecure here: %v", err)
	}
	chown := func(p string, uid, gid int) {
		t.Helper()
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	chmod := func(p string, m os.FileMode) {
		t.Helper()
		if err := os.Chmod(p, m); err != nil {
			t.Fatal(err)
		}
	}
	ok := []string{script("ok.sh", 0o755), script("root-group-writable.sh", 0o775), script("sub/ok.sh", 0o700)}
	sticky := script("sticky/s.sh", 0o755)
	chmod(filepath.Dir(sticky), 0o777|os.ModeSticky)
	ok = append(ok, sticky)
	for _, p := range ok {
		if err := health.CheckScriptSecurity(p); err != nil {
			t.Errorf("%s: %v, want accepted", p, err)
		}
	}
	if err := health.CheckScriptSecurity("true"); err != nil { // by $PATH, as exec finds it
		t.Errorf("true: %v", err)
	}

	worldFile := script("world.sh", 0o757)
	groupFile := script("group.sh", 0o775)
	chown(groupFile, 0, 1000)
	userFile := script("user.sh", 0o755)
	chown(userFile, 65534, 0)
	worldDir := script("worlddir/w.sh", 0o755)
	chmod(filepath.Dir(worldDir), 0o777)
	groupDir := script("groupdir/g.sh", 0o755)
	chown(filepath.Dir(groupDir), 0, 1000)
	chmod(filepath.Dir(groupDir), 0o775)
	userDir := script("userdir/u.sh", 0o755)
	chown(filepath.Dir(userDir), 65534, 65534)
	stickyFile := script("sticky/world.sh", 0o757|os.ModeSticky) // the sticky bit excuses directories only
	for p, want := range map[string]string{
		worldFile: "world.sh is writable by everyone", groupFile: "group.sh is writable by group 1000",
		userFile: "user.sh is owned by uid 65534", worldDir: "worlddir is writable by everyone",
		groupDir: "groupdir is writable by group 1000", userDir: "userdir is owned by uid 65534",
		stickyFile: "world.sh is writable by everyone", filepath.Join(dir, "missing.sh"): "no such file",
	} {
		if err := health.CheckScriptSecurity(p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error with %q", p, err, want)
		}
	}

	// Under a policy that asks for it, an insecure script is not run; a secure one is.
	health.SetScriptPolicy(health.ScriptPolicy{Secure: true})
	defer health.SetScriptPolicy(health.ScriptPolicy{})
	if code, err := (health.Script{Command: worldDir}).Run(context.Background()); err == nil || !strings.Contains(err.Error(), "not run") {
		t.Errorf("insecure script ran: %d, %v", code, err)
	}
	if code, err := (health.Script{Command: ok[0]}).Run(context.Background()); err != nil || code != 0 {
		t.Errorf("secure script: %d, %v", code, err)
	}
}

// TestScriptNoNewPrivs: under a policy with NoNewPrivs, a script's process has it.
func TestScriptNoNewPrivs(t *testing.T) {
	out := filepath.Join(t.TempDir(), "status")
	health.SetScriptPolicy(health.ScriptPolicy{NoNewPrivs: true})
	defer health.SetScriptPolicy(health.ScriptPolicy{})
	if code, err := (health.Script{Command: "cp /proc/self/status " + out}).Run(context.Background()); err != nil || code != 0 {
		t.Fatalf("cp: %d, %v", code, err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "NoNewPrivs:\t1") {
		t.Errorf("the script's status:\n%s", b)
	}
}
