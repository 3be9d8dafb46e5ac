package tomlstr

import (
	"testing"

	"github.com/BurntSushi/toml"
)

func TestQuoteReadsBack(t *testing.T) {
	for _, s := range []string{"", "plain", `a "quoted" \ word`, "tab\tnl\ncr\rff\fbs\b", "\x00\x1f\x7f", "ünïcødé ✓", "Ops <ops@example.com>"} {
		for _, replace := range []bool{false, true} {
			var v struct{ K string }
			if _, err := toml.Decode("K = "+Quote(s, replace), &v); err != nil || v.K != s {
				t.Errorf("Quote(%q, %v) = %s reads back as %q, %v", s, replace, Quote(s, replace), v.K, err)
			}
		}
	}
}

func TestInvalidUTF8(t *testing.T) {
	var v struct{ K string }
	if _, err := toml.Decode("K = "+Quote("a\xffb", true), &v); err != nil || v.K != "a\uFFFDb" {
		t.Errorf("replaced: %q, %v", v.K, err)
	}
	if _, err := toml.Decode("K = "+Quote("a\xffb", false), &v); err == nil {
		t.Errorf("a raw invalid byte was read back as %q; it must fail", v.K)
	}
}
