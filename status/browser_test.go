package status

import (
	"context"
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/control"
	"github.com/uvs-lb/uvs/status/chromiumtest"
)

// The page as a browser shows it: chromium-headless-shell loads it from an httptest server,
// runs its script for a budget of virtual time, and the tests read the DOM it leaves.

// scripted is a Source that answers its calls in turn from steps, the last one for good.
type scripted struct {
	mu    sync.Mutex
	calls int
	steps []func() (*control.Snapshot, error)
}

func (s *scripted) source(context.Context) (*control.Snapshot, error) {
	s.mu.Lock()
	i := min(s.calls, len(s.steps)-1)
	s.calls++
	s.mu.Unlock()
	return s.steps[i]()
}

// serve serves the page from src, logging the requests it answers.
func serve(t *testing.T, src Source, o Options) (string, *chromiumtest.Recorder) {
	t.Helper()
	rec := &chromiumtest.Recorder{}
	srv := httptest.NewServer(rec.Wrap(Handler(src, o)))
	t.Cleanup(srv.Close)
	return srv.URL + "/", rec
}

// row is the table row of a real server of a service.
func row(t *testing.T, dom, service, server string) (chromiumtest.Tag, string) {
	t.Helper()
	for _, tag := range chromiumtest.Tags(dom, "data-server", server) {
		if tag.Attrs["data-service"] == service {
			return tag, tag.Text(dom)
		}
	}
	t.Fatalf("no row for %s of %s in the page", server, service)
	return chromiumtest.Tag{}, ""
}

// section is the <section> of a service (its rows carry data-service too).
func section(t *testing.T, dom, service string) (chromiumtest.Tag, string) {
	t.Helper()
	for _, tag := range chromiumtest.Tags(dom, "data-service", service) {
		if tag.Name == "section" {
			return tag, tag.Text(dom)
		}
	}
	t.Fatalf("no section for %s in the page", service)
	return chromiumtest.Tag{}, ""
}

func one(t *testing.T, dom, attr, value string) (chromiumtest.Tag, string) {
	t.Helper()
	tags := chromiumtest.Tags(dom, attr, value)
	if len(tags) != 1 {
		t.Fatalf("%d elements with %s=%q, want 1", len(tags), attr, value)
	}
	return tags[0], tags[0].Text(dom)
}

