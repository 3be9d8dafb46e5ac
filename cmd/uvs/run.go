package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/uvs-lb/uvs/appliance"
	"github.com/uvs-lb/uvs/conf"
)

// runRun is `uvs run -c FILE`: the appliance in the foreground until SIGTERM or SIGINT;
// SIGHUP reloads FILE (a bad file keeps the running configuration and logs why).
func runRun(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", "", "configuration file (TOML)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *path == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: uvs run -c FILE")
		return 2
	}
	cfg, err := conf.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	log := newLogger(cfg.Log, stderr)
	for _, w := range appliance.Warnings(cfg) {
		log.Warn().Msg(w)
	}
	a, err := appliance.New(appliance.Options{Config: cfg, Log: log})
	if err != nil {
		log.Error().Err(err).Msg("cannot build the appliance")
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := a.Start(ctx); err != nil {
		log.Error().Err(err).Msg("cannot start the appliance")
		a.Close()
		return 1
	}
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sig)
	for s := range sig {
		if s != syscall.SIGHUP {
			log.Info().Str("signal", s.String()).Msg("stopping")
			break
		}
		next, err := conf.Load(*path)
		if err == nil {
			err = a.Reload(next)
		}
		if err != nil {
			log.Error().Err(err).Str("file", *path).Msg("reload refused; the running configuration stays")
			continue
		}
		if next.Log != cfg.Log {
			log = newLogger(next.Log, stderr)
		}
		cfg = next
	}
	start := time.Now()
	err = a.Close()
	log.Info().Dur("took", time.Since(start)).Msg("stopped")
	if err != nil {
		log.Error().Err(err).Msg("close")
		return 1
	}
	return 0
}

// newLogger builds the zerolog logger [log] asks for.
func newLogger(c conf.Log, w io.Writer) zerolog.Logger {
	level, err := zerolog.ParseLevel(c.Level)
	if err != nil || c.Level == "" {
		level = zerolog.InfoLevel
	}
	if c.Format != "json" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}
