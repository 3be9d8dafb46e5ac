package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"time"

	"github.com/uvs-lb/uvs/health"
)

const genhashUsage = `usage: uvs genhash -s ADDRESS -p PORT -u PATH [-S] [-I] [--sni NAME] [-V VIRTUALHOST]
                   [-t SECONDS] [-v]

Prints the MD5 digest of a web page's body as keepalived's genhash does ("MD5SUM = <hex>"):
the digest an HTTP_GET or SSL_GET url checks. The page is fetched as the checks fetch it
(GET, User-Agent KeepAliveClient, Host the virtual host or ADDRESS:PORT, no redirect
followed), from this machine's kernel network, not from an appliance's own stack.
`

// genhashFlags is what `uvs genhash` was given, parsed.
type genhashFlags struct {
	check   health.HTTPCheck
	path    string
	timeout time.Duration
	verbose bool
}

// parseGenhash parses genhash's flags, keepalived's short and long names alike.
func parseGenhash(args []string, stderr io.Writer) (genhashFlags, error) {
	var f genhashFlags
	fs := flag.NewFlagSet("genhash", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, genhashUsage, "\nflags:\n")
		fs.PrintDefaults()
	}
	var server, vhost, sni string
	var port, timeout int
	var ssl, useSNI bool
	str := func(p *string, usage string, names ...string) {
		for _, n := range names {
			fs.StringVar(p, n, "", usage)
		}
	}
	boolean := func(p *bool, usage string, names ...string) {
		for _, n := range names {
			fs.BoolVar(p, n, false, usage)
		}
	}
	integer := func(p *int, value int, usage string, names ...string) {
		for _, n := range names {
			fs.IntVar(p, n, value, usage)
		}
	}
	str(&server, "IP address of the server (required)", "s", "server")
	integer(&port, 0, "TCP port of the server (required)", "p", "port")
	str(&f.path, "path (and query) of the page (required)", "u", "url")
	boolean(&ssl, "connect with TLS (SSL_GET); the certificate is not verified", "S", "use-ssl", "ssl")
	str(&vhost, "Host header to send; default ADDRESS:PORT", "V", "use-virtualhost", "virtualhost")
	boolean(&useSNI, "send the virtual host as the TLS server name (keepalived's enable_sni)", "I", "use-sni")
	str(&sni, "TLS server name to send", "sni")
	integer(&timeout, 10, "seconds the whole fetch may take", "t", "timeout")
	boolean(&f.verbose, "print the answer's header and body too", "v", "verbose")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if server == "" || port == 0 || f.path == "" {
		return f, errors.New("-s, -p and -u are required")
	}
	addr, err := netip.ParseAddr(server)
	if err != nil {
		return f, fmt.Errorf("server should be an IP, not %s", server)
	}
	if port < 1 || port > 65535 {
		return f, fmt.Errorf("invalid port number %d", port)
	}
	if timeout <= 0 {
		return f, fmt.Errorf("invalid timeout %d", timeout)
	}
	if useSNI && sni == "" {
		sni = vhost
	}
	if sni != "" && !ssl {
		return f, errors.New("a server name (--sni, -I) needs TLS (-S)")
	}
	f.check = health.HTTPCheck{Connect: netip.AddrPortFrom(addr.Unmap(), uint16(port)), TLS: ssl, SNI: sni, VirtualHost: vhost}
	f.timeout = time.Duration(timeout) * time.Second
	return f, nil
}

func runGenhash(args []string, stdout, stderr io.Writer) int {
	f, err := parseGenhash(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "uvs genhash: %v\n\n%s", err, genhashUsage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()

	start := time.Now()
	var body *bytes.Buffer // verbose: the body, dumped after the header
	var w io.Writer
	if f.verbose {
		body = new(bytes.Buffer)
		w = body
	}
	page, err := f.check.Fetch(ctx, health.KernelNet{}, f.path, w)
	if err != nil {
		fmt.Fprintf(stderr, "uvs genhash: %s %s: %v\n", f.check.Connect, f.path, err)
		return 1
	}
	if f.verbose {
		fmt.Fprintf(stdout, "%s\n%s %s\n", genhashBanner("HTTP Header Ascii Buffer"), page.Proto, page.Status)
		page.Header.Write(stdout)
		fmt.Fprintf(stdout, "\n%s\n%s", genhashBanner("       HTML Buffer       "), hex.Dump(body.Bytes()))
		fmt.Fprintf(stdout, "%s\n", genhashBanner("HTML hash final resulting"))
	}
	if page.Code < 200 || page.Code > 299 {
		fmt.Fprintf(stderr, "uvs genhash: warning: HTTP status %s (a check accepts 200-299 unless told otherwise)\n", page.Status)
	}
	fmt.Fprintf(stdout, "MD5SUM = %s\n\n", page.MD5)
	if f.verbose {
		fmt.Fprintf(stdout, "Global response time for [%s] = %s usecs\n", f.path, strconv.FormatInt(time.Since(start).Microseconds(), 10))
	}
	return 0
}

// genhashBanner is a section title of keepalived's genhash verbose output.
func genhashBanner(title string) string {
	return "-----------------------[ " + title + " ]-----------------------"
}
