// Package adm is `uvs adm`: ipvsadm 1.31's command line, spoken to a running appliance over
// its control API, with ipvsadm's output formats byte for byte, so that the operators, the
// scripts and the monitoring that drive an LVS box with ipvsadm drive uvs unchanged.
//
// It parses the command line as ipvsadm does (its first option must be the command, short
// options cluster as in -Ln, long options take --opt=value), checks the options against
// each command with ipvsadm's table and messages, turns the edit commands into control.Edit
// values, and renders control.Snapshot values in ipvsadm's list, rule (-S), connection
// (-c), timeout and daemon formats. A few extensions that ipvsadm has no verbs for live
// under long options of their own (--vrrp, --checks, --reload, --config, --fullnat), and
// WriteDataDump / WriteStatsDump render keepalived's SIGUSR1 / SIGUSR2 dumps.
//
// Names: ipvsadm prints host and service names unless -n is given. uvs adm always prints
// numeric addresses and ports (it accepts -n and ignores it): an appliance's addresses are
// rarely in a resolver, a reverse lookup per line makes listings slow and fragile, and the
// numeric form is what scripts parse. Host and service names are still accepted as input.
// docs/adm.md lists this and the other differences.
package adm

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/uvs-lb/uvs/control"
)

// API is what adm needs of the control API; *control.Client implements it.
type API interface {
	Status(ctx context.Context) (*control.Snapshot, error)
	Conns(ctx context.Context) ([]control.Conn, error)
	Edit(ctx context.Context, edits ...control.Edit) error
	Zero(ctx context.Context, key *control.ServiceKey) error
	Config(ctx context.Context) ([]byte, error)
	Reload(ctx context.Context) error
	StartSync(ctx context.Context, d control.SyncDaemon) error
	StopSync(ctx context.Context, state string) error
}

var _ API = (*control.Client)(nil)

// program is how messages name the command (ipvsadm uses its argv[0]).
const program = "uvs adm"

// Exit statuses, as ipvsadm's: it calls exit(1) when a listing fails, fail(2, ...) for bad
// option values and combinations, and returns -1 from main (status 255) when popt rejects
// an option or when the kernel refuses a command.
const (
	exitOK     = 0
	exitList   = 1
	exitUsage  = 2
	exitFailed = 255
)

// exitError ends the command with a status and a message for stderr.
type exitError struct {
	status int
	msg    string // printed with a newline; "" prints nothing
}

func (e *exitError) Error() string { return e.msg }

// fail is ipvsadm's fail(2, ...): a bad option or value.
func fail(format string, args ...any) error {
	return &exitError{status: exitUsage, msg: fmt.Sprintf(format, args...)}
}

// failed is a command the appliance (ipvsadm: the kernel) refused, or could not be asked.
func failed(msg string) error { return &exitError{status: exitFailed, msg: msg} }

// listFailed is a listing that could not be made.
func listFailed(msg string) error { return &exitError{status: exitList, msg: msg} }

// tryHelp is ipvsadm's answer to a command line it cannot make sense of at all.
func tryHelp() error {
	return &exitError{status: exitFailed,
		msg: fmt.Sprintf("Try `%s -h' or '%s --help' for more information.", program, program)}
}

// Main runs `uvs adm ARGS...` (args without "uvs adm") and returns the exit status, as ipvsadm's.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, api API) int {
	out := bufio.NewWriter(stdout)
	err := run(ctx, args, stdin, out, api)
	// What was printed before a failure is kept, as ipvsadm's stdout would have it.
	if ferr := out.Flush(); ferr != nil && err == nil {
		err = listFailed(ferr.Error())
	}
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if !errors.As(err, &ee) {
		ee = &exitError{status: exitFailed, msg: err.Error()}
	}
	if ee.msg != "" {
		fmt.Fprintln(stderr, ee.msg)
	}
	return ee.status
}

// run parses args and executes the command.
func run(ctx context.Context, args []string, stdin io.Reader, out *bufio.Writer, api API) error {
	// ipvsadm with no arguments lists the table.
	if len(args) == 0 {
		s, err := status(ctx, api)
		if err != nil {
			return err
		}
		listAll(out, s, 0)
		return nil
	}
	c, err := parseCommand(ctx, args, false)
	if err != nil {
		return err
	}
	return c.exec(ctx, stdin, out, api)
}

// status fetches the snapshot a listing renders.
func status(ctx context.Context, api API) (*control.Snapshot, error) {
	s, err := api.Status(ctx)
	if err != nil {
		return nil, listFailed(err.Error())
	}
	return s, nil
}
