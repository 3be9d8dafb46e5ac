package status

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/control"
)

var (
	t0      = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	addr    = netip.MustParseAddr
	httpSvc = control.ServiceKey{Proto: "TCP", Addr: addr("10.0.0.1"), Port: 80}
)

// rich is a snapshot with something of everything: three kinds of services, servers up,
// down out of the table, inhibited, a tunnel, a sorry server in use, three VRRP states,
// events, drops, the sync daemon. Each call returns a new one, for tests to change.
func rich() *control.Snapshot {
	dnsSvc := control.ServiceKey{Proto: "UDP", Addr: addr("2001:db8::1"), Port: 53}
	fwm := control.ServiceKey{FWMark: 7, Family: "inet"}
	return &control.Snapshot{
		Time:    t0,
		Build:   control.Build{Version: "1.4.0", Revision: "abc1234", GoVersion: "go1.26.3"},
		Started: t0.Add(-(3*24*time.Hour + 4*time.Hour + 5*time.Minute)),
		Services: []control.Service{{
			ServiceSpec: control.ServiceSpec{ServiceKey: httpSvc, Scheduler: "wlc", Persistence: 300, PersistMask: 24},
			Name:        "[10.0.0.1]:tcp:80",
			Stats:       control.Stats{Conns: 1234567, InPkts: 98765432, OutPkts: 87654321, InBytes: 5_000_000_000, OutBytes: 42_000_000_000},
			Rates:       control.Rates{CPS: 120, InPPS: 15000, OutPPS: 14000, InBPS: 1_500_000, OutBPS: 12_000_000},
			QuorumUp:    true,
			Servers: []control.Server{
				{
					ServerSpec:    control.ServerSpec{Service: httpSvc, Addr: addr("10.0.0.2"), Port: 80, Method: "Masq", Weight: 100},
					CurrentWeight: 100, ActiveConns: 42, InactConns: 7, InTable: true, Alive: true,
					Rates: control.Rates{CPS: 60, InPPS: 7000, OutPPS: 6500, InBPS: 700_000, OutBPS: 6_000_000},
					Stats: control.Stats{Conns: 600000},
					Checks: []control.Check{{Kind: "HTTP_GET", Up: true, LastCheck: t0.Add(-3 * time.Second),
						LastReason: "HTTP status 200 on /health", Checks: 5000, Failed: 2, Ups: 1, Downs: 1}},
				},
				{
					ServerSpec:    control.ServerSpec{Service: httpSvc, Addr: addr("10.0.0.3"), Port: 80, Method: "Route", Weight: 50},
					CurrentWeight: 0, InactConns: 3, InTable: false, Alive: false,
					Checks: []control.Check{
						{Kind: "TCP_CHECK", Up: false, LastCheck: t0.Add(-12 * time.Second), LastReason: "connection refused", Checks: 300, Failed: 30, Downs: 1},
						{Kind: "HTTP_GET", Up: true, LastCheck: t0.Add(-2 * time.Second), LastReason: "HTTP status 200 on /", Checks: 300},
					},
				},
				{
					ServerSpec:    control.ServerSpec{Service: httpSvc, Addr: addr("10.0.0.4"), Port: 8080, Method: "Masq", Weight: 10, Upper: 100, Lower: 10},
					CurrentWeight: 0, ActiveConns: 1, InTable: true, Alive: false,
					Checks: []control.Check{{Kind: "MISC_CHECK", Up: false, LastCheck: t0.Add(-90 * time.Second), LastReason: "exit status 1", Checks: 10, Failed: 10, Downs: 1}},
				},
			},
		}, {
			ServiceSpec: control.ServiceSpec{ServiceKey: dnsSvc, Scheduler: "rr", OnePacket: true},
			Name:        "[2001:db8::1]:udp:53",
			QuorumUp:    true,
			Servers: []control.Server{{
				ServerSpec: control.ServerSpec{Service: dnsSvc, Addr: addr("2001:db8::53"), Port: 53, Method: "Tunnel",
					Weight: 1, TunType: "gue", TunPort: 6080, TunFlags: "nocsum"},
				CurrentWeight: 1, InTable: true, Alive: true,
			}},
		}, {
			ServiceSpec: control.ServiceSpec{ServiceKey: fwm, Scheduler: "sh", SchedFlags: []string{"sh-fallback", "sh-port"}},
			Name:        "FWM 7 IPv4",
			QuorumUp:    false,
			Sorry:       &control.ServerSpec{Service: fwm, Addr: addr("10.0.9.9"), Port: 80, Method: "Masq", Weight: 1},
			Servers: []control.Server{
				{
					ServerSpec:    control.ServerSpec{Service: fwm, Addr: addr("10.0.1.2"), Method: "FullNat", Weight: 5},
					CurrentWeight: 0, InTable: false, Alive: false,
					Checks: []control.Check{{Kind: "PING_CHECK", Up: false, LastCheck: t0.Add(-1 * time.Second), LastReason: "no reply", Checks: 40, Failed: 4, Downs: 1}},
				},
				{
					ServerSpec:    control.ServerSpec{Service: fwm, Addr: addr("10.0.9.9"), Port: 80, Method: "Masq", Weight: 1},
					CurrentWeight: 1, InTable: true, Alive: true, Sorry: true, ActiveConns: 2,
				},
			},
		}},
		VRRP: []control.VRRPInstance{
			{Name: "VI_1", Interface: "eth0", VRID: 51, State: "MASTER", Priority: 150, Version: 3, Interval: time.Second,
				Master: addr("192.168.0.2"), MasterPriority: 150, MasterDown: 3414 * time.Millisecond, Preempt: true,
				VIPs: []netip.Addr{addr("10.0.0.1"), addr("2001:db8::1")}, SyncGroup: "G1",
				Stats: map[string]uint64{"advert_rcvd": 12, "become_master": 1, "auth_failure": 0}},
			{Name: "VI_2", Interface: "eth1", VRID: 52, State: "BACKUP", Priority: 100, Version: 2, Interval: time.Second,
				Master: addr("192.168.1.3"), MasterPriority: 200, MasterDown: 3609 * time.Millisecond},
			{Name: "VI_3", Interface: "eth2", VRID: 53, State: "FAULT", Priority: 90, Version: 3, Interval: time.Second, Fault: true},
		},
		Sync: control.Sync{Enabled: true, Role: "master", Interface: "eth1", SyncID: 5, Group: "224.0.0.81:8848",
			MessagesSent: 1000, ConnsSent: 25000, Installed: 0, Bulk: 3, SendFailures: 2},
		Timeouts: control.Timeouts{TCP: 900, TCPFin: 120, UDP: 300},
		Table:    control.TableCounts{Current: 52, Templates: 4, Capacity: 1 << 20, Inserted: 1234567, Expired: 1234515},
		Health:   control.HealthCounts{ServersDown: 3, ServersUp: 1, QuorumLost: 1, Scripts: 10, ScriptFailures: 1},
		Drops:    map[string]uint64{"no_service": 12, "no_server": 3400, "ttl_exceeded": 1},
		Ports:    []control.Port{{Name: "eth0", RxFrames: 99999999, Forwarded: 99000000, Dropped: 3413}},
		Events: []control.Event{
			{Time: t0.Add(-time.Hour), Kind: "config", Subject: "/etc/uvs/uvs.toml", State: "LOADED", Message: "configuration loaded"},
			{Time: t0.Add(-50 * time.Minute), Kind: "vrrp", Subject: "VI_1", State: "MASTER", Message: "Entering MASTER STATE"},
			{Time: t0.Add(-12 * time.Second), Kind: "server", Subject: "[10.0.0.1]:tcp:80 / [10.0.0.3]:tcp:80", State: "DOWN",
				Message: "TCP connection to [10.0.0.3]:tcp:80 failed"},
		},
	}
}

