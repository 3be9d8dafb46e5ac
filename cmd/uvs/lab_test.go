package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const tinyTopology = "../../lab/testdata/tiny.toml"

// TestLabRun: `uvs lab run` prints the report, writes the picture and the captures, and
// exits 0 when the expectations hold.
func TestLabRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	svg, pcaps := filepath.Join(dir, "tiny.svg"), filepath.Join(dir, "pcap")
	var out, errb bytes.Buffer
	// Flags after the file, as the usage writes them.
	if code := run([]string{"lab", "run", tinyTopology, "--svg", svg, "--pcap", pcaps}, &out, &errb); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"lab tiny", "CLIENT", "REAL SERVER", "rs1", "APPLIANCE", "lb1", "EXPECT", "ok "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if data, err := os.ReadFile(svg); err != nil || !bytes.HasPrefix(data, []byte("<?xml")) {
		t.Errorf("svg: %v", err)
	}
	if files, _ := filepath.Glob(filepath.Join(pcaps, "*.pcap")); len(files) != 4 {
		t.Errorf("%d pcaps for 4 links: %v", len(files), files)
	}
}

// TestLabRunJSON: --json prints the report as JSON, and nothing else.
func TestLabRunJSON(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	if code := run([]string{"lab", "run", "--json", tinyTopology}, &out, &errb); code != 0 {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	var rep struct {
		Name    string `json:"name"`
		Clients []struct {
			Requests uint64 `json:"requests"`
		} `json:"clients"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.Name != "tiny" || len(rep.Clients) != 1 || rep.Clients[0].Requests == 0 {
		t.Fatalf("%v: %+v\n%s", err, rep, out.String())
	}
}

// TestLabRunFailedExpectation: an expectation that fails makes the exit status 1, and is
// named on stderr with its position.
func TestLabRunFailedExpectation(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile(tinyTopology)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "greedy.toml")
	os.WriteFile(file, bytes.Replace(src, []byte("share = [40, 60]"), []byte("share = [90, 100]"), 1), 0o644)
	var out, errb bytes.Buffer
	if code := run([]string{"lab", "run", file}, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(errb.String(), file+":") || !strings.Contains(errb.String(), "expect[1].share: rs1 share") || !strings.Contains(errb.String(), "want 90%–100%") {
		t.Errorf("stderr does not name the failed expectation:\n%s", errb.String())
	}
	if !strings.Contains(out.String(), "FAIL") {
		t.Errorf("the report does not mark it:\n%s", out.String())
	}
}

// TestLabRefusals: usage mistakes, topology errors and topologies that need features uvs
// lacks exit 2, saying why; nothing runs.
func TestLabRefusals(t *testing.T) {
	t.Parallel()
	bad := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(bad, []byte("duration = \"1s\"\n[nodes.x]\nkind = \"router\"\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"lab"}, "usage: uvs lab run"},
		{[]string{"lab", "run"}, "usage: uvs lab run"},
		{[]string{"lab", "run", "a.toml", "b.toml"}, "usage: uvs lab run"},
		{[]string{"lab", "run", "--bogus", tinyTopology}, "flag provided but not defined"},
		{[]string{"lab", "frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"lab", "run", bad}, bad + `:3:1: nodes.x.kind: unknown kind "router"`},
		{[]string{"lab", "run", "no-such.toml"}, "no such file"},
		{[]string{"lab", "check", bad}, "unknown kind"},
	} {
		var out, errb bytes.Buffer
		if code := run(tc.args, &out, &errb); code != 2 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errb.String(), tc.want)
		}
	}
}

// TestLabCheck: `uvs lab check` accepts every example.
func TestLabCheck(t *testing.T) {
	files, _ := filepath.Glob("../../examples/lab/*.toml")
	var out, errb bytes.Buffer
	if code := run(append([]string{"lab", "check"}, files...), &out, &errb); code != 0 || len(files) == 0 {
		t.Fatalf("exit %d for %v\n%s", code, files, errb.String())
	}
	if n := strings.Count(out.String(), ": ok ("); n != len(files) {
		t.Errorf("%d ok lines for %d files:\n%s", n, len(files), out.String())
	}
}
