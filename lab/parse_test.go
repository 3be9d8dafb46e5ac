package lab

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uvs-lb/uvs/conf"
)

// updateGolden rewrites golden files instead of comparing: UVS_UPDATE_GOLDEN=1 go test
// ./lab/, then review the diff.
var updateGolden = os.Getenv("UVS_UPDATE_GOLDEN") != ""

// golden compares got with the file, or rewrites it.
func golden(t *testing.T, file, got string) {
	t.Helper()
	if updateGolden {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (UVS_UPDATE_GOLDEN=1 creates it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs\n--- got\n%s--- want\n%s", file, got, want)
	}
}

// TestExamplesParse: every topology under examples/lab, and the test topologies, are accepted.
func TestExamplesParse(t *testing.T) {
	files, err := filepath.Glob("../examples/lab/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	more, _ := filepath.Glob("testdata/*.toml")
	for _, f := range append(files, more...) {
		if _, err := Load(f); err != nil {
			t.Errorf("%s:\n%v", f, err)
		}
	}
}

// TestSchemaErrorsGolden checks the exact errors of each testdata/bad/*.toml against its
// .err file: every error at once, each at its file:line:col with its key.
func TestSchemaErrorsGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad topologies: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := Load(f)
			var errs conf.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Load returned %v, want conf.Errors", err)
			}
			for _, e := range errs {
				if e.File == f && e.Line == 0 && e.Key != "duration" {
					t.Errorf("error without a position: %v", e)
				}
			}
			golden(t, strings.TrimSuffix(f, ".toml")+".err", err.Error()+"\n")
		})
	}
}

// TestParseDefaults checks what a topology gets when it says little.
func TestParseDefaults(t *testing.T) {
	topo, err := Load("testdata/tiny.toml")
	if err != nil {
		t.Fatal(err)
	}
	if topo.Name != "tiny" || topo.Duration.String() != "2s" || topo.Bucket.String() != "500ms" {
		t.Errorf("name %q duration %v bucket %v", topo.Name, topo.Duration, topo.Bucket)
	}
	var names []string
	for _, n := range topo.Nodes {
		names = append(names, n.Name)
	}
	if got := strings.Join(names, ","); got != "lb1,sw,c1,rs1,rs2" {
		t.Errorf("nodes in %s, want file order", got)
	}
	l := topo.Links[0]
	if l.Name != "c1:eth0--lb1:eth0" || l.Seed != 1 || topo.Links[1].Seed != 2 {
		t.Errorf("link name %q, seeds %d %d", l.Name, l.Seed, topo.Links[1].Seed)
	}
	c1 := topo.node("c1")
	if g := c1.Loads[0]; g.Name != "http" || g.Target.String() != "10.0.0.1:80" {
		t.Errorf("load %+v", g)
	}
	if r := c1.Interfaces[0].Routes; len(r) != 1 || r[0].Dst.String() != "0.0.0.0/0" || r[0].Via.String() != "10.0.0.254" {
		t.Errorf("gateway as route: %+v", r)
	}
	if s := topo.node("rs1").Services[0]; s.Name != "http" || s.Listen.Port() != 80 || s.Listen.Addr().IsValid() {
		t.Errorf("service %+v", s)
	}
}

// TestImpairmentsPerDirection: link-level keys apply to both directions, a_to_b and b_to_a
// override them.
func TestImpairmentsPerDirection(t *testing.T) {
	topo, err := Parse("imp.toml", []byte(`
duration = "1s"
[nodes.a]
kind = "switch"
[nodes.b]
kind = "switch"
[[links]]
endpoints = ["a:p", "b:p"]
delay = "5ms"
loss = 1.5
rate = "100mbit"
[links.b_to_a]
delay = "10ms"
corrupt = 2
`))
	if err != nil {
		t.Fatal(err)
	}
	l := topo.Links[0]
	if l.AtoB.Delay.String() != "5ms" || l.AtoB.Loss != 1.5 || l.AtoB.Rate != 100e6 || l.AtoB.Corrupt != 0 {
		t.Errorf("a→b %+v", l.AtoB)
	}
	if l.BtoA.Delay.String() != "10ms" || l.BtoA.Loss != 1.5 || l.BtoA.Rate != 100e6 || l.BtoA.Corrupt != 2 {
		t.Errorf("b→a %+v", l.BtoA)
	}
	if got := impairmentText(l.AtoB, l.BtoA); got != "a→b delay 5ms loss 1.5% rate 100mbit; b→a delay 10ms loss 1.5% corrupt 2% rate 100mbit" {
		t.Errorf("described as %q", got)
	}
}

// TestWeightEventsFollowReloads: a weight event is checked against the configuration in
// force at its time, reloads included.
func TestWeightEventsFollowReloads(t *testing.T) {
	_, err := Parse("w.toml", []byte(`
duration = "10s"
[nodes.lb1]
kind = "appliance"
config = '''
[[interface]]
name = "eth0"
kind = "memory"
addresses = ["10.0.0.254/24"]
[[virtual_server]]
address = "10.0.0.1:80"
  [[virtual_server.real_server]]
  address = "10.0.0.21:80"
  [[virtual_server.real_server]]
  address = "10.0.0.22:80"
'''
[nodes.sw]
kind = "switch"
[[links]]
endpoints = ["lb1:eth0", "sw:p"]
[[events]]
at = "2s"
action = "weight"
node = "lb1"
server = "10.0.0.22"
weight = 0
[[events]]
at = "1s"
action = "reload"
node = "lb1"
config = '''
[[interface]]
name = "eth0"
kind = "memory"
addresses = ["10.0.0.254/24"]
[[virtual_server]]
address = "10.0.0.1:80"
  [[virtual_server.real_server]]
  address = "10.0.0.21:80"
'''
`))
	want := "w.toml:25:1: events[0].server: lb1 has no real server 10.0.0.22 at 2s"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

// TestDocTopology: the first topology of docs/lab.md is accepted.
func TestDocTopology(t *testing.T) {
	doc, err := os.ReadFile("../docs/lab.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```toml\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/lab.md has no TOML block")
	}
	if _, err := Parse("docs/lab.md", []byte(block)); err != nil {
		t.Fatalf("the topology of docs/lab.md:\n%v", err)
	}
}
