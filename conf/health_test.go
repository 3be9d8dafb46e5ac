package conf

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestHealthDefaults checks what a checker with no keys means: keepalived 2's defaults, which
// differ by kind (DNS_CHECK retries 3 times, MISC_CHECK never, HTTP waits 3 s before a retry).
func TestHealthDefaults(t *testing.T) {
	c := mustParse(t, `
[[interface]]
name = "eth0"
addresses = ["10.0.0.2/24"]

[[virtual_server]]
address = "10.0.0.1:80"

[[virtual_server.real_server]]
address = "10.0.0.20"

[[virtual_server.real_server.tcp_check]]
[[virtual_server.real_server.http_get]]
url = [{ path = "/" }]
[[virtual_server.real_server.ssl_get]]
url = [{ path = "/" }]
[[virtual_server.real_server.udp_check]]
[[virtual_server.real_server.dns_check]]
[[virtual_server.real_server.ping_check]]
[[virtual_server.real_server.misc_check]]
misc_path = "/bin/true"
[[virtual_server.real_server.file_check]]
file = "/run/up"
`)
	s := c.Services[0]
	if !reflect.DeepEqual(s.Health, ServiceHealth{Quorum: 1, DelayLoop: 60 * time.Second}) {
		t.Errorf("service health: %+v", s.Health)
	}
	if len(s.ServerHealth) != 1 {
		t.Fatalf("%d server healths", len(s.ServerHealth))
	}
	sh := s.ServerHealth[0]
	if sh.InhibitOnFailure || sh.NotifyUp != "" || sh.NotifyDown != "" {
		t.Errorf("server health: %+v", sh)
	}
	rs := netip.MustParseAddrPort("10.0.0.20:80")
	timing := func(retry int, dbr time.Duration) CheckTiming {
		return CheckTiming{DelayLoop: time.Minute, ConnectTimeout: 5 * time.Second, DelayBeforeRetry: dbr,
			Warmup: time.Minute, Retry: retry, Rise: 1, Fall: 1}
	}
	url := []URL{{Path: "/", Status: []StatusRange{{200, 299}}}}
	want := []Check{
		{Kind: CheckTCP, Connect: rs, Timing: timing(1, time.Second)},
		{Kind: CheckHTTP, Connect: rs, Timing: timing(1, 3*time.Second), URLs: url},
		{Kind: CheckSSL, Connect: rs, Timing: timing(1, 3*time.Second), URLs: url},
		{Kind: CheckUDP, Connect: rs, Timing: timing(1, time.Second)},
		{Kind: CheckDNS, Connect: rs, Timing: timing(3, time.Minute), DNSType: "SOA", DNSName: "."},
		{Kind: CheckPing, Connect: netip.AddrPortFrom(rs.Addr(), 0), Timing: timing(1, time.Second)},
		{Kind: CheckMisc, Timing: timing(0, time.Second), Command: "/bin/true", Timeout: time.Minute},
		{Kind: CheckFile, Timing: CheckTiming{DelayLoop: time.Minute, ConnectTimeout: 5 * time.Second, Rise: 1, Fall: 1},
			File: "/run/up", Weight: 1},
	}
	want[6].Timing.ConnectTimeout = time.Minute // misc_timeout: the delay_loop
	equalJSON(t, sh.Checks, want)
}