// TestBrowserPage loads the page of a rich snapshot and checks that the browser shows all
// of it, before any refresh (budget 0: the DOM at the load event).
func TestBrowserPage(t *testing.T) {
	b := chromiumtest.Find(t)
	url, rec := serve(t, fixed(rich()), Options{Title: "lb1"})
	dom := b.DumpDOM(t.Context(), t, url, 0)

	if _, text := one(t, dom, "id", "status"); !strings.HasPrefix(text, "lb1 version uvs 1.4.0 (abc1234) · go1.26.3 uptime 3d 4h time 2026-11-22 10:00:00 UTC refresh every 5s") {
		t.Errorf("header: %.200q", text)
	}
	if _, text := one(t, dom, "class", "summary"); text != "3 virtual services (1 without quorum) · 2/5 real servers up · VRRP 1 MASTER, 1 BACKUP, 1 FAULT · 52 connections of 1048576" {
		t.Errorf("summary: %q", text)
	}

	for name, want := range map[string]string{
		"VI_1": "VI_1 MASTER 150 192.168.0.2 prio 150 10.0.0.1, 2001:db8::1 eth0 / 51 v3 G1 1s master-down 3s yes",
		"VI_2": "VI_2 BACKUP 100 192.168.1.3 prio 200 none held eth1 / 52 v2 — 1s master-down 3s no —",
		"VI_3": "VI_3 FAULT fault 90 — none held eth2 / 53 v3 — 1s no —",
	} {
		tag, text := one(t, dom, "data-vrrp", name)
		if !strings.HasPrefix(text, want) {
			t.Errorf("VRRP %s: %q, want %q", name, text, want)
		}
		if st := tag.Attrs["data-state"]; st != strings.ToLower(strings.Fields(want)[1]) {
			t.Errorf("VRRP %s: data-state %q", name, st)
		}
	}

	for key, want := range map[string]string{
		"TCP 10.0.0.1:80": "TCP 10.0.0.1:80 wlc persistent 300 mask 255.255.255.0 [10.0.0.1]:tcp:80 quorum up 1/3 up " +
			"conn/s 120 packets/s in / out 15.0k / 14.0k bytes/s in / out 1.5MB / 12.0MB connections 1.2M packets in / out 98.8M / 87.7M bytes in / out 5.0GB / 42.0GB",
		"UDP [2001:db8::1]:53": "UDP [2001:db8::1]:53 rr ops [2001:db8::1]:udp:53 quorum up 1/1 up",
		"FWM 7":                "FWM 7 sh (sh-fallback,sh-port) FWM 7 IPv4 quorum lost 0/2 up",
	} {
		_, text := section(t, dom, key)
		if !strings.HasPrefix(text, want) {
			t.Errorf("service %s: %.300q, want %q", key, text, want)
		}
	}

	for _, c := range []struct{ service, server, state, inTable, text string }{
		{"TCP 10.0.0.1:80", "10.0.0.2:80", "up", "true", "10.0.0.2:80 Masq UP in table 100/100 42 7 60 7000 / 6500 700kB / 6.0MB 600k HTTP_GET 3s ago HTTP status 200 on /health"},
		{"TCP 10.0.0.1:80", "10.0.0.3:80", "down", "false", "10.0.0.3:80 Route DOWN out of table 0/50 0 3 0 0 / 0 0B / 0B 0 TCP_CHECK HTTP_GET 2s ago TCP_CHECK: connection refused"},
		{"TCP 10.0.0.1:80", "10.0.0.4:8080", "down", "true", "10.0.0.4:8080 Masq DOWN inhibited thresholds 10–100 0/10 1 0 0 0 / 0 0B / 0B 0 MISC_CHECK 1m 30s ago MISC_CHECK: exit status 1"},
		{"UDP [2001:db8::1]:53", "[2001:db8::53]:53", "up", "true", "[2001:db8::53]:53 Tunnel gue:6080 nocsum UP in table 1/1 0 0 0 0 / 0 0B / 0B 0 none —"},
		{"FWM 7", "10.0.1.2:0", "down", "false", "10.0.1.2:0 FullNat DOWN out of table 0/5 0 0 0 0 / 0 0B / 0B 0 PING_CHECK 1s ago PING_CHECK: no reply"},
		{"FWM 7", "10.0.9.9:80", "up", "true", "10.0.9.9:80 Masq UP sorry server 1/1 2 0 0 0 / 0 0B / 0B 0 none —"},
	} {
		tag, text := row(t, dom, c.service, c.server)
		if tag.Attrs["data-state"] != c.state || tag.Attrs["data-in-table"] != c.inTable || text != c.text {
			t.Errorf("%s %s: state %s, in table %s, %q; want %s, %s, %q", c.service, c.server,
				tag.Attrs["data-state"], tag.Attrs["data-in-table"], text, c.state, c.inTable, c.text)
		}
	}

	// Events, the most recent first.
	var events []string
	for _, tag := range chromiumtest.Tags(dom, "class", "event") {
		events = append(events, tag.Text(dom))
	}
	if want := []string{
		"Nov 22 09:59:48 server [10.0.0.1]:tcp:80 / [10.0.0.3]:tcp:80 DOWN TCP connection to [10.0.0.3]:tcp:80 failed",
		"Nov 22 09:10:00 vrrp VI_1 MASTER Entering MASTER STATE",
		"Nov 22 09:00:00 config /etc/uvs/uvs.toml LOADED configuration loaded",
	}; strings.Join(events, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant\n%s", strings.Join(events, "\n"), strings.Join(want, "\n"))
	}

	var drops []string
	for _, tag := range chromiumtest.Tags(dom, "data-drop", "") {
		drops = append(drops, tag.Text(dom))
	}
	if got := strings.Join(drops, ", "); got != "no_server 3400, no_service 12, ttl_exceeded 1" {
		t.Errorf("drops: %s", got)
	}
	if tag, text := one(t, dom, "id", "sync"); tag.Attrs["data-enabled"] != "true" ||
		!strings.Contains(text, "role master interface eth1 syncid 5 group 224.0.0.81:8848 messages sent / received 1000 / 0") {
		t.Errorf("sync: %q", text)
	}
	if _, text := one(t, dom, "data-port", "eth0"); text != "eth0 100M 0 99.0M 0 0 3413 0 0" {
		t.Errorf("port: %q", text)
	}

	reqs := rec.Requests()
	if len(reqs) != 1 || !reqs[0].Navigation() {
		t.Errorf("requests %+v, want the page's load only (no favicon, nothing external)", reqs)
	}
}

