package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/uvs-lb/uvs/adm"
	"github.com/uvs-lb/uvs/alert"
	"github.com/uvs-lb/uvs/appliance"
	"github.com/uvs-lb/uvs/conf"
	"github.com/uvs-lb/uvs/control"
	"github.com/uvs-lb/uvs/health"
	"github.com/uvs-lb/uvs/internal/sdnotify"
	"github.com/uvs-lb/uvs/metrics"
	"github.com/uvs-lb/uvs/status"
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
	signals []os.Signal   // besides SIGHUP (reload) and SIGUSR1/2 (dumps): the signals that stop the appliance
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
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Alerts follow the running configuration; the event hook reads it from running, never
	// from the appliance (events fire inside its reloads).
	var running atomic.Pointer[conf.Config]
	running.Store(cfg)
	mailer := alert.New(cfg.Alerts, log)
	mailer.Start(ctx)
	defer mailer.Close()
	a, err := appliance.New(appliance.Options{Config: cfg, Log: log, OnEvent: func(ev appliance.Event) { mailEvent(mailer, running.Load(), ev) }})
	if err != nil {
		log.Error().Err(err).Msg("cannot build the appliance")
		return 1, ""
	}
	// No script runs until the privileges are dropped and the script policy set (privs.go):
	// the appliance's checks, tracks and notifies start now, and the first would otherwise
	// run as root, unchecked. Scripts that were waiting run under the policy once released
	// (on every path: Close waits for notify scripts).
	releaseScripts := health.HoldScripts()
	unprivileged := func() { // the policy and release when dropPrivileges is not reached
		health.SetScriptPolicy(health.ScriptPolicy{Secure: cfg.Run.ScriptSecurity})
		releaseScripts()
	}
	if err := a.Start(ctx); err != nil {
		log.Error().Err(err).Msg("cannot start the appliance")
		unprivileged()
		a.Close()
		return 1, ""
	}
	notify := sdnotify.FromEnv()

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
		// The listeners and the user are set up once, at start: say so rather than let a
		// changed file look applied.
		if next.Control != cfg.Control || next.Metrics != cfg.Metrics || !reflect.DeepEqual(next.Run, cfg.Run) {
			log.Warn().Msg("reload: [control], [metrics] and [run] changes take effect at the next start")
		}
		checkScriptUsers(next, log) // privs.go: a script of a new user cannot have capabilities dropped at start
		cfg = next
		running.Store(next)
		mailer.Reconfigure(next.Alerts)
		return nil
	}
	// A reload told to systemd: RELOADING, then READY whatever the outcome.
	notifiedReload := func() error {
		notify.Reloading()
		err := reload()
		if err != nil {
			notify.Status("reload refused: " + err.Error())
		} else {
			notify.Status("running")
		}
		notify.Ready()
		return err
	}
	reloads := make(chan chan error)
	// stopping ends the API's reload requests once the loop below is gone. It is not ctx:
	// cancelling ctx stops the appliance's loops, and Close must still send VRRP's
	// priority-0 adverts through them.
	stopping := make(chan struct{})
	api := control.NewAPI(control.APIOptions{Appliance: a, Log: log, Reload: func() error {
		done := make(chan error, 1)
		select {
		case reloads <- done:
			return <-done
		case <-stopping:
			return errors.New("stopping")
		}
	}})
	var web *http.Server
	failed := "cannot serve the control API"
	err = serveControl(ctx, api, cfg.Control, r.socket, log)
	if err == nil {
		web, err = serveMetrics(cfg.Metrics, api, log)
	}
	if err == nil {
		failed = "cannot drop privileges"
		_, err = dropPrivileges(cfg, controlSocket(cfg.Control, r.socket), log) // privs.go; sets the script policy
		releaseScripts()
	} else {
		unprivileged()
	}
	if err == nil {
		checkScriptUsers(cfg, log)
	}
	if err != nil {
		log.Error().Err(err).Msg(failed)
		code = 1
	} else {
		notify.Ready()
		notify.Status("running")
		// The watchdog is fed while a snapshot of the appliance can be taken: one that hangs
		// (a deadlock) stops the pings and systemd restarts uvs.
		go notify.RunWatchdog(ctx, func() error { _, err := api.Snapshot(ctx); return err }, func(err error) {
			log.Warn().Err(err).Msg("systemd watchdog")
		})
		sig := make(chan os.Signal, 4)
		signal.Notify(sig, append([]os.Signal{syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2}, r.signals...)...)
	loop:
		for {
			select {
			case why := <-r.stop:
				log.Info().Str("by", why).Msg("stopping")
				stoppedBy = why
				break loop
			case done := <-reloads:
				done <- notifiedReload()
			case s := <-sig:
				if s == syscall.SIGUSR1 || s == syscall.SIGUSR2 {
					dump(ctx, api, s == syscall.SIGUSR1, log)
					continue
				}
				if s != syscall.SIGHUP {
					log.Info().Str("signal", s.String()).Msg("stopping")
					stoppedBy = s.String()
					break loop
				}
				notifiedReload()
			}
		}
		signal.Stop(sig)
		notify.Stopping()
	}
	close(stopping) // an API reload waiting for the loop gives up
	start := time.Now()
	if web != nil {
		sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
		web.Shutdown(sctx)
		scancel()
	}
	api.Close()
	err = a.Close()
	// Closing the appliance sent its last transitions (VRRP's STOP) to the mailer: give them
	// a moment to leave.
	fctx, fcancel := context.WithTimeout(context.Background(), 5*time.Second)
	mailer.Flush(fctx)
	fcancel()
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

