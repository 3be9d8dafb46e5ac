package lab

import (
	"fmt"
	"slices"
	"strings"
)

// A topology names the appliance features it needs in `requires`; Run refuses one that needs
// a feature uvs does not have yet, so that the seed deployments can be written down (and
// tested to be refused) before their features land. Switch a feature on here when it does:
// the topologies that need it then run, and their tests with them.
var features = []labFeature{
	{"dr", "direct routing (lb_kind DR)", true},
	{"health", "health checks", true},
	{"vrrp", "VRRP failover", true},
	{"sync", "connection sync", true},
}

// labFeature is a feature a topology may require.
type labFeature struct {
	name, what string
	have       bool
}

func feature(name string) (what string, have, known bool) {
	for _, f := range features {
		if f.name == name {
			return f.what, f.have, true
		}
	}
	return "", false, false
}

// UnsupportedError is Run's refusal of a topology that requires features uvs lacks.
type UnsupportedError struct {
	File    string
	Missing []string // feature names, in the file's order
}

func (e *UnsupportedError) Error() string {
	var parts []string
	for _, name := range e.Missing {
		what, _, _ := feature(name)
		parts = append(parts, fmt.Sprintf("%s (%s)", name, what))
	}
	return fmt.Sprintf("%s: requires %s, which uvs does not have yet", e.File, strings.Join(parts, ", "))
}

// missingFeatures returns the features t requires that uvs lacks.
func (t *Topology) missingFeatures() []string {
	var out []string
	for _, name := range t.Requires {
		if _, have, _ := feature(name); !have {
			out = append(out, name)
		}
	}
	return out
}

// requires reads the requires key.
func (r *reader) requires(t *table) []string {
	vals, keys, _ := strs(t, "requires")
	var out []string
	for i, v := range vals {
		if _, _, known := feature(v); !known {
			var names []string
			for _, f := range features {
				names = append(names, f.name)
			}
			r.Errorf(keys[i], "unknown feature %q (%s)", v, strings.Join(names, ", "))
			continue
		}
		if slices.Contains(out, v) {
			r.Errorf(keys[i], "%s is listed twice", v)
			continue
		}
		out = append(out, v)
	}
	return out
}
