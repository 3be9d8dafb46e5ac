package main

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

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

// scriptUser is a script of the configuration that runs as a user or group other than uvs's.
type scriptUser struct {
	what        string // which script, for messages
	user, group string
	caps        uint64 // what switching to them needs: CAP_SETGID, and CAP_SETUID for another user
	err         error  // its user or group does not resolve (it cannot run: nothing to keep for it)
}

const (
	capSetgid = uint64(1) << unix.CAP_SETGID
	capSetuid = uint64(1) << unix.CAP_SETUID
)

// scriptUsers lists the scripts of cfg (misc_check, vrrp_script: the others run as uvs) that
// run as a user or group other than uid and gid, with what switching to them needs.
func scriptUsers(cfg *conf.Config, uid, gid uint32) []scriptUser {
	var out []scriptUser
	add := func(what string, s health.Script) {
		setuid, setgid, err := s.Switch(uid, gid)
		u := scriptUser{what: what, user: s.User, group: s.Group, err: err}
		if setgid {
			u.caps |= capSetgid
		}
		if setuid {
			u.caps |= capSetuid
		}
		if u.caps != 0 || err != nil {
			out = append(out, u)
		}
	}
	for i := range cfg.Services {
		svc := &cfg.Services[i]
		for j, sh := range svc.ServerHealth {
			for _, ck := range sh.Checks {
				if ck.Kind != conf.CheckMisc || ck.User == "" && ck.Group == "" {
					continue
				}
				what := fmt.Sprintf("misc_check %q of real server %d of virtual server %s", ck.Command, j+1, svc.ServiceConfig.String())
				if j < len(svc.Servers) {
					rs := svc.Servers[j]
					what = fmt.Sprintf("misc_check %q of real server %s of virtual server %s", ck.Command,
						netip.AddrPortFrom(rs.Addr, rs.Port), svc.ServiceConfig.String())
				}
				add(what, health.Script{Command: ck.Command, User: ck.User, Group: ck.Group})
			}
		}
	}
	for _, vs := range cfg.VRRPScripts {
		if vs.User != "" || vs.Group != "" {
			add(fmt.Sprintf("vrrp_script %q (%s)", vs.Name, vs.Script), health.Script{Command: vs.Script, User: vs.User, Group: vs.Group})
		}
	}
	return out
}

// keepCaps decides what the drop of privileges keeps: the capabilities that running the
// scripts of us as their users need (CAP_SETGID for another group, CAP_SETUID too for
// another user), nothing when every script runs as uvs.
func keepCaps(us []scriptUser) uint64 {
	var caps uint64
	for _, u := range us {
		if u.err == nil {
			caps |= u.caps
		}
	}
	return caps
}

// capNames names the capabilities of set, for messages.
func capNames(set uint64) string {
	var names []string
	for _, c := range []struct {
		bit  uint64
		name string
	}{{capSetuid, "CAP_SETUID"}, {capSetgid, "CAP_SETGID"}} {
		if set&c.bit != 0 {
			names = append(names, c.name)
			set &^= c.bit
		}
	}
	if set != 0 || len(names) == 0 {
		names = append(names, fmt.Sprintf("%#x", set))
	}
	return strings.Join(names, "|")
}

