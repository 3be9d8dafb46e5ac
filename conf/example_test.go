package conf

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uvs-lb/uvs/lb"
)

// TestExamples loads every example of docs/config.md (the files of testdata) and has the
// engine accept what it compiles to.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob("testdata/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := Load(f)
			if err != nil {
				t.Fatalf("Load:\n%v", err)
			}
			if len(c.Interfaces) == 0 || len(c.Services) == 0 {
				t.Errorf("%d interfaces, %d services", len(c.Interfaces), len(c.Services))
			}
			if err := lb.New(lb.Options{}).Apply(c.Engine()); err != nil {
				t.Errorf("the engine refuses the compiled config: %v", err)
			}
		})
	}
}

// TestDocExamples parses every TOML block of the examples in docs/config.md, so that the
// reference cannot drift from what conf accepts.
func TestDocExamples(t *testing.T) {
	doc, err := os.ReadFile("../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	_, examples, ok := strings.Cut(string(doc), "\n## Examples\n")
	if !ok {
		t.Fatal("docs/config.md has no Examples section")
	}
	blocks := strings.Split(examples, "```toml\n")[1:]
	if len(blocks) < 6 {
		t.Fatalf("%d TOML examples in docs/config.md, want at least 6", len(blocks))
	}
	for i, b := range blocks {
		src, _, _ := strings.Cut(b, "```")
		c, err := Parse(fmt.Sprintf("config.md example %d", i+1), []byte(src))
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if err := lb.New(lb.Options{}).Apply(c.Engine()); err != nil {
			t.Errorf("example %d: the engine refuses it: %v", i+1, err)
		}
	}
}
