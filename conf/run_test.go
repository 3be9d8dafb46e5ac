package conf

import (
	"strings"
	"testing"
)

func TestRunTable(t *testing.T) {
	if c := mustParse(t, ""); c.Run != (Run{ScriptSecurity: true}) {
		t.Errorf("default [run] = %+v, want script security on and no user", c.Run)
	}
	c := mustParse(t, "[run]\nuser = \"uvs\"\ngroup = \"nogroup\"\nscript_security = false\n")
	if c.Run != (Run{User: "uvs", Group: "nogroup"}) {
		t.Errorf("[run] = %+v", c.Run)
	}
	for src, want := range map[string]string{
		"[run]\nuser = \"\"\n":           "f.toml:2:1: run.user: empty",
		"[run]\ngroup = \"uvs\"\n":       "run.group: a group without a user",
		"[run]\nscript_security = 1\n":   "run.script_security",
		"[run]\nuser = \"a\"\nuid = 3\n": "run.uid",
	} {
		if _, err := Parse("f.toml", []byte(src)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", src, err, want)
		}
	}
}
