package main

import (
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/uvs-lb/uvs/conf"
	"github.com/uvs-lb/uvs/image/vminit"
)

// deviceWait bounds how long /init waits for the network devices its configuration names.
const deviceWait = 10 * time.Second

// runInit is uvs as the VM image's /init: it readies the machine (image/vminit), runs the
// appliance as `uvs run` does, and powers off when the appliance stops (SIGTERM, SIGPWR or the
// ACPI power button), reboots on Ctrl-Alt-Del (SIGINT), and powers off when the appliance
// cannot run (a missing or bad configuration, a port that cannot open), after saying why on
// the console. It does not return: process 1 must not exit.
func runInit(console io.Writer) {
	start := time.Now()
	boot := zerolog.New(consoleWriter(console)).With().Timestamp().Str("component", "init").Logger()
	logf := func(s string) { boot.Warn().Msg(s) }
	reboot := false
	defer func() {
		if r := recover(); r != nil {
			boot.Error().Interface("panic", r).Msg("init failed")
		}
		boot.Info().Bool("reboot", reboot).Msg("halting")
		if err := vminit.Halt(reboot); err != nil {
			boot.Error().Err(err).Msg("halt")
		}
		for {
			time.Sleep(time.Hour) // process 1 must not exit
		}
	}()
	if err := vminit.Mount(); err != nil {
		boot.Error().Err(err).Msg("cannot mount the kernel's file systems")
		return
	}
	if err := vminit.CtrlAltDelSignals(); err != nil {
		logf("Ctrl-Alt-Del reboots without stopping the appliance: " + err.Error())
	}
	cmdline, err := vminit.ReadCmdline()
	if err != nil {
		boot.Error().Err(err).Msg("cannot read the kernel command line")
		return
	}
	src, err := vminit.FindConfig(cmdline, logf)
	if err != nil {
		boot.Error().Err(err).Msg("no configuration")
		return
	}
	load := func() (*conf.Config, error) {
		data, err := src.Read()
		if err != nil {
			return nil, err
		}
		return conf.Parse(src.Name, data)
	}
	cfg, err := load()
	if err != nil {
		boot.Error().Msg(err.Error())
		return
	}
	boot.Info().Str("source", src.Name).Str("version", version).Msg("configuration read")
	if err := vminit.SetupNetwork(cfg, deviceWait, logf); err != nil {
		boot.Error().Err(err).Msg("cannot set up the network devices")
		return
	}
	ev := boot.Info().Strs("nics", vminit.NICs())
	if m := cfg.Management; m.Device != "" {
		ev = ev.Str("management", m.Device)
	}
	ev.Dur("boot", uptime()).Dur("init", time.Since(start)).Msg("network ready")

	stop := make(chan string, 1)
	pb := vminit.WatchPowerButton(func() {
		select {
		case stop <- "power button":
		default:
		}
	})
	defer pb.Stop()
	code, why := runAppliance(cfg, applianceRun{
		load:    load,
		source:  src.Name,
		socket:  "",
		newLog:  func(c conf.Log) zerolog.Logger { return newConsoleLogger(c, console) },
		signals: []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGPWR},
		stop:    stop,
	})
	reboot = why == syscall.SIGINT.String() && code == 0
	if code != 0 {
		boot.Error().Int("code", code).Msg("the appliance failed")
	}
}

// consoleWriter writes zerolog's console format without colours: a serial console is read
// by people and by programs alike.
func consoleWriter(w io.Writer) io.Writer {
	return zerolog.ConsoleWriter{Out: w, NoColor: true, TimeFormat: time.RFC3339Nano}
}

// newConsoleLogger is newLogger for the serial console.
func newConsoleLogger(c conf.Log, w io.Writer) zerolog.Logger {
	level, err := zerolog.ParseLevel(c.Level)
	if err != nil || c.Level == "" {
		level = zerolog.InfoLevel
	}
	if c.Format != "json" {
		w = consoleWriter(w)
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}

// uptime is the time since the kernel started, from /proc/uptime.
func uptime() time.Duration {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0
	}
	var s float64
	if _, err := fmt.Sscan(string(b), &s); err != nil {
		return 0
	}
	return time.Duration(s * float64(time.Second))
}
