package lab

// The strict reading of a topology file, as conf reads an appliance's (conf/table.go): the
// document is decoded into a generic tree and read key by key, each accessor marking its key
// as known and reporting a value of the wrong type, so that one run reports every mistake with
// its position, and every key nobody asked for is an error.

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/uvs-lb/uvs/conf"
)

// reader is what every step of reading one file shares: its name, its text, the positions of
// its keys and the errors found so far.
type reader struct {
	file string
	src  []byte
	pos  *positions
	errs conf.Errors
}

// errorf records an error about key (a path), at key's position or, for a key that is not in
// the file (a missing one), at that of its nearest enclosing table.
func (r *reader) errorf(key, format string, args ...any) {
	pos := r.lookup(key)
	r.errs = append(r.errs, &conf.Error{File: r.file, Line: pos.Line, Col: pos.Col, Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (r *reader) lookup(key string) conf.Pos {
	for key != "" {
		if pos, ok := r.pos.keys[key]; ok {
			return pos
		}
		key = parentKey(key)
	}
	return conf.Pos{}
}

// line is where key is, for messages that point back to an earlier definition.
func (r *reader) line(key string) int { return r.lookup(key).Line }

// sortErrors orders the errors of the topology file by position, then those of the appliance
// configuration files it names, each file in its own order.
func (r *reader) sortErrors() {
	slices.SortStableFunc(r.errs, func(a, b *conf.Error) int {
		if (a.File == r.file) != (b.File == r.file) {
			if a.File == r.file {
				return -1
			}
			return 1
		}
		if a.File != b.File {
			return 0
		}
		if (a.Line == 0) != (b.Line == 0) { // errors of unknown position go last
			return cmp.Compare(b.Line, a.Line)
		}
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
}

// parentKey strips the last element of a path: "a[1].b" → "a[1]" → "a".
func parentKey(key string) string {
	if strings.HasSuffix(key, "]") {
		return key[:strings.LastIndexByte(key, '[')]
	}
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		return key[:i]
	}
	return ""
}

// table reads one TOML table strictly. Each accessor marks its key as known; done reports
// every key no accessor asked for.
type table struct {
	r     *reader
	path  string
	m     map[string]any
	asked []string
}

func (r *reader) table(path string, m map[string]any) *table {
	return &table{r: r, path: path, m: m}
}

// key returns the path of k in t.
func (t *table) key(k string) string {
	if t.path == "" {
		return k
	}
	return t.path + "." + k
}

func (t *table) errorf(k, format string, args ...any) { t.r.errorf(t.key(k), format, args...) }

// has reports whether k is set in t, whatever its type. It does not mark k as known.
func (t *table) has(k string) bool {
	_, ok := t.m[k]
	return ok
}

// get returns k's raw value, if set, and marks k as known.
func (t *table) get(k string) (any, bool) {
	t.asked = append(t.asked, k)
	v, ok := t.m[k]
	return v, ok
}

// allow marks keys as known without reading them: keys another kind of table reads, so that
// they get a message about their context rather than "unknown key".
func (t *table) allow(keys ...string) { t.asked = append(t.asked, keys...) }

func (t *table) str(k string) (string, bool) {
	v, ok := t.get(k)
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		t.r.typeError(t.key(k), "a string", v)
	}
	return s, ok
}

func (t *table) boolean(k string) (bool, bool) {
	v, ok := t.get(k)
	if !ok {
		return false, false
	}
	b, ok := v.(bool)
	if !ok {
		t.r.typeError(t.key(k), "a boolean (true or false)", v)
	}
	return b, ok
}

// integer returns k's value if it is an integer in [lo, hi].
func (t *table) integer(k string, lo, hi int64) (int64, bool) {
	v, ok := t.get(k)
	if !ok {
		return 0, false
	}
	return t.r.integer(t.key(k), v, lo, hi)
}

func (r *reader) integer(key string, v any, lo, hi int64) (int64, bool) {
	n, ok := v.(int64)
	if !ok {
		r.typeError(key, "an integer", v)
		return 0, false
	}
	if n < lo || n > hi {
		r.errorf(key, "must be between %d and %d, not %d", lo, hi, n)
		return 0, false
	}
	return n, true
}

// number returns k's value, an integer or a float, if it is in [lo, hi].
func (t *table) number(k string, lo, hi float64) (float64, bool) {
	v, ok := t.get(k)
	if !ok {
		return 0, false
	}
	return t.r.number(t.key(k), v, lo, hi)
}

func (r *reader) number(key string, v any, lo, hi float64) (float64, bool) {
	var f float64
	switch v := v.(type) {
	case int64:
		f = float64(v)
	case float64:
		f = v
	default:
		r.typeError(key, "a number", v)
		return 0, false
	}
	if math.IsNaN(f) || f < lo || f > hi {
		r.errorf(key, "must be between %v and %v, not %v", lo, hi, f)
		return 0, false
	}
	return f, true
}

// duration returns k's value, a Go duration string ("5s", "250ms", "1m30s") in [lo, hi].
func (t *table) duration(k string, lo, hi time.Duration) (time.Duration, bool) {
	s, ok := t.str(k)
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.errorf(k, "%q is not a duration (like \"5s\", \"250ms\" or \"1m30s\")", s)
		return 0, false
	}
	if d < lo || d > hi {
		t.errorf(k, "must be between %v and %v, not %v", lo, hi, d)
		return 0, false
	}
	return d, true
}

// item is one element of an array value, with its path for messages.
type item struct {
	key string
	v   any
}

// list returns the elements of k's array value.
func (t *table) list(k string) ([]item, bool) {
	v, ok := t.get(k)
	if !ok {
		return nil, false
	}
	a, ok := v.([]any)
	if !ok {
		t.r.typeError(t.key(k), "an array", v)
		return nil, false
	}
	items := make([]item, len(a))
	for i, e := range a {
		items[i] = item{key: t.key(k) + "[" + strconv.Itoa(i) + "]", v: e}
	}
	return items, true
}

// strs returns k's array of strings with the path of each; elements of another type are
// reported and left out.
func (t *table) strs(k string) ([]string, []string, bool) {
	items, ok := t.list(k)
	var vals, keys []string
	for _, it := range items {
		if s, isStr := it.v.(string); isStr {
			vals, keys = append(vals, s), append(keys, it.key)
		} else {
			t.r.typeError(it.key, "a string", it.v)
		}
	}
	return vals, keys, ok
}

// sub returns k's table value.
func (t *table) sub(k string) (*table, bool) {
	v, ok := t.get(k)
	if !ok {
		return nil, false
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.r.typeError(t.key(k), "a table", v)
		return nil, false
	}
	return t.r.table(t.key(k), m), true
}

// subs returns the elements of k's array of tables, written either as [[k]] sections or as an
// array of inline tables.
func (t *table) subs(k string) []*table {
	v, ok := t.get(k)
	if !ok {
		return nil
	}
	var ms []map[string]any
	switch v := v.(type) {
	case []map[string]any:
		ms = v
	case []any:
		for i, e := range v {
			m, ok := e.(map[string]any)
			if !ok {
				t.r.typeError(fmt.Sprintf("%s[%d]", t.key(k), i), "a table", e)
				continue
			}
			ms = append(ms, m)
		}
	default:
		t.r.typeError(t.key(k), fmt.Sprintf("an array of tables ([[%s]])", schemaPath(t.key(k))), v)
		return nil
	}
	subs := make([]*table, len(ms))
	for i, m := range ms {
		subs[i] = t.r.table(fmt.Sprintf("%s[%d]", t.key(k), i), m)
	}
	return subs
}

// done reports the keys of t that no accessor asked for.
func (t *table) done() {
	for _, k := range sortedKeys(t.m) {
		if slices.Contains(t.asked, k) {
			continue
		}
		msg := "unknown key"
		if h := hint(k, t.asked); h != "" {
			msg += " (" + h + ")"
		}
		t.errorf(k, "%s", msg)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (r *reader) typeError(key, want string, v any) {
	r.errorf(key, "must be %s, not %s", want, describe(v))
}

// schemaPath drops the element indices of a path: "nodes.c1.load[0]" → "nodes.c1.load".
func schemaPath(key string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(key, '[')
		if i < 0 {
			return b.String() + key
		}
		b.WriteString(key[:i])
		j := strings.IndexByte(key[i:], ']')
		if j < 0 {
			return b.String()
		}
		key = key[i+j+1:]
	}
}

// describe names a decoded TOML value's type, with the value when it is short.
func describe(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("the string %q", v)
	case int64:
		return fmt.Sprintf("the integer %d", v)
	case float64:
		return fmt.Sprintf("the float %v", v)
	case bool:
		return fmt.Sprintf("the boolean %v", v)
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	case []map[string]any:
		return "an array of tables"
	}
	return "a date-time"
}

// hint helps with an unknown key: the known key it is probably a misspelling of.
func hint(k string, known []string) string {
	best, bestDist := "", 3 // suggest only close matches: at most two edits
	for _, c := range known {
		if d := editDistance(k, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best != "" {
		return "did you mean " + best + "?"
	}
	return ""
}

// editDistance is the optimal string alignment distance (Levenshtein plus transpositions)
// between a and b.
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
