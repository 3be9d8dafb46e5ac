package adm

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/uvs-lb/uvs/control"
)

// exec runs a parsed command against the appliance.
func (c *command) exec(ctx context.Context, stdin io.Reader, out *bufio.Writer, api API) error {
	switch c.verb {
	case verbHelp:
		usage(out)
		return nil
	case verbVersion:
		version(out)
		return nil
	case verbList:
		return c.list(ctx, out, api)
	case verbSave:
		s, err := status(ctx, api)
		if err != nil {
			return err
		}
		listAll(out, s, c.format|fmtRule)
		return nil
	case verbRestore:
		return restore(ctx, stdin, api)
	case verbZero:
		return c.zero(ctx, api)
	case verbStartDaemon, verbStopDaemon:
		return c.syncDaemon(ctx, api)
	case verbVRRP, verbChecks:
		s, err := status(ctx, api)
		if err != nil {
			return err
		}
		if c.verb == verbVRRP {
			writeVRRP(out, s)
		} else {
			writeCheckers(out, s)
		}
		return nil
	case verbReload:
		if err := api.Reload(ctx); err != nil {
			return failed(err.Error())
		}
		return nil
	case verbConfig:
		b, err := api.Config(ctx)
		if err != nil {
			return listFailed(err.Error())
		}
		_, err = out.Write(b)
		return err
	}
	e, err := c.edit()
	if err != nil {
		return err
	}
	// ipvsadm reports the kernel's refusals in its own words ("Service not defined"); the
	// current table tells which one applies before the appliance is asked. The appliance
	// checks again (the table may change in between) and its own words are printed then.
	if s, err := api.Status(ctx); err == nil {
		if msg := refusal(s, c); msg != "" {
			return failed(msg)
		}
	}
	if err := api.Edit(ctx, e); err != nil {
		return failed(err.Error())
	}
	return nil
}

// refusal is what IPVS would answer to an edit of the table s, "" when it would do it.
func refusal(s *control.Snapshot, c *command) string {
	var sv *control.Service
	if c.opts.has(optService) {
		sv = findService(s, c.key())
	}
	switch c.verb {
	case verbAdd:
		if sv != nil {
			return "Service already exists"
		}
	case verbEdit, verbDel:
		if sv == nil {
			return "No such service"
		}
	case verbAddDest, verbEditDest, verbDelDest:
		if sv == nil {
			return "Service not defined"
		}
		d := findServer(sv, c.rAddr, c.rPort)
		switch {
		case c.verb == verbAddDest && d != nil:
			return "Destination already exists"
		case c.verb != verbAddDest && d == nil:
			return "No such destination"
		}
	}
	return ""
}

// list runs -L.
func (c *command) list(ctx context.Context, out *bufio.Writer, api API) error {
	if c.opts.has(optConnection) {
		conns, err := api.Conns(ctx)
		if err != nil {
			return listFailed(err.Error())
		}
		listConns(out, conns, c.format)
		return nil
	}
	s, err := status(ctx, api)
	if err != nil {
		return err
	}
	switch {
	case c.opts.has(optService):
		return listService(out, s, c.key(), c.format)
	case c.opts.has(optTimeout):
		listTimeout(out, s)
	case c.opts.has(optDaemon):
		listDaemon(out, s)
	default:
		listAll(out, s, c.format)
	}
	return nil
}

// zero runs -Z: one service's counters, or all.
func (c *command) zero(ctx context.Context, api API) error {
	var key *control.ServiceKey
	if c.opts.has(optService) {
		k := c.key()
		key = &k
		if s, err := api.Status(ctx); err == nil && findService(s, k) == nil {
			return failed("No such service")
		}
	}
	if err := api.Zero(ctx, key); err != nil {
		return failed(err.Error())
	}
	return nil
}

// syncDaemon runs --start-daemon and --stop-daemon.
func (c *command) syncDaemon(ctx context.Context, api API) error {
	running := false
	s, serr := api.Status(ctx)
	if serr == nil {
		master, backup := syncRoles(&s.Sync)
		running = c.daemon.State == "master" && master || c.daemon.State == "backup" && backup
	}
	var err error
	if c.verb == verbStartDaemon {
		if running {
			return failed("Daemon has already run")
		}
		err = api.StartSync(ctx, c.daemon)
	} else {
		if serr == nil && !running {
			return failed("No daemon is running")
		}
		err = api.StopSync(ctx, c.daemon.State)
	}
	if err != nil {
		return failed(err.Error())
	}
	return nil
}

// restore runs -R: it reads ipvsadm command lines (as -S prints them) from stdin and
// applies them as one batch. ipvsadm applies line after line and stops at the first bad
// one, leaving the lines before it applied; uvs checks every line first and then applies
// all of them or, if the appliance refuses one, none.
func restore(ctx context.Context, stdin io.Reader, api API) error {
	var edits []control.Edit
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		ws := words(sc.Text())
		if len(ws) == 0 {
			continue
		}
		c, err := parseCommand(ctx, ws, true)
		if err == nil && !c.verb.edits() {
			err = fail("the '%s' command cannot be restored (only -A -E -D -a -e -d -C --set)", c.verb)
		}
		var e control.Edit
		if err == nil {
			e, err = c.edit()
		}
		if err != nil {
			return atLine(n, err)
		}
		edits = append(edits, e)
	}
	if err := sc.Err(); err != nil {
		return failed(fmt.Sprintf("restore: %v", err))
	}
	if len(edits) == 0 {
		return nil
	}
	if err := api.Edit(ctx, edits...); err != nil {
		return failed(err.Error())
	}
	return nil
}

// atLine says which line of a restore an error is about: nothing has been applied, and
// the operator has to find it.
func atLine(n int, err error) error {
	var ee *exitError
	if errors.As(err, &ee) {
		return &exitError{status: ee.status, msg: fmt.Sprintf("restore line %d: %s", n, ee.msg)}
	}
	return fmt.Errorf("restore line %d: %w", n, err)
}
