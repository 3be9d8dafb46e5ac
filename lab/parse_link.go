package lab

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/uvs-lb/uvs/lab/wire"
)

// link reads one [[links]] entry. Impairment keys at the link's level apply to both
// directions; a_to_b and b_to_a override them for one direction (A is the first endpoint).
func (r *reader) link(t *table, seed int64) *Link {
	l := &Link{key: t.Path(), Seed: seed}
	eps, keys, ok := strs(t, "endpoints")
	switch {
	case !ok && !t.Has("endpoints"):
		t.Errorf("endpoints", "a link needs its two endpoints, like endpoints = [\"lb1:eth0\", \"sw1:p1\"]")
	case ok && len(eps) != 2 && len(eps) == len(keys):
		t.Errorf("endpoints", "a link has two endpoints, not %d", len(eps))
	case len(eps) == 2:
		l.A = r.endpoint(keys[0], eps[0])
		l.B = r.endpoint(keys[1], eps[1])
	}
	if name, ok := t.Str("name"); ok && validName(name) {
		l.Name = name
	} else if ok {
		t.Errorf("name", "%q cannot name a link: %s", name, nameRule)
	} else if l.A.Node != "" && l.B.Node != "" {
		l.Name = l.A.String() + "--" + l.B.String()
	}
	if n, ok := t.Integer("seed", -1<<63, 1<<63-1); ok {
		l.Seed = n
	}
	if n, ok := t.Integer("queue", 1, 1<<20); ok {
		l.Queue = int(n)
	}
	l.AtoB, l.BtoA = r.impairments(t)
	t.Done()
	return l
}

// impairments reads the impairment keys of t for both directions, and its a_to_b and b_to_a
// tables for each.
func (r *reader) impairments(t *table) (atob, btoa wire.Impairment) {
	both := r.impairment(t, wire.Impairment{})
	atob, btoa = both, both
	if st, ok := t.Sub("a_to_b"); ok {
		atob = r.impairment(st, both)
		st.Done()
	}
	if st, ok := t.Sub("b_to_a"); ok {
		btoa = r.impairment(st, both)
		st.Done()
	}
	return atob, btoa
}

// impairment reads delay, jitter, loss, duplicate, reorder, corrupt and rate from t over base.
func (r *reader) impairment(t *table, base wire.Impairment) wire.Impairment {
	im := base
	if d, ok := t.Duration("delay", 0, time.Minute); ok {
		im.Delay = d
	}
	if d, ok := t.Duration("jitter", 0, time.Minute); ok {
		im.Jitter = d
	}
	for _, p := range []struct {
		key string
		v   *float64
	}{{"loss", &im.Loss}, {"duplicate", &im.Duplicate}, {"reorder", &im.Reorder}, {"corrupt", &im.Corrupt}} {
		if f, ok := t.Number(p.key, 0, 100); ok {
			*p.v = f
		}
	}
	if v, ok := t.Get("rate"); ok {
		if bits, ok := r.rate(t.Key("rate"), v); ok {
			im.Rate = bits
		}
	}
	return im
}

// rate reads a bit rate: an integer in bit/s, or a string with tc's units ("100mbit",
// "1.5gbit", "64kbit"); 0 is no limit.
func (r *reader) rate(key string, v any) (uint64, bool) {
	switch v := v.(type) {
	case int64:
		if v < 0 {
			r.Errorf(key, "must not be negative")
			return 0, false
		}
		return uint64(v), true
	case string:
		s := strings.ToLower(strings.TrimSpace(v))
		for _, u := range []struct {
			suffix string
			mult   float64
		}{{"tbit", 1e12}, {"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}, {"bit", 1}} {
			num, ok := strings.CutSuffix(s, u.suffix)
			if !ok {
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
			if err != nil || f < 0 || math.IsInf(f, 0) || f*u.mult > math.MaxUint64/2 {
				break
			}
			return uint64(f * u.mult), true
		}
		r.Errorf(key, "%q is not a rate (like \"100mbit\", \"1gbit\", \"64kbit\", or an integer in bit/s)", v)
		return 0, false
	}
	r.TypeError(key, "a rate string or an integer in bit/s", v)
	return 0, false
}

// endpoint parses "node:port".
func (r *reader) endpoint(key, s string) Endpoint {
	node, port, ok := strings.Cut(s, ":")
	if !ok || !validName(node) || !validName(port) {
		r.Errorf(key, "%q is not NODE:PORT (like \"lb1:eth0\")", s)
		return Endpoint{}
	}
	return Endpoint{Node: node, Port: port}
}
