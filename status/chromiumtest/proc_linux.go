package chromiumtest

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// group runs cmd in a process group of its own, which a cancelled context kills whole:
// the browser is a shell script that starts chromium, which starts a zygote and renderers,
// and killing only the script would leave them running.
func group(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// Past this after the browser exits or is killed, Wait stops waiting for a straggler
	// that holds its stdout: what it printed before it exited is all there is.
	cmd.WaitDelay = 5 * time.Second
}

// reap kills what is left of cmd's process group and waits, a little, until none of it
// runs. The group's id is the browser's pid, reaped a moment ago: Linux hands pids out in
// sequence up to pid_max, so none is reused that soon.
func reap(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	pg := cmd.Process.Pid
	if syscall.Kill(-pg, syscall.SIGKILL) != nil {
		return // nothing left
	}
	for deadline := time.Now().Add(5 * time.Second); running(pg) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
}

// running reports whether a process of group pg runs. Zombies do not count: the orphans
// of the browser are init's to reap, which some inits (a container's, a VM's agent) do
// only every few seconds, and a zombie holds nothing but its process-table entry.
func running(pg int) bool {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g == pg {
			return true
		}
	}
	return false
}
