// Package chromiumtest lets tests look at web pages as a browser renders them, scripts run:
// it loads a URL in Debian's chromium-headless-shell, lets the page run for a budget of
// virtual time, and returns the DOM the page's scripts left, serialized as HTML.
//
// Virtual time is what makes this both fast and bounded: with --virtual-time-budget the
// browser runs the page's timers as soon as nothing else is pending, so a page that
// refreshes every 5 s has refreshed once after a budget of 7.5 s that takes well under a
// second. Virtual time stops while network fetches are pending (chromium's policy
// "pause if network fetches pending"), so a fetch that takes real seconds still completes
// within the budget: a budget of 1.5 periods sees exactly one refresh, however slow the
// server. The wall clock is bounded separately, by the context and Browser.Timeout.
//
// Tests skip, saying how to install it, when the browser is missing: `make deps` installs
// chromium-headless-shell when run as root.
package chromiumtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Binary is the browser's name on PATH; EnvBinary names an environment variable that,
// when set, is the browser's path instead (another build of the headless shell).
const (
	Binary    = "chromium-headless-shell"
	EnvBinary = "UVS_CHROMIUM"
)

// DefaultTimeout bounds one run of the browser in wall-clock time when Browser.Timeout is
// not set, beyond any deadline of the context: generous, since a 2-core CI machine busy
// with other tests can take seconds to start a browser, and only a hang reaches it.
const DefaultTimeout = 60 * time.Second

// Browser is a chromium-headless-shell to run pages in.
type Browser struct {
	// Path is the browser's executable.
	Path string
	// Prefix is a command the browser runs under, e.g. {"ip", "netns", "exec", "lb0"} to
	// load pages from inside a network namespace.
	Prefix []string
	// Args are more command-line flags, after the ones DumpDOM passes.
	Args []string
	// Timeout bounds each run in wall-clock time (DefaultTimeout if 0).
	Timeout time.Duration
}

// Lookup finds the browser: $UVS_CHROMIUM, else chromium-headless-shell on PATH.
func Lookup() (*Browser, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("$%s: %w", EnvBinary, err)
		}
		return &Browser{Path: p}, nil
	}
	p, err := exec.LookPath(Binary)
	if err != nil {
		return nil, fmt.Errorf("%s not found (apt-get install %s, or `make deps` as root; or set $%s): %w",
			Binary, Binary, EnvBinary, err)
	}
	return &Browser{Path: p}, nil
}

// Find is Lookup for a test: it skips the test when there is no browser.
func Find(t testing.TB) *Browser {
	t.Helper()
	b, err := Lookup()
	if err != nil {
		t.Skipf("skipping: needs a headless browser: %v", err)
	}
	return b
}

// DumpDOM loads url in the browser found by Find, lets it run for budget of virtual time,
// and returns the DOM as HTML; see Browser.DumpDOM.
func DumpDOM(ctx context.Context, t testing.TB, url string, budget time.Duration) string {
	t.Helper()
	return Find(t).DumpDOM(ctx, t, url, budget)
}

// DumpDOM loads url, lets the page run for budget of virtual time (0: until the load
// event), and returns the DOM as HTML. It fails the test when the browser fails, the page
// does not load, or the run outlives ctx or b.Timeout; the browser's log is in the
// test's output then. Like t.Fatal, it must be called from the test's goroutine.
func (b *Browser) DumpDOM(ctx context.Context, t testing.TB, url string, budget time.Duration) string {
	t.Helper()
	start := time.Now()
	dom, log, err := b.Dump(ctx, url, budget)
	if err != nil {
		t.Fatalf("chromium %s (budget %v): %v\nbrowser log:\n%s", url, budget, err, log)
	}
	t.Logf("chromium: %s with %v of virtual time: %d bytes of DOM in %v", url, budget, len(dom),
		time.Since(start).Round(time.Millisecond))
	return dom
}

// Dump is DumpDOM without a test: it returns the DOM, and the browser's log (its stderr)
// for when err is not nil.
func (b *Browser) Dump(ctx context.Context, url string, budget time.Duration) (dom, log string, err error) {
	timeout := b.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()

	// A profile of its own, so that runs share no cache, cookies or lock with one another
	// or with a browser of the user's.
	dir, err := os.MkdirTemp("", "chromiumtest-")
	if err != nil {
		return "", "", err
	}
	defer removeAll(dir)

	args := []string{
		// The sandbox needs user namespaces or a setuid helper, and refuses to run as
		// root, which CI is; the pages a test loads are its own.
		"--no-sandbox",
		"--headless",
		"--disable-gpu",
		// Docker's /dev/shm is 64 MB, which a renderer can exhaust; /tmp has no such limit.
		"--disable-dev-shm-usage",
		// Tests load local servers: an http_proxy in the environment must not route them
		// elsewhere, and the browser has no business calling home.
		"--no-proxy-server",
		"--disable-background-networking",
		"--no-first-run",
		"--user-data-dir=" + dir,
	}
	// Only a positive budget: chromium 156 given --virtual-time-budget=0 runs the page's
	// timers in virtual time forever and never dumps.
	if budget > 0 {
		args = append(args, "--virtual-time-budget="+strconv.FormatInt(budget.Milliseconds(), 10))
	}
	args = append(args, b.Args...)
	args = append(args, "--dump-dom", url)
	argv := append(append([]string{}, b.Prefix...), b.Path)
	argv = append(argv, args...)

	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	group(cmd)
	err = cmd.Run()
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil // the browser exited well; a straggler kept its stdout open (see group)
	}
	// The browser's zygote and renderers outlive it by a moment, and one killed on timeout
	// leaves them all: end the whole process group before its profile is removed.
	reap(cmd)
	log = stderr.String()
	switch {
	case parent.Err() != nil:
		return "", log, fmt.Errorf("killed: %w", context.Cause(parent))
	case ctx.Err() != nil:
		return "", log, fmt.Errorf("killed after %v, its time limit: %w", timeout, ctx.Err())
	case err != nil:
		// Chromium exits 1 when the page does not load and says why in its log.
		if why := loadFailure(log); why != "" {
			return "", log, fmt.Errorf("%w: %s", err, why)
		}
		return "", log, err
	case strings.TrimSpace(stdout.String()) == "":
		return "", log, errors.New("no DOM on stdout")
	}
	return stdout.String(), log, nil
}

// loadFailure is chromium's line saying the page did not load, "" if there is none.
func loadFailure(log string) string {
	for l := range strings.Lines(log) {
		if _, why, ok := strings.Cut(l, "Page load failed: "); ok {
			return strings.TrimSpace(why)
		}
	}
	return ""
}

// removeAll removes the profile, retrying a little: a renderer killed a moment ago may
// still have been writing to it.
func removeAll(dir string) {
	for range 20 {
		if os.RemoveAll(dir) == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
