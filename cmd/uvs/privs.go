package main

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"runtime"
	"strconv"
	"syscall"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/uvs-lb/uvs/conf"
	"github.com/uvs-lb/uvs/health"
)

// credentials are who [run] says uvs becomes.
type credentials struct {
	uid, gid uint32
	groups   []int
}

// lookupRun resolves [run] user and group: names or numeric IDs.
func lookupRun(r conf.Run) (*credentials, error) {
	u, err := user.Lookup(r.User)
	if err != nil {
		if _, nerr := strconv.ParseUint(r.User, 10, 32); nerr != nil {
			return nil, fmt.Errorf("[run] user %q: %w", r.User, err)
		}
		if u, err = user.LookupId(r.User); err != nil {
			u = &user.User{Uid: r.User, Gid: r.User} // a numeric user need not be named
		}
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("[run] user %q: non-numeric uid %q or gid %q", r.User, u.Uid, u.Gid)
	}
	c := &credentials{uid: uint32(uid), gid: uint32(gid)}
	if r.Group != "" {
		g, err := user.LookupGroup(r.Group)
		if err != nil {
			if _, nerr := strconv.ParseUint(r.Group, 10, 32); nerr != nil {
				return nil, fmt.Errorf("[run] group %q: %w", r.Group, err)
			}
			g = &user.Group{Gid: r.Group}
		}
		n, err := strconv.ParseUint(g.Gid, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("[run] group %q: non-numeric gid %q", r.Group, g.Gid)
		}
		c.gid = uint32(n)
	}
	if u.Username != "" {
		if gids, err := u.GroupIds(); err == nil {
			for _, s := range gids {
				if n, err := strconv.ParseUint(s, 10, 32); err == nil {
					c.groups = append(c.groups, int(n))
				}
			}
		}
	}
	if len(c.groups) == 0 {
		c.groups = []int{int(c.gid)}
	}
	return c, nil
}

// dropPrivileges is the last step of starting `uvs run`, once the ports, the control socket
// and the listeners are open: with [run] user, it hands the control socket to that user and
// becomes it (supplementary groups, then group, then user, on every thread), which leaves no
// capability in any set (the kernel clears them when every uid leaves 0), and sets
// no_new_privs. Nothing uvs does afterwards needs a privilege: reloads cannot change the
// interfaces, and the health checks, VRRP and sync run on the ports already open. Scripts
// follow the script policy, whether or not a user is set.
func dropPrivileges(r conf.Run, socket string, log zerolog.Logger) error {
	pol := health.ScriptPolicy{Secure: r.ScriptSecurity}
	defer func() { health.SetScriptPolicy(pol) }()
	if !r.ScriptSecurity {
		log.Warn().Msg("[run] script_security = false: scripts writable by users other than root will run")
	}
	if r.User == "" {
		return nil
	}
	c, err := lookupRun(r)
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		if uint32(os.Geteuid()) == c.uid && uint32(os.Getegid()) == c.gid {
			log.Info().Str("user", r.User).Msg("already running as the [run] user")
			return nil
		}
		return fmt.Errorf("[run] user %q: switching users needs root (running as uid %d)", r.User, os.Geteuid())
	}
	if socket != "" {
		// The socket stays 0600 and becomes the run user's, so that the uvs it serves, and
		// root, are the only ones who can talk to it.
		if err := os.Lchown(socket, int(c.uid), int(c.gid)); err != nil {
			return fmt.Errorf("control socket: %w", err)
		}
		if err := os.Chmod(socket, 0o600); err != nil {
			return fmt.Errorf("control socket: %w", err)
		}
	}
	// Go applies these to every thread of the process (since Go 1.16).
	if err := syscall.Setgroups(c.groups); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setresgid(int(c.gid), int(c.gid), int(c.gid)); err != nil {
		return fmt.Errorf("setresgid: %w", err)
	}
	if err := syscall.Setresuid(int(c.uid), int(c.uid), int(c.uid)); err != nil {
		return fmt.Errorf("setresuid: %w", err)
	}
	if c.uid != 0 {
		if err := checkNoCaps(); err != nil {
			return err
		}
	}
	nnp := setNoNewPrivs()
	pol.NoNewPrivs = true
	log.Info().Str("user", r.User).Uint32("uid", c.uid).Uint32("gid", c.gid).Ints("groups", c.groups).
		Str("no_new_privs", nnp).Msg("privileges dropped: no capabilities left")
	return nil
}

// checkNoCaps verifies what the kernel promises: a thread whose uids all left 0 (without
// PR_SET_KEEPCAPS) has no permitted or effective capability left.
func checkNoCaps() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	for _, d := range data {
		if d.Effective != 0 || d.Permitted != 0 {
			return errors.New("capabilities remain after the switch of user; refusing to run so")
		}
	}
	return nil
}

// setNoNewPrivs sets no_new_privs on every thread when the runtime can reach them all (a
// binary without cgo: syscall.AllThreadsSyscall); with cgo it can set it on the calling
// thread only, and every script's forking thread gets it from the script policy. It says
// which it did.
func setNoNewPrivs() string {
	_, _, errno := syscall.AllThreadsSyscall(syscall.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0)
	if errno == 0 {
		return "all threads"
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return "failed: " + err.Error()
	}
	return "scripts (and this thread: a cgo binary cannot reach every thread)"
}

// controlSocket is the control socket's path as serveControl chooses it ("" for none).
func controlSocket(c conf.Control, override string) string {
	switch override {
	case "":
		return c.Socket
	case "none":
		return ""
	}
	return override
}