// TestHealthInheritance: a checker's key wins over its real server's, which wins over its
// virtual server's, key by key; retry and delay_before_retry set above replace the defaults of
// every kind, as in keepalived.
func TestHealthInheritance(t *testing.T) {
	c := mustParse(t, `
[[interface]]
name = "eth0"
addresses = ["10.0.0.2/24"]

[[virtual_server]]
address = "10.0.0.1:80"
delay_loop = 10
retry = 4
alpha = true
inhibit_on_failure = true
virtualhost = "vs.example"

[[virtual_server.real_server]]
address = "10.0.0.20"
connect_timeout = 2.5
delay_before_retry = 0
warmup = 1
inhibit_on_failure = false
virtualhost = "rs.example"

[[virtual_server.real_server.dns_check]]
delay_loop = 0.2
rise = 3

[[virtual_server.real_server.misc_check]]
misc_path = ["/usr/bin/check", "a b", "it's", "--x=1"]
alpha = false

[[virtual_server.real_server.ssl_get]]
enable_sni = true
[[virtual_server.real_server.ssl_get.url]]
path = "/a"
[[virtual_server.real_server.ssl_get.url]]
path = "/b"
virtualhost = "url.example:8443"

[[virtual_server.real_server]]
address = "10.0.0.21"
`)
	s := c.Services[0]
	if !s.Health.Alpha || s.Health.DelayLoop != 10*time.Second {
		t.Errorf("service health: %+v", s.Health)
	}
	sh := s.ServerHealth[0]
	if sh.InhibitOnFailure || !s.ServerHealth[1].InhibitOnFailure || len(s.ServerHealth[1].Checks) != 0 {
		t.Errorf("inhibit_on_failure: %v %v", sh.InhibitOnFailure, s.ServerHealth[1])
	}
	dns, misc, ssl := sh.Checks[1], sh.Checks[2], sh.Checks[0]
	want := CheckTiming{DelayLoop: 200 * time.Millisecond, ConnectTimeout: 2500 * time.Millisecond,
		Warmup: time.Second, Retry: 4, Rise: 3, Fall: 1, Alpha: true}
	if dns.Kind != CheckDNS || dns.Timing != want {
		t.Errorf("dns_check %s timing %+v, want %+v", dns.Kind, dns.Timing, want)
	}
	want = CheckTiming{DelayLoop: 10 * time.Second, ConnectTimeout: 10 * time.Second, Warmup: time.Second,
		Retry: 4, Rise: 1, Fall: 1}
	if misc.Timing != want || misc.Timeout != 10*time.Second || misc.Command != `/usr/bin/check 'a b' 'it'\''s' --x=1` {
		t.Errorf("misc_check %+v, want timing %+v", misc, want)
	}
	if ssl.VirtualHost != "rs.example" || ssl.SNI != "rs.example" {
		t.Errorf("ssl_get virtualhost %q, SNI %q", ssl.VirtualHost, ssl.SNI)
	}
	wantURLs := []URL{
		{Path: "/a", Status: []StatusRange{{200, 299}}, VirtualHost: "rs.example", SNI: "rs.example"},
		{Path: "/b", Status: []StatusRange{{200, 299}}, VirtualHost: "url.example:8443", SNI: "url.example"},
	}
	equalJSON(t, ssl.URLs, wantURLs)
}

// TestHealthExample spot-checks the example of every checker.
func TestHealthExample(t *testing.T) {
	c, err := Load("testdata/health.toml")
	if err != nil {
		t.Fatal(err)
	}
	web := c.Services[0]
	if web.Health.Quorum != 2 || web.Health.Hysteresis != 1 || !web.Health.SorryInhibit ||
		web.Health.QuorumUp != "/usr/local/bin/vs-notify up www" || web.Health.QuorumDown != "/usr/local/bin/vs-notify down www" {
		t.Errorf("service health %+v", web.Health)
	}
	for i, s := range c.Services {
		if len(s.ServerHealth) != len(s.Servers) {
			t.Errorf("service %d: %d server healths for %d servers", i, len(s.ServerHealth), len(s.Servers))
		}
	}
	kinds := map[CheckKind]Check{}
	for _, s := range c.Services {
		for _, sh := range s.ServerHealth {
			for _, ck := range sh.Checks {
				if _, ok := kinds[ck.Kind]; !ok {
					kinds[ck.Kind] = ck
				}
			}
		}
	}
	if len(kinds) != len(CheckKinds) {
		t.Errorf("the example has %d kinds of check, want all %d", len(kinds), len(CheckKinds))
	}
	if ck := kinds[CheckHTTP]; ck.Timing.Rise != 2 || ck.Timing.Fall != 3 || ck.Timing.Retry != 2 ||
		ck.Timing.DelayBeforeRetry != 1500*time.Millisecond || ck.URLs[1].Digest != "fecf605e44acaaab933e7b509dbde185" ||
		ck.URLs[1].VirtualHost != "static.example.com" || ck.URLs[0].VirtualHost != "www.example.com" {
		t.Errorf("http_get %+v", ck)
	}
	if ck := kinds[CheckSSL]; ck.Bind != netip.MustParseAddrPort("10.1.0.3:0") || !ck.Verify || ck.URLs[0].SNI != "www.example.com" {
		t.Errorf("ssl_get %+v", ck)
	}
	if ck := kinds[CheckUDP]; string(ck.Payload) != "\x00\x01\x02\xff" || !ck.RequireReply || string(ck.Reply) != "\x00\x01" || ck.Connect.Port() != 5353 {
		t.Errorf("udp_check %+v", ck)
	}
	if ck := kinds[CheckMisc]; !ck.Dynamic || ck.User != "nobody" || ck.Group != "nogroup" || ck.Timeout != 5*time.Second ||
		!ck.Timing.Alpha || ck.Timing.DelayLoop != 10*time.Second {
		t.Errorf("misc_check %+v", ck)
	}
	fw := c.Services[3]
	if got := fw.ServerHealth[0].Checks; got[0].Connect != netip.MustParseAddrPort("10.1.0.40:443") || got[0].Timing.Warmup != 0 ||
		got[1].Connect != netip.MustParseAddrPort("10.1.0.40:80") || got[1].Bind.Addr().IsValid() || got[1].Bind.Port() != 40080 {
		t.Errorf("fwmark checks %+v", got)
	}
	v6 := c.Services[4].ServerHealth[0].Checks[0]
	if v6.Connect != netip.MustParseAddrPort("[fd00:1::21]:80") || v6.Bind != netip.MustParseAddrPort("[fd00:1::2]:0") {
		t.Errorf("ipv6 tcp_check %+v", v6)
	}
}

