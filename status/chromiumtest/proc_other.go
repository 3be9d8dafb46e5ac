//go:build !linux

package chromiumtest

import (
	"os/exec"
	"time"
)

// group bounds how long Wait waits for the browser's stdout after the browser exits or a
// cancelled context kills it. Process groups are Linux's here (proc_linux.go): uvs and its
// tests run on Linux, and elsewhere the browser's children are its own to end.
func group(cmd *exec.Cmd) { cmd.WaitDelay = 5 * time.Second }

// reap has no process group to end.
func reap(*exec.Cmd) {}