// hostile is rich with markup wherever the snapshot has free text: all of it must show as
// text, none of it act as markup. The scripts would mark the page if they ran.
func hostile() *control.Snapshot {
	s := rich()
	s.VRRP[0].Name = `VI_<script>document.body.setAttribute("data-pwned","vrrp")</script>`
	s.Services[0].Name = `"><img src=x onerror="document.body.setAttribute('data-pwned','svc')">`
	s.Services[0].Servers[1].Checks[0].LastReason = `</td></tr></table><script>document.title="pwned"</script>`
	s.Events[2].Message = hostileEvent
	s.Drops = map[string]uint64{`<i>reason</i>`: 1}
	return s
}

const (
	hostileTitle = `<b>lb1</b> & "co"`
	// What hostile puts in, each of which must show as text.
	hostileVRRP   = `VI_<script>document.body.setAttribute("data-pwned","vrrp")</script>`
	hostileSvc    = `"><img src=x onerror="document.body.setAttribute('data-pwned','svc')">`
	hostileReason = `</td></tr></table><script>document.title="pwned"</script>`
	hostileEvent  = `<b onmouseover=alert(1)>bold</b> & "quoted"`
)

func fixed(s *control.Snapshot) Source {
	return func(context.Context) (*control.Snapshot, error) { return s, nil }
}

func get(t *testing.T, h http.Handler, method, target string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, target, nil))
	return w
}

