package adm_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/uvs-lb/uvs/adm"
	"github.com/uvs-lb/uvs/control"
)

// FuzzMain runs `uvs adm` with arbitrary arguments (NUL-separated in the input) and an
// arbitrary stdin (for -R) against the recording fake: it must not panic, must end with one
// of ipvsadm's statuses, must say why on stderr when it fails, and must ask the appliance
// only for edits it knows.
func FuzzMain(f *testing.F) {
	for _, s := range []struct{ args, stdin string }{
		{"-Ln", ""}, {"-L\x00-n\x00--stats\x00--exact", ""}, {"-Lnc", ""}, {"-L\x00--rate\x00-t\x0010.0.0.1:80", ""},
		{"-L\x00--daemon", ""}, {"-L\x00--timeout", ""}, {"-S\x00-n", ""}, {"--vrrp", ""}, {"--checks", ""},
		{"-A\x00-t\x0010.0.0.9:80\x00-s\x00wrr\x00-p\x00600\x00-M\x00255.255.255.0", ""},
		{"-E\x00-f\x001\x00-s\x00mh\x00-b\x00mh-fallback,mh-port", ""},
		{"-a\x00-t\x00[2001:db8::1]:80\x00-r\x00[2001:db8::30]:80\x00-m\x00-w\x004\x00-x\x00100\x00-y\x0050", ""},
		{"-a\x00-u\x0010.0.0.2:53\x00-r\x00192.168.2.3\x00-i\x00--tun-type\x00gue\x00--tun-port\x006080", ""},
		{"-e\x00-t\x0010.0.0.1:80\x00-r\x00192.168.1.1:8080\x00-w\x000", ""},
		{"-d\x00-t\x0010.0.0.1:80\x00-r\x00192.168.1.1:8080", ""}, {"-D\x00-t\x0010.0.0.1:443", ""},
		{"-C", ""}, {"-Z", ""}, {"-Z\x00-t\x0010.0.0.1:80", ""}, {"--set\x0010\x005\x001", ""},
		{"--start-daemon\x00master\x00--mcast-interface\x00eth1\x00--syncid\x007", ""}, {"--stop-daemon\x00backup", ""},
		{"-R", "-A -t 10.0.0.5:80 -s rr\n-a -t 10.0.0.5:80 -r 192.168.1.5:80 -g -w 1\n"},
		{"-R", "-A -t 10.0.0.5:80 -s rr\n-a -t 10.0.0.5:80 -r 192.168.1.5:80 -x\n"},
		{"--reload", ""}, {"-h", ""}, {"-V", ""}, {"--bogus", ""}, {"-A\x00-t", ""}, {"", ""},
	} {
		f.Add(s.args, []byte(s.stdin), false)
	}
	f.Add("-a\x00-t\x0010.0.0.1:80\x00-r\x00192.168.1.9", []byte(nil), true)
	f.Add("-A\x00-t\x00localhost:http", []byte(nil), false)
	// Host names resolve from /etc/hosts only: a DNS query per input would make the fuzzer
	// a resolver load test (and slow, ~100 ms an input here).
	old := adm.SetResolver(&net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no DNS in the fuzz test")
	}})
	f.Cleanup(func() { adm.SetResolver(old) })
	f.Fuzz(func(t *testing.T, args string, stdin []byte, refuse bool) {
		var argv []string
		if args != "" {
			argv = strings.Split(args, "\x00")
		}
		api := &fakeAPI{snap: fixture(), conns: fixtureConns(), config: []byte("# running\n")}
		if refuse {
			api.fail = errors.New("the appliance refuses")
		}
		var out, errOut bytes.Buffer
		st := adm.Main(context.Background(), argv, bytes.NewReader(stdin), &out, &errOut, api)
		switch st {
		case 0:
		case 1, 2, 255:
			if errOut.Len() == 0 && !refuse {
				t.Fatalf("uvs adm %q: status %d and nothing on stderr", argv, st)
			}
		default:
			t.Fatalf("uvs adm %q: status %d, not one of ipvsadm's", argv, st)
		}
		known := map[string]bool{control.OpAddService: true, control.OpEditService: true, control.OpDeleteService: true,
			control.OpAddServer: true, control.OpEditServer: true, control.OpDeleteServer: true,
			control.OpClear: true, control.OpSetTimeouts: true}
		for _, edits := range api.edits {
			for _, e := range edits {
				if !known[e.Op] {
					t.Fatalf("uvs adm %q asked for edit %+v", argv, e)
				}
			}
		}
	})
}
