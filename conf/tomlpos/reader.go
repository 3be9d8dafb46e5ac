package tomlpos

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Reader is what every step of reading one document shares: the positions of its keys and
// where its errors go. Reading never stops at an error, so one run reports them all.
type Reader struct {
	Pos *Positions // from Locate

	// Report records an error about key (a path) at pos, the zero Pos if unknown.
	Report func(key string, pos Pos, msg string)

	// Hint, if set, is asked first about an unknown key: what it is called here, say, when it
	// is another tool's name for a known key. Otherwise, or when it returns "", the hint is the
	// known key k is probably a misspelling of.
	Hint func(k string) string
}

// Errorf reports an error about key, at key's position or, for a key that is not in the
// document (a missing one), at that of its nearest enclosing table.
func (r *Reader) Errorf(key, format string, args ...any) {
	r.Report(key, r.Lookup(key), fmt.Sprintf(format, args...))
}

// Lookup returns the position of key or, failing that, of its nearest enclosing table.
func (r *Reader) Lookup(key string) Pos {
	for key != "" {
		if pos, ok := r.Pos.Keys[key]; ok {
			return pos
		}
		key = parentKey(key)
	}
	return Pos{}
}

// Line is where key is, for messages that point back to an earlier definition.
func (r *Reader) Line(key string) int { return r.Lookup(key).Line }

// Table returns a strict reader of m, the table at path ("" for the document).
func (r *Reader) Table(path string, m map[string]any) *Table {
	return &Table{r: r, path: path, M: m}
}

// TypeError reports that key's value v is not want ("an integer").
func (r *Reader) TypeError(key, want string, v any) {
	r.Errorf(key, "must be %s, not %s", want, describe(v))
}

// Integer returns v, the value of key, if it is an integer in [lo, hi].
func (r *Reader) Integer(key string, v any, lo, hi int64) (int64, bool) {
	n, ok := v.(int64)
	if !ok {
		r.TypeError(key, "an integer", v)
		return 0, false
	}
	if n < lo || n > hi {
		r.Errorf(key, "must be between %d and %d, not %d", lo, hi, n)
		return 0, false
	}
	return n, true
}

// Number returns v, the value of key, if it is an integer or a float in [lo, hi].
func (r *Reader) Number(key string, v any, lo, hi float64) (float64, bool) {
	var f float64
	switch v := v.(type) {
	case int64:
		f = float64(v)
	case float64:
		f = v
	default:
		r.TypeError(key, "a number", v)
		return 0, false
	}
	if math.IsNaN(f) || f < lo || f > hi {
		r.Errorf(key, "must be between %v and %v, not %v", lo, hi, f)
		return 0, false
	}
	return f, true
}

// Table reads one TOML table strictly. Each accessor marks its key as known and reports a
// value of the wrong type; Done then reports every key no accessor asked for. Decoders ask
// for every key of their table unconditionally and judge combinations afterwards, so that a
// key misplaced in context gets a precise message rather than "unknown key".
type Table struct {
	M     map[string]any // the decoded table
	r     *Reader
	path  string
	asked []string
}

// Key returns the path of k in t.
func (t *Table) Key(k string) string {
	if t.path == "" {
		return k
	}
	return t.path + "." + k
}

// Errorf reports an error about k in t.
func (t *Table) Errorf(k, format string, args ...any) { t.r.Errorf(t.Key(k), format, args...) }

// Has reports whether k is set in t, whatever its type. It does not mark k as known.
func (t *Table) Has(k string) bool {
	_, ok := t.M[k]
	return ok
}

// Get returns k's raw value, if set, and marks k as known.
func (t *Table) Get(k string) (any, bool) {
	t.asked = append(t.asked, k)
	v, ok := t.M[k]
	return v, ok
}

// Allow marks keys as known without reading them: keys another kind of table reads, so that
// they get a message about their context rather than "unknown key".
func (t *Table) Allow(keys ...string) { t.asked = append(t.asked, keys...) }

// Str returns k's string value.
func (t *Table) Str(k string) (string, bool) {
	v, ok := t.Get(k)
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		t.r.TypeError(t.Key(k), "a string", v)
	}
	return s, ok
}

// Bool returns k's boolean value.
func (t *Table) Bool(k string) (bool, bool) {
	v, ok := t.Get(k)
	if !ok {
		return false, false
	}
	b, ok := v.(bool)
	if !ok {
		t.r.TypeError(t.Key(k), "a boolean (true or false)", v)
	}
	return b, ok
}

