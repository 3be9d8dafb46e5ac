package alert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/uvs-lb/uvs/conf"
)

// envelope is what every mail of a configuration shares, with keepalived's defaults taken
// from the host.
type envelope struct {
	server        string        // HOST:PORT
	timeout       time.Duration // smtp_connect_timeout
	noEmailFaults bool
	routerID      string   // the subjects' [prefix]
	helo          string   // EHLO's argument
	from          string   // MAIL FROM's bare address
	fromHdr       string   // the From header
	rcpt          []string // RCPT TO's bare addresses
	toHdr         string   // the To header
}

// newEnvelope resolves cfg's defaults as keepalived does (global_data.c): the router ID and
// the HELO name are the host name, the sender USER@HOSTNAME.
func newEnvelope(cfg conf.Alerts) (*envelope, error) {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost" // keepalived's HELO name when it has none
	}
	e := &envelope{server: cfg.Server, timeout: cfg.ConnectTimeout, noEmailFaults: cfg.NoEmailFaults,
		routerID: cfg.RouterID, helo: cfg.HeloName}
	if e.timeout <= 0 {
		e.timeout = 30 * time.Second // keepalived's default, for a hand-built cfg
	}
	if e.routerID == "" {
		e.routerID = host
	}
	if e.helo == "" {
		e.helo = host
	}
	from := cfg.From
	if from == "" {
		name := "uvs"
		if u, err := user.Current(); err == nil && u.Username != "" {
			name = u.Username
		}
		from = name + "@" + host
	}
	a, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("notification_email_from %q: %w", from, err)
	}
	e.from, e.fromHdr = a.Address, a.String()
	var to []string
	for _, s := range cfg.Emails {
		a, err := mail.ParseAddress(s)
		if err != nil {
			return nil, fmt.Errorf("notification_email %q: %w", s, err)
		}
		e.rcpt = append(e.rcpt, a.Address)
		to = append(to, a.String())
	}
	e.toHdr = strings.Join(to, ",\r\n ") // folded, one recipient a line, as keepalived
	return e, nil
}

// send holds one SMTP conversation: keepalived's, with smtp_connect_timeout bounding the
// connection and each exchange after it. ctx ending (Close) cuts it off.
func (m *Mailer) send(ctx context.Context, env *envelope, msg message) error {
	timeout := env.timeout
	dctx, cancel := context.WithTimeout(ctx, timeout)
	conn, err := m.dial(dctx, "tcp", env.server)
	cancel()
	if err != nil {
		return fmt.Errorf("connecting to the SMTP server: %w", err)
	}
	// Closing the connection is the one way to interrupt a read or write under way.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	step := func(what string, err error) error {
		if err != nil {
			return fmt.Errorf("SMTP %s: %w", what, err)
		}
		return conn.SetDeadline(m.now().Add(timeout))
	}
	if err := step("", nil); err != nil {
		conn.Close()
		return err
	}
	host, _, _ := net.SplitHostPort(env.server)
	c, err := smtp.NewClient(conn, host) // reads the greeting, 220
	if err != nil {
		conn.Close()
		return fmt.Errorf("SMTP greeting: %w", err)
	}
	defer c.Close()
	if err := step("EHLO", c.Hello(env.helo)); err != nil { // HELO if EHLO is refused
		return err
	}
	if err := step("MAIL FROM", c.Mail(env.from)); err != nil {
		return err
	}
	// A recipient refused does not cost the others their alert (keepalived gives up on
	// the whole mail).
	accepted := 0
	for _, r := range env.rcpt {
		if err := step("RCPT TO", c.Rcpt(r)); err != nil {
			if ctx.Err() != nil || !isSMTPReply(err) {
				return err
			}
			m.log.Warn().Err(err).Str("recipient", r).Str("subject", msg.subject).Msg("SMTP server refuses a recipient")
			if err := step("", nil); err != nil {
				return err
			}
			continue
		}
		accepted++
	}
	if accepted == 0 {
		return errors.New("the SMTP server refuses every recipient")
	}
	w, err := c.Data()
	if err := step("DATA", err); err != nil {
		return err
	}
	if _, err := w.Write(m.format(env, msg)); err != nil {
		return fmt.Errorf("SMTP DATA: %w", err)
	}
	if err := step("DATA", w.Close()); err != nil { // the final dot, answered 250
		return err
	}
	// The mail is the server's now; a failed QUIT does not make it unsent.
	_ = c.Quit()
	return nil
}

// isSMTPReply reports whether err is the server's answer (a 4xx or 5xx reply) rather than
// a broken connection.
func isSMTPReply(err error) bool {
	var reply *textproto.Error
	return errors.As(err, &reply)
}

// format writes the mail: keepalived's headers (Date, From, Subject, X-Mailer, To), plus
// the Message-ID and MIME headers a mail should have, then the body. Lines end in CRLF;
// the DATA writer stuffs dots.
func (m *Mailer) format(env *envelope, msg message) []byte {
	now := m.now()
	var b bytes.Buffer
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "From: %s\r\n", env.fromHdr)
	fmt.Fprintf(&b, "To: %s\r\n", env.toHdr)
	// A router_id or an instance name may be UTF-8: RFC 2047 keeps the header ASCII, and
	// leaves an ASCII subject as it is.
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", msg.subject))
	fmt.Fprintf(&b, "Message-ID: <%d.%016x@%s>\r\n", now.UnixNano(), rand.Uint64(), msgIDDomain(env.helo))
	b.WriteString("X-Mailer: uvs\r\n")
	b.WriteString("MIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	b.WriteString("Content-Transfer-Encoding: 8bit\r\n")
	b.WriteString("\r\n")
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(msg.body, "\r\n", "\n"), "\n", "\r\n"))
	b.WriteString("\r\n")
	return b.Bytes()
}

// msgIDDomain is the right side of a Message-ID: the HELO name, which is a host name or an
// address literal ("[10.0.0.2]"; "[IPv6:...]" loses its tag, which a msg-id cannot carry).
func msgIDDomain(helo string) string {
	if lit, ok := strings.CutPrefix(helo, "[IPv6:"); ok {
		return "[" + lit
	}
	return helo
}
