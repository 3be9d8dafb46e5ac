package apps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
)

// Error kinds, as reported in Summary.ErrorKinds (see the package documentation).
const (
	kindTimeout     = "timeout"
	kindRefused     = "refused"
	kindReset       = "reset"
	kindEOF         = "eof"
	kindUnreachable = "unreachable"
	kindClosed      = "closed"
	kindOverloaded  = "overloaded"
	kindMismatch    = "mismatch"
	kindOther       = "other"
)

var (
	// errOverloaded is a request the open-loop client did not send: it was due while the
	// client already had its concurrency cap in flight.
	errOverloaded = errors.New(kindOverloaded)
	// errMismatch is an echo that is not what was sent.
	errMismatch = errors.New(kindMismatch)
)

// statusError is an HTTP answer that counts as a failure (status 500 and up).
type statusError int

func (e statusError) Error() string { return fmt.Sprintf("status %d", int(e)) }

// kindTexts recognise an error by the text of the innermost error of its chain, for what
// cannot be matched by identity: gVisor's gonet returns errors.New(tcpipErr.String()).
// Both gVisor's and the kernel's wordings are listed; the first match wins.
var kindTexts = []struct{ text, kind string }{
	{"connection refused", kindRefused},
	{"connection was refused", kindRefused}, // tcpip.ErrConnectionRefused
	{"connection reset", kindReset},         // tcpip.ErrConnectionReset, ECONNRESET
	{"connection aborted", kindReset},       // tcpip.ErrConnectionAborted
	{"software caused connection abort", kindReset},
	{"broken pipe", kindReset},
	{"network is unreachable", kindUnreachable},
	{"no route to host", kindUnreachable},
	{"host is down", kindUnreachable},
	{"machine is not on the network", kindUnreachable}, // tcpip.ErrNoNet
	{"timed out", kindTimeout},                         // tcpip.ErrTimeout, ETIMEDOUT
	{"i/o timeout", kindTimeout},
	{"server closed", kindEOF}, // net/http: "server closed idle connection"
	{"use of closed", kindClosed},
	{"endpoint is closed", kindClosed},           // tcpip.ErrClosedForSend/Receive
	{"endpoint is in invalid state", kindClosed}, // gonet I/O on a closed endpoint
}

// classify returns the kind of a request's error.
func classify(err error) string {
	var status statusError
	var timeout interface{ Timeout() bool }
	switch {
	case errors.As(err, &status):
		return status.Error()
	case errors.Is(err, errOverloaded):
		return kindOverloaded
	case errors.Is(err, errMismatch):
		return kindMismatch
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, syscall.ETIMEDOUT), errors.As(err, &timeout) && timeout.Timeout():
		return kindTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return kindRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE):
		return kindReset
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.EHOSTDOWN):
		return kindUnreachable
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return kindEOF
	case errors.Is(err, net.ErrClosed):
		return kindClosed
	}
	text := strings.ToLower(innermost(err).Error())
	for _, kt := range kindTexts {
		if strings.Contains(text, kt.text) {
			return kt.kind
		}
	}
	return kindOther
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

// closedListener reports whether err, from Accept or ReadFrom, means that the listener or
// socket was closed: net.ErrClosed from the kernel's sockets, and for gVisor's gonet, which
// has no such sentinel, an invalid-state error from Accept, io.EOF from a UDP read, or
// "operation canceled" from TCPListener.Shutdown.
func closedListener(err error) bool {
	if errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) {
		return true
	}
	text := innermost(err).Error()
	return strings.Contains(text, "endpoint is in invalid state") || strings.Contains(text, "operation canceled")
}
