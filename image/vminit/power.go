package vminit

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

const (
	evKey    = 1   // EV_KEY
	keyPower = 116 // KEY_POWER
	// inputEventSize is struct input_event on 64-bit kernels: a timeval, type, code, value.
	inputEventSize = 24
)

// PowerButton watches the ACPI power button (the input device the kernel names "Power
// Button": what `virsh shutdown` and QEMU's system_powerdown press) and calls pressed at each
// press, from its own goroutine. Stop ends the watch and waits for it.
type PowerButton struct {
	files []*os.File
	wg    sync.WaitGroup
}

// WatchPowerButton starts watching; with no power button (no ACPI), it watches nothing.
func WatchPowerButton(pressed func()) *PowerButton {
	pb := &PowerButton{}
	names, _ := filepath.Glob("/sys/class/input/event*/device/name")
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil || strings.TrimSpace(string(b)) != "Power Button" {
			continue
		}
		dev := "/dev/input/" + filepath.Base(filepath.Dir(filepath.Dir(n)))
		f, err := os.Open(dev)
		if err != nil {
			continue
		}
		pb.files = append(pb.files, f)
		pb.wg.Add(1)
		go func() {
			defer pb.wg.Done()
			buf := make([]byte, inputEventSize*16)
			for {
				n, err := f.Read(buf)
				if err != nil {
					return
				}
				for ev := buf[:n]; len(ev) >= inputEventSize; ev = ev[inputEventSize:] {
					ne := binary.NativeEndian
					if ne.Uint16(ev[16:]) == evKey && ne.Uint16(ev[18:]) == keyPower && ne.Uint32(ev[20:]) == 1 {
						pressed()
					}
				}
			}
		}()
	}
	return pb
}

// Watching reports how many power buttons are watched.
func (pb *PowerButton) Watching() int { return len(pb.files) }

// Stop closes the devices, which ends the readers, and waits for them.
func (pb *PowerButton) Stop() {
	for _, f := range pb.files {
		f.Close()
	}
	pb.wg.Wait()
}

// CtrlAltDelSignals makes the kernel send SIGINT to process 1 on Ctrl-Alt-Del (from the
// console, or QEMU's sendkey) instead of rebooting at once, so that the appliance stops first.
func CtrlAltDelSignals() error { return unix.Reboot(unix.LINUX_REBOOT_CMD_CAD_OFF) }
