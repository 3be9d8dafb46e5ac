package health_test

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/health"
	"github.com/uvs-lb/uvs/lab/apps"
)

func TestUDPCheck(t *testing.T) {
	r := newProbeRig(t)
	echo := netip.AddrPortFrom(rsAddr, 5353)
	pc := r.listenUDP(t, echo)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { apps.ServeUDPEcho(ctx, pc, "rs1") })
	t.Cleanup(func() { cancel(); wg.Wait() })

	// A silent server: it takes the datagrams and never answers.
	silent := netip.AddrPortFrom(rsAddr, 5355)
	quiet := r.listenUDP(t, silent)
	heard := make(chan string, 8)
	wg.Go(func() {
		buf := make([]byte, 64)
		for {
			n, from, err := quiet.ReadFrom(buf)
			if err != nil {
				return
			}
			heard <- from.String() + " " + string(buf[:n])
		}
	})
	closed := netip.AddrPortFrom(rsAddr, 5354)

	for _, c := range []struct {
		check   health.UDPCheck
		timeout time.Duration
		want    string // "" = OK
		fast    bool   // decided before the timeout
	}{
		{health.UDPCheck{Connect: echo, Payload: []byte("ping"), RequireReply: true, Reply: []byte("rs1 ping")}, 5 * time.Second, "", true},
		{health.UDPCheck{Connect: echo, Payload: []byte("ping"), RequireReply: true}, 5 * time.Second, "", true},
		{health.UDPCheck{Connect: echo, Payload: []byte("ping")}, 5 * time.Second, "", true}, // a reply ends the wait
		{health.UDPCheck{Connect: echo, Payload: []byte("ping"), RequireReply: true, Reply: []byte("rs2")}, 5 * time.Second, "UDP reply data mismatch", true},
		{health.UDPCheck{Connect: closed}, 5 * time.Second, "ICMP port unreachable", true},
		{health.UDPCheck{Connect: closed, RequireReply: true}, 5 * time.Second, "ICMP port unreachable", true},
		{health.UDPCheck{Connect: silent, Payload: []byte("hello")}, 300 * time.Millisecond, "", false}, // no news is good news
		{health.UDPCheck{Connect: silent, Payload: []byte("hello"), RequireReply: true}, 300 * time.Millisecond, "no reply (timeout)", false},
	} {
		start := time.Now()
		res := c.check.Check(within(t, c.timeout), r.net)
		took := time.Since(start)
		if c.want == "" {
			wantOK(t, c.check, res)
		} else {
			wantFail(t, c.check, res, c.want)
		}
		if c.fast && took > time.Second {
			t.Errorf("%v %+v: decided after %v, want at once", c.check, c.check, took)
		}
		if !c.fast && took < c.timeout-50*time.Millisecond {
			t.Errorf("%v %+v: decided after %v, before its timeout", c.check, c.check, took)
		}
	}
	for range 2 {
		if got := <-heard; got[len(got)-5:] != "hello" {
			t.Errorf("the silent server heard %q", got)
		}
	}

	bound := health.UDPCheck{Connect: silent, Bind: netip.AddrPortFrom(proberSecond, 42000), Payload: []byte("hello")}
	wantOK(t, bound, bound.Check(within(t, 100*time.Millisecond), r.net))
	if got := <-heard; got != "10.7.0.3:42000 hello" {
		t.Errorf("the bound check sent %q", got)
	}
	if s := (health.UDPCheck{Connect: echo}).String(); s != "UDP_CHECK 10.7.0.1:5353" {
		t.Errorf("String() = %q", s)
	}
}

func TestUDPCheckOnTheKernel(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { apps.ServeUDPEcho(ctx, pc, "kernel") })
	t.Cleanup(func() { cancel(); wg.Wait() })
	k := health.KernelNet{}
	echo := health.UDPCheck{Connect: netip.MustParseAddrPort(pc.LocalAddr().String()), Payload: []byte("x"), RequireReply: true, Reply: []byte("kernel x")}
	wantOK(t, echo, echo.Check(within(t, 5*time.Second), k))
	closed := health.UDPCheck{Connect: closedPort(t, "udp")}
	wantFail(t, closed, closed.Check(within(t, 5*time.Second), k), "ICMP port unreachable")
}
