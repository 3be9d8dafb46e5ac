package conf

import (
	"net"
	"net/mail"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Alerts is the [alerts] table: keepalived's e-mail alerts, the mail keys of its global_defs
// (notification_email, smtp_server, router_id, ...) under their keepalived names. Package
// alert sends them; which transitions mail is each instance's, group's and virtual server's
// SMTPAlert.
type Alerts struct {
	// Emails are the recipients (notification_email), as written: "ops@example.com" or
	// "Ops <ops@example.com>". None: there is no [alerts] table, and no mail is sent.
	Emails []string
	// From is the sender (notification_email_from), as written; "": USER@HOSTNAME, the user
	// uvs runs as, as keepalived.
	From string
	// Server is the SMTP server (smtp_server) as HOST:PORT, the port 25 unless written;
	// "" when there is no [alerts] table.
	Server string
	// HeloName is the name uvs gives itself in EHLO/HELO (smtp_helo_name); "": the host name.
	HeloName string
	// ConnectTimeout bounds the connection to the server and each step of the conversation
	// (smtp_connect_timeout); default 30 s.
	ConnectTimeout time.Duration
	// RouterID names this router in the subjects, "[RouterID] ..." (router_id); "": the
	// host name.
	RouterID string
	// The defaults of SMTPAlert, resolved as keepalived does: VRRP is that of the instances
	// and sync groups (smtp_alert_vrrp, else smtp_alert, else false), Checker that of the
	// virtual servers (smtp_alert_checker, else smtp_alert, else true: keepalived mails
	// real server transitions unless told not to).
	SMTPAlertVRRP, SMTPAlertChecker bool
	// NoEmailFaults leaves out the mails of entering FAULT (no_email_faults).
	NoEmailFaults bool
}

// Enabled reports whether mail is configured: an [alerts] table (which has a server and
// recipients).
func (a *Alerts) Enabled() bool { return a.Server != "" }

// defaultSMTPConnectTimeout is keepalived's DEFAULT_SMTP_CONNECTION_TIMEOUT.
const defaultSMTPConnectTimeout = 30 * time.Second

// maxSMTPConnectTimeout bounds smtp_connect_timeout: keepalived takes any number of
// seconds, but an alert that takes an hour per step is not an alert.
const maxSMTPConnectTimeout = 3600

// smtpPort is SMTP's port, keepalived's default.
const smtpPort = "25"

// alerts reads the [alerts] table, before the virtual servers and VRRP instances: their
// smtp_alert defaults come from it.
func (p *parser) alerts(c *Config, root *table) {
	a := &c.Alerts
	t, ok := root.Sub("alerts")
	if !ok {
		return
	}
	a.ConnectTimeout = defaultSMTPConnectTimeout
	a.SMTPAlertChecker = true
	if items, ok := t.StrList("notification_email"); ok {
		for _, it := range items {
			s := it.V.(string)
			addr, ok := p.email(it.Key, s)
			switch {
			case !ok:
			case containsAddr(a.Emails, addr):
				p.Errorf(it.Key, "%s is listed twice", addr)
			default:
				a.Emails = append(a.Emails, s)
			}
		}
		if len(items) == 0 && !p.failed(t.Key("notification_email")) {
			t.Errorf("notification_email", "must list at least one address")
		}
	} else if !t.Has("notification_email") {
		t.Errorf("notification_email", "missing: who the alerts are mailed to")
	}
	if s, ok := t.Str("notification_email_from"); ok {
		if _, ok := p.email(t.Key("notification_email_from"), s); ok {
			a.From = s
		}
	}
	if s, ok := t.Str("smtp_server"); ok {
		if hp, ok := p.smtpServer(t.Key("smtp_server"), s); ok {
			a.Server = hp
		}
	} else if !t.Has("smtp_server") {
		t.Errorf("smtp_server", "missing: the SMTP server the alerts are sent through (\"HOST\", \"HOST:PORT\" or \"[IPV6]:PORT\")")
	}
	if s, ok := t.Str("smtp_helo_name"); ok {
		if !isHeloName(s) {
			t.Errorf("smtp_helo_name", "%q is not a host name (like \"lb1.example.com\") or an address literal (like \"[10.0.0.2]\")", s)
		} else {
			a.HeloName = s
		}
	}
	if d, ok := t.Seconds("smtp_connect_timeout", maxSMTPConnectTimeout); ok {
		a.ConnectTimeout = d
	}
	if s, ok := t.Str("router_id"); ok {
		if s == "" || strings.ContainsFunc(s, isControl) {
			t.Errorf("router_id", "must be a non-empty name on one line, not %q", s)
		} else {
			a.RouterID = s
		}
	}
	all, hasAll := t.Bool("smtp_alert")
	a.SMTPAlertVRRP = hasAll && all
	if hasAll {
		a.SMTPAlertChecker = all
	}
	if b, ok := t.Bool("smtp_alert_vrrp"); ok {
		a.SMTPAlertVRRP = b
	}
	if b, ok := t.Bool("smtp_alert_checker"); ok {
		a.SMTPAlertChecker = b
	}
	a.NoEmailFaults, _ = t.Bool("no_email_faults")
	t.Done()
	if a.Server == "" || len(a.Emails) == 0 {
		// A half-read table sends nothing: the errors above say why. Keep Enabled false so
		// that the instances and services do not add "no [alerts]" errors on top.
		a.Server, a.Emails = "", nil
		a.SMTPAlertVRRP, a.SMTPAlertChecker = false, false
	}
}

// smtpAlert reads the smtp_alert of an instance, sync group or virtual server t: whether its
// transitions are mailed, def unless it says. Mail needs an [alerts] table.
func (p *parser) smtpAlert(c *Config, t *table, def bool) bool {
	b, ok := t.Bool("smtp_alert")
	if !ok {
		return def
	}
	if b && !c.Alerts.Enabled() {
		if !p.failed("alerts") {
			t.Errorf("smtp_alert", "mails through the [alerts] table (smtp_server, notification_email), and there is none")
		}
		return false
	}
	return b
}

// email parses an address of notification_email or notification_email_from, as RFC 5322
// writes one ("ops@example.com", "Ops <ops@example.com>"), and returns its bare address.
func (p *parser) email(key, s string) (string, bool) {
	a, err := mail.ParseAddress(s)
	if err != nil || strings.ContainsFunc(s, isControl) {
		p.Errorf(key, "%q is not an e-mail address (like \"ops@example.com\" or \"Ops <ops@example.com>\")", s)
		return "", false
	}
	return a.Address, true
}

// containsAddr reports whether one of list, each a valid address, is addr.
func containsAddr(list []string, addr string) bool {
	for _, s := range list {
		if a, err := mail.ParseAddress(s); err == nil && strings.EqualFold(a.Address, addr) {
			return true
		}
	}
	return false
}

// smtpServer parses smtp_server: an address or a host name, with an optional port
// ("10.0.0.25", "mail.example.com:587", "2001:db8::25", "[2001:db8::25]:25"). It returns
// HOST:PORT.
func (p *parser) smtpServer(key, s string) (string, bool) {
	if host, port, ok := strings.Cut(s, " "); ok && port != "" && isDigits(port) {
		// keepalived's form, smtp_server HOST [PORT].
		p.Errorf(key, "%q: write the port after a colon, %q", s, net.JoinHostPort(host, port))
		return "", false
	}
	host, port := s, smtpPort
	if lit, ok := strings.CutPrefix(s, "["); ok && strings.HasSuffix(lit, "]") {
		host = strings.TrimSuffix(lit, "]") // "[2001:db8::25]", the port left out
	} else if a, err := netip.ParseAddr(s); err == nil { // a bare IPv6 address has colons but no port
		host = a.String()
	} else if h, pt, err := net.SplitHostPort(s); err == nil {
		host, port = h, pt
		if n, err := strconv.ParseUint(pt, 10, 16); err != nil || n == 0 {
			p.Errorf(key, "%q: the port must be 1-65535, not %q", s, pt)
			return "", false
		}
	} else if strings.Contains(s, ":") {
		p.Errorf(key, "%q is not HOST, HOST:PORT or [IPV6]:PORT", s)
		return "", false
	}
	if a, err := netip.ParseAddr(host); err == nil {
		// Loopback is allowed, unlike for the appliance's own addresses: a relay on the host
		// (127.0.0.1:25) is the commonest smtp_server.
		if a.Zone() != "" || a.IsUnspecified() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
			p.Errorf(key, "%s is not an address an SMTP server can have", a)
			return "", false
		}
		return net.JoinHostPort(a.Unmap().String(), port), true
	}
	if !isHostName(host) || host == "." { // isHostName takes the root, for DNS checks
		p.Errorf(key, "%q is not an address or a host name", host)
		return "", false
	}
	return net.JoinHostPort(host, port), true
}

// isHeloName reports whether s can follow EHLO: a host name or an address literal, "[10.0.0.2]"
// or "[IPv6:2001:db8::2]" (RFC 5321 4.1.3).
func isHeloName(s string) bool {
	if lit, ok := strings.CutPrefix(s, "["); ok {
		lit, ok = strings.CutSuffix(lit, "]")
		a, err := netip.ParseAddr(strings.TrimPrefix(lit, "IPv6:"))
		return ok && err == nil && a.Zone() == ""
	}
	return isHostName(s) && s != "."
}

// isControl reports the characters a header line or an SMTP command cannot carry.
func isControl(r rune) bool { return r < ' ' || r == 0x7f }
