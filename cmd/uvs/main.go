// Command uvs is the userspace virtual server: `uvs run` runs the appliance, `uvs conf check`
// validates a configuration, and `uvs demo` drives the engine with simulated traffic.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/uvs-lb/uvs/image/vminit"
)

const usage = `usage: uvs <command> [flags]

commands:
  run       run the appliance in the foreground: uvs run -c FILE
            (SIGHUP reloads FILE, SIGTERM/SIGINT stop)
  adm       ipvsadm's command line on the running appliance, through its control API:
            uvs adm [--socket PATH | --api URL --token-file FILE] -Ln, -a, -e, -Z, ...
            (docs/adm.md); also --vrrp, --checks, --reload
  conf      check configuration files: uvs conf check FILE...
  demo      run the engine on an embedded scenario (clients -> VIP -> 3 real servers,
            a real-server failure mid-run) and print what it did
  lab       run a whole topology in this process: uvs lab run FILE [--json] [--pcap DIR]
            [--svg FILE]; uvs lab check FILE...
  realserver  terminate the balancer's IPIP/GUE tunnels on a real server whose kernel cannot:
            uvs realserver --vip ADDR [--vip ADDR ...] [--tun-type ipip|gue|both]
            [--gue-port N] [--device NAME] [--log-level LEVEL]
  genhash   print the MD5 digest of a web page for an HTTP_GET check, as keepalived's genhash:
            uvs genhash -s ADDRESS -p PORT -u PATH [-S] [-V VIRTUALHOST] [-v]
  version   print the version
`

var version = "dev"

func main() {
	if vminit.IsInit() {
		runInit(os.Stderr) // the VM image's /init; never returns
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "conf":
		return runConf(args[1:], stdout, stderr)
	case "run":
		return runRun(args[1:], stdout, stderr)
	case "adm":
		return runAdm(args[1:], os.Stdin, stdout, stderr)
	case "demo":
		return runDemo(args[1:], stdout, stderr)
	case "lab":
		return runLab(args[1:], stdout, stderr)
	case "realserver":
		return runRealserver(args[1:], stdout, stderr)
	case "genhash":
		return runGenhash(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "uvs", version)
		return 0
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "uvs: unknown command %q\n\n%s", args[0], usage)
	return 2
}