func TestPage(t *testing.T) {
	w := get(t, Handler(fixed(rich()), Options{Title: "lb1", Refresh: 2 * time.Second}), "GET", "/")
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	for k, want := range map[string]string{
		"Content-Type":  "text/html; charset=utf-8",
		"Cache-Control": "no-store",
	} {
		if got := w.Header().Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	body := w.Body.String()
	for _, want := range []string{
		"<title>lb1 · uvs status</title>",
		`<noscript><meta http-equiv="refresh" content="2"></noscript>`,
		`data-refresh-ms="2000"`,
		"uvs 1.4.0 (abc1234) · go1.26.3",
		">3d 4h<",
		"2026-11-22 10:00:00 UTC",
		"TCP 10.0.0.1:80 wlc persistent 300 mask 255.255.255.0",
		"UDP [2001:db8::1]:53 rr ops",
		"FWM 7 sh (sh-fallback,sh-port)",
		`data-service="TCP 10.0.0.1:80" data-server="10.0.0.3:80" data-state="down" data-in-table="false"`,
		`data-server="[2001:db8::53]:53" data-state="up"`,
		"Tunnel gue:6080 nocsum",
		"TCP_CHECK: connection refused",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// TestCSP checks that the policy's hashes are those of the inline style sheet and script
// as served: were the template to change a byte of them, browsers would refuse them (the
// page would still show, unstyled and without refresh, which a look might miss).
func TestCSP(t *testing.T) {
	w := get(t, Handler(fixed(rich()), Options{}), "GET", "/")
	policy := w.Header().Get("Content-Security-Policy")
	body := w.Body.String()
	for _, el := range []string{"script", "style"} {
		_, rest, ok := strings.Cut(body, "<"+el+">")
		inline, _, ok2 := strings.Cut(rest, "</"+el+">")
		if !ok || !ok2 {
			t.Fatalf("no <%s> in the page", el)
		}
		h := sha256.Sum256([]byte(inline))
		if want := "'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"; !strings.Contains(policy, el+"-src "+want) {
			t.Errorf("policy %q does not allow the inline %s (%s)", policy, el, want)
		}
	}
	if !strings.Contains(policy, "default-src 'none'") || !strings.Contains(policy, "connect-src 'self'") {
		t.Errorf("policy %q", policy)
	}
	if strings.Contains(body, "src=\"http") || strings.Contains(body, "href=\"http") {
		t.Error("the page refers to an external asset")
	}
}

func TestEscaping(t *testing.T) {
	w := get(t, Handler(fixed(hostile()), Options{Title: hostileTitle}), "GET", "/")
	body := w.Body.String()
	for _, bad := range []string{"<img src=x", "<b>lb1", "<b onmouseover", "<i>reason", `</table><script>document.title`, `VI_<script>`} {
		if strings.Contains(body, bad) {
			t.Errorf("page has %q unescaped", bad)
		}
	}
	for _, want := range []string{"&lt;b&gt;lb1&lt;/b&gt; &amp; &#34;co&#34;", "&lt;img src=x onerror=", "&lt;i&gt;reason&lt;/i&gt;"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestJSON(t *testing.T) {
	s := rich()
	w := get(t, Handler(fixed(s), Options{}), "GET", "/status.json")
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("status %d, headers %v", w.Code, w.Header())
	}
	var got control.Snapshot
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(s)
	b, _ := json.Marshal(&got)
	if string(a) != string(b) {
		t.Errorf("status.json does not round-trip:\n%s\n%s", a, b)
	}
}

func TestSourceError(t *testing.T) {
	h := Handler(func(context.Context) (*control.Snapshot, error) {
		return nil, errors.New(`dial unix /run/uvs/uvs.sock: <connection refused>`)
	}, Options{Title: "lb1"})
	w := get(t, h, "GET", "/")
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("page: status %d", w.Code)
	}
	body := w.Body.String()
	if !strings.Contains(body, `id="source-error"`) || !strings.Contains(body, "&lt;connection refused&gt;") {
		t.Errorf("page does not show the error, escaped:\n%s", body)
	}
	// The script is there, so that an open page recovers when the appliance answers again.
	if !strings.Contains(body, `data-refresh-ms="5000"`) || !strings.Contains(body, "<script>") {
		t.Error("the error page does not refresh")
	}
	w = get(t, h, "GET", "/status.json")
	var e control.Error
	if w.Code != http.StatusServiceUnavailable || json.Unmarshal(w.Body.Bytes(), &e) != nil || !strings.Contains(e.Error, "connection refused") {
		t.Errorf("status.json: %d %s", w.Code, w.Body)
	}

	// A source that returns nothing, and no error, fails too (rather than serving "null").
	h = Handler(func(context.Context) (*control.Snapshot, error) { return nil, nil }, Options{})
	for _, target := range []string{"/", "/status.json"} {
		if w := get(t, h, "GET", target); w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "no snapshot") {
			t.Errorf("%s of no snapshot: %d %.200s", target, w.Code, w.Body)
		}
	}
}

func TestRoutes(t *testing.T) {
	calls := 0
	h := Handler(func(context.Context) (*control.Snapshot, error) { calls++; return rich(), nil }, Options{})
	for _, c := range []struct {
		method, target string
		code           int
	}{
		{"GET", "/", 200},
		{"HEAD", "/", 200},
		{"GET", "/status.json", 200},
		{"HEAD", "/status.json", 200},
		{"POST", "/", 405},
		{"DELETE", "/status.json", 405},
		{"GET", "/index.html", 404},
		{"GET", "/favicon.ico", 404},
	} {
		if w := get(t, h, c.method, c.target); w.Code != c.code {
			t.Errorf("%s %s: %d, want %d", c.method, c.target, w.Code, c.code)
		}
	}
	if calls != 4 {
		t.Errorf("%d calls of the source, want 4 (one per page or JSON served)", calls)
	}
}

func TestView(t *testing.T) {
	v := newView(rich(), nil, Options{Title: "x", Refresh: 1500 * time.Millisecond}, time.Now())
	if v.RefreshSeconds != 2 || v.RefreshMS != 1500 {
		t.Errorf("refresh %d s, %d ms", v.RefreshSeconds, v.RefreshMS)
	}
	if v.Summary != (summary{Services: 3, QuorumLost: 1, ServersUp: 2, Servers: 5, VRRP: "1 MASTER, 1 BACKUP, 1 FAULT"}) {
		t.Errorf("summary %+v", v.Summary)
	}
	if v.Events[0].Kind != "server" || v.Events[2].Kind != "config" {
		t.Errorf("events not the most recent first: %v", v.Events)
	}
	if v.Drops[0].Reason != "no_server" || v.Drops[2].Reason != "ttl_exceeded" {
		t.Errorf("drops not the largest first: %v", v.Drops)
	}
	srv := v.Services[0].Servers
	for i, want := range []struct {
		state, notes, last, reason string
	}{
		{"up", "in table", "3s ago", "HTTP status 200 on /health"},
		{"down", "out of table", "2s ago", "TCP_CHECK: connection refused"},
		{"down", "inhibited thresholds 10–100", "1m 30s ago", "MISC_CHECK: exit status 1"},
	} {
		got := srv[i]
		if got.State != want.state || strings.Join(got.Notes, " ") != want.notes || got.LastAgo != want.last || got.Reason != want.reason {
			t.Errorf("server %s: %s %q %q %q, want %+v", got.AddrPort, got.State, got.Notes, got.LastAgo, got.Reason, want)
		}
	}
	fw := v.Services[2]
	if fw.Key != "FWM 7" || fw.Sorry != "10.0.9.9:80" || !fw.SorryInUse || fw.Servers[0].AddrPort != "10.0.1.2:0" {
		t.Errorf("fwmark service %+v", fw)
	}
}

func TestFormats(t *testing.T) {
	for n, want := range map[uint64]string{0: "0", 9999: "9999", 10000: "10.0k", 99949: "99.9k", 99950: "100k",
		123456: "123k", 999499: "999k", 999500: "1.0M", 1_500_000: "1.5M", 42_000_000_000: "42.0G", 1<<64 - 1: "18.4E"} {
		if got := si(n); got != want {
			t.Errorf("si(%d) = %q, want %q", n, got, want)
		}
	}
	for d, want := range map[time.Duration]string{
		0: "0s", 250 * time.Millisecond: "250ms", 5 * time.Second: "5s", 90 * time.Second: "1m 30s",
		time.Hour: "1h", 26*time.Hour + 59*time.Minute: "1d 2h", 3*24*time.Hour + 59*time.Second: "3d",
	} {
		if got := duration(d); got != want {
			t.Errorf("duration(%v) = %q, want %q", d, got, want)
		}
	}
	for _, c := range []struct {
		spec control.ServiceSpec
		want string
	}{
		{control.ServiceSpec{ServiceKey: httpSvc, Scheduler: "rr"}, "TCP 10.0.0.1:80 rr"},
		{control.ServiceSpec{ServiceKey: httpSvc, Scheduler: "rr", Persistence: 60}, "TCP 10.0.0.1:80 rr persistent 60"},
		{control.ServiceSpec{ServiceKey: control.ServiceKey{Proto: "TCP", Addr: addr("2001:db8::1"), Port: 443}, Scheduler: "mh",
			Persistence: 60, PersistMask: 64}, "TCP [2001:db8::1]:443 mh persistent 60 mask 64"},
		{control.ServiceSpec{ServiceKey: control.ServiceKey{FWMark: 3, Family: "inet6"}, Scheduler: "wrr", OnePacket: true}, "FWM 3 IPv6 wrr ops"},
	} {
		if got := ipvsadmLine(c.spec); got != c.want {
			t.Errorf("ipvsadmLine = %q, want %q", got, c.want)
		}
	}
}
