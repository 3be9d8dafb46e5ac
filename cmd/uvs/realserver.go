package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/uvs-lb/uvs/conf"
	"github.com/uvs-lb/uvs/tunnel/realserver"
)

const realserverUsage = `usage: uvs realserver --vip ADDR [--vip ADDR ...] [--tun-type ipip|gue|both]
                      [--gue-port N] [--device NAME] [--log-level LEVEL] [--log-format console|json]

Terminates the balancer's TUN-method tunnels (IPIP, IPv6-in-IP, GUE) on a Linux real server
whose kernel has no ipip/ip6_tunnel/fou, and hands the inner packets for the VIPs to the kernel
through a TUN device, so servers listening on the VIPs answer the clients directly.
Needs root (CAP_NET_RAW, CAP_NET_ADMIN) and /dev/net/tun. Runs until SIGINT or SIGTERM.
`

// realserverFlags is what `uvs realserver` was given, parsed.
type realserverFlags struct {
	cfg realserver.Config
	log conf.Log
}

// parseRealserver parses the flags of `uvs realserver`; the error says what is wrong.
func parseRealserver(args []string, stderr io.Writer) (realserverFlags, error) {
	var f realserverFlags
	fs := flag.NewFlagSet("realserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, realserverUsage, "\nflags:\n")
		fs.PrintDefaults()
	}
	fs.Func("vip", "a virtual address this server answers for, held on lo (repeat for more)", func(s string) error {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return err
		}
		f.cfg.VIPs = append(f.cfg.VIPs, a)
		return nil
	})
	tunType := fs.String("tun-type", "ipip", "encapsulations to receive: ipip, gue or both (the balancer's tun_type)")
	guePort := fs.Uint("gue-port", 0, "UDP port GUE arrives on (the balancer's tun_port); required with gue")
	fs.StringVar(&f.cfg.Device, "device", realserver.DefaultDevice, "name of the TUN device to create")
	fs.StringVar(&f.log.Level, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.log.Format, "log-format", "console", "console or json")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() != 0 {
		return f, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if len(f.cfg.VIPs) == 0 {
		return f, errors.New("at least one --vip is required")
	}
	t, err := realserver.ParseTypes(*tunType)
	if err != nil {
		return f, fmt.Errorf("--tun-type: %w", err)
	}
	f.cfg.Types = t
	if *guePort > 65535 {
		return f, fmt.Errorf("--gue-port %d: not a port", *guePort)
	}
	f.cfg.GUEPort = uint16(*guePort)
	if t&realserver.GUE != 0 && f.cfg.GUEPort == 0 {
		return f, errors.New("--tun-type " + *tunType + " needs --gue-port (the balancer's tun_port; GUE has no default port)")
	}
	if t&realserver.GUE == 0 && f.cfg.GUEPort != 0 {
		return f, errors.New("--gue-port is for --tun-type gue or both")
	}
	if _, err := zerolog.ParseLevel(f.log.Level); err != nil || f.log.Level == "" {
		return f, fmt.Errorf("--log-level %q: debug, info, warn or error", f.log.Level)
	}
	if f.log.Format != "console" && f.log.Format != "json" {
		return f, fmt.Errorf("--log-format %q: console or json", f.log.Format)
	}
	return f, nil
}

// runRealserver is `uvs realserver`: it terminates tunnels for the VIPs until SIGINT or
// SIGTERM, then logs its counters.
func runRealserver(args []string, stdout, stderr io.Writer) int {
	f, err := parseRealserver(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "uvs realserver: %v\n\n%s", err, realserverUsage)
		return 2
	}
	log := newLogger(f.log, stderr)
	f.cfg.Log = log
	srv, err := realserver.New(f.cfg)
	if err != nil {
		fmt.Fprintln(stderr, "uvs realserver:", err)
		return 2
	}
	cfg := srv.Config()
	fmt.Fprintf(stdout, "uvs realserver: this host must hold the VIPs and keep ARP quiet about them; uvs does not do it:\n")
	for _, c := range realserver.SetupCommands(cfg.VIPs) {
		fmt.Fprintf(stdout, "  %s\n", c)
	}
	for _, w := range realserver.CheckHost(cfg.VIPs, cfg.Device) {
		log.Warn().Msg("host setup: " + w)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		log.Error().Err(err).Msg("cannot start")
		srv.Close()
		return 1
	}
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sig)
	s := <-sig
	log.Info().Str("signal", s.String()).Msg("stopping")
	err = srv.Close()
	st := srv.Stats()
	ev := log.Info().Uint64("received", st.Received).Uint64("decapsulated", st.Decapsulated).
		Uint64("written", st.Written).Uint64("dropped", st.TotalDropped())
	for name, n := range st.DropCounts() {
		ev = ev.Uint64("dropped_"+name, n)
	}
	for name, n := range st.BySocket {
		if n != 0 {
			ev = ev.Uint64("received_"+name, n)
		}
	}
	ev.Msg("stopped")
	if err != nil {
		log.Error().Err(err).Msg("close")
		return 1
	}
	return 0
}
