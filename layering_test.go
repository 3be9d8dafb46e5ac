// The layering of DESIGN.md, enforced: imports flow downward only, the data plane (levels 0-1)
// never imports the control plane, and only netstack may import gVisor.
package uvs_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/uvs-lb/uvs"

// level of each top-level package, ×10; subpackages share their parent's level. Within the
// data plane (level 1), lb sits just below its Forwarders and the ports that call it; within
// level 3, the lab and the image run real appliances, so they sit just above appliance.
var levels = map[string]int{
	"packet": 0,
	"lb":     10, "nat": 15, "dr": 15, "tunnel": 15, "netstack": 15,
	"conf": 20, "health": 20, "vrrp": 20, "connsync": 20,
	"appliance": 30, "control": 32, "adm": 34, "metrics": 34, "status": 34, "alert": 25,
	"lab": 35, "image": 35,
	"cmd": 40,
}

func TestLayering(t *testing.T) {
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		top := strings.Split(filepath.ToSlash(path), "/")[0]
		from, known := levels[top]
		if !known {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, "gvisor.dev/") && top != "netstack" && from < 20 {
				t.Errorf("%s imports %s: only netstack owns gVisor types in the data plane", path, p)
			}
			if !strings.HasPrefix(p, module+"/") {
				continue
			}
			dst := strings.Split(strings.TrimPrefix(p, module+"/"), "/")[0]
			to, ok := levels[dst]
			if !ok {
				continue
			}
			if dst != top && to >= from {
				t.Errorf("%s (level %.1f) imports %s (level %.1f): imports must flow downward", path, float64(from)/10, p, float64(to)/10)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