// Integer returns k's value if it is an integer in [lo, hi].
func (t *Table) Integer(k string, lo, hi int64) (int64, bool) {
	v, ok := t.Get(k)
	if !ok {
		return 0, false
	}
	return t.r.Integer(t.Key(k), v, lo, hi)
}

// Number returns k's value, an integer or a float, if it is in [lo, hi].
func (t *Table) Number(k string, lo, hi float64) (float64, bool) {
	v, ok := t.Get(k)
	if !ok {
		return 0, false
	}
	return t.r.Number(t.Key(k), v, lo, hi)
}

// Seconds returns k's value, an integer number of seconds in [1, max], as a duration.
func (t *Table) Seconds(k string, max int64) (time.Duration, bool) {
	n, ok := t.Integer(k, 1, max)
	return time.Duration(n) * time.Second, ok
}

// Duration returns k's value, a Go duration string ("5s", "250ms", "1m30s") in [lo, hi].
func (t *Table) Duration(k string, lo, hi time.Duration) (time.Duration, bool) {
	s, ok := t.Str(k)
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Errorf(k, "%q is not a duration (like \"5s\", \"250ms\" or \"1m30s\")", s)
		return 0, false
	}
	if d < lo || d > hi {
		t.Errorf(k, "must be between %v and %v, not %v", lo, hi, d)
		return 0, false
	}
	return d, true
}

// Item is one element of an array value, with its path for messages.
type Item struct {
	Key string
	V   any
}

// List returns the elements of k's array value.
func (t *Table) List(k string) ([]Item, bool) {
	v, ok := t.Get(k)
	if !ok {
		return nil, false
	}
	a, ok := v.([]any)
	if !ok {
		t.r.TypeError(t.Key(k), "an array", v)
		return nil, false
	}
	items := make([]Item, len(a))
	for i, e := range a {
		items[i] = Item{Key: t.Key(k) + "[" + strconv.Itoa(i) + "]", V: e}
	}
	return items, true
}

// StrList returns the elements of k's array of strings; elements of another type are
// reported and left out.
func (t *Table) StrList(k string) ([]Item, bool) {
	items, ok := t.List(k)
	out := items[:0]
	for _, it := range items {
		if _, isStr := it.V.(string); isStr {
			out = append(out, it)
		} else {
			t.r.TypeError(it.Key, "a string", it.V)
		}
	}
	return out, ok
}

// Sub returns k's table value.
func (t *Table) Sub(k string) (*Table, bool) {
	v, ok := t.Get(k)
	if !ok {
		return nil, false
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.r.TypeError(t.Key(k), "a table", v)
		return nil, false
	}
	return t.r.Table(t.Key(k), m), true
}

// Subs returns the elements of k's array of tables, written either as [[k]] sections or as an
// array of inline tables.
func (t *Table) Subs(k string) []*Table {
	v, ok := t.Get(k)
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
				t.r.TypeError(fmt.Sprintf("%s[%d]", t.Key(k), i), "a table", e)
				continue
			}
			ms = append(ms, m)
		}
	default:
		t.r.TypeError(t.Key(k), fmt.Sprintf("an array of tables ([[%s]])", schemaPath(t.Key(k))), v)
		return nil
	}
	subs := make([]*Table, len(ms))
	for i, m := range ms {
		subs[i] = t.r.Table(fmt.Sprintf("%s[%d]", t.Key(k), i), m)
	}
	return subs
}

// Done reports, in key order, the keys of t that no accessor asked for.
func (t *Table) Done() {
	for _, k := range slices.Sorted(maps.Keys(t.M)) {
		if slices.Contains(t.asked, k) {
			continue
		}
		msg := "unknown key"
		if h := t.r.hint(k, t.asked); h != "" {
			msg += " (" + h + ")"
		}
		t.Errorf(k, "%s", msg)
	}
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

// schemaPath drops the element indices of a path, giving the name of a table as a header
// writes it: "virtual_server[0].real_server" → "virtual_server.real_server".
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
	return "a date-time" // the TOML types left: offset, local date-times, dates and times
}

// hint helps with an unknown key: r.Hint's answer, or the known key it is probably a
// misspelling of.
func (r *Reader) hint(k string, known []string) string {
	if r.Hint != nil {
		if h := r.Hint(k); h != "" {
			return h
		}
	}
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

// editDistance is the optimal string alignment distance (Levenshtein plus transpositions,
// the commonest typo) between a and b.
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

// Path is t's own path, "" for the document.
func (t *Table) Path() string { return t.path }
