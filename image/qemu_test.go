package image

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// vm is a QEMU process whose serial console the test reads.
type vm struct {
	t     *testing.T
	cmd   *exec.Cmd
	qmp   string
	start time.Time

	mu     sync.Mutex
	lines  []string
	change chan struct{} // closed and replaced at each new line and at exit
	done   chan struct{} // closed when QEMU has exited
	err    error
}

// needQEMU skips unless this machine can boot the image.
func needQEMU(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("the image is linux/amd64")
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("no qemu-system-x86_64 (Debian package qemu-system-x86; make deps installs it as root)")
	}
}

// startVM starts qemu-system-x86_64 under TCG (CI has no KVM) with args, its serial console
// on a pipe and QMP on a unix socket; Cleanup kills it.
func startVM(t *testing.T, args ...string) *vm {
	t.Helper()
	v := &vm{t: t, qmp: filepath.Join(t.TempDir(), "qmp.sock"), change: make(chan struct{}), done: make(chan struct{})}
	base := []string{"-accel", "tcg", "-m", "256", "-smp", "1", "-nodefaults", "-no-reboot", "-display", "none",
		"-serial", "stdio", "-monitor", "none", "-qmp", "unix:" + v.qmp + ",server=on,wait=off"}
	v.cmd = exec.Command("qemu-system-x86_64", append(base, args...)...)
	out, err := v.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	v.cmd.Stderr = v.cmd.Stdout
	v.start = time.Now()
	if err := v.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			v.mu.Lock()
			v.lines = append(v.lines, strings.TrimRight(sc.Text(), "\r"))
			close(v.change)
			v.change = make(chan struct{})
			v.mu.Unlock()
		}
		v.err = v.cmd.Wait()
		close(v.done)
		v.mu.Lock()
		close(v.change)
		v.change = make(chan struct{})
		v.mu.Unlock()
	}()
	t.Cleanup(func() {
		v.cmd.Process.Kill()
		<-v.done
		if t.Failed() {
			t.Logf("serial console:\n%s", v.console())
		}
	})
	return v
}

func (v *vm) console() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return strings.Join(v.lines, "\n")
}

// await waits for a console line containing s and returns it, or fails the test.
func (v *vm) await(s string, timeout time.Duration) string {
	v.t.Helper()
	deadline := time.After(timeout)
	for i := 0; ; {
		v.mu.Lock()
		for ; i < len(v.lines); i++ {
			if strings.Contains(v.lines[i], s) {
				l := v.lines[i]
				v.mu.Unlock()
				return l
			}
		}
		ch := v.change
		v.mu.Unlock()
		select {
		case <-ch:
		case <-v.done:
			if !strings.Contains(v.console(), s) {
				v.t.Fatalf("QEMU exited (%v) before the console said %q", v.err, s)
			}
		case <-deadline:
			v.t.Fatalf("the console did not say %q within %v", s, timeout)
		}
	}
}

// qmpCommand runs one QMP command (e.g. system_powerdown, the ACPI power button).
func (v *vm) qmpCommand(cmd string) error {
	c, err := net.DialTimeout("unix", v.qmp, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	dec := json.NewDecoder(c)
	var msg map[string]any
	if err := dec.Decode(&msg); err != nil { // the greeting
		return err
	}
	for _, ex := range []string{"qmp_capabilities", cmd} {
		if _, err := fmt.Fprintf(c, `{"execute":%q}`+"\n", ex); err != nil {
			return err
		}
		for {
			msg = nil
			if err := dec.Decode(&msg); err != nil {
				return err
			}
			if e, ok := msg["error"]; ok {
				return fmt.Errorf("qmp %s: %v", ex, e)
			}
			if _, ok := msg["return"]; ok {
				break
			}
		}
	}
	return nil
}

// exited waits for QEMU to exit.
func (v *vm) exited(timeout time.Duration) bool {
	select {
	case <-v.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// buildImage builds a static uvs from this module and the image from it.
func buildImage(t *testing.T, noDisk bool, config string) string {
	t.Helper()
	k := kernelForTest(t)
	dir := t.TempDir()
	uvs := filepath.Join(dir, "uvs")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", uvs, "github.com/uvs-lb/uvs/cmd/uvs")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "image")
	if _, err := Build(context.Background(), Options{Out: out, Uvs: uvs, Kernel: k, Config: config, NoDisk: noDisk, Version: "test"}); err != nil {
		t.Fatal(err)
	}
	return out
}

// freeUDP returns a free UDP port on 127.0.0.1 (free when asked: a race, but a short one).
func freeUDP(t *testing.T) int {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func freeTCP(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// httpTo asks the VM's control API (through QEMU's user network) with the bearer token.
func httpTo(method, url, token string) (int, string, error) {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(bytes.TrimSpace(b)), nil
}

// syncWriter serializes writes to b (the lab logs from several goroutines).
type syncWriter struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