// dropPrivileges is the last step of starting `uvs run`, once the ports, the control socket
// and the listeners are open: with [run] user, it hands the control socket to that user and
// becomes it (supplementary groups, then group, then user, on every thread), and sets
// no_new_privs. Nothing uvs does afterwards needs a privilege (reloads cannot change the
// interfaces, and the health checks, VRRP and sync run on the ports already open) but
// switching to the users of its scripts: when a misc_check or vrrp_script of cfg runs as
// another user or group, uvs keeps CAP_SETUID and CAP_SETGID (only CAP_SETGID for another
// group alone) in its permitted and effective sets and nothing else; otherwise none (the
// kernel clears them all when every uid leaves 0). Either way the bounding set is emptied
// and the inheritable and ambient sets are empty, so that no program uvs runs gains a
// capability at execve, and scripts follow the script policy, whether or not a user is set.
// It returns the capabilities kept: they are decided here, once; a reload that adds a script
// of another user cannot have them (checkScriptUsers says so).
func dropPrivileges(cfg *conf.Config, socket string, log zerolog.Logger) (kept uint64, err error) {
	r := cfg.Run
	pol := health.ScriptPolicy{Secure: r.ScriptSecurity}
	defer func() { health.SetScriptPolicy(pol) }()
	if !r.ScriptSecurity {
		log.Warn().Msg("[run] script_security = false: scripts writable by users other than root will run")
	}
	if r.User == "" {
		return 0, nil
	}
	c, err := lookupRun(r)
	if err != nil {
		return 0, err
	}
	if os.Geteuid() != 0 {
		if uint32(os.Geteuid()) == c.uid && uint32(os.Getegid()) == c.gid {
			log.Info().Str("user", r.User).Msg("already running as the [run] user")
			return 0, nil
		}
		return 0, fmt.Errorf("[run] user %q: switching users needs root (running as uid %d)", r.User, os.Geteuid())
	}
	var keep uint64
	users := scriptUsers(cfg, c.uid, c.gid)
	if c.uid != 0 {
		keep = keepCaps(users)
	}
	if socket != "" {
		// The socket stays 0600 and becomes the run user's, so that the uvs it serves, and
		// root, are the only ones who can talk to it.
		if err := os.Lchown(socket, int(c.uid), int(c.gid)); err != nil {
			return 0, fmt.Errorf("control socket: %w", err)
		}
		if err := os.Chmod(socket, 0o600); err != nil {
			return 0, fmt.Errorf("control socket: %w", err)
		}
	}
	if keep != 0 {
		// Permitted capabilities survive the change of uids only with keep_caps, set on
		// every thread, which only a binary without cgo can reach.
		if _, _, e := syscall.AllThreadsSyscall(syscall.SYS_PRCTL, unix.PR_SET_KEEPCAPS, 1, 0); e != 0 {
			why := e.Error()
			if e == syscall.ENOTSUP {
				why = "a cgo build cannot set it on every thread: build uvs with CGO_ENABLED=0"
			}
			u := users[slices.IndexFunc(users, func(u scriptUser) bool { return u.caps != 0 && u.err == nil })]
			return 0, fmt.Errorf("%s runs as %q, which needs %s kept across the drop of privileges: keep_caps: %s",
				u.what, u.user+groupSuffix(u.group), capNames(keep), why)
		}
	}
	bounding := "kept: uvs stays root"
	if c.uid != 0 {
		bounding = dropBounding()
	}
	// Go applies these to every thread of the process (since Go 1.16).
	if err := syscall.Setgroups(c.groups); err != nil {
		return 0, fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setresgid(int(c.gid), int(c.gid), int(c.gid)); err != nil {
		return 0, fmt.Errorf("setresgid: %w", err)
	}
	if err := syscall.Setresuid(int(c.uid), int(c.uid), int(c.uid)); err != nil {
		return 0, fmt.Errorf("setresuid: %w", err)
	}
	if keep != 0 {
		if err := keepOnly(keep); err != nil {
			return 0, err
		}
	}
	if c.uid != 0 {
		if err := checkCaps(keep); err != nil {
			return 0, err
		}
	}
	nnp := setNoNewPrivs()
	pol.NoNewPrivs = true
	ev := log.Info()
	msg := "privileges dropped: no capabilities left"
	if keep != 0 {
		ev = log.Warn()
		msg = "privileges dropped but " + capNames(keep) + ", kept for scripts that run as other users: " +
			"with CAP_SETUID uvs could still become any user, root included (docs/config.md, [run])"
		for _, u := range users {
			if u.err == nil && u.caps != 0 {
				log.Info().Str("script", u.what).Str("user", u.user).Str("group", u.group).
					Str("needs", capNames(u.caps)).Msg("a script runs as another user")
			}
		}
	}
	ev.Str("user", r.User).Uint32("uid", c.uid).Uint32("gid", c.gid).Ints("groups", c.groups).
		Str("bounding_set", bounding).Str("no_new_privs", nnp).Msg(msg)
	return keep, nil
}

func groupSuffix(g string) string {
	if g == "" {
		return ""
	}
	return ":" + g
}

// dropBounding empties the capability bounding set of every thread (it needs CAP_SETPCAP,
// so before the change of uids), so that no program uvs runs can gain a capability at
// execve: not a script of root's, not a file with capabilities. The sets uvs itself holds are
// not touched. It says what it did.
func dropBounding() string {
	n := 0
	for c := uintptr(0); c < 64; c++ {
		in, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, c, 0, 0, 0)
		if err != nil {
			break // past the last capability the kernel knows
		}
		if in == 0 {
			continue
		}
		if _, _, e := syscall.AllThreadsSyscall(syscall.SYS_PRCTL, unix.PR_CAPBSET_DROP, c, 0); e != 0 {
			if e == syscall.ENOTSUP {
				return "kept: a cgo build cannot reach every thread"
			}
			return fmt.Sprintf("kept from capability %d: %v", c, e)
		}
		n++
	}
	return fmt.Sprintf("emptied (%d dropped)", n)
}

