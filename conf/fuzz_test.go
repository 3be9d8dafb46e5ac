package conf

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/uvs-lb/uvs/lb"
)

// FuzzParse holds conf to its promise: whatever Parse accepts, the engine accepts too, and
// whatever it refuses comes back as positioned Errors, never as a panic.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.toml")
	bad, _ := filepath.Glob("testdata/bad/*.toml")
	for _, name := range append(files, bad...) {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.toml", data)
		if err == nil {
			if err := lb.New(lb.Options{}).Apply(c.Engine()); err != nil {
				t.Fatalf("conf accepted what the engine refuses: %v\n%s", err, data)
			}
			return
		}
		var errs Errors
		if !errors.As(err, &errs) || len(errs) == 0 {
			t.Fatalf("error %v is not Errors", err)
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, e := range errs {
			if e.Msg == "" || e.File != "f.toml" || e.Line > lines || e.Line < 0 {
				t.Fatalf("bad error %+v in a file of %d lines", e, lines)
			}
		}
	})
}
