package health_test

import (
	"errors"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/health"
)

func TestPingCheck(t *testing.T) {
	r := newProbeRig(t)
	for _, c := range []health.PingCheck{
		{Connect: rsAddr},
		{Connect: rsAddr, Bind: proberSecond},
		{Connect: rsAddr6},
	} {
		wantOK(t, c, c.Check(within(t, 5*time.Second), r.net))
	}
	silent := health.PingCheck{Connect: silentAddr}
	start := time.Now()
	wantFail(t, silent, silent.Check(within(t, 1200*time.Millisecond), r.net), "timeout")
	if d := time.Since(start); d < time.Second || d > 3*time.Second {
		t.Errorf("an unanswered ping check with a 1.2 s timeout took %v", d)
	}
	var zero health.PingCheck
	wantFail(t, zero, zero.Check(within(t, time.Second), r.net), "no address")
	if s := silent.String(); s != "PING_CHECK 10.7.0.50" {
		t.Errorf("String() = %q", s)
	}
}

// KernelNet pings through a ping socket, or a raw one with CAP_NET_RAW; without either the
// test has nothing to run.
func TestPingCheckOnTheKernel(t *testing.T) {
	k := health.KernelNet{}
	err := k.Ping(within(t, 5*time.Second), netip.Addr{}, loopback)
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) || errors.Is(err, os.ErrPermission) {
		if !strings.Contains(err.Error(), "ping_group_range") {
			t.Errorf("the error does not say what the ping needs: %v", err)
		}
		t.Skipf("no ICMP socket here: %v", err)
	}
	if err != nil {
		t.Fatalf("ping 127.0.0.1: %v", err)
	}
	c := health.PingCheck{Connect: loopback, Bind: loopback}
	wantOK(t, c, c.Check(within(t, 5*time.Second), k))
	if err := k.Ping(within(t, 5*time.Second), netip.Addr{}, netip.IPv6Loopback()); err != nil && !strings.Contains(err.Error(), "assign") {
		t.Errorf("ping ::1: %v", err)
	}
}