// TestHealthAppliesToEngine: health keys change nothing the engine sees.
func TestHealthAppliesToEngine(t *testing.T) {
	c, err := Load("testdata/health.toml")
	if err != nil {
		t.Fatal(err)
	}
	for i, sc := range c.Engine().Services {
		if !reflect.DeepEqual(sc, c.Services[i].ServiceConfig) {
			t.Errorf("service %d: engine config differs from the parsed one", i)
		}
	}
}

func TestSplitCommand(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  string
	}{
		{"/bin/check", []string{"/bin/check"}, ""},
		{"  /bin/check  -p 80\t", []string{"/bin/check", "-p", "80"}, ""},
		{`/bin/check 'a b' "c \"d\" \\ \$x" e\ f '' g\
h`, []string{"/bin/check", "a b", `c "d" \ $x`, "e f", "", "gh"}, ""},
		{`/bin/sh -c 'exit 1 | true'`, []string{"/bin/sh", "-c", "exit 1 | true"}, ""},
		{`check "a|b" c\>d`, []string{"check", "a|b", "c>d"}, ""},
		{"", nil, "is empty"},
		{"  ", nil, "is empty"},
		{"'' x", nil, "the program's name is empty"},
		{"/bin/check 'x", nil, "unterminated ' quote"},
		{`/bin/check "x`, nil, `unterminated " quote`},
		{`/bin/check x\`, nil, "ends with a backslash"},
		{"/bin/check > /dev/null", nil, "shell syntax (>)"},
		{"/bin/a && /bin/b", nil, "shell syntax (&)"},
	} {
		got, err := splitCommand(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestQuoteArg: an array command joins into a line that splits back into it.
func TestQuoteArg(t *testing.T) {
	args := []string{"/usr/bin/check", "", "a b", "it's", `"q"`, `back\slash`, "x|y", "$HOME", "--x=1,2", "é"}
	line := make([]string, len(args))
	for i, a := range args {
		line[i] = quoteArg(a)
	}
	got, err := splitCommand(strings.Join(line, " "))
	if err != nil || !reflect.DeepEqual(got, args) {
		t.Errorf("%q splits into %q, %v; want %q", strings.Join(line, " "), got, err, args)
	}
}

func TestPayload(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"ping", "ping", true},
		{"0x00ff", "\x00\xff", true},
		{"0x 00 0A ff", "\x00\x0a\xff", true},
		{"a\u0000b", "a\x00b", true},
		{"0X01", "0X01", true}, // only a lower-case 0x means hexadecimal
		{"0x", "", false},
		{"0x012", "", false},
		{"0xzz", "", false},
		{"", "", false},
		{strings.Repeat("x", maxPayload+1), "", false},
	} {
		got, err := payload(tc.in)
		if (err == nil) != tc.ok || tc.ok && string(got) != tc.want {
			t.Errorf("payload(%.20q) = %q, %v; want %q, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// TestTimers: keepalived's <TIMER>, seconds with decimals, to the microsecond.
func TestTimers(t *testing.T) {
	for _, tc := range []struct {
		val  string
		want time.Duration
		err  string
	}{
		{"6", 6 * time.Second, ""},
		{"0.5", 500 * time.Millisecond, ""},
		{"1.0000004", time.Second, ""},
		{"2678400", 2678400 * time.Second, ""},
		{"0", 0, "must be between 0.000001 and 2678400 seconds, not 0"},
		{"0.0000004", 0, "not 0.0000004"},
		{"-1", 0, "not -1"},
		{"2678401", 0, "not 2678401"},
		{"inf", 0, "not +Inf"},
		{"nan", 0, "not NaN"},
		{`"6s"`, 0, "must be a number of seconds, not a string: delay_loop = 6"},
		{`"soon"`, 0, `must be a number of seconds, not the string "soon"`},
		{"true", 0, "must be a number of seconds, not the boolean true"},
	} {
		src := "[[interface]]\nname = \"eth0\"\naddresses = [\"10.0.0.2/24\"]\n[[virtual_server]]\naddress = \"10.0.0.1:80\"\ndelay_loop = " + tc.val + "\n"
		c, err := Parse("t.toml", []byte(src))
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("delay_loop = %s: %v", tc.val, err)
		case tc.err == "" && c.Services[0].Health.DelayLoop != tc.want:
			t.Errorf("delay_loop = %s: %v, want %v", tc.val, c.Services[0].Health.DelayLoop, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("delay_loop = %s: error %v, want %q", tc.val, err, tc.err)
		}
	}
}
