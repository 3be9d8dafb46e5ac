package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/uvs-lb/uvs/conf"
	"github.com/uvs-lb/uvs/conf/convert"
)

const confUsage = `usage: uvs conf check FILE...
       uvs conf export [--socket PATH | --api URL --token-file FILE]
       uvs conf import [--from keepalived|ipvsadm|lvs.cf] [--strict] FILE

  check     read each configuration FILE strictly; print "FILE: ok" and what it
            defines, or every error as file:line:col: key: message
  export    print the running appliance's configuration as TOML, runtime changes
            (uvs adm) included: uvs conf export > /etc/uvs/uvs.toml keeps them
  import    translate a keepalived.conf (with its includes), ipvsadm -S rules or
            Piranha's lvs.cf into uvs TOML on stdout; what is not converted is
            listed on stderr as file:line: directive: reason (--strict: exit 1 then)
`

// runConf is `uvs conf`. It exits 0 when every file is valid, 1 when one is not, 2 on a
// usage error.
func runConf(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, confUsage)
		return 2
	}
	switch args[0] {
	case "check":
		if len(args) < 2 {
			fmt.Fprint(stderr, confUsage)
			return 2
		}
		return confCheck(args[1:], stdout, stderr)
	case "export":
		c, rest, ok := apiFlags(args[1:], stderr)
		if !ok || len(rest) != 0 {
			fmt.Fprint(stderr, confUsage)
			return 2
		}
		defer c.Close()
		text, err := c.Config(context.Background())
		if err != nil {
			fmt.Fprintln(stderr, "uvs conf export:", err)
			return 1
		}
		stdout.Write(text)
		return 0
	case "import":
		return confImport(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, confUsage)
		return 0
	}
	fmt.Fprintf(stderr, "uvs conf: unknown command %q\n\n%s", args[0], confUsage)
	return 2
}

func confCheck(files []string, stdout, stderr io.Writer) int {
	code := 0
	for _, f := range files {
		c, err := conf.Load(f)
		if err != nil {
			var errs conf.Errors
			if errors.As(err, &errs) {
				fmt.Fprintln(stderr, errs)
			} else {
				fmt.Fprintln(stderr, "uvs conf:", err) // unreadable: the error names the file
			}
			code = 1
			continue
		}
		fmt.Fprintf(stdout, "%s: ok\n%s\n", f, summary(c))
	}
	return code
}

// summary says in one line what c defines.
func summary(c *conf.Config) string {
	servers := 0
	for _, s := range c.Services {
		servers += len(s.Servers)
	}
	return fmt.Sprintf("%s, %s, %s", count(len(c.Interfaces), "interface"),
		count(len(c.Services), "service"), count(servers, "real server"))
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// confImport is `uvs conf import`.
func confImport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("conf import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "the source's format: keepalived, ipvsadm or lvs.cf (default: lvs.cf for *.cf files, ipvsadm for *.ipvsadm / *.rules, else keepalived)")
	strict := fs.Bool("strict", false, "exit 1 when a directive is not converted")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprint(stderr, confUsage)
		return 2
	}
	path := fs.Arg(0)
	format := *from
	if format == "" {
		switch {
		case strings.HasSuffix(path, ".cf"):
			format = "lvs.cf"
		case strings.HasSuffix(path, ".ipvsadm"), strings.HasSuffix(path, ".rules"):
			format = "ipvsadm"
		default:
			format = "keepalived"
		}
	}
	var res *convert.Result
	var err error
	switch format {
	case "keepalived", "keepalived.conf":
		res, err = convert.Keepalived(path)
	case "ipvsadm", "lvs.cf":
		var data []byte
		if data, err = os.ReadFile(path); err == nil {
			if format == "ipvsadm" {
				res, err = convert.IPVSadm(path, data)
			} else {
				res, err = convert.LVSCF(path, data)
			}
		}
	default:
		fmt.Fprintf(stderr, "uvs conf import: --from %q: want keepalived, ipvsadm or lvs.cf\n", format)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "uvs conf import:", err)
		return 1
	}
	stdout.Write(res.TOML)
	if len(res.Unsupported) > 0 {
		fmt.Fprintf(stderr, "uvs conf import: %d directives not converted:\n", len(res.Unsupported))
		for _, n := range res.Unsupported {
			fmt.Fprintln(stderr, " ", n)
		}
		if *strict {
			return 1
		}
	}
	return 0
}
