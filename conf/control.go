package conf

import (
	"net/netip"
	"path/filepath"
	"time"
)

// Control is the [control] table: where the control API listens (`uvs adm` and scripts
// talk to it).
type Control struct {
	// Socket is the unix socket's path (mode 0600, owned by the user uvs runs as); default
	// /run/uvs/uvs.sock. "" (socket = "") turns the socket off.
	Socket string
	// Listen, when valid, also serves the API on TCP; every request must then carry the
	// bearer token read from TokenFile.
	Listen    netip.AddrPort
	TokenFile string
}

// Metrics is the [metrics] table: the HTTP listener of the Prometheus exposition
// (/metrics) and the status page (/).
type Metrics struct {
	Listen     netip.AddrPort // invalid: no listener
	StatusPage bool           // serve the status page on / (default true)
	Refresh    time.Duration  // the page's auto-refresh period (default 5 s)
}

// DefaultControlSocket is the control socket's default path.
const DefaultControlSocket = "/run/uvs/uvs.sock"

func (p *parser) control(c *Config, t *table) {
	if v, ok := t.Str("socket"); ok {
		if v != "" && !filepath.IsAbs(v) {
			t.Errorf("socket", "the socket path must be absolute, got %q", v)
		} else {
			c.Control.Socket = v
		}
	}
	if v, ok := t.Str("listen"); ok {
		ap, err := netip.ParseAddrPort(v)
		if err != nil {
			t.Errorf("listen", "want ADDRESS:PORT (e.g. \"127.0.0.1:9180\"), got %q", v)
		} else {
			c.Control.Listen = ap
		}
	}
	if v, ok := t.Str("token_file"); ok {
		if !filepath.IsAbs(v) {
			t.Errorf("token_file", "the token file's path must be absolute, got %q", v)
		} else {
			c.Control.TokenFile = v
		}
	}
	if t.Has("listen") && !t.Has("token_file") {
		t.Errorf("listen", "the TCP listener needs a token_file: every request must carry its bearer token")
	}
	t.Done()
}

func (p *parser) metrics(c *Config, t *table) {
	c.Metrics = Metrics{StatusPage: true, Refresh: 5 * time.Second}
	if v, ok := t.Str("listen"); ok {
		ap, err := netip.ParseAddrPort(v)
		if err != nil {
			t.Errorf("listen", "want ADDRESS:PORT (e.g. \"0.0.0.0:9182\"), got %q", v)
		} else {
			c.Metrics.Listen = ap
		}
	} else if !t.Has("listen") {
		t.Errorf("listen", "missing: the address and port the metrics and the status page are served on")
	}
	if v, ok := t.Bool("status_page"); ok {
		c.Metrics.StatusPage = v
	}
	if v, ok := t.Duration("refresh", time.Second, time.Hour); ok {
		c.Metrics.Refresh = v
	}
	t.Done()
}
