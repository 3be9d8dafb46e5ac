package health

import (
	"context"
	"errors"
	"fmt"
	"github.com/uvs-lb/uvs/internal/cmdline"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
	"time"
)

// KillGrace is how long a timed-out script's process group has between SIGTERM and SIGKILL
// (keepalived's 2 s).
const KillGrace = 2 * time.Second

// Script is a program run without a shell, as keepalived runs MISC_CHECK's misc_path and the
// notify_up, notify_down, quorum_up and quorum_down scripts.
//
// It runs in a process group of its own, with the Monitor's environment and working
// directory, standard input and output on /dev/null. When its Timeout passes or the context
// of Run ends, its process group gets SIGTERM, then SIGKILL KillGrace later if its leader has
// not exited; once the leader has exited, SIGKILL again for what is left of the group
// (keepalived's behaviour).
type Script struct {
	// Command is the program and its arguments, split as a shell splits words but with no
	// expansion of any kind: blanks separate words; 'single quotes' keep everything;
	// "double quotes" keep everything but \" \\ \$ \` and \newline; a backslash outside
	// quotes keeps the next character. A program without a slash is looked up in $PATH.
	Command string
	// Timeout ends the run (misc_timeout); 0: none but the context's.
	Timeout time.Duration
	// User and Group to run as (keepalived's "user username [:][groupname]"): names or
	// numeric IDs, resolved with os/user. Empty User: the current user. Empty Group: User's
	// primary group (the current group if User is empty too). With a User, the process has
	// that user's supplementary groups, as after initgroups. Switching needs root.
	User, Group string
}

// ParseCommand splits a command line as Script.Command describes (cmdline.Split; conf
// checks commands with the same function).
func ParseCommand(s string) ([]string, error) {
	args, _, err := cmdline.Split(s)
	if err != nil {
		return nil, fmt.Errorf("command %q: %w", s, err)
	}
	return args, nil
}

// Validate checks that the command parses and the user and group exist (not that the
// program does: it may appear later).
func (s Script) Validate() error {
	if _, err := ParseCommand(s.Command); err != nil {
		return err
	}
	_, err := s.credential()
	return err
}

// String is the command line.
func (s Script) String() string { return s.Command }

// Run runs the script once, with extra appended to its arguments, and waits for it. exitCode
// is its exit status and err nil when it exited, whatever the status. Otherwise exitCode is
// -1 and err says why: it could not start, a signal killed it, or it timed out or ctx ended
// (then errors.Is(err, context.DeadlineExceeded) or context.Canceled).
func (s Script) Run(ctx context.Context, extra ...string) (exitCode int, err error) {
	args, err := ParseCommand(s.Command)
	if err != nil {
		return -1, err
	}
	args = append(args, extra...)
	cred, err := s.credential()
	if err != nil {
		return -1, err
	}
	if s.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.Timeout)
		defer cancel()
	}
	if err := ctx.Err(); err != nil {
		return -1, fmt.Errorf("%s: not run: %w", args[0], err)
	}
	if currentPolicy().Secure {
		if err := CheckScriptSecurity(args[0]); err != nil {
			return -1, fmt.Errorf("not run: %w", err)
		}
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	if err := startScript(cmd); err != nil {
		return -1, err
	}
	pgid := cmd.Process.Pid
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	select {
	case err = <-done:
	case <-ctx.Done():
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		grace := time.NewTimer(KillGrace)
		select {
		case <-done:
		case <-grace.C:
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-done
		}
		grace.Stop()
		_ = syscall.Kill(-pgid, syscall.SIGKILL) // what the leader left behind
		why := "timed out"
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			why = "cancelled"
		}
		return -1, fmt.Errorf("%s: %s, process group killed: %w", args[0], why, ctx.Err())
	}
	if err == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -1, fmt.Errorf("%s: killed by signal %v", args[0], ws.Signal())
		}
		if code := ee.ExitCode(); code >= 0 {
			return code, nil
		}
	}
	return -1, err
}

// credential resolves User and Group; nil when they are the current ones.
func (s Script) credential() (*syscall.Credential, error) {
	if s.User == "" && s.Group == "" {
		return nil, nil
	}
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	var groups []uint32
	if s.User != "" {
		u, err := lookupUser(s.User)
		if err != nil {
			return nil, err
		}
		id, err1 := strconv.ParseUint(u.Uid, 10, 32)
		g, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("user %q: non-numeric uid %q or gid %q", s.User, u.Uid, u.Gid)
		}
		uid, gid = uint32(id), uint32(g)
		gids, err := u.GroupIds()
		if err != nil {
			return nil, fmt.Errorf("user %q: supplementary groups: %w", s.User, err)
		}
		for _, sg := range gids {
			if n, err := strconv.ParseUint(sg, 10, 32); err == nil {
				groups = append(groups, uint32(n))
			}
		}
	}
	if s.Group != "" {
		g, err := lookupGroup(s.Group)
		if err != nil {
			return nil, err
		}
		n, err := strconv.ParseUint(g.Gid, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("group %q: non-numeric gid %q", s.Group, g.Gid)
		}
		gid = uint32(n)
	}
	if uid == uint32(os.Getuid()) && gid == uint32(os.Getgid()) {
		return nil, nil // already so: no switch, no root needed
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("running a script as user %q group %q needs root", s.User, s.Group)
	}
	if s.User == "" {
		groups = nil // keep no supplementary groups of root's when only the group changes
	}
	return &syscall.Credential{Uid: uid, Gid: gid, Groups: groups}, nil
}

func lookupUser(name string) (*user.User, error) {
	u, err := user.Lookup(name)
	if err == nil {
		return u, nil
	}
	if _, nerr := strconv.ParseUint(name, 10, 32); nerr == nil {
		if u, err2 := user.LookupId(name); err2 == nil {
			return u, nil
		}
	}
	return nil, fmt.Errorf("user %q: %w", name, err)
}

func lookupGroup(name string) (*user.Group, error) {
	g, err := user.LookupGroup(name)
	if err == nil {
		return g, nil
	}
	if _, nerr := strconv.ParseUint(name, 10, 32); nerr == nil {
		if g, err2 := user.LookupGroupId(name); err2 == nil {
			return g, nil
		}
		return &user.Group{Gid: name, Name: name}, nil // a numeric group need not be named
	}
	return nil, fmt.Errorf("group %q: %w", name, err)
}
