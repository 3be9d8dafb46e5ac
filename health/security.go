package health

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// ScriptPolicy is how every Script of the process runs. `uvs run` sets it from [run]; the
// zero policy (tests, labs) checks nothing.
type ScriptPolicy struct {
	// Secure refuses a script whose program is not safe from other users, by keepalived's
	// rule (enable_script_security): see CheckScriptSecurity.
	Secure bool
	// NoNewPrivs starts scripts with no_new_privs set (a set-user-ID program they run gains
	// nothing): the process dropped its privileges and its scripts must not regain them.
	NoNewPrivs bool
}

var policy atomic.Pointer[ScriptPolicy]

// SetScriptPolicy sets the policy of every Script run from now on.
func SetScriptPolicy(p ScriptPolicy) { policy.Store(&p) }

var hold atomic.Pointer[chan struct{}]

// HoldScripts makes every Script that runs from now on wait, before anything else (its user,
// the policy, its timeout), until release is called or its context ends. `uvs run` holds
// them from the start of the appliance until it has dropped its privileges and set the
// policy, so that no script runs in between as root, or unchecked. release may be called
// more than once.
func HoldScripts() (release func()) {
	ch := make(chan struct{})
	hold.Store(&ch)
	return sync.OnceFunc(func() {
		hold.CompareAndSwap(&ch, nil)
		close(ch)
	})
}

func currentPolicy() ScriptPolicy {
	if p := policy.Load(); p != nil {
		return *p
	}
	return ScriptPolicy{}
}

// CheckScriptSecurity applies keepalived's script-security rule to program (a path, or a
// name looked up in $PATH as exec does): the file and every directory above it must be owned
// by root or by the user uvs runs as (who could run anything anyway: an unprivileged uvs
// trusts its own files as a root one trusts root's), and none may be writable by a group other than root's or by everyone, except a
// directory with the sticky bit (/tmp), whose entries only their owners can replace. A
// script that fails it could be rewritten by someone other than root, and would then run
// with uvs's (or its configured user's) rights.
//
// keepalived checks only the scripts that run as root; uvs checks every script, since one
// that runs as the user uvs dropped to can still act for the load balancer.
func CheckScriptSecurity(program string) error {
	p := program
	if !strings.Contains(p, "/") {
		lp, err := exec.LookPath(p)
		if err != nil {
			return err
		}
		p = lp
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return err
	}
	// Every component, from / down to the file; symbolic links are followed, as exec
	// follows them (the target's own path is not walked: keepalived's stat does the same).
	parts := strings.Split(strings.TrimPrefix(abs, "/"), "/")
	cur := "/"
	for i := -1; i < len(parts); i++ {
		if i >= 0 {
			cur = filepath.Join(cur, parts[i])
		}
		fi, err := os.Stat(cur)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("%s: no owner information", cur)
		}
		mode := st.Mode
		regular := mode&syscall.S_IFMT == syscall.S_IFREG
		sticky := mode&syscall.S_ISVTX != 0
		switch {
		case st.Uid != 0 && st.Uid != uint32(os.Geteuid()):
			return fmt.Errorf("insecure script %s: %s is owned by uid %d, not root (or uvs's user)", program, cur, st.Uid)
		case (regular || !sticky) && st.Gid != 0 && mode&syscall.S_IWGRP != 0:
			return fmt.Errorf("insecure script %s: %s is writable by group %d", program, cur, st.Gid)
		case (regular || !sticky) && mode&syscall.S_IWOTH != 0:
			return fmt.Errorf("insecure script %s: %s is writable by everyone", program, cur)
		}
	}
	return nil
}

// startScript starts cmd under the process's policy: with no_new_privs, it is set on the
// thread that forks (the flag is per thread and inherited by the child); it is never
// cleared, which is what the process wants of every thread anyway.
func startScript(cmd *exec.Cmd) error {
	if !currentPolicy().NoNewPrivs {
		return cmd.Start()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	return cmd.Start()
}

// EffectiveCaps is the calling thread's effective capability set, a bit per capability
// (unix.CAP_*). uvs sets every thread's alike.
func EffectiveCaps() (uint64, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, fmt.Errorf("capget: %w", err)
	}
	return uint64(data[0].Effective) | uint64(data[1].Effective)<<32, nil
}
