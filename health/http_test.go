package health_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/health"
	"github.com/uvs-lb/uvs/lab/apps"
)

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// A lab real server (apps.HTTPServer) on a gVisor host, checked from another.
func TestHTTPCheckLabServer(t *testing.T) {
	r := newProbeRig(t)
	at := netip.AddrPortFrom(rsAddr, 80)
	srv := &apps.HTTPServer{Name: "rs1"}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	l := r.listenTCP(t, at)
	wg.Go(func() { srv.Serve(ctx, l) })
	t.Cleanup(func() { cancel(); wg.Wait() })

	c := health.HTTPCheck{Connect: netip.AddrPortFrom(rsAddr, 0), URLs: []health.URL{{Path: "/", Digest: md5Hex("rs1\n")}}}
	if c.String() != "HTTP_GET 10.7.0.1:80" {
		t.Errorf("String() = %q", c.String())
	}
	wantOK(t, c, c.Check(within(t, 5*time.Second), r.net))

	wrong := health.HTTPCheck{Connect: at, URLs: []health.URL{{Path: "/index.html", Digest: md5Hex("rs2\n")}}}
	wantFail(t, wrong, wrong.Check(within(t, 5*time.Second), r.net), "MD5 digest mismatch on /index.html: "+md5Hex("rs1\n"))

	srv.SetFailing(true)
	plain := health.HTTPCheck{Connect: at}
	wantFail(t, plain, plain.Check(within(t, 5*time.Second), r.net), "HTTP status 500 on /")
	accepts500 := health.HTTPCheck{Connect: at, URLs: []health.URL{{Status: []health.StatusRange{{Min: 200}, {Min: 500, Max: 503}}}}}
	wantOK(t, accepts500, accepts500.Check(within(t, 5*time.Second), r.net))
	srv.SetFailing(false)

	refused := health.HTTPCheck{Connect: netip.AddrPortFrom(rsAddr, 81)}
	wantFail(t, refused, refused.Check(within(t, 5*time.Second), r.net), "connection refused")
}

// A server slower than the check's timeout fails it, whether it is slow to connect, to
// answer or to finish the body.
func TestHTTPCheckTimeouts(t *testing.T) {
	r := newProbeRig(t)
	slow := &apps.HTTPServer{Name: "slow", Latency: 10 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	l := r.listenTCP(t, netip.AddrPortFrom(rsAddr, 80))
	wg.Go(func() { slow.Serve(ctx, l) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	stall := serveHTTP(t, r.listenTCP(t, netip.AddrPortFrom(rsAddr, 81)), http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		io.WriteString(w, "part of the body")
		w.(http.Flusher).Flush()
		<-req.Context().Done()
	}), nil)

	for _, c := range []health.HTTPCheck{
		{Connect: netip.AddrPortFrom(rsAddr, 80)},
		{Connect: stall},
		{Connect: stall, URLs: []health.URL{{Digest: md5Hex("part of the body")}}},
		{Connect: netip.AddrPortFrom(silentAddr, 80)},
	} {
		start := time.Now()
		wantFail(t, c, c.Check(within(t, 300*time.Millisecond), r.net), "timeout")
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%v: a check with a 300 ms timeout took %v", c, d)
		}
	}
}