// TestBrowserEscapes loads a page whose snapshot is full of markup: the browser must show
// it as text, and none of its scripts or handlers may run.
func TestBrowserEscapes(t *testing.T) {
	b := chromiumtest.Find(t)
	url, _ := serve(t, fixed(hostile()), Options{Title: hostileTitle})
	dom := b.DumpDOM(t.Context(), t, url, 0)

	if tags := chromiumtest.Tags(dom, "data-pwned", ""); len(tags) > 0 {
		t.Errorf("injected script ran: %v", tags[0].Attrs)
	}
	for _, attr := range []string{"onerror", "onmouseover", "src"} {
		if tags := chromiumtest.Tags(dom, attr, ""); len(tags) > 0 {
			t.Errorf("injected element <%s %s=...>", tags[0].Name, attr)
		}
	}
	elements := map[string]int{}
	for _, tag := range chromiumtest.Tags(dom, "", "") {
		elements[tag.Name]++
	}
	if elements["script"] != 1 || elements["img"]+elements["b"]+elements["i"] != 0 {
		t.Errorf("injected elements: %d <script>, %d <img>, %d <b>, %d <i>", elements["script"], elements["img"], elements["b"], elements["i"])
	}
	if _, text := one(t, dom, "id", "status"); !strings.HasPrefix(text, hostileTitle+" version") {
		t.Errorf("title not shown as text: %.100q", text)
	}
	if _, text := one(t, dom, "data-vrrp", hostileVRRP); !strings.HasPrefix(text, hostileVRRP+" MASTER") {
		t.Errorf("VRRP name: %q", text)
	}
	if _, text := one(t, dom, "data-name", hostileSvc); !strings.Contains(text, hostileSvc+" quorum up") {
		t.Errorf("service name: %.300q", text)
	}
	if _, text := row(t, dom, "TCP 10.0.0.1:80", "10.0.0.3:80"); !strings.HasSuffix(text, "TCP_CHECK: "+hostileReason) {
		t.Errorf("check reason: %q", text)
	}
	if ev := chromiumtest.Tags(dom, "class", "event"); len(ev) == 0 || !strings.HasSuffix(ev[0].Text(dom), "DOWN "+hostileEvent) {
		t.Error("event message not shown as text")
	}
	if _, text := one(t, dom, "data-drop", "<i>reason</i>"); text != "<i>reason</i> 1" {
		t.Errorf("drop: %q", text)
	}
	for _, tag := range chromiumtest.Tags(dom, "", "") {
		if tag.Name == "title" && tag.Text(dom) != hostileTitle+" · uvs status" {
			t.Errorf("document title %q", tag.Text(dom))
		}
	}
}