// keepOnly makes keep the permitted and effective sets of every thread, with nothing
// inheritable or ambient, once the uids have left 0 with keep_caps (which it clears).
func keepOnly(keep uint64) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := [2]unix.CapUserData{
		{Effective: uint32(keep), Permitted: uint32(keep)},
		{Effective: uint32(keep >> 32), Permitted: uint32(keep >> 32)},
	}
	_, _, e := syscall.AllThreadsSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	runtime.KeepAlive(&hdr)
	runtime.KeepAlive(&data)
	if e != 0 {
		return fmt.Errorf("capset %s: %w", capNames(keep), e)
	}
	if _, _, e := syscall.AllThreadsSyscall(syscall.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0); e != 0 {
		return fmt.Errorf("clearing the ambient set: %w", e)
	}
	if _, _, e := syscall.AllThreadsSyscall(syscall.SYS_PRCTL, unix.PR_SET_KEEPCAPS, 0, 0); e != 0 {
		return fmt.Errorf("keep_caps: %w", e)
	}
	return nil
}

// checkCaps verifies, on every thread (/proc/self/task), that the permitted and effective
// sets are keep and the inheritable and ambient ones empty: what the kernel promises for a
// change of uids away from 0 (keep 0: nothing left) and what keepOnly set.
func checkCaps(keep uint64) error {
	tasks, err := filepath.Glob("/proc/self/task/*/status")
	if err != nil || len(tasks) == 0 {
		return fmt.Errorf("capabilities: no threads in /proc/self/task: %v", err)
	}
	want := map[string]uint64{"CapEff": keep, "CapPrm": keep, "CapInh": 0, "CapAmb": 0}
	for _, task := range tasks {
		b, err := os.ReadFile(task)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // a thread that ended
			}
			return fmt.Errorf("capabilities: %w", err)
		}
		seen := 0
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			w, known := want[k]
			if !ok || !known {
				continue
			}
			seen++
			got, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil || got != w {
				return fmt.Errorf("capabilities remain after the switch of user (%s: %s %s, want %#x); refusing to run so", task, k, strings.TrimSpace(v), w)
			}
		}
		if seen != len(want) {
			return fmt.Errorf("capabilities: %s lacks a capability set", task)
		}
	}
	return nil
}

// checkScriptUsers logs, for each script of cfg that runs as another user or group than uvs,
// when this process cannot switch to it: its capabilities were decided at start (a reload
// that adds such a script cannot have them) or it never had them (not started as root). Such
// a script fails at each run, with that reason, and counts as failed as keepalived counts a
// script it cannot run.
func checkScriptUsers(cfg *conf.Config, log zerolog.Logger) {
	users := scriptUsers(cfg, uint32(os.Getuid()), uint32(os.Getgid()))
	if len(users) == 0 {
		return
	}
	have, _ := health.EffectiveCaps()
	for _, u := range users {
		switch {
		case u.err != nil:
			log.Error().Err(u.err).Str("script", u.what).Msg("script user or group unknown: the script will fail")
		case u.caps&^have != 0:
			log.Error().Str("script", u.what).Str("user", u.user).Str("group", u.group).Int("uid", os.Getuid()).
				Str("missing", capNames(u.caps&^have)).
				Msg("this script runs as another user, which this process cannot switch to: it will fail, and count as failed, " +
					"until uvs restarts (the capabilities uvs keeps after [run]'s drop of privileges are decided at start)")
		}
	}
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
