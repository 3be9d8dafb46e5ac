package lab

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const unprivilegedChildEnv = "UVS_LAB_UNPRIVILEGED_CHILD"

// TestUnprivileged: a lab runs as an ordinary user, with no capability and no /dev/net/tun.
// As root, the test binary re-executes itself as nobody (setpriv) to prove it; as anyone
// else, it already runs unprivileged.
func TestUnprivileged(t *testing.T) {
	if file := os.Getenv(unprivilegedChildEnv); file != "" {
		unprivilegedChild(t, file)
		return
	}
	if os.Geteuid() != 0 {
		unprivilegedChild(t, "testdata/tiny.toml")
		return
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("running as root and setpriv(1) is missing: cannot drop to an unprivileged user")
	}
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// go test keeps the binary in a 0700 directory: give nobody copies it can read.
	dir, err := os.MkdirTemp("", "uvs-lab-unprivileged-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, c := range []struct {
		src, dst string
		mode     os.FileMode
	}{{bin, "lab.test", 0o755}, {"testdata/tiny.toml", "tiny.toml", 0o644}} {
		if err := copyFile(c.src, filepath.Join(dir, c.dst), c.mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups",
		filepath.Join(dir, "lab.test"), "-test.run=^TestUnprivileged$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), unprivilegedChildEnv+"="+filepath.Join(dir, "tiny.toml"))
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestUnprivileged") {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "unprivileged_test.go") {
			t.Log("child:", strings.TrimSpace(line))
		}
	}
}

// unprivilegedChild runs a topology as the unprivileged user it is.
func unprivilegedChild(t *testing.T, file string) {
	if os.Geteuid() == 0 {
		t.Fatal("the child runs as root")
	}
	if f, err := os.OpenFile("/dev/net/tun", os.O_RDWR, 0); err == nil {
		f.Close()
		t.Log("note: /dev/net/tun is open to this user; the lab does not use it")
	}
	rep := run(t, file, Options{})
	c := client(t, rep, "c1/http")
	if c.Requests-c.Errors < 50 {
		t.Fatalf("as uid %d: %d requests, %d errors", os.Geteuid(), c.Requests, c.Errors)
	}
	t.Logf("as uid %d: %d requests answered by %v", os.Geteuid(), c.Requests-c.Errors, c.PerServer)
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
