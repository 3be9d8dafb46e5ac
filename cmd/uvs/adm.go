package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/uvs-lb/uvs/adm"
	"github.com/uvs-lb/uvs/control"
)

// apiFlags takes uvs's own connection options off the front of args (ipvsadm's options
// follow them): --socket PATH, --api URL, --token-file FILE, each also from the
// environment (UVS_SOCKET, UVS_API, UVS_TOKEN).
func apiFlags(args []string, stderr io.Writer) (*control.Client, []string, bool) {
	addr := os.Getenv("UVS_SOCKET")
	if addr == "" {
		addr = control.DefaultSocket
	}
	if u := os.Getenv("UVS_API"); u != "" {
		addr = u
	}
	token := os.Getenv("UVS_TOKEN")
	for len(args) > 0 {
		name, val, inline := strings.Cut(args[0], "=")
		switch name {
		case "--socket", "--api", "--token-file":
		default:
			return control.Dial(addr, token), args, true
		}
		if !inline {
			if len(args) < 2 {
				fmt.Fprintf(stderr, "uvs: %s needs a value\n", name)
				return nil, nil, false
			}
			val, args = args[1], args[1:]
		}
		args = args[1:]
		switch name {
		case "--socket", "--api":
			addr = val
		case "--token-file":
			b, err := os.ReadFile(val)
			if err != nil {
				fmt.Fprintln(stderr, "uvs:", err)
				return nil, nil, false
			}
			token = strings.TrimSpace(string(b))
		}
	}
	return control.Dial(addr, token), args, true
}

// runAdm is `uvs adm`: ipvsadm's command line over the control API.
func runAdm(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c, args, ok := apiFlags(args, stderr)
	if !ok {
		return 2
	}
	defer c.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return adm.Main(ctx, args, stdin, stdout, stderr, c)
}