// TestBrowserRefresh is a real server going down between two refreshes: UP in the
// snapshot the page loads with, DOWN in every one after. After 1.5 refresh periods of
// virtual time the page must show it DOWN, having fetched once, from its script (not by
// reloading); and the swap must keep the page's refresh going.
//
// The period is a minute, and the browser's wall-clock bound half of that: the 90 s of page
// time must pass in virtual time, or the browser is killed and the test fails.
func TestBrowserRefresh(t *testing.T) {
	const period = time.Minute
	b := chromiumtest.Find(t)
	b.Timeout = 30 * time.Second

	down := func() (*control.Snapshot, error) {
		s := rich()
		r := &s.Services[0].Servers[0]
		r.Alive, r.InTable, r.CurrentWeight = false, false, 0
		r.Checks[0].Up, r.Checks[0].LastCheck, r.Checks[0].LastReason = false, s.Time.Add(-time.Second), "HTTP status 503 on /health"
		s.Time = s.Time.Add(period)
		return s, nil
	}
	up := func() (*control.Snapshot, error) { return rich(), nil }

	for _, c := range []struct {
		name    string
		budget  time.Duration
		steps   []func() (*control.Snapshot, error)
		state   string // 10.0.0.2:80's data-state
		fetches int
	}{
		// The control: the same source, seen at load, shows the server up.
		{"at load", 0, []func() (*control.Snapshot, error){up, down}, "up", 0},
		{"after 1.5 periods", period * 3 / 2, []func() (*control.Snapshot, error){up, down}, "down", 1},
		// Each refresh fetches again: the first finds the server up, the second down.
		{"after 2.5 periods", period * 5 / 2, []func() (*control.Snapshot, error){up, up, down}, "down", 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := &scripted{steps: c.steps}
			url, rec := serve(t, src.source, Options{Title: "lb1", Refresh: period})
			start := time.Now()
			dom := b.DumpDOM(t.Context(), t, url, c.budget)
			t.Logf("%v of page time in %v", c.budget, time.Since(start).Round(time.Millisecond))

			tag, text := row(t, dom, "TCP 10.0.0.1:80", "10.0.0.2:80")
			if got := tag.Attrs["data-state"]; got != c.state {
				t.Errorf("10.0.0.2:80 is %s, want %s: %q", got, c.state, text)
			}
			if c.state == "down" && !strings.HasPrefix(text, "10.0.0.2:80 Masq DOWN out of table 0/100") {
				t.Errorf("10.0.0.2:80 row: %q", text)
			}
			if c.state == "down" && !strings.Contains(text, "HTTP_GET: HTTP status 503 on /health") {
				t.Errorf("10.0.0.2:80 row lacks the reason: %q", text)
			}
			if _, text := one(t, dom, "class", "summary"); c.state == "down" && !strings.Contains(text, "1/5 real servers up") {
				t.Errorf("summary not refreshed: %q", text)
			}

			reqs := rec.Requests()
			if len(reqs) != 1+c.fetches {
				t.Fatalf("%d requests, want the load and %d fetches: %+v", len(reqs), c.fetches, reqs)
			}
			if !reqs[0].Navigation() || reqs[0].Path != "/" {
				t.Errorf("first request %+v, want the page's load", reqs[0])
			}
			for _, r := range reqs[1:] {
				if r.Navigation() || r.Path != "/" || r.Dest != "empty" {
					t.Errorf("request %+v, want a fetch of the page by its script", r)
				}
			}
			body, _ := one(t, dom, "data-refreshes", "")
			if got := body.Attrs["data-refreshes"]; got != strconv.Itoa(c.fetches) {
				t.Errorf("data-refreshes %s, want %d", got, c.fetches)
			}
			if st, _ := one(t, dom, "id", "stale"); !hasAttr(st, "hidden") {
				t.Errorf("stale banner shown: %v", st.Attrs)
			}
		})
	}
}

// TestBrowserStale is the appliance failing to answer at a refresh: the page keeps the last
// state it had, says it is stale and why, and recovers at the next refresh that succeeds.
func TestBrowserStale(t *testing.T) {
	const period = 5 * time.Second
	b := chromiumtest.Find(t)
	fail := func() (*control.Snapshot, error) { return nil, errors.New("control API: <timeout>") }
	up := func() (*control.Snapshot, error) { return rich(), nil }

	t.Run("failed", func(t *testing.T) {
		src := &scripted{steps: []func() (*control.Snapshot, error){up, fail}}
		url, rec := serve(t, src.source, Options{Refresh: period})
		dom := b.DumpDOM(t.Context(), t, url, period*3/2)
		if st, text := one(t, dom, "id", "stale"); hasAttr(st, "hidden") ||
			!strings.Contains(text, "No state from the appliance: control API: <timeout>") {
			t.Errorf("stale banner %v: %q", st.Attrs, text)
		}
		if st, _ := one(t, dom, "id", "status"); !strings.Contains(st.Attrs["class"], "stale") {
			t.Errorf("the old state is not marked stale: %v", st.Attrs)
		}
		if tag, _ := row(t, dom, "TCP 10.0.0.1:80", "10.0.0.2:80"); tag.Attrs["data-state"] != "up" {
			t.Error("the last good state is gone")
		}
		if n := len(rec.Requests()); n != 2 {
			t.Errorf("%d requests, want 2", n)
		}
	})
	t.Run("recovered", func(t *testing.T) {
		src := &scripted{steps: []func() (*control.Snapshot, error){fail, fail, up}}
		url, _ := serve(t, src.source, Options{Refresh: period})
		dom := b.DumpDOM(t.Context(), t, url, period*5/2)
		if st, _ := one(t, dom, "id", "stale"); !hasAttr(st, "hidden") {
			t.Errorf("stale banner still shown: %v", st.Attrs)
		}
		if len(chromiumtest.Tags(dom, "id", "source-error")) != 0 {
			t.Error("the error is still shown")
		}
		if tag, _ := row(t, dom, "TCP 10.0.0.1:80", "10.0.0.2:80"); tag.Attrs["data-state"] != "up" {
			t.Error("no state after recovery")
		}
	})
}

func hasAttr(t chromiumtest.Tag, name string) bool {
	_, ok := t.Attrs[name]
	return ok
}