// dump writes keepalived's SIGUSR1 / SIGUSR2 dumps: the data (VRRP instances, virtual
// servers, checks) to /tmp/uvs.data, the statistics to /tmp/uvs.stats. The file is replaced
// through a new temporary file and a rename, so a symlink planted at the name is never
// followed.
func dump(ctx context.Context, api *control.API, data bool, log zerolog.Logger) {
	snap, err := api.Snapshot(ctx)
	if err != nil {
		log.Error().Err(err).Msg("dump")
		return
	}
	path, write := "/tmp/uvs.stats", adm.WriteStatsDump
	if data {
		path, write = "/tmp/uvs.data", adm.WriteDataDump
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".uvs-dump-*")
	if err == nil {
		write(f, snap)
		err = f.Close()
		if err == nil {
			err = os.Rename(f.Name(), path)
		}
		if err != nil {
			os.Remove(f.Name())
		}
	}
	if err != nil {
		log.Error().Err(err).Str("file", path).Msg("dump")
		return
	}
	log.Info().Str("file", path).Msg("dump written")
}

// serveMetrics serves /metrics, and the status page on / (with its data on /status.json),
// on [metrics] listen, if set.
func serveMetrics(c conf.Metrics, api *control.API, log zerolog.Logger) (*http.Server, error) {
	if !c.Listen.IsValid() {
		return nil, nil
	}
	ln, err := net.Listen("tcp", c.Listen.String())
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", metrics.Handler(api.Snapshot))
	if c.StatusPage {
		host, _ := os.Hostname()
		page := status.Handler(api.Snapshot, status.Options{Refresh: c.Refresh, Title: host})
		mux.Handle("/", page)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Msg("metrics listener stopped")
		}
	}()
	log.Info().Str("listen", c.Listen.String()).Msg("metrics listening")
	return srv, nil
}

// mailEvent mails an appliance event when cfg asks for it (smtp_alert of the instance or
// the virtual server). It runs in the transition's path: the mailer only queues.
func mailEvent(m *alert.Mailer, cfg *conf.Config, ev appliance.Event) {
	if !cfg.Alerts.Enabled() {
		return
	}
	switch ev.Kind {
	case "vrrp":
		for i := range cfg.VRRPInstances {
			if in := &cfg.VRRPInstances[i]; in.Name == ev.Subject && in.SMTPAlert {
				m.VRRP(ev.Subject, ev.State)
			}
		}
	case "server":
		for i := range cfg.Services {
			if s := &cfg.Services[i]; s.KeepalivedName() == ev.VirtualServer && s.SMTPAlert {
				m.RealServer(ev.VirtualServer, ev.Server, ev.State == "UP")
			}
		}
	case "quorum":
		for i := range cfg.Services {
			if s := &cfg.Services[i]; s.KeepalivedName() == ev.VirtualServer && s.SMTPAlert {
				m.Quorum(alert.QuorumChange{VirtualServer: ev.VirtualServer, Up: ev.State == "UP", Quorum: ev.Quorum,
					Hysteresis: ev.Hysteresis, Weight: ev.Weight, Starting: ev.Starting})
			}
		}
	}
}

// newLogger builds the zerolog logger [log] asks for.
func newLogger(c conf.Log, w io.Writer) zerolog.Logger {
	level, err := zerolog.ParseLevel(c.Level)
	if err != nil || c.Level == "" {
		level = zerolog.InfoLevel
	}
	if c.Format != "json" {
		// Colours only on a terminal: under systemd they would land in the journal as
		// escape codes.
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339, NoColor: !isTerminal(w)}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
