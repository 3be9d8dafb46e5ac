package health_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/health"
)

func TestMiscCheck(t *testing.T) {
	exit := func(n string) health.Script { return health.Script{Command: `/bin/sh -c 'exit ` + n + `'`} }
	for _, tc := range []struct {
		name    string
		c       health.MiscCheck
		ok      bool
		weight  int32
		reason  string
		timeout time.Duration
	}{
		{name: "exit 0", c: health.MiscCheck{Script: exit("0")}, ok: true, weight: -1},
		{name: "exit 1", c: health.MiscCheck{Script: exit("1")}, reason: "exited with status 1"},
		{name: "exit 2 static", c: health.MiscCheck{Script: exit("2")}, reason: "exited with status 2"},
		{name: "exit 0 dynamic", c: health.MiscCheck{Script: exit("0"), Dynamic: true}, ok: true, weight: -1},
		{name: "exit 1 dynamic", c: health.MiscCheck{Script: exit("1"), Dynamic: true}, reason: "exited with status 1"},
		{name: "exit 2 dynamic", c: health.MiscCheck{Script: exit("2"), Dynamic: true}, ok: true, weight: 0},
		{name: "exit 12 dynamic", c: health.MiscCheck{Script: exit("12"), Dynamic: true}, ok: true, weight: 10},
		{name: "exit 255 dynamic", c: health.MiscCheck{Script: exit("255"), Dynamic: true}, ok: true, weight: 253},
		{name: "signal", c: health.MiscCheck{Script: health.Script{Command: `/bin/sh -c 'kill -TERM $$'`}, Dynamic: true}, reason: "killed by signal"},
		{name: "misc_timeout", c: health.MiscCheck{Script: health.Script{Command: "/bin/sleep 10", Timeout: 100 * time.Millisecond}}, reason: "timeout"},
		{name: "connect_timeout", c: health.MiscCheck{Script: health.Script{Command: "/bin/sleep 10"}}, reason: "timeout", timeout: 100 * time.Millisecond},
		{name: "missing", c: health.MiscCheck{Script: health.Script{Command: "/nonexistent"}}, reason: "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			r := tc.c.Check(ctx, nil)
			if r.OK != tc.ok || (tc.ok && r.Weight != tc.weight) || !strings.Contains(r.Reason, tc.reason) || (tc.ok && r.Reason != "") {
				t.Fatalf("%+v; want ok %v weight %d reason %q", r, tc.ok, tc.weight, tc.reason)
			}
		})
	}
	if s := (health.MiscCheck{Script: health.Script{Command: "/usr/local/bin/check 'a b'"}}).String(); s != "MISC_CHECK /usr/local/bin/check 'a b'" {
		t.Fatal(s)
	}
}
