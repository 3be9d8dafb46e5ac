package convert

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/uvs-lb/uvs/appliance"
	"github.com/uvs-lb/uvs/conf"
	"github.com/uvs-lb/uvs/netstack/port"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata")

// convertFile converts a testdata input by its kind: .conf is keepalived.conf, .ipvsadm
// ipvsadm rules, .lvs.cf Piranha's.
func convertFile(t *testing.T, name string) *Result {
	t.Helper()
	var res *Result
	var err error
	switch {
	case strings.HasSuffix(name, ".conf"):
		res, err = KeepalivedFS(os.DirFS("testdata"), name)
	case strings.HasSuffix(name, ".ipvsadm"):
		res, err = IPVSadm(name, readFile(t, name))
	case strings.HasSuffix(name, ".lvs.cf"):
		res, err = LVSCF(name, readFile(t, name))
	default:
		t.Fatalf("%s: unknown kind of input", name)
	}
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// seedInputs lists the inputs extracted from the seed documents (testdata/README.md says
// where each comes from).
func seedInputs(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, pattern := range []string{"*.conf", "*.ipvsadm", "*.lvs.cf"} {
		m, err := filepath.Glob(filepath.Join("testdata", pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m {
			names = append(names, filepath.Base(p))
		}
	}
	if len(names) < 20 {
		t.Fatalf("only %d seed inputs in testdata", len(names))
	}
	return names
}

// TestSeeds converts every example of the seed documents and compares the TOML and the notes
// with their golden files; then conf must accept the TOML, and an appliance must start from
// it (with memory ports standing for the afpacket interfaces).
func TestSeeds(t *testing.T) {
	readme := string(readFile(t, "README.md"))
	for _, name := range seedInputs(t) {
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(readme, name) {
				t.Errorf("testdata/README.md does not say where %s comes from", name)
			}
			res := convertFile(t, name)
			var notes strings.Builder
			for _, n := range res.Unsupported {
				notes.WriteString(n.String() + "\n")
			}
			golden(t, name+".toml.golden", res.TOML)
			golden(t, name+".notes.golden", []byte(notes.String()))
			cfg := parseConverted(t, name, res.TOML)
			runAppliance(t, cfg)
		})
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		i := 0
		for i < len(gl) && i < len(wl) && gl[i] == wl[i] {
			i++
		}
		line := func(l []string) string {
			if i < len(l) {
				return l[i]
			}
			return "(end of file)"
		}
		t.Errorf("%s differs from the conversion at line %d (go test -update rewrites it):\n got: %s\nwant: %s", name, i+1, line(gl), line(wl))
	}
}

var (
	afpacketRE = regexp.MustCompile(`(?m)^kind = "afpacket"$`)
	deviceRE   = regexp.MustCompile(`(?m)^device = .*\n`)
)

// memoryPorts makes a converted file's interfaces memory ones: a test has no host
// interfaces to give them.
func memoryPorts(toml []byte) []byte {
	toml = afpacketRE.ReplaceAll(toml, []byte(`kind = "memory"`))
	return deviceRE.ReplaceAll(toml, nil)
}

func parseConverted(t *testing.T, name string, toml []byte) *conf.Config {
	t.Helper()
	cfg, err := conf.Parse(name+".toml", memoryPorts(toml))
	if err != nil {
		t.Fatalf("conf refuses the conversion:\n%v\n%s", err, toml)
	}
	return cfg
}

// runAppliance builds an appliance from cfg on memory ports, starts it and closes it. A
// notify FIFO moves into a temporary directory: the test must not create files in /run (nor
// fail where it may not).
func runAppliance(t *testing.T, cfg *conf.Config) {
	t.Helper()
	if cfg.VRRP.NotifyFIFO != "" {
		cfg.VRRP.NotifyFIFO = filepath.Join(t.TempDir(), filepath.Base(cfg.VRRP.NotifyFIFO))
	}
	ports := map[string]port.Port{}
	var peers []port.Port
	for i, ifc := range cfg.Interfaces {
		mine, peer := port.Pipe(port.MemConfig{Name: ifc.Name, MAC: net.HardwareAddr{2, 0, 0, 0, 1, byte(i)}},
			port.MemConfig{Name: "peer-" + ifc.Name, MAC: net.HardwareAddr{2, 0, 0, 0, 2, byte(i)}})
		ports[ifc.Name] = mine
		peers = append(peers, peer)
	}
	defer func() {
		for _, p := range peers {
			p.Close()
		}
	}()
	a, err := appliance.New(appliance.Options{Config: cfg, Log: zerolog.Nop(), Ports: ports})
	if err != nil {
		t.Fatalf("appliance.New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Start(ctx); err != nil {
		a.Close()
		t.Fatalf("Start: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// TestNoteString pins the notes' format, which uvs conf import prints.
func TestNoteString(t *testing.T) {
	for _, c := range []struct {
		n    Note
		want string
	}{
		{Note{"keepalived.conf", 12, "lvs_sync_daemon_interface", "reason"}, "keepalived.conf:12: lvs_sync_daemon_interface: not supported (reason)"},
		{Note{"lvs.cf", 0, "network", ""}, "lvs.cf: network: not supported"},
	} {
		if got := c.n.String(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

func ExampleKeepalivedFS() {
	res, err := KeepalivedFS(os.DirFS("testdata"), "book-vrrp.conf")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(res.Unsupported), "notes")
	// Output: 0 notes
}
