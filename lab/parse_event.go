package lab

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// actionKeys lists the keys each action takes besides at and action.
var actionKeys = map[Action][]string{
	ActLinkDown:       {"link"},
	ActLinkUp:         {"link"},
	ActPartition:      {"groups"},
	ActHeal:           {},
	ActKill:           {"node"},
	ActRestart:        {"node"},
	ActServiceStop:    {"node", "service"},
	ActServiceStart:   {"node", "service"},
	ActServiceFail:    {"node", "service"},
	ActServiceRecover: {"node", "service"},
	ActImpair:         {"link", "delay", "jitter", "loss", "duplicate", "reorder", "corrupt", "rate", "a_to_b", "b_to_a"},
	ActReload:         {"node", "config", "config_file"},
	ActWeight:         {"node", "server", "weight", "virtual_server"},
}

// actionNames lists the actions for messages, in a fixed order.
const actionNames = "link_down, link_up, partition, heal, kill, restart, service_stop, service_start, service_fail, service_recover, impair, reload, weight, flap or clock_jump"

// event reads one [[events]] entry. Whether what it names exists is checked with the rest of
// the topology (check.go).
func (r *reader) event(t *table, duration time.Duration) *Event {
	e := &Event{key: t.Path()}
	at, ok := t.Duration("at", 0, maxDuration)
	if !ok {
		if !t.Has("at") {
			t.Errorf("at", "an event needs its time (like at = \"5s\", from the start of the run)")
		}
	} else if duration > 0 && at >= duration {
		t.Errorf("at", "%v is not before the end of the run (duration %v)", at, duration)
	}
	e.At = at
	s, ok := t.Str("action")
	e.Action = Action(s)
	takes, known := actionKeys[e.Action]
	if !known {
		if ok {
			t.Errorf("action", "unknown action %q (%s)", s, actionNames)
		} else if !t.Has("action") {
			t.Errorf("action", "an event needs an action (%s)", actionNames)
		}
		t.Allow(sortedKeys(t.M)...)
		return nil
	}
	// A key another action takes is refused by name, not as unknown.
	for _, k := range sortedKeys(t.M) {
		if k == "at" || k == "action" || slices.Contains(takes, k) || !anyActionTakes(k) {
			continue
		}
		t.Allow(k)
		t.Errorf(k, "a %s event does not take %s", e.Action, k)
	}
	switch e.Action {
	case ActLinkDown, ActLinkUp, ActImpair:
		e.Link = r.required(t, "link", "the link (its name, or one of its endpoints like \"rs2:eth0\")")
		if e.Action == ActImpair {
			e.AtoB, e.BtoA = r.impairments(t)
		}
	case ActPartition:
		e.Groups = r.groups(t)
	case ActKill, ActRestart, ActReload, ActWeight, ActServiceStop, ActServiceStart, ActServiceFail, ActServiceRecover:
		e.Node = r.required(t, "node", "the node it acts on")
	}
	switch e.Action {
	case ActServiceStop, ActServiceStart, ActServiceFail, ActServiceRecover:
		e.Service = r.required(t, "service", "the service's name (its type when it has none)")
	case ActReload:
		inline, hasInline := t.Str("config")
		path, hasPath := t.Str("config_file")
		switch {
		case hasInline && hasPath:
			t.Errorf("config_file", "a reload takes config (inline) or config_file, not both")
		case hasInline:
			e.Config = r.inlineConfig(t.Key("config"), inline)
		case hasPath:
			e.Config, e.ConfigFile = r.configFile(t.Key("config_file"), path)
		}
		// Neither: the configuration in force is applied again (resolveRepeats).
	case ActWeight:
		if s := r.required(t, "server", "the real server, as its configuration writes it (\"192.168.1.21:8080\")"); s != "" {
			e.Server = r.serverAddr(t.Key("server"), s)
		}
		if w, ok := t.Integer("weight", 0, 65535); ok {
			e.Weight = int32(w)
		} else if !t.Has("weight") {
			t.Errorf("weight", "a weight event needs the new weight (0 quiesces the server)")
		}
		if v, ok := t.Str("virtual_server"); ok {
			e.Virtual = v
		}
	}
	r.faultEvent(t, e)
	t.Done()
	return e
}

func anyActionTakes(k string) bool {
	for _, keys := range actionKeys {
		if slices.Contains(keys, k) {
			return true
		}
	}
	return false
}

// required reads a string key that must be there.
func (r *reader) required(t *table, k, what string) string {
	s, ok := t.Str(k)
	if !ok && !t.Has(k) {
		t.Errorf(k, "is required: %s", what)
	}
	return s
}

// groups reads a partition's groups: an array of arrays of node names.
func (r *reader) groups(t *table) [][]string {
	items, ok := t.List("groups")
	if !ok {
		if !t.Has("groups") {
			t.Errorf("groups", "a partition needs its groups of nodes, like groups = [[\"lb1\", \"c1\"], [\"lb2\"]]")
		}
		return nil
	}
	var out [][]string
	for _, it := range items {
		names, isList := it.V.([]any)
		if !isList {
			r.TypeError(it.Key, "an array of node names", it.V)
			continue
		}
		var g []string
		for j, v := range names {
			s, isStr := v.(string)
			if !isStr {
				r.TypeError(it.Key+"["+strconv.Itoa(j)+"]", "a node name", v)
				continue
			}
			g = append(g, s)
		}
		out = append(out, g)
	}
	return out
}

// serverAddr parses a real server as a configuration writes it: "192.168.1.21:8080",
// "192.168.1.21" (any port), "[2001:db8::21]:80".
func (r *reader) serverAddr(key, s string) netip.AddrPort {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return netip.AddrPortFrom(a, 0)
	}
	r.Errorf(key, "%q is not a real server's address (like \"192.168.1.21:8080\")", s)
	return netip.AddrPort{}
}
