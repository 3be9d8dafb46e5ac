package health

import (
	"context"
	"errors"
	"fmt"
)

// MiscCheck is keepalived's MISC_CHECK: it runs a script and judges the server by its exit
// status. 0: OK, at the configured weight. 1: failed. With Dynamic (misc_dynamic), 2-255: OK
// with weight status-2 (0-253), as keepalived sets it when a server has a single dynamic
// checker; without it, any status but 0 fails. A script killed by a signal, timed out, or
// that cannot start fails too.
//
// The attempt ends at the earliest of the Monitor's ConnectTimeout and Script.Timeout.
// keepalived's misc_timeout defaults to delay_loop and MISC_CHECK has no connect_timeout: the
// configuration layer should set both Timing.ConnectTimeout and Script.Timeout to
// misc_timeout (or delay_loop), and Retry to 0, keepalived's default for MISC_CHECK.
type MiscCheck struct {
	Script  Script
	Dynamic bool
}

// Check runs the script once.
func (c MiscCheck) Check(ctx context.Context, _ Net) Result {
	code, err := c.Script.Run(ctx)
	switch {
	case err != nil:
		reason := err.Error()
		if errors.Is(err, context.DeadlineExceeded) {
			reason = "timeout"
		}
		return Result{Weight: -1, Reason: reason}
	case code == 0:
		return Result{OK: true, Weight: -1}
	case c.Dynamic && code >= 2 && code <= 255:
		return Result{OK: true, Weight: int32(code - 2)}
	default:
		return Result{Weight: -1, Reason: fmt.Sprintf("exited with status %d", code)}
	}
}

// String names the check as keepalived's logs do.
func (c MiscCheck) String() string { return "MISC_CHECK " + c.Script.Command }
