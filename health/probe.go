package health

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"time"
)

// What the network checkers share: the Net of a gVisor host, results and their reasons.

// StackHost is a network stack whose dial from a source address is called DialFrom:
// netstack.Host, whose DialContext is the standard library's (an address string).
type StackHost interface {
	DialFrom(ctx context.Context, network string, laddr, raddr netip.AddrPort) (net.Conn, error)
	Ping(ctx context.Context, laddr, raddr netip.Addr) error
}

// Stack returns h as a Net: checks run from the appliance's own netstack with
// health.Stack(host).
func Stack(h StackHost) Net { return stackNet{h} }

type stackNet struct{ h StackHost }

func (s stackNet) DialContext(ctx context.Context, network string, laddr, raddr netip.AddrPort) (net.Conn, error) {
	return s.h.DialFrom(ctx, network, laddr, raddr)
}

func (s stackNet) Ping(ctx context.Context, laddr, raddr netip.Addr) error {
	return s.h.Ping(ctx, laddr, raddr)
}

// checkPassed is the Result of a check that passed: network checks set no weight.
func checkPassed() Result { return Result{OK: true, Weight: -1} }

// checkFailed is the Result of a check that failed for reason.
func checkFailed(reason string) Result { return Result{Weight: -1, Reason: reason} }

// failedBy is the Result of a check that failed with err, ctx being the check's context.
func failedBy(ctx context.Context, err error) Result { return checkFailed(reasonOf(ctx, err)) }

// reasonOf says why a probe failed, in keepalived's words where it has some: "timeout",
// "connection refused", "connection reset", "no route to host", ... A context that ended
// is the reason, whatever error the I/O it cut short reported. The kernel's errors are
// matched by identity, gVisor's (which gonet flattens to text) by the words of the innermost
// error; what matches nothing keeps its own text.
func reasonOf(ctx context.Context, err error) string {
	var timeout interface{ Timeout() bool }
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	var badCert x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var alert tls.AlertError
	var record tls.RecordHeaderError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return "timeout"
	case ctx.Err() != nil:
		return "canceled"
	case err == nil:
		return "failed"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.Is(err, syscall.ETIMEDOUT), errors.As(err, &timeout) && timeout.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE):
		return "connection reset"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.EHOSTDOWN):
		return "no route to host"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network is unreachable"
	case errors.As(err, &verify), errors.As(err, &unknownCA), errors.As(err, &badHost), errors.As(err, &badCert):
		return "certificate: " + innermost(err).Error()
	case errors.As(err, &alert), errors.As(err, &record):
		return "TLS handshake: " + innermost(err).Error()
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	}
	text := innermost(err).Error()
	lower := strings.ToLower(text)
	for _, w := range gvisorWords {
		if strings.Contains(lower, w.text) {
			return w.reason
		}
	}
	return text
}

// gvisorWords are gVisor's wordings of tcpip errors, as gonet reports them from reads and
// writes.
var gvisorWords = []struct{ text, reason string }{
	{"connection was refused", "connection refused"},
	{"connection reset", "connection reset"},
	{"connection aborted", "connection reset"},
	{"no route to host", "no route to host"},
	{"host is unreachable", "no route to host"},
	{"network is unreachable", "network is unreachable"},
	{"timed out", "timeout"},
}

// innermost follows err's chain of single wrapping to its end.
func innermost(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// limitConn makes conn's I/O end when ctx does (at its deadline or when it is cancelled),
// by then with ctx.Err() set. The returned stop releases conn from ctx.
func limitConn(ctx context.Context, conn net.Conn) (stop func() bool) {
	return context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
}

// hasTarget reports whether ap names a destination a probe can be sent to.
func hasTarget(ap netip.AddrPort) bool { return ap.Addr().IsValid() && ap.Port() != 0 }
