package apps

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/netstack"
	"github.com/uvs-lb/uvs/netstack/port"
)

var _ Dialer = (*netstack.Host)(nil)

// The programs on gVisor hosts, as in a lab: a client and a server host on one link. This
// checks what loopback cannot: that gonet's errors are classified (its refused connections
// and closed listeners have no sentinel errors) and that servers stop on its listeners.
func TestOnGVisor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cp, sp := port.Pipe(port.MemConfig{Name: "client", MAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}},
		port.MemConfig{Name: "server", MAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}})
	host := func(p port.Port, addr string) *netstack.Host {
		h, err := netstack.NewHost(netstack.HostConfig{Standalone: true,
			NICs: []netstack.NICConfig{{Port: p, Addrs: []netip.Prefix{netip.MustParsePrefix(addr)}}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		return h
	}
	clientHost, srv := host(cp, "10.0.0.2/24"), host(sp, "10.0.0.1/24")

	httpLn, err := srv.ListenTCP(netip.MustParseAddrPort("0.0.0.0:80"))
	if err != nil {
		t.Fatal(err)
	}
	echoLn, err := srv.ListenTCP(netip.MustParseAddrPort("0.0.0.0:7"))
	if err != nil {
		t.Fatal(err)
	}
	udp, err := srv.ListenUDP(netip.MustParseAddrPort("0.0.0.0:7"))
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 3)
	go func() { served <- (&HTTPServer{Name: "rs1"}).Serve(ctx, httpLn) }()
	go func() { served <- ServeTCPEcho(ctx, echoLn, "rs1") }()
	go func() { served <- ServeUDPEcho(ctx, udp, "rs1") }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		httpLn.Close()
		echoLn.Close()
		udp.Close()
		for range 3 {
			select {
			case err := <-served:
				if err != nil {
					t.Errorf("Serve on a closed gVisor listener: %v, want nil", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Serve did not return after its gVisor listener was closed")
			}
		}
	}
	t.Cleanup(stop)

	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	recs := map[string]*Recorder{}
	done := make(chan error, 4)
	for name, c := range map[string]client{
		// Caps and timeouts generous enough for a slow machine: this is not about speed.
		"http":    &HTTPLoad{Target: "10.0.0.1:80", Rate: 50, Concurrency: 1000, Timeout: 5 * time.Second},
		"tcp":     &LongTCP{Target: "10.0.0.1:7", Conns: 2, Interval: 20 * time.Millisecond},
		"udp":     &UDPFlows{Target: "10.0.0.1:7", Flows: 2, Rate: 50, Timeout: 5 * time.Second},
		"refused": &HTTPLoad{Target: "10.0.0.1:81", Rate: 50, Concurrency: 1000},
	} {
		rec := NewRecorder(time.Now(), time.Second)
		recs[name] = rec
		go func() { done <- c.Run(rctx, clientHost, rec) }()
	}
	for range recs {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	for name, r := range recs {
		s := r.Summary()
		t.Logf("%s: requests %d errors %d %v p50 %v p99 %v servers %v", name, s.Requests, s.Errors, s.ErrorKinds, s.P50, s.P99, s.PerServer)
		if name == "refused" {
			if s.ErrorKinds["refused"] == 0 || s.Errors != s.Requests {
				t.Errorf("%s: want only refused connections", name)
			}
		} else if s.Errors != 0 || s.PerServer["rs1"] == 0 {
			t.Errorf("%s: want answers from rs1 and no errors", name)
		}
	}

	// Stopped on a gVisor host: Serve returns nil, and a client sees refused connections.
	stop()
	s := runOn(t, clientHost, time.Second, time.Second, &LongTCP{Target: "10.0.0.1:7", Interval: 50 * time.Millisecond})
	if s.ErrorKinds["refused"] == 0 || s.Errors != s.Requests {
		t.Errorf("after the echo server stopped: want only refused connections")
	}
	// A UDP port with nobody on it: gVisor answers port unreachable, as a kernel would.
	s = runOn(t, clientHost, 500*time.Millisecond, time.Second, &UDPFlows{Target: "10.0.0.1:7", Rate: 50, Timeout: 100 * time.Millisecond})
	if s.Errors != s.Requests || s.ErrorKinds["refused"] == 0 {
		t.Errorf("after the UDP echo server stopped: want only errors, refused among them")
	}
}
