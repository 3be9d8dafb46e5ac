package health

import (
	"context"
	"crypto/md5"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
)

// HTTPCheck is keepalived's HTTP_GET, and SSL_GET with TLS: it GETs each of its URLs from
// Connect and the server is up when every answer has an accepted status and, where a URL
// has a digest, a body with that MD5 digest.
//
// Requests are keepalived's: "GET path", User-Agent KeepAliveClient, the Host header
// VirtualHost or else the connect address, no Accept-Encoding (the digest is of the body as
// the server sends it), one connection per URL, closed after the answer, no redirect
// followed (a 301 is a status like any other) and no proxy. They are HTTP/1.1 requests
// (keepalived sends 1.0 by default); a chunked body is digested once decoded, which is the
// body a 1.0 request gets.
//
// Without a digest, the body is read up to MaxBodyRead and dropped (a server that fails
// mid-body fails the check); with one, the whole body is streamed through MD5 in constant
// memory, for as long as the check's context allows.
type HTTPCheck struct {
	Connect netip.AddrPort // connect_ip and connect_port; port 0: 80, or 443 with TLS
	Bind    netip.AddrPort // bindto and bind_port; zero: chosen by the stack
	TLS     bool           // SSL_GET
	// Verify makes the check verify the server's certificate: against SNI when set, else
	// against the connect address. Off by default, as keepalived's SSL_GET does not verify.
	Verify bool
	// RootCAs are the authorities Verify trusts; nil: the system's (keepalived's ca).
	RootCAs *x509.CertPool
	// SNI is the server name sent in the TLS handshake; "" sends none (keepalived's
	// enable_sni sends the virtual host).
	SNI string
	// VirtualHost is the Host header; "" sends the connect address ("10.0.0.1:80").
	VirtualHost string
	URLs        []URL // none: "/" with the default status
}

// URL is one url block of an HTTPCheck.
type URL struct {
	Path string // path and query; "" = "/"
	// Digest is the hex MD5 digest the body must have (genhash prints it); "" checks none.
	Digest string
	// Status lists the accepted status codes (status_code); none: 200-299.
	Status []StatusRange
}

// StatusRange is a range of HTTP status codes, Min to Max inclusive; Max 0 means Min alone.
type StatusRange struct{ Min, Max int }

// MaxBodyRead is how much of a body a URL without a digest reads before the check stops
// reading it (and passes).
const MaxBodyRead = 1 << 20

// keepalivedUserAgent is the User-Agent keepalived's checks send: servers' logs and filters
// know it.
const keepalivedUserAgent = "KeepAliveClient"

var defaultURLs = []URL{{Path: "/"}}

// Check implements Checker.
func (c HTTPCheck) Check(ctx context.Context, n Net) Result {
	connect := c.connectAddr()
	if !hasTarget(connect) {
		return checkFailed("no address to connect to")
	}
	tr := c.transport(n, connect)
	defer tr.CloseIdleConnections()
	urls := c.URLs
	if len(urls) == 0 {
		urls = defaultURLs
	}
	for _, u := range urls {
		if r := c.checkURL(ctx, tr, connect, u); !r.OK {
			return r
		}
	}
	return checkPassed()
}

func (c HTTPCheck) checkURL(ctx context.Context, tr *http.Transport, connect netip.AddrPort, u URL) Result {
	resp, err := c.get(ctx, tr, connect, u.Path)
	if err != nil {
		return failedBy(ctx, err)
	}
	defer resp.Body.Close()
	if !statusAccepted(resp.StatusCode, u.Status) {
		return checkFailed(fmt.Sprintf("HTTP status %d on %s", resp.StatusCode, pathOrRoot(u.Path)))
	}
	if u.Digest == "" {
		if _, err := copyBody(io.Discard, io.LimitReader(resp.Body, MaxBodyRead)); err != nil {
			return failedBy(ctx, err)
		}
		return checkPassed()
	}
	h := md5.New()
	if _, err := copyBody(h, resp.Body); err != nil {
		return failedBy(ctx, err)
	}
	var sum [md5.Size]byte
	if got := hex.EncodeToString(h.Sum(sum[:0])); !strings.EqualFold(got, strings.TrimSpace(u.Digest)) {
		return checkFailed(fmt.Sprintf("MD5 digest mismatch on %s: %s", pathOrRoot(u.Path), got))
	}
	return checkPassed()
}

