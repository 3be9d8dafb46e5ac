package health

import (
	"context"
	"errors"
	"fmt"
	"github.com/uvs-lb/uvs/internal/cmdline"
	"os"
	"os/exec"
	"os/user"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
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
	if h := hold.Load(); h != nil {
		select {
		case <-*h:
		case <-ctx.Done():
			return -1, fmt.Errorf("%s: not run: %w", args[0], ctx.Err())
		}
	}
	cred, err := s.credential()
	if err != nil {
		return -1, fmt.Errorf("%s: not run: %w", args[0], err)
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
		_ = signalGroup(pgid, cred, syscall.SIGTERM)
		grace := time.NewTimer(KillGrace)
		select {
		case <-done:
		case <-grace.C:
			_ = signalGroup(pgid, cred, syscall.SIGKILL)
			<-done
		}
		grace.Stop()
		_ = signalGroup(pgid, cred, syscall.SIGKILL) // what the leader left behind
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

// signalGroup sends sig to the script's process group. A script running as another user
// (cred) cannot be signalled by a process that is neither root nor has CAP_KILL: the kernel
// lets a process signal only those of its own real or effective user. `uvs run` keeps
// CAP_SETUID for such scripts but not CAP_KILL, so the signal is then sent from a thread that
// takes the script's user as its effective user for the call (signalAs).
func signalGroup(pgid int, cred *syscall.Credential, sig syscall.Signal) error {
	err := syscall.Kill(-pgid, sig)
	if err == syscall.EPERM && cred != nil && os.Geteuid() != 0 && cred.Uid != uint32(os.Geteuid()) {
		err = signalAs(cred.Uid, pgid, sig)
	}
	return err
}

// signalAs sends sig to process group pgid with uid as the effective user of the calling
// thread, then takes its own back. Linux keeps credentials per thread: the raw setresuid
// changes only this one, locked to its goroutine (Go's syscall.Setresuid would change every
// thread). A thread that cannot take its own user back is never unlocked, so the runtime ends
// it with the goroutine instead of running anything else as that user. It needs CAP_SETUID,
// which a change between two users other than root keeps.
func signalAs(uid uint32, pgid int, sig syscall.Signal) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		keep := uintptr(^uint32(0)) // setresuid's -1: unchanged
		euid := uintptr(syscall.Geteuid())
		if _, _, e := syscall.RawSyscall(syscall.SYS_SETRESUID, keep, uintptr(uid), keep); e != 0 {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("signal as uid %d: seteuid: %w", uid, e)
			return
		}
		err := syscall.Kill(-pgid, sig)
		if _, _, e := syscall.RawSyscall(syscall.SYS_SETRESUID, keep, euid, keep); e != 0 {
			done <- err // still locked: the thread ends with this goroutine
			return
		}
		runtime.UnlockOSThread()
		done <- err
	}()
	return <-done
}

// credential resolves User and Group; nil when they are the current ones. Switching needs
// CAP_SETGID (the supplementary groups are set), and CAP_SETUID for another user: root has
// them, and `uvs run` keeps them after dropping its privileges when its configuration asks
// (cmd/uvs/privs.go); without them the error says so.
func (s Script) credential() (*syscall.Credential, error) {
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	cred, err := s.credentialFrom(uid, gid)
	if err != nil || cred == nil {
		return cred, err
	}
	need := uint64(1) << unix.CAP_SETGID
	if cred.Uid != uid {
		need |= 1 << unix.CAP_SETUID
	}
	if have, err := EffectiveCaps(); err != nil || have&need != need {
		as := fmt.Sprintf("user %q", s.User)
		switch {
		case s.User == "":
			as = fmt.Sprintf("group %q", s.Group)
		case s.Group != "":
			as += fmt.Sprintf(" group %q", s.Group)
		}
		return nil, fmt.Errorf("cannot run as %s: switching needs root (or CAP_SETUID and CAP_SETGID), "+
			"and this process runs as uid %d without them (`uvs run` keeps them only for the scripts of the configuration it started with: restart it)",
			as, uid)
	}
	return cred, nil
}

// Switch says what running s needs of a process that runs as uid and gid: nothing (it runs as
// them), setgid (its group differs: CAP_SETGID, for the group and the supplementary groups),
// or setuid as well (its user differs: CAP_SETUID and CAP_SETGID). err: its user or group
// does not resolve.
func (s Script) Switch(uid, gid uint32) (setuid, setgid bool, err error) {
	cred, err := s.credentialFrom(uid, gid)
	if err != nil || cred == nil {
		return false, false, err
	}
	return cred.Uid != uid, true, nil
}

// credentialFrom resolves User and Group for a process of uid and gid; nil when they are
// those.
func (s Script) credentialFrom(uid, gid uint32) (*syscall.Credential, error) {
	if s.User == "" && s.Group == "" {
		return nil, nil
	}
	curUID, curGID := uid, gid
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
	if uid == curUID && gid == curGID {
		return nil, nil // already so: no switch, no privilege needed
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