// What the server sees: keepalived's request, from the bound source, with the virtual host.
func TestHTTPCheckRequest(t *testing.T) {
	r := newProbeRig(t)
	type seen struct{ host, agent, encoding, remote, uri, conn string }
	got := make(chan seen, 4)
	at := serveHTTP(t, r.listenTCP(t, netip.AddrPortFrom(rsAddr, 8080)), http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		got <- seen{req.Host, req.UserAgent(), req.Header.Get("Accept-Encoding"), req.RemoteAddr, req.RequestURI, req.Header.Get("Connection")}
		switch req.URL.Path {
		case "/moved":
			http.Redirect(w, req, "/", http.StatusMovedPermanently)
		default:
			io.WriteString(w, "ok\n")
		}
	}), nil)

	c := health.HTTPCheck{Connect: at, Bind: netip.AddrPortFrom(proberSecond, 0),
		URLs: []health.URL{{Path: "/a?x=1"}, {Path: "b"}}}
	wantOK(t, c, c.Check(within(t, 5*time.Second), r.net))
	for _, wantURI := range []string{"/a?x=1", "/b"} {
		s := <-got
		if s.host != "10.7.0.1:8080" || s.agent != "KeepAliveClient" || s.encoding != "" || s.uri != wantURI {
			t.Errorf("request %+v, want Host 10.7.0.1:8080, User-Agent KeepAliveClient, no Accept-Encoding, %s", s, wantURI)
		}
		if !strings.HasPrefix(s.remote, "10.7.0.3:") {
			t.Errorf("request from %s, want the bound 10.7.0.3", s.remote)
		}
	}

	vh := health.HTTPCheck{Connect: at, VirtualHost: "www.example.com"}
	wantOK(t, vh, vh.Check(within(t, 5*time.Second), r.net))
	if s := <-got; s.host != "www.example.com" {
		t.Errorf("Host %q, want the virtual host", s.host)
	}

	// Every URL must pass: the second one is a redirect, which is not followed.
	moved := health.HTTPCheck{Connect: at, URLs: []health.URL{{Path: "/"}, {Path: "/moved"}}}
	wantFail(t, moved, moved.Check(within(t, 5*time.Second), r.net), "HTTP status 301 on /moved")
	<-got
	<-got
	if len(got) != 0 {
		t.Errorf("the redirect was followed")
	}
}

// SSL_GET: a self-signed server passes when the certificate is not verified (keepalived's
// default) and fails when it is, unless the check trusts its authority and names it.
func TestHTTPCheckTLS(t *testing.T) {
	r := newProbeRig(t)
	cert, pool := selfSigned(t)
	var mu sync.Mutex
	var sni []string
	at := netip.AddrPortFrom(rsAddr, 443)
	l := r.listenTCP(t, at)
	serveHTTP(t, sniRecorder{l, &mu, &sni}, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		io.WriteString(w, "secure\n")
	}), &cert)

	c := health.HTTPCheck{Connect: netip.AddrPortFrom(rsAddr, 0), TLS: true, URLs: []health.URL{{Digest: md5Hex("secure\n")}}}
	if c.String() != "SSL_GET 10.7.0.1:443" {
		t.Errorf("String() = %q", c.String())
	}
	wantOK(t, c, c.Check(within(t, 5*time.Second), r.net))

	verify := c
	verify.Verify = true
	wantFail(t, verify, verify.Check(within(t, 5*time.Second), r.net), "certificate: x509: certificate signed by unknown authority")

	trusted := verify
	trusted.RootCAs = pool
	wantOK(t, trusted, trusted.Check(within(t, 5*time.Second), r.net)) // the certificate holds the IP address

	trusted.SNI = "rs.example"
	wantOK(t, trusted, trusted.Check(within(t, 5*time.Second), r.net))
	trusted.SNI = "other.example"
	wantFail(t, trusted, trusted.Check(within(t, 5*time.Second), r.net), "certificate: x509: certificate is valid for rs.example, not other.example")

	mu.Lock()
	sent := strings.Join(sni, ",")
	mu.Unlock()
	if want := ",,,rs.example,other.example"; sent != want {
		t.Errorf("SNI sent %q, want %q", sent, want)
	}

	plain := health.HTTPCheck{Connect: at} // HTTP to a TLS port
	wantFail(t, plain, plain.Check(within(t, 5*time.Second), r.net), "HTTP status 400")
}

// sniRecorder records the server name each TLS handshake on its listener asks for.
type sniRecorder struct {
	net.Listener
	mu  *sync.Mutex
	sni *[]string
}

func (s sniRecorder) Accept() (net.Conn, error) {
	c, err := s.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &sniConn{Conn: c, rec: s}, nil
}

// sniConn reads the ClientHello's server name from the first bytes the client sends.
type sniConn struct {
	net.Conn
	rec  sniRecorder
	done bool
}

