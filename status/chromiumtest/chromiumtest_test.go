package chromiumtest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// timers is a page whose scripts do what a refreshing page does: wait 10 s, fetch, show
// what came back, and wait again, stamping each step with the page's clock.
const timers = `<!DOCTYPE html><html><body><p id="log">loaded</p><script>
var t0 = Date.now(), log = document.getElementById("log");
function stamp(what) { log.textContent += " " + what + "@" + Math.round((Date.now() - t0) / 1000) + "s"; }
setTimeout(function () {
  stamp("timer");
  fetch("slow", {cache: "no-store"}).then(function (r) { return r.text(); }).then(function (body) {
    stamp(body);
    setTimeout(function () { stamp("timer"); }, 10000);
  });
}, 10000);
</script></body></html>`

// TestVirtualTime checks what the package rests on, in the installed chromium: that a
// budget of virtual time runs the page's timers without waiting for them, and that
// virtual time stands still while a fetch is pending, however long the server takes.
func TestVirtualTime(t *testing.T) {
	b := Find(t)
	const slow = 700 * time.Millisecond
	rec := &Recorder{}
	srv := httptest.NewServer(rec.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(slow)
			fmt.Fprint(w, "fetched")
			return
		}
		fmt.Fprint(w, timers)
	})))
	defer srv.Close()

	// 15 s of page time, bounded to 10 s of wall time: only virtual time gets through.
	b.Timeout = 10 * time.Second
	start := time.Now()
	dom := b.DumpDOM(t.Context(), t, srv.URL+"/", 15*time.Second)
	wall := time.Since(start)

	// The fetch took 0.7 s of real time and none of the page's: it was answered at 10 s,
	// and the next timer, at 20 s, is past the budget.
	if got := Tags(dom, "id", "log")[0].Text(dom); got != "loaded timer@10s fetched@10s" {
		t.Errorf("page log %q, want %q", got, "loaded timer@10s fetched@10s")
	}
	if wall < slow {
		t.Errorf("done in %v, before the fetch could be answered", wall)
	}
	reqs := rec.Requests()
	if len(reqs) != 2 || !reqs[0].Navigation() || reqs[1].Navigation() || reqs[1].Path != "/slow" || reqs[1].Dest != "empty" {
		t.Errorf("requests: %+v", reqs)
	}
}

// TestLoadOnly checks that budget 0 dumps the DOM as it is at the load event, with no
// timer run (a budget of 0 given to chromium would never end).
func TestLoadOnly(t *testing.T) {
	b := Find(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, timers) }))
	defer srv.Close()
	dom := b.DumpDOM(t.Context(), t, srv.URL+"/", 0)
	if got := Tags(dom, "id", "log")[0].Text(dom); got != "loaded" {
		t.Errorf("page log %q", got)
	}
}

func TestLoadFailure(t *testing.T) {
	b := Find(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/"
	ln.Close() // nothing listens there now
	_, _, err = b.Dump(t.Context(), url, 0)
	if err == nil || !strings.Contains(err.Error(), "ERR_CONNECTION_REFUSED") {
		t.Errorf("got %v, want the refused connection", err)
	}
}

// TestKill checks the wall-clock bound: a page that never answers holds the browser
// forever, so it is killed at b.Timeout — all of it, every process it started, which the
// server notes (the browser's process group) while the browser waits for it.
func TestKill(t *testing.T) {
	b := Find(t)
	groups := make(chan int, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		groups <- group0(t, r.URL.Query().Get("run"))
		<-r.Context().Done() // until the browser is gone
	}))
	defer srv.Close()

	for _, c := range []struct {
		name    string
		timeout time.Duration
		ctx     time.Duration // the caller's deadline, 0 for none
		want    string
	}{
		{"timeout", 2 * time.Second, 0, "killed after 2s"},
		{"context", 0, time.Second, "deadline exceeded"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := t.Context()
			if c.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, c.ctx)
				defer cancel()
			}
			b.Timeout = c.timeout
			start := time.Now()
			_, _, err := b.Dump(ctx, srv.URL+"/never?run="+c.name, 5*time.Second)
			took := time.Since(start)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want %q", err, c.want)
			}
			if bound := max(c.timeout, c.ctx); took < bound || took > bound+10*time.Second {
				t.Errorf("returned after %v", took)
			}
			select {
			case pg := <-groups:
				if pg == 0 {
					t.Fatal("the browser's process not found")
				}
				if running(pg) {
					t.Errorf("processes of group %d still run", pg)
				}
			default:
				t.Error("the browser never asked")
			}
		})
	}
}

// group0 is the process group of the browser that loads a URL with run in it: the group
// of the process whose command line has it.
func group0(t *testing.T, run string) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		cmd, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !strings.Contains(string(cmd), "run="+run) || !strings.Contains(string(cmd), "--dump-dom") {
			continue
		}
		st, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+1:]))
		pg, _ := strconv.Atoi(f[2])
		t.Logf("browser %s (%s) in process group %d", e.Name(), strings.ReplaceAll(string(cmd[:min(len(cmd), 40)]), "\x00", " "), pg)
		return pg
	}
	return 0
}

func TestLookup(t *testing.T) {
	t.Setenv(EnvBinary, "/nonexistent/chromium")
	if _, err := Lookup(); err == nil || !strings.Contains(err.Error(), EnvBinary) {
		t.Errorf("got %v, want an error naming $%s", err, EnvBinary)
	}
}