// Page is what Fetch got: the answer's status line and header, and its body's size and MD5
// digest.
type Page struct {
	Proto  string // "HTTP/1.1"
	Status string // "200 OK"
	Code   int
	Header http.Header
	Size   int64
	MD5    string // hex, as URL.Digest
}

// Fetch GETs path as Check does, whatever the status, and returns the page with the digest
// of its whole body: what genhash prints. The body is also copied to body, if not nil.
func (c HTTPCheck) Fetch(ctx context.Context, n Net, path string, body io.Writer) (Page, error) {
	connect := c.connectAddr()
	if !hasTarget(connect) {
		return Page{}, errors.New("health: no address to connect to")
	}
	tr := c.transport(n, connect)
	defer tr.CloseIdleConnections()
	resp, err := c.get(ctx, tr, connect, path)
	if err != nil {
		return Page{}, err
	}
	defer resp.Body.Close()
	p := Page{Proto: resp.Proto, Status: resp.Status, Code: resp.StatusCode, Header: resp.Header}
	h := md5.New()
	var w io.Writer = h
	if body != nil {
		w = io.MultiWriter(h, body)
	}
	if p.Size, err = copyBody(w, resp.Body); err != nil {
		return p, err
	}
	p.MD5 = hex.EncodeToString(h.Sum(nil))
	return p, nil
}

// String implements Checker: "HTTP_GET 10.0.0.1:80", "SSL_GET 10.0.0.1:443".
func (c HTTPCheck) String() string {
	if c.TLS {
		return "SSL_GET " + c.connectAddr().String()
	}
	return "HTTP_GET " + c.connectAddr().String()
}

func (c HTTPCheck) connectAddr() netip.AddrPort {
	if c.Connect.Port() != 0 || !c.Connect.Addr().IsValid() {
		return c.Connect
	}
	if c.TLS {
		return netip.AddrPortFrom(c.Connect.Addr(), 443)
	}
	return netip.AddrPortFrom(c.Connect.Addr(), 80)
}

// transport dials every connection through n, from Bind to connect, whatever the request's
// URL says; it keeps none open between requests.
func (c HTTPCheck) transport(n Net, connect netip.AddrPort) *http.Transport {
	return &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			conn, err := n.DialContext(ctx, "tcp", c.Bind, connect)
			if err != nil {
				return nil, err
			}
			return abortOnClose{conn}, nil
		},
		TLSClientConfig: &tls.Config{
			ServerName:         c.SNI,
			InsecureSkipVerify: !c.Verify,
			RootCAs:            c.RootCAs,
			// A check asks whether the server answers, not for secrets: it accepts the old
			// protocol versions keepalived's OpenSSL does.
			MinVersion: tls.VersionTLS10,
		},
		DisableKeepAlives:      true,
		DisableCompression:     true,
		MaxResponseHeaderBytes: 64 << 10,
	}
}

func (c HTTPCheck) get(ctx context.Context, tr *http.Transport, connect netip.AddrPort, path string) (*http.Response, error) {
	scheme := "http://"
	if c.TLS {
		scheme = "https://"
	}
	path = pathOrRoot(path)
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+connect.String()+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", keepalivedUserAgent)
	if c.VirtualHost != "" {
		req.Host = c.VirtualHost
	}
	return tr.RoundTrip(req)
}

func pathOrRoot(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// statusAccepted reports whether code is in one of ranges, or 2xx when there are none.
func statusAccepted(code int, ranges []StatusRange) bool {
	if len(ranges) == 0 {
		return code >= 200 && code <= 299
	}
	for _, r := range ranges {
		if code == r.Min || (code >= r.Min && code <= r.Max) {
			return true
		}
	}
	return false
}

// copyBufs are the buffers bodies are read through.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

func copyBody(w io.Writer, r io.Reader) (int64, error) {
	b := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(b)
	return io.CopyBuffer(w, r, *b)
}
