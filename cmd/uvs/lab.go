package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/uvs-lb/uvs/conf"
	"github.com/uvs-lb/uvs/lab"
)

const labUsage = `usage: uvs lab run FILE [--json] [--pcap DIR] [--svg FILE] [-v]
       uvs lab check FILE...

  run       build the topology FILE in this process, run it for its duration with its
            events, print the report and judge its expectations (exit 1 if one fails)
            --json       print the report as JSON instead of text
            --pcap DIR   write one pcap per link into DIR
            --svg FILE   draw requests/s per real server over time, events marked
            -v           print the appliances' logs on stderr
  check     read each topology FILE strictly and print "FILE: ok" or its errors

Exit status: 0 all expectations held; 1 one failed, or the run failed; 2 usage or
topology errors, or a topology that needs features uvs does not have yet.
See docs/lab.md.
`

// runLab is `uvs lab`.
func runLab(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, labUsage)
		return 2
	}
	switch args[0] {
	case "run":
		return labRun(args[1:], stdout, stderr)
	case "check":
		return labCheck(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, labUsage)
		return 0
	}
	fmt.Fprintf(stderr, "uvs lab: unknown command %q\n\n%s", args[0], labUsage)
	return 2
}

func labRun(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lab run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, labUsage) }
	asJSON := fs.Bool("json", false, "print the report as JSON")
	pcapDir := fs.String("pcap", "", "write one pcap per link into `DIR`")
	svgFile := fs.String("svg", "", "write the traffic picture to `FILE`")
	verbose := fs.Bool("v", false, "print the appliances' logs on stderr")
	files, ok := parseInterspersed(fs, args)
	if !ok {
		return 2
	}
	if len(files) != 1 {
		fmt.Fprint(stderr, labUsage)
		return 2
	}
	topo, err := lab.Load(files[0])
	if err != nil {
		printLoadError(stderr, err)
		return 2
	}
	opts := lab.Options{PcapDir: *pcapDir}
	if *verbose {
		opts.Log = stderr
	}
	if *pcapDir != "" {
		if err := os.MkdirAll(*pcapDir, 0o755); err != nil {
			fmt.Fprintln(stderr, "uvs lab:", err)
			return 2
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := lab.Run(ctx, topo, opts)
	var unsupported *lab.UnsupportedError
	switch {
	case errors.As(err, &unsupported):
		fmt.Fprintln(stderr, "uvs lab:", err)
		return 2
	case rep == nil:
		fmt.Fprintln(stderr, "uvs lab:", err)
		return 1
	}
	if *asJSON {
		out, jerr := rep.JSON()
		if jerr != nil {
			fmt.Fprintln(stderr, "uvs lab:", jerr)
			return 1
		}
		fmt.Fprintf(stdout, "%s\n", out)
	} else {
		fmt.Fprint(stdout, rep.Text())
	}
	code := 0
	if *svgFile != "" {
		if werr := os.WriteFile(*svgFile, rep.SVG(), 0o644); werr != nil {
			fmt.Fprintln(stderr, "uvs lab:", werr)
			code = 1
		}
	}
	if err != nil { // interrupted: the report is of what ran
		fmt.Fprintln(stderr, "uvs lab: stopped early:", err)
		return 1
	}
	for _, x := range rep.Failed() {
		fmt.Fprintln(stderr, x.Error())
		code = 1
	}
	return code
}

func labCheck(files []string, stdout, stderr io.Writer) int {
	if len(files) == 0 {
		fmt.Fprint(stderr, labUsage)
		return 2
	}
	code := 0
	for _, f := range files {
		t, err := lab.Load(f)
		if err != nil {
			printLoadError(stderr, err)
			code = 2
			continue
		}
		fmt.Fprintf(stdout, "%s: ok (%d nodes, %d links, %d events, %d expectations)\n", f, len(t.Nodes), len(t.Links), len(t.Events), len(t.Expect))
	}
	return code
}

func printLoadError(stderr io.Writer, err error) {
	var errs conf.Errors
	if errors.As(err, &errs) {
		fmt.Fprintln(stderr, errs)
		return
	}
	fmt.Fprintln(stderr, "uvs lab:", err)
}

// parseInterspersed parses flags that may come before or after the positional arguments
// ("uvs lab run FILE --json"), which flag.Parse alone does not allow.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, bool) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, false
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, true
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
