package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/uvs-lb/uvs/appliance"
	"github.com/uvs-lb/uvs/conf"
	"github.com/uvs-lb/uvs/control"
)

// runRun is `uvs run -c FILE`: the appliance in the foreground until SIGTERM or SIGINT;
// SIGHUP (or `uvs adm --reload`) reloads FILE (a bad file keeps the running configuration
// and logs why).
func runRun(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", "", "configuration file (TOML)")
	socket := fs.String("socket", "", "control socket path (overrides [control] socket; \"none\" turns it off)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *path == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: uvs run -c FILE [--socket PATH]")
		return 2
	}
	cfg, err := conf.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	code, _ := runAppliance(cfg, applianceRun{
		load:    func() (*conf.Config, error) { return conf.Load(*path) },
		source:  *path,
		socket:  *socket,
		newLog:  func(c conf.Log) zerolog.Logger { return newLogger(c, stderr) },
		signals: []os.Signal{syscall.SIGTERM, syscall.SIGINT},
	})
	return code
}

// applianceRun is how runAppliance gets its configuration again and what stops it.
type applianceRun struct {
	load    func() (*conf.Config, error) // reads the configuration again, for a reload
	source  string                       // where load reads from, for messages
	socket  string                       // --socket
	newLog  func(conf.Log) zerolog.Logger
	signals []os.Signal   // besides SIGHUP (reload): the signals that stop the appliance
	stop    <-chan string // nil, or a stop request with its reason (the VM's power button)
}

// runAppliance runs the appliance of cfg with the control API until a stop signal or a stop
// request, reloading on SIGHUP or an API request; it returns the exit code and what stopped
// it ("" when it could not start). `uvs run` and the VM image's /init both run it.
func runAppliance(cfg *conf.Config, r applianceRun) (code int, stoppedBy string) {
	log := r.newLog(cfg.Log)
	for _, w := range appliance.Warnings(cfg) {
		log.Warn().Msg(w)
	}
	a, err := appliance.New(appliance.Options{Config: cfg, Log: log})
	if err != nil {
		log.Error().Err(err).Msg("cannot build the appliance")
		return 1, ""
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := a.Start(ctx); err != nil {
		log.Error().Err(err).Msg("cannot start the appliance")
		a.Close()
		return 1, ""
	}

	// Reloads run on this goroutine, whoever asks (SIGHUP or the API through reloads), so
	// that cfg and log change in one place.
	reload := func() error {
		next, err := r.load()
		if err == nil {
			err = a.Reload(next)
		}
		if err != nil {
			log.Error().Err(err).Str("file", r.source).Msg("reload refused; the running configuration stays")
			return err
		}
		if next.Log != cfg.Log {
			log = r.newLog(next.Log)
		}
		cfg = next
		return nil
	}
	reloads := make(chan chan error)
	api := control.NewAPI(control.APIOptions{Appliance: a, Log: log, Reload: func() error {
		done := make(chan error, 1)
		select {
		case reloads <- done:
			return <-done
		case <-ctx.Done():
			return errors.New("stopping")
		}
	}})
	if err := serveControl(ctx, api, cfg.Control, r.socket, log); err != nil {
		log.Error().Err(err).Msg("cannot serve the control API")
		code = 1
	} else {
		sig := make(chan os.Signal, 4)
		signal.Notify(sig, append([]os.Signal{syscall.SIGHUP}, r.signals...)...)
	loop:
		for {
			select {
			case done := <-reloads:
				done <- reload()
			case why := <-r.stop:
				log.Info().Str("by", why).Msg("stopping")
				stoppedBy = why
				break loop
			case s := <-sig:
				if s != syscall.SIGHUP {
					log.Info().Str("signal", s.String()).Msg("stopping")
					stoppedBy = s.String()
					break loop
				}
				reload()
			}
		}
		signal.Stop(sig)
		cancel() // an API reload waiting for the loop gives up
	}
	start := time.Now()
	api.Close()
	err = a.Close()
	log.Info().Dur("took", time.Since(start)).Msg("stopped")
	if err != nil {
		log.Error().Err(err).Msg("close")
		return 1, stoppedBy
	}
	return code, stoppedBy
}

// serveControl starts the control API on the unix socket (override: the --socket flag) and,
// if configured, on TCP with a bearer token.
func serveControl(ctx context.Context, api *control.API, c conf.Control, override string, log zerolog.Logger) error {
	path := c.Socket
	switch override {
	case "":
	case "none":
		path = ""
	default:
		path = override
	}
	if path != "" {
		ln, err := api.ListenUnix(path)
		if err != nil {
			return err
		}
		api.Start(ctx, ln, false)
		log.Info().Str("socket", path).Msg("control API listening")
	}
	if c.Listen.IsValid() {
		tok, err := os.ReadFile(c.TokenFile)
		if err != nil {
			return fmt.Errorf("control token: %w", err)
		}
		token := strings.TrimSpace(string(tok))
		if len(token) < 16 {
			return errors.New("control token: " + c.TokenFile + " must hold a token of at least 16 characters")
		}
		api.SetToken(token)
		ln, err := net.Listen("tcp", c.Listen.String())
		if err != nil {
			return fmt.Errorf("control API: %w", err)
		}
		api.Start(ctx, ln, true)
		log.Info().Str("listen", c.Listen.String()).Msg("control API listening on TCP (bearer token)")
	}
	return nil
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
