package health_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/health"
	"github.com/uvs-lb/uvs/netstack"
	"github.com/uvs-lb/uvs/netstack/port"
)

// The network checkers are tested against real servers: on a gVisor host that the prober, a
// second gVisor host, reaches over an in-memory link (as the appliance reaches its real
// servers), and on the kernel's loopback through KernelNet.

var (
	_ health.StackHost = (*netstack.Host)(nil)
	_ health.Net       = health.KernelNet{}
)

var (
	rsAddr       = netip.MustParseAddr("10.7.0.1") // the real server
	rsAddr6      = netip.MustParseAddr("fd00:7::1")
	proberAddr   = netip.MustParseAddr("10.7.0.2")  // the appliance's primary address
	proberSecond = netip.MustParseAddr("10.7.0.3")  // and another one, to bind checks to
	silentAddr   = netip.MustParseAddr("10.7.0.50") // nobody: nothing answers there
	loopback     = netip.MustParseAddr("127.0.0.1")
)

// probeRig is a prober (the appliance's host) and a real server, two gVisor hosts on a link.
type probeRig struct {
	net    health.Net // the prober's
	server *netstack.Host
}

func newProbeRig(t *testing.T) *probeRig {
	t.Helper()
	a, b := port.Pipe(port.MemConfig{Name: "lb", MAC: net.HardwareAddr{2, 0, 0, 0, 7, 2}}, port.MemConfig{Name: "rs", MAC: net.HardwareAddr{2, 0, 0, 0, 7, 1}})
	mk := func(p port.Port, addrs ...string) *netstack.Host {
		cfg := netstack.NICConfig{Port: p}
		for _, s := range addrs {
			cfg.Addrs = append(cfg.Addrs, netip.MustParsePrefix(s))
		}
		h, err := netstack.NewHost(netstack.HostConfig{Standalone: true, NICs: []netstack.NICConfig{cfg}})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		return h
	}
	prober := mk(a, "10.7.0.2/24", "10.7.0.3/24", "fd00:7::2/64")
	server := mk(b, "10.7.0.1/24", "fd00:7::1/64")
	return &probeRig{net: health.Stack(prober), server: server}
}

// within returns a context that ends after d, cancelled at the end of the test.
func within(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// wantOK fails the test unless r passed.
func wantOK(t *testing.T, c health.Checker, r health.Result) {
	t.Helper()
	if !r.OK || r.Weight != -1 || r.Reason != "" {
		t.Errorf("%v: %+v, want OK with weight -1", c, r)
	}
}

// wantFail fails the test unless r failed with a reason containing want.
func wantFail(t *testing.T, c health.Checker, r health.Result, want string) {
	t.Helper()
	if r.OK || r.Weight != -1 || !strings.Contains(r.Reason, want) {
		t.Errorf("%v: %+v, want a failure for %q", c, r, want)
	}
}

// serveHTTP serves h on l (over TLS with cert, if given) until the end of the test, and
// returns the address served.
func serveHTTP(t *testing.T, l net.Listener, h http.Handler, cert *tls.Certificate) netip.AddrPort {
	t.Helper()
	if cert != nil {
		l = tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{*cert}})
	}
	srv := &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0)}
	srv.SetKeepAlivesEnabled(false)
	var wg sync.WaitGroup
	wg.Go(func() { srv.Serve(l) })
	t.Cleanup(func() {
		srv.Close()
		wg.Wait()
	})
	return netip.MustParseAddrPort(l.Addr().String())
}

// listenTCP listens on the real server's host.
func (r *probeRig) listenTCP(t *testing.T, at netip.AddrPort) net.Listener {
	t.Helper()
	l, err := r.server.ListenTCP(at)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// listenUDP opens a UDP socket on the real server's host.
func (r *probeRig) listenUDP(t *testing.T, at netip.AddrPort) net.PacketConn {
	t.Helper()
	pc, err := r.server.ListenUDP(at)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}

// selfSigned returns a certificate for rs.example (and the real server's address) that is
// its own authority, and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "rs.example"},
		DNSNames:              []string{"rs.example"},
		IPAddresses:           []net.IP{rsAddr.AsSlice()},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t *testing.T, network string) netip.AddrPort {
	t.Helper()
	switch network {
	case "udp":
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		return netip.MustParseAddrPort(pc.LocalAddr().String())
	default:
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return netip.MustParseAddrPort(l.Addr().String())
	}
}

// recordingNet is a Net that records what it was asked to dial.
type recordingNet struct {
	health.Net
	mu    sync.Mutex
	dials []string
}

func (n *recordingNet) DialContext(ctx context.Context, network string, laddr, raddr netip.AddrPort) (net.Conn, error) {
	n.mu.Lock()
	n.dials = append(n.dials, network+" "+laddr.String()+" "+raddr.String())
	n.mu.Unlock()
	return n.Net.DialContext(ctx, network, laddr, raddr)
}

func TestStackAdapterPassesThrough(t *testing.T) {
	r := newProbeRig(t)
	if err := r.net.Ping(within(t, 5*time.Second), proberSecond, rsAddr); err != nil {
		t.Errorf("ping through the adapter: %v", err)
	}
	_, err := r.net.DialContext(within(t, 5*time.Second), "tcp", netip.AddrPort{}, netip.AddrPortFrom(rsAddr, 1))
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("dial a closed port through the adapter: %v", err)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial error %v is not ECONNREFUSED", err)
	}
}
