//go:build linux

package afpacket

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

const usernsChildEnv = "UVS_AFPACKET_USERNS_CHILD"

// TestUnprivilegedUserNamespace: an ordinary user can run an AF_PACKET port inside its own
// user+network namespace (unshare -Urn), as uvs does in an unprivileged container. The test
// binary re-executes itself under `unshare -Urn`, and as root first drops to nobody with
// setpriv, so the child never has real privileges; the child builds a veth pair in its own
// namespace and talks ARP with the kernel through the port (opened with a SYN ring, whose
// socket filters an unprivileged user may attach).
func TestUnprivilegedUserNamespace(t *testing.T) {
	if os.Getenv(usernsChildEnv) == "1" {
		usernsChild(t)
		return
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("needs unshare(1) (util-linux)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2's ip command")
	}
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var prefix []string
	if os.Geteuid() == 0 {
		setpriv, err := exec.LookPath("setpriv")
		if err != nil {
			t.Skip("running as root and setpriv(1) is missing: cannot drop to an unprivileged user")
		}
		prefix = []string{setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"}
		// go test keeps the binary in a 0700 directory: give nobody a copy it can run.
		dir, err := os.MkdirTemp("", "uvs-afpacket-userns-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, "afpacket.test")
		if err := copyFile(bin, dst); err != nil {
			t.Fatal(err)
		}
		bin = dst
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	probe := append(append([]string{}, prefix...), unshare, "-Urn", "true")
	if out, err := exec.CommandContext(ctx, probe[0], probe[1:]...).CombinedOutput(); err != nil {
		t.Skipf("unprivileged user namespaces are not available here (%s: %v: %s)", strings.Join(probe, " "), err, strings.TrimSpace(string(out)))
	}
	args := append(append([]string{}, prefix...), unshare, "-Urn", bin,
		"-test.run=^TestUnprivilegedUserNamespace$", "-test.v", "-test.count=1")
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(os.Environ(), usernsChildEnv+"=1")
	cmd.Dir = os.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestUnprivilegedUserNamespace") {
		t.Fatalf("child (%s): %v\n%s", strings.Join(args, " "), err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "userns_test.go") {
			t.Log("child:", strings.TrimSpace(line))
		}
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// usernsChild runs inside `unshare -Urn` as an unprivileged user: uid 0 in a user namespace
// it owns, which grants CAP_NET_RAW and CAP_NET_ADMIN over its own network namespace only.
func usernsChild(t *testing.T) {
	m, _ := os.ReadFile("/proc/self/uid_map")
	t.Logf("uid_map: %s", strings.Join(strings.Fields(string(m)), " "))
	for _, args := range [][]string{
		{"ip", "link", "set", "lo", "up"},
		{"ip", "link", "add", "a0", "type", "veth", "peer", "name", "b0"},
		{"ip", "addr", "add", "10.79.0.1/24", "dev", "b0"},
		{"ip", "link", "set", "a0", "up"},
		{"ip", "link", "set", "b0", "up"},
	} {
		run(t, args...)
	}
	if err := DisableOffloads("b0"); err != nil {
		t.Fatalf("DisableOffloads in the user namespace: %v", err)
	}
	for _, rv := range ringVersions {
		p, err := Open(Config{Name: "a0", VNetHdr: true, NumBlocks: 4, RingVersion: rv, SYNRing: true})
		if err != nil {
			t.Fatalf("Open (%s) as an unprivileged user: %v", rv, err)
		}
		l := &link{portIP: mustAddr("10.79.0.2"), peerIP: mustAddr("10.79.0.1")}
		f := arpRequest(p.HardwareAddr(), l.portIP, l.peerIP)
		buf := append(make([]byte, p.Headroom()), f...)
		if n, err := p.Write([][]byte{buf}, []int{len(f)}, p.Headroom()); n != 1 || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
		readUntil(t, p, 5*time.Second, func(f []byte) bool {
			_, ok := isARPReply(f, l.peerIP, p.HardwareAddr())
			return ok
		})
		t.Logf("%s: ARP reply received through the port on a0; stats %+v", rv, p.Stats())
		p.Close()
	}
}
