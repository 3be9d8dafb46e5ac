package health_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/health"
)

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{in: "/bin/check", want: []string{"/bin/check"}},
		{in: "  /bin/check   a\tb  ", want: []string{"/bin/check", "a", "b"}},
		{in: `/p 'arg two' "three four"`, want: []string{"/p", "arg two", "three four"}},
		{in: `/p $HOME ~ * $(id) ;|&`, want: []string{"/p", "$HOME", "~", "*", "$(id)", ";|&"}},
		{in: `/p 'it'\''s' "say \"hi\" \\ \$x \a"`, want: []string{"/p", "it's", `say "hi" \ $x \a`}},
		{in: `/p a\ b \'c`, want: []string{"/p", "a b", "'c"}},
		{in: `/p '' "" x`, want: []string{"/p", "", "", "x"}},
		{in: `/p ab'cd'"ef"g`, want: []string{"/p", "abcdefg"}},
		{in: "/p 'multi\nline'", want: []string{"/p", "multi\nline"}},
		{in: "/p a\\\nb", want: []string{"/p", "ab"}},
		{in: `/p 'open`, err: true},
		{in: `/p "open`, err: true},
		{in: `/p \`, err: true},
		{in: "", err: true},
		{in: "   ", err: true},
		{in: `'' arg`, err: true},
	} {
		got, err := health.ParseCommand(tc.in)
		if (err != nil) != tc.err || !slices.Equal(got, tc.want) {
			t.Errorf("ParseCommand(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestScriptExitCodes(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		cmd   string
		extra []string
		code  int
		err   string
	}{
		{cmd: "/bin/true", code: 0},
		{cmd: "false", code: 1}, // looked up in $PATH
		{cmd: `/bin/sh -c 'exit 3'`, code: 3},
		{cmd: `/bin/sh -c 'exit 255'`, code: 255},
		{cmd: `/bin/sh -c 'exit "$1"' sh`, extra: []string{"42"}, code: 42},
		// Arguments arrive as quoted, unexpanded; extra ones after them (keepalived's notify).
		{cmd: `/bin/sh -c '[ $# = 3 ] && [ "$1" = "two words" ] && [ "$2" = "\$HOME" ] && [ "$3" = "x y" ]' sh "two words" '$HOME'`,
			extra: []string{"x y"}, code: 0},
		{cmd: `/bin/sh -c 'kill -9 $$'`, code: -1, err: "killed by signal"},
		{cmd: "/nonexistent/script", code: -1, err: "no such file"},
		{cmd: `/bin/sh 'unterminated`, code: -1, err: "unterminated"},
	} {
		code, err := health.Script{Command: tc.cmd}.Run(ctx, tc.extra...)
		if code != tc.code || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s %q: %d, %v; want %d, error %q", tc.cmd, tc.extra, code, err, tc.code, tc.err)
		}
	}
}

// dead reports whether pid is gone (or a zombie: a dead child waiting for a reaper that
// the container may not have).
func dead(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && len(s) > i+2 && s[i+2] == 'Z'
}

func waitDead(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if dead(pid) {
			return
		}
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	t.Fatalf("process %d (the script's child) survived its script's timeout", pid)
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// A timeout kills the script's whole process group: its background children too, and with
// SIGKILL after KillGrace those that ignore SIGTERM.
func TestScriptTimeoutKillsProcessGroup(t *testing.T) {
	for _, tc := range []struct {
		name     string
		trap     string
		min, max time.Duration
	}{
		{"TERM", "", 200 * time.Millisecond, health.KillGrace},
		{"TERM ignored", `trap "" TERM;`, 200*time.Millisecond + health.KillGrace, 200*time.Millisecond + health.KillGrace + 2*time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pidfile := filepath.Join(t.TempDir(), "pid")
			s := health.Script{
				Command: `/bin/sh -c '` + tc.trap + ` sleep 30 & echo $! > "$1"; wait' sh ` + pidfile,
				Timeout: 200 * time.Millisecond,
			}
			start := time.Now()
			code, err := s.Run(context.Background())
			took := time.Since(start)
			if code != -1 || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timed out") {
				t.Fatalf("Run: %d, %v; want -1 and a timeout", code, err)
			}
			if took < tc.min || took > tc.max {
				t.Fatalf("Run took %v, want [%v, %v]", took, tc.min, tc.max)
			}
			waitDead(t, readPid(t, pidfile))
		})
	}
}

func TestScriptContextCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	code, err := health.Script{Command: "/bin/sleep 30"}.Run(ctx)
	if code != -1 || !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %d, %v; want -1, cancelled", code, err)
	}
	if code, err := (health.Script{Command: "/bin/true"}).Run(ctx); code != -1 || !errors.Is(err, context.Canceled) {
		t.Fatalf("Run with an ended context: %d, %v", code, err)
	}
}

func TestScriptAsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running a script as another user needs root (CI runs this as root)")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody:", err)
	}
	check := `/bin/sh -c '[ "$(id -u)" = "$1" ] && [ "$(id -g)" = "$2" ] && [ "$(id -G)" = "$3" ]' sh `
	for _, tc := range []struct {
		name        string
		user, group string
		uid, gid    string
		groups      string
	}{
		// nobody's primary group, and its supplementary groups only (root's are dropped).
		{"user", "nobody", "", nobody.Uid, nobody.Gid, nobody.Gid},
		{"user and group", "nobody", "root", nobody.Uid, "0", "0 " + nobody.Gid},
		{"numeric user", nobody.Uid, "", nobody.Uid, nobody.Gid, nobody.Gid},
		{"group only", "", nobody.Gid, "0", nobody.Gid, nobody.Gid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := health.Script{Command: check + tc.uid + " " + tc.gid + " '" + tc.groups + "'", User: tc.user, Group: tc.group}
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			code, err := s.Run(context.Background())
			if code != 0 || err != nil {
				out, _ := health.Script{Command: "/usr/bin/id", User: tc.user, Group: tc.group}.Run(context.Background())
				t.Fatalf("as %q:%q: %d, %v (id exit %d)", tc.user, tc.group, code, err, out)
			}
		})
	}
}

func TestScriptUnknownUser(t *testing.T) {
	for _, s := range []health.Script{
		{Command: "/bin/true", User: "no-such-user-uvs"},
		{Command: "/bin/true", Group: "no-such-group-uvs"},
	} {
		if err := s.Validate(); err == nil {
			t.Errorf("Validate(%+v) succeeded", s)
		}
		if code, err := s.Run(context.Background()); code != -1 || err == nil {
			t.Errorf("Run(%+v): %d, %v", s, code, err)
		}
	}
	// Naming oneself needs no root.
	me, err := user.Current()
	if err != nil {
		t.Skip(err)
	}
	if code, err := (health.Script{Command: "/bin/true", User: me.Username}).Run(context.Background()); code != 0 || err != nil {
		t.Fatalf("as myself: %d, %v", code, err)
	}
}

func TestScriptNeedsRoot(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("as root, switching users is allowed (TestScriptAsUser)")
	}
	// root: any user but the current one (naming oneself needs no privilege, and the test
	// may run as nobody).
	_, err := health.Script{Command: "/bin/true", User: "root"}.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "needs root") {
		t.Fatalf("switching to root without root: %v", err)
	}
}

// TestScriptHold: a held script waits, before it starts, until the release (or the end of its
// context); what starts after the release does not wait.
func TestScriptHold(t *testing.T) {
	release := health.HoldScripts()
	defer release()
	done := make(chan error, 1)
	go func() {
		code, err := health.Script{Command: "/bin/true"}.Run(context.Background())
		if err == nil && code != 0 {
			err = fmt.Errorf("exit %d", code)
		}
		done <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if code, err := (health.Script{Command: "/bin/true"}).Run(ctx); code != -1 || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("held past its context: %d, %v; want -1, deadline exceeded", code, err)
	}
	select {
	case err := <-done:
		t.Fatalf("a held script ran: %v", err)
	default:
	}
	release()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the released script did not run")
	}
	release() // twice: no panic
	if code, err := (health.Script{Command: "/bin/true"}).Run(context.Background()); code != 0 || err != nil {
		t.Fatalf("after the release: %d, %v", code, err)
	}
}
