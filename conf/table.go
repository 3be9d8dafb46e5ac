package conf

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// parser is what every step of reading one file shares: its name, the positions of its keys
// and the errors found so far. Reading never stops at an error, so one run reports them all.
type parser struct {
	file string
	pos  map[string]Pos
	errs Errors
}

// errorf records an error about key (a path), at key's position or, for a key that is not in
// the file (a missing one), at that of its nearest enclosing table.
func (p *parser) errorf(key, format string, args ...any) {
	pos := p.lookup(key)
	p.errs = append(p.errs, &Error{File: p.file, Line: pos.Line, Col: pos.Col, Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) lookup(key string) Pos {
	for key != "" {
		if pos, ok := p.pos[key]; ok {
			return pos
		}
		key = parentKey(key)
	}
	return Pos{}
}

// failed reports whether an error was recorded about key or anything under it. Checks that
// build on a value skip themselves when it failed, so that one mistake gives one error.
func (p *parser) failed(key string) bool {
	for _, e := range p.errs {
		if e.Key == key || strings.HasPrefix(e.Key, key+".") || strings.HasPrefix(e.Key, key+"[") {
			return true
		}
	}
	return false
}

// line is where key is, for messages that point back to an earlier definition.
func (p *parser) line(key string) int { return p.lookup(key).Line }

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

// table reads one TOML table strictly. Each accessor marks its key as known and reports a
// value of the wrong type; done then reports every key no accessor asked for. Decoders ask
// for every key of their table unconditionally and judge combinations afterwards, so that a
// key misplaced in context gets a precise message rather than "unknown key".
type table struct {
	p     *parser
	path  string
	m     map[string]any
	asked []string
}

func (p *parser) table(path string, m map[string]any) *table {
	return &table{p: p, path: path, m: m}
}

// key returns the path of k in t.
func (t *table) key(k string) string {
	if t.path == "" {
		return k
	}
	return t.path + "." + k
}

func (t *table) errorf(k, format string, args ...any) { t.p.errorf(t.key(k), format, args...) }

// present reports whether k is set in t, whatever its type. It does not mark k as known.
func (t *table) present(k string) bool {
	_, ok := t.m[k]
	return ok
}

// get returns k's raw value, if set, and marks k as known.
func (t *table) get(k string) (any, bool) {
	t.asked = append(t.asked, k)
	v, ok := t.m[k]
	return v, ok
}

func (t *table) str(k string) (string, bool) {
	v, ok := t.get(k)
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		t.p.typeError(t.key(k), "a string", v)
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
		t.p.typeError(t.key(k), "a boolean (true or false)", v)
	}
	return b, ok
}

// integer returns k's value if it is an integer in [lo, hi].
func (t *table) integer(k string, lo, hi int64) (int64, bool) {
	v, ok := t.get(k)
	if !ok {
		return 0, false
	}
	return t.p.integer(t.key(k), v, lo, hi)
}

func (p *parser) integer(key string, v any, lo, hi int64) (int64, bool) {
	n, ok := v.(int64)
	if !ok {
		p.typeError(key, "an integer", v)
		return 0, false
	}
	if n < lo || n > hi {
		p.errorf(key, "must be between %d and %d, not %d", lo, hi, n)
		return 0, false
	}
	return n, true
}

// seconds returns k's value, an integer number of seconds in [1, max], as a duration.
func (t *table) seconds(k string, max int64) (time.Duration, bool) {
	n, ok := t.integer(k, 1, max)
	return time.Duration(n) * time.Second, ok
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
		t.p.typeError(t.key(k), "an array", v)
		return nil, false
	}
	items := make([]item, len(a))
	for i, e := range a {
		items[i] = item{key: t.key(k) + "[" + strconv.Itoa(i) + "]", v: e}
	}
	return items, true
}

// strList returns the elements of k's array of strings; elements of another type are
// reported and left out.
func (t *table) strList(k string) ([]item, bool) {
	items, ok := t.list(k)
	out := items[:0]
	for _, it := range items {
		if _, isStr := it.v.(string); isStr {
			out = append(out, it)
		} else {
			t.p.typeError(it.key, "a string", it.v)
		}
	}
	return out, ok
}

// sub returns k's table value.
func (t *table) sub(k string) (*table, bool) {
	v, ok := t.get(k)
	if !ok {
		return nil, false
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.p.typeError(t.key(k), "a table", v)
		return nil, false
	}
	return t.p.table(t.key(k), m), true
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
				t.p.typeError(fmt.Sprintf("%s[%d]", t.key(k), i), "a table", e)
				continue
			}
			ms = append(ms, m)
		}
	default:
		t.p.typeError(t.key(k), fmt.Sprintf("an array of tables ([[%s]])", schemaPath(t.key(k))), v)
		return nil
	}
	subs := make([]*table, len(ms))
	for i, m := range ms {
		subs[i] = t.p.table(fmt.Sprintf("%s[%d]", t.key(k), i), m)
	}
	return subs
}

// done reports the keys of t that no accessor asked for.
func (t *table) done() {
	for k := range t.m {
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

func (p *parser) typeError(key, want string, v any) {
	p.errorf(key, "must be %s, not %s", want, describe(v))
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

// hint helps with an unknown key: the known key it is probably a misspelling of, or what a
// keepalived or ipvsadm name is called here.
func hint(k string, known []string) string {
	switch k {
	case "lvs_sched", "scheduler":
		return "the scheduler is lb_algo"
	case "lvs_method", "method", "forwarding":
		return "the forwarding method is lb_kind"
	case "persistent", "persistence":
		return "persistence is persistence_timeout"
	case "delay_loop", "inhibit_on_failure", "connect_timeout", "connect_port", "retry",
		"nb_get_retry", "delay_before_retry", "notify_up", "notify_down", "TCP_CHECK",
		"HTTP_GET", "SSL_GET", "MISC_CHECK", "DNS_CHECK", "UDP_CHECK", "SMTP_CHECK",
		"BFD_CHECK", "PING_CHECK", "alpha", "omega", "quorum", "hysteresis", "virtualhost",
		"sorry_server_inhibit", "ha_suspend":
		return "health checks are not configurable yet"
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
