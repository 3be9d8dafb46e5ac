package tomlpos

import (
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// TestLocate puts the locator through the TOML that could fool it: strings that look like
// keys or headers, inline tables, arrays of inline tables, dotted and quoted keys, comments
// inside arrays.
func TestLocate(t *testing.T) {
	src := `# [[virtual_server]] in a comment
title = """
[[virtual_server]]
address = "fake" \"""
"""
lit = '''
x = [ '''
[[virtual_server]]
  address = "10.0.0.1:80"  # key = "value"
  lb_kind = 'DR'
  sched_flags = [
    "sh-port",   # a comment, then ]
    "sh-fallback",
  ]
  sorry_server = { address = "10.0.0.9", lb_kind = "NAT" }
  real_server = [ { address = "10.0.0.20" }, {address="10.0.0.21"} ]

[[virtual_server]]
"lb_algo" = "rr"
ipvs.size = 5
[[virtual_server.real_server]]
address = "10.0.0.30"
[[virtual_server.real_server]]
	address = "1979-05-27 07:32:00"
[ipvs.timeouts]
tcp = 1979-05-27 07:32:00Z
udp = 300
`
	var m map[string]any
	if _, err := toml.Decode(src, &m); err != nil {
		t.Fatalf("the test document is not TOML: %v", err)
	}
	pos := Locate([]byte(src)).Keys
	want := map[string]Pos{
		"title":                                    {2, 1},
		"lit":                                      {6, 1},
		"virtual_server[0]":                        {8, 1},
		"virtual_server[0].address":                {9, 3},
		"virtual_server[0].lb_kind":                {10, 3},
		"virtual_server[0].sched_flags":            {11, 3},
		"virtual_server[0].sched_flags[0]":         {12, 5},
		"virtual_server[0].sched_flags[1]":         {13, 5},
		"virtual_server[0].sorry_server":           {15, 3},
		"virtual_server[0].sorry_server.address":   {15, 20},
		"virtual_server[0].sorry_server.lb_kind":   {15, 42},
		"virtual_server[0].real_server[0].address": {16, 21},
		"virtual_server[0].real_server[1]":         {16, 46},
		"virtual_server[0].real_server[1].address": {16, 47},
		"virtual_server[1]":                        {18, 1},
		"virtual_server[1].lb_algo":                {19, 1},
		"virtual_server[1].ipvs.size":              {20, 1},
		"virtual_server[1].real_server[0]":         {21, 1},
		"virtual_server[1].real_server[0].address": {22, 1},
		"virtual_server[1].real_server[1].address": {24, 2},
		"ipvs.timeouts":                            {25, 1},
		"ipvs.timeouts.tcp":                        {26, 1},
		"ipvs.timeouts.udp":                        {27, 1},
	}
	for k, w := range want {
		if got, ok := pos[k]; !ok || got != w {
			t.Errorf("%s: at %v (found %v), want %v", k, got, ok, w)
		}
	}
	for k := range pos {
		if strings.Contains(k, "fake") || k == "address" || k == "x" {
			t.Errorf("found key %q inside a string", k)
		}
	}
}
