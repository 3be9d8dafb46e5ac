package conf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestErrorsGolden checks the exact errors of each testdata/bad/*.toml against its .err file.
// UVS_UPDATE_GOLDEN=1 go test ./conf/ rewrites the .err files; review the diff.
func TestErrorsGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad configs: %v", err)
	}
	update := os.Getenv("UVS_UPDATE_GOLDEN") != ""
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := Load(f)
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Load returned %v, want Errors", err)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(f, ".toml") + ".err"
			if update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("errors differ\n--- got\n%s--- want\n%s", got, want)
			}
		})
	}
}

// TestSyntaxPositions checks that TOML syntax errors point at the offending character, also
// where the toml package's own line:col is off (an error at the start of a line).
func TestSyntaxPositions(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"a = 1\na = 2\n", "s.toml:2:1: a: syntax error: key 'a' has already been defined"},
		{"x = 1\n  y = [1,\n 2,, ]\n", "s.toml:3:4: y: syntax error: unexpected comma"},
		{"x = \"abc\" junk\n", "s.toml:1:10: syntax error: expected a top-level item to end with a newline, comment, or EOF, but got 'j' instead"},
	} {
		_, err := Parse("s.toml", []byte(tc.src))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q:\n got %v\nwant %s", tc.src, err, tc.want)
		}
	}
}

// TestErrorFormat checks the printed form, with and without a known position.
func TestErrorFormat(t *testing.T) {
	es := Errors{
		{File: "a.toml", Line: 3, Col: 7, Key: "log.level", Msg: "bad"},
		{File: "a.toml", Msg: "worse"},
	}
	want := "a.toml:3:7: log.level: bad\na.toml: worse"
	if es.Error() != want {
		t.Errorf("got %q, want %q", es.Error(), want)
	}
}
