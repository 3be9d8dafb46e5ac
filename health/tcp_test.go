package health_test

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/health"
)

func TestTCPCheck(t *testing.T) {
	r := newProbeRig(t)
	open := netip.AddrPortFrom(rsAddr, 8080)
	l := r.listenTCP(t, open)
	seen := make(chan string, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			// A probe that has already closed (the checker closes at once), or one accepted
			// while the rig is torn down, may have no remote address left in gVisor: "".
			from := ""
			if a := c.RemoteAddr(); a != nil {
				from = a.String()
			}
			select {
			case seen <- from:
			default: // nobody reads any more
			}
			c.Close()
		}
	}()

	c := health.TCPCheck{Connect: open}
	if c.String() != "TCP_CHECK 10.7.0.1:8080" {
		t.Errorf("String() = %q", c.String())
	}
	wantOK(t, c, c.Check(within(t, 5*time.Second), r.net))
	<-seen

	bound := health.TCPCheck{Connect: open, Bind: netip.AddrPortFrom(proberSecond, 41000)}
	got := ""
	for try := 0; try < 3 && got == ""; try++ { // "": the address was gone by Accept (above)
		wantOK(t, bound, bound.Check(within(t, 5*time.Second), r.net))
		got = <-seen
	}
	if got != "10.7.0.3:41000" {
		t.Errorf("bound check came from %q, want 10.7.0.3:41000", got)
	}

	refused := health.TCPCheck{Connect: netip.AddrPortFrom(rsAddr, 8081)}
	wantFail(t, refused, refused.Check(within(t, 5*time.Second), r.net), "connection refused")

	silent := health.TCPCheck{Connect: netip.AddrPortFrom(silentAddr, 80)}
	start := time.Now()
	wantFail(t, silent, silent.Check(within(t, 300*time.Millisecond), r.net), "timeout")
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("a check with a 300 ms timeout took %v", d)
	}

	var zero health.TCPCheck
	wantFail(t, zero, zero.Check(within(t, time.Second), r.net), "no address")
}

func TestTCPCheckOnTheKernel(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	c := health.TCPCheck{Connect: netip.MustParseAddrPort(l.Addr().String()), Bind: netip.AddrPortFrom(loopback, 0)}
	wantOK(t, c, c.Check(within(t, 5*time.Second), health.KernelNet{}))
	refused := health.TCPCheck{Connect: closedPort(t, "tcp")}
	wantFail(t, refused, refused.Check(within(t, 5*time.Second), health.KernelNet{}), "connection refused")
}
