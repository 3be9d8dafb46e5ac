package main

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

func TestGenhash(t *testing.T) {
	const page = "<html><body>hello</body></html>\n"
	sum := md5.Sum([]byte(page))
	digest := hex.EncodeToString(sum[:])
	hosts := make(chan string, 8)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hosts <- r.Host + " " + r.UserAgent()
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, page)
	})
	plain := httptest.NewServer(handler)
	defer plain.Close()
	secure := httptest.NewTLSServer(handler)
	defer secure.Close()
	hostPort := func(s *httptest.Server) (string, string) {
		ap := netip.MustParseAddrPort(s.Listener.Addr().String())
		return ap.Addr().String(), strconv.Itoa(int(ap.Port()))
	}
	h, p := hostPort(plain)
	sh, sp := hostPort(secure)

	genhash := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(append([]string{"genhash"}, args...), &out, &errb)
		return code, out.String(), errb.String()
	}

	code, out, errs := genhash("-s", h, "-p", p, "-u", "/index.html")
	if code != 0 || out != "MD5SUM = "+digest+"\n\n" || errs != "" {
		t.Errorf("genhash: exit %d, out %q, err %q; want MD5SUM = %s", code, out, errs, digest)
	}
	if got := <-hosts; got != h+":"+p+" KeepAliveClient" {
		t.Errorf("request Host and User-Agent: %q", got)
	}

	// keepalived's long names, TLS and a virtual host.
	code, out, errs = genhash("--use-ssl", "--server", sh, "--port", sp, "--url", "/", "--use-virtualhost", "www.example.com")
	if code != 0 || out != "MD5SUM = "+digest+"\n\n" {
		t.Errorf("genhash over TLS: exit %d, out %q, err %q", code, out, errs)
	}
	if got := <-hosts; got != "www.example.com KeepAliveClient" {
		t.Errorf("request Host and User-Agent: %q", got)
	}

	code, out, errs = genhash("-v", "-s", h, "-p", p, "-u", "/")
	<-hosts
	for _, want := range []string{"HTTP Header Ascii Buffer", "HTTP/1.1 200 OK", "Content-Length: 32", "HTML Buffer",
		"3c 68 74 6d 6c 3e", "HTML hash final resulting", "MD5SUM = " + digest + "\n", "Global response time for [/] = "} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("genhash -v: exit %d, err %q, output lacks %q:\n%s", code, errs, want, out)
		}
	}

	// A page that is not there still has a digest, with a warning.
	code, out, errs = genhash("-s", h, "-p", p, "-u", "/missing")
	<-hosts
	if code != 0 || !strings.HasPrefix(out, "MD5SUM = ") || !strings.Contains(errs, "HTTP status 404") {
		t.Errorf("genhash of a 404: exit %d, out %q, err %q", code, out, errs)
	}

	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := netip.MustParseAddrPort(l.Addr().String())
	l.Close()
	code, _, errs = genhash("-s", "127.0.0.1", "-p", strconv.Itoa(int(closed.Port())), "-u", "/")
	if code != 1 || !strings.Contains(errs, "connection refused") {
		t.Errorf("genhash of a closed port: exit %d, err %q", code, errs)
	}

	for _, args := range [][]string{
		{"-s", h, "-p", p}, // no url
		{"-s", "www.example.com", "-p", p, "-u", "/"}, // not an IP
		{"-s", h, "-p", "70000", "-u", "/"},
		{"-s", h, "-p", p, "-u", "/", "--sni", "x.example"}, // SNI without TLS
		{"-s", h, "-p", p, "-u", "/", "extra"},
	} {
		if code, _, errs := genhash(args...); code != 2 || !strings.Contains(errs, "usage: uvs genhash") {
			t.Errorf("genhash %q: exit %d, err %q, want usage", args, code, errs)
		}
	}
	if code, _, _ := genhash("-h"); code != 0 {
		t.Errorf("genhash -h: exit %d", code)
	}
}