func (c *sniConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if !c.done && n > 0 {
		c.done = true
		c.rec.mu.Lock()
		*c.rec.sni = append(*c.rec.sni, serverName(b[:n]))
		c.rec.mu.Unlock()
	}
	return n, err
}

// serverName digs the server_name extension out of a TLS ClientHello record, "" if none.
func serverName(rec []byte) string {
	if len(rec) < 5+4+2+32+1 || rec[0] != 22 || rec[5] != 1 {
		return ""
	}
	p := rec[5+4+2+32:]
	skip := func(lenBytes int) bool {
		if len(p) < lenBytes {
			return false
		}
		n := 0
		for _, b := range p[:lenBytes] {
			n = n<<8 | int(b)
		}
		if len(p) < lenBytes+n {
			return false
		}
		p = p[lenBytes+n:]
		return true
	}
	if !skip(1) || !skip(2) || !skip(1) || len(p) < 2 { // session id, cipher suites, compression
		return ""
	}
	p = p[2:]
	for len(p) >= 4 {
		typ, n := int(p[0])<<8|int(p[1]), int(p[2])<<8|int(p[3])
		if len(p) < 4+n {
			return ""
		}
		if typ == 0 && n >= 5 {
			name := p[4+5 : 4+n]
			return string(name)
		}
		p = p[4+n:]
	}
	return ""
}

// On the kernel's loopback: an httptest-like server, a reset, a refused port.
func TestHTTPCheckOnTheKernel(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	at := serveHTTP(t, l, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/broken" {
			w.WriteHeader(http.StatusInternalServerError)
		}
		io.WriteString(w, "kernel\n")
	}), nil)
	k := health.KernelNet{}
	c := health.HTTPCheck{Connect: at, URLs: []health.URL{{Path: "/", Digest: strings.ToUpper(md5Hex("kernel\n"))}}}
	wantOK(t, c, c.Check(within(t, 5*time.Second), k))
	broken := health.HTTPCheck{Connect: at, URLs: []health.URL{{Path: "/"}, {Path: "/broken"}}}
	wantFail(t, broken, broken.Check(within(t, 5*time.Second), k), "HTTP status 500 on /broken")
	refused := health.HTTPCheck{Connect: closedPort(t, "tcp")}
	wantFail(t, refused, refused.Check(within(t, 5*time.Second), k), "connection refused")

	// A server that resets the connection as soon as it has the request.
	rl, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer rl.Close()
	go func() {
		for {
			c, err := rl.Accept()
			if err != nil {
				return
			}
			c.Read(make([]byte, 1024))
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
	}()
	reset := health.HTTPCheck{Connect: netip.MustParseAddrPort(rl.Addr().String())}
	wantFail(t, reset, reset.Check(within(t, 5*time.Second), k), "connection reset")
}

// Fetch is what genhash prints: the page and its digest, whatever its status.
func TestHTTPCheckFetch(t *testing.T) {
	r := newProbeRig(t)
	srv := &apps.HTTPServer{Name: "rs1", Status: http.StatusNotFound, Body: "not here\n"}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	at := netip.AddrPortFrom(rsAddr6, 80)
	l := r.listenTCP(t, at)
	wg.Go(func() { srv.Serve(ctx, l) })
	t.Cleanup(func() { cancel(); wg.Wait() })

	var body strings.Builder
	p, err := health.HTTPCheck{Connect: at}.Fetch(within(t, 5*time.Second), r.net, "/x", &body)
	if err != nil {
		t.Fatal(err)
	}
	if p.Code != 404 || p.Status != "404 Not Found" || p.Proto != "HTTP/1.1" || p.Size != 9 ||
		p.MD5 != md5Hex("not here\n") || body.String() != "not here\n" || p.Header.Get("X-Served-By") != "rs1" {
		t.Errorf("Fetch = %+v, body %q", p, body.String())
	}
	if _, err := (health.HTTPCheck{Connect: netip.AddrPortFrom(rsAddr6, 81)}).Fetch(within(t, 5*time.Second), r.net, "/", nil); err == nil {
		t.Error("Fetch from a closed port succeeded")
	}
}
