// Package sdnotify speaks systemd's notification protocol (sd_notify(3)) without libsystemd:
// a service started with Type=notify or Type=notify-reload tells the service manager when it
// is ready, reloading or stopping, what it is doing (STATUS=), and that it is alive
// (WATCHDOG=1), by sending newline-separated VAR=VALUE lines in one datagram to the unix
// socket named by $NOTIFY_SOCKET.
//
// Everything is a no-op, returning nil, when NOTIFY_SOCKET is unset: the same binary runs
// under systemd, in a shell, in a container or as a VM's /init. The environment is read at
// each call, so tests can set it; a Notifier built with New can be pointed anywhere.
package sdnotify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Notifier sends notifications to one socket. The zero Notifier (and a nil one) sends
// nothing.
type Notifier struct {
	socket string // NOTIFY_SOCKET: a path, or "@name" for an abstract socket; "": none
	// watchdog is WATCHDOG_USEC when it is for this process (WATCHDOG_PID unset or ours).
	watchdog time.Duration
}

// New builds a Notifier from an environment: getenv is os.Getenv, or a test's map.
func New(getenv func(string) string) *Notifier {
	n := &Notifier{socket: getenv("NOTIFY_SOCKET")}
	usec, err := strconv.ParseUint(getenv("WATCHDOG_USEC"), 10, 63)
	if err != nil || usec == 0 {
		return n
	}
	// systemd sets WATCHDOG_PID so that a child that inherits the environment does not
	// take the watchdog for its own.
	if pid := getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return n
	}
	n.watchdog = time.Duration(usec) * time.Microsecond
	return n
}

// FromEnv is the Notifier of this process's environment.
func FromEnv() *Notifier { return New(os.Getenv) }

// Enabled reports whether n has a socket to send to.
func (n *Notifier) Enabled() bool { return n != nil && n.socket != "" }

// Notify sends state, one or more VAR=VALUE lines ("READY=1", "STATUS=...\nREADY=1"), in one
// datagram. It is nil without a socket.
func (n *Notifier) Notify(state string) error {
	if !n.Enabled() {
		return nil
	}
	if strings.HasPrefix(n.socket, "vsock:") {
		// systemd 254 passes AF_VSOCK addresses to VMs; uvs in a VM runs as /init, not under
		// a systemd that would ask.
		return fmt.Errorf("sdnotify: NOTIFY_SOCKET %q: AF_VSOCK is not supported", n.socket)
	}
	if n.socket[0] != '/' && n.socket[0] != '@' {
		return fmt.Errorf("sdnotify: NOTIFY_SOCKET %q is neither a path nor an abstract socket (@name)", n.socket)
	}
	// Go's net package makes a leading '@' an abstract address (a leading NUL) on Linux, as
	// systemd writes them. A new socket per message, as libsystemd does: notifications are
	// rare, and no descriptor is left to leak into the scripts uvs runs.
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: n.socket, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sdnotify: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sdnotify: %w", err)
	}
	return nil
}

// Ready says that start-up (or a reload) is complete: READY=1.
func (n *Notifier) Ready() error { return n.Notify("READY=1") }

// Reloading says that a reload starts: RELOADING=1 with MONOTONIC_USEC, the time of
// CLOCK_MONOTONIC, which Type=notify-reload (systemd 253) requires to tell this reload from
// an earlier one. Ready ends it.
func (n *Notifier) Reloading() error {
	if !n.Enabled() {
		return nil
	}
	now, err := monotonicUsec()
	if err != nil {
		return fmt.Errorf("sdnotify: %w", err)
	}
	return n.Notify("RELOADING=1\nMONOTONIC_USEC=" + strconv.FormatUint(now, 10))
}

// Stopping says that the service is shutting down: STOPPING=1.
func (n *Notifier) Stopping() error { return n.Notify("STOPPING=1") }

// Status sets the one-line status `systemctl status` shows: STATUS=s. A newline would end
// the variable, so line breaks become spaces.
func (n *Notifier) Status(s string) error {
	return n.Notify("STATUS=" + strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s))
}

// WatchdogInterval is WatchdogSec= as systemd passed it (WATCHDOG_USEC), when the watchdog
// is on and meant for this process. Send Watchdog at least twice per interval.
func (n *Notifier) WatchdogInterval() (time.Duration, bool) {
	if n == nil || n.watchdog <= 0 {
		return 0, false
	}
	return n.watchdog, true
}

// Watchdog tells the service manager that the service is alive: WATCHDOG=1.
func (n *Notifier) Watchdog() error { return n.Notify("WATCHDOG=1") }

// RunWatchdog sends WATCHDOG=1 every half WatchdogInterval while alive reports nil, until
// ctx ends; at once when there is no watchdog. When alive fails, the pings stop (and
// systemd, WatchdogSec later, kills and restarts the service, as Restart= says) and the
// error is returned: a process that is running but stuck must not keep the watchdog quiet.
// Errors sending a ping are not fatal (systemd may be restarting itself); they are
// reported through onError, which may be nil.
func (n *Notifier) RunWatchdog(ctx context.Context, alive func() error, onError func(error)) error {
	every, ok := n.WatchdogInterval()
	if !ok || !n.Enabled() {
		return nil
	}
	t := time.NewTicker(every / 2)
	defer t.Stop()
	for {
		if err := alive(); err != nil {
			return err
		}
		if err := n.Watchdog(); err != nil && onError != nil {
			onError(err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// monotonicUsec is CLOCK_MONOTONIC in microseconds, the clock of MONOTONIC_USEC. Go's own
// monotonic readings have an unspecified origin, so the kernel is asked.
func monotonicUsec() (uint64, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0, err
	}
	if ts.Sec < 0 {
		return 0, errors.New("CLOCK_MONOTONIC before its origin")
	}
	return uint64(ts.Sec)*1e6 + uint64(ts.Nsec)/1e3, nil
}

// The notifications of this process's environment.

// Ready sends READY=1 to $NOTIFY_SOCKET; see Notifier.Ready.
func Ready() error { return FromEnv().Ready() }

// Reloading sends RELOADING=1 and MONOTONIC_USEC; see Notifier.Reloading.
func Reloading() error { return FromEnv().Reloading() }

// Stopping sends STOPPING=1; see Notifier.Stopping.
func Stopping() error { return FromEnv().Stopping() }

// Status sends STATUS=s; see Notifier.Status.
func Status(s string) error { return FromEnv().Status(s) }

// WatchdogInterval is the watchdog's interval from $WATCHDOG_USEC and $WATCHDOG_PID; see
// Notifier.WatchdogInterval.
func WatchdogInterval() (time.Duration, bool) { return FromEnv().WatchdogInterval() }

// Watchdog sends WATCHDOG=1; see Notifier.Watchdog.
func Watchdog() error { return FromEnv().Watchdog() }
