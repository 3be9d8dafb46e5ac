package convert

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/uvs-lb/uvs/internal/tomlstr"
)

// value is a TOML value, already encoded.
type value string

// kv is one key of a table, with an optional comment written after it.
type kv struct {
	key     string
	val     value
	comment string
}

// table is one TOML table as it will be written: comment lines, the header ([name] or
// [[name]]), its keys in order, then its subtables.
type table struct {
	name     string
	array    bool
	comments []string
	keys     []kv
	subs     []*table
}

func newTable(name string, array bool) *table { return &table{name: name, array: array} }

// set adds key, or replaces it if the table has it already (keepalived lets a later line
// override an earlier one).
func (t *table) set(key string, v value, comment ...string) {
	c := strings.Join(comment, " ")
	for i := range t.keys {
		if t.keys[i].key == key {
			t.keys[i] = kv{key, v, c}
			return
		}
	}
	t.keys = append(t.keys, kv{key, v, c})
}

func (t *table) del(key string) {
	for i := range t.keys {
		if t.keys[i].key == key {
			t.keys = append(t.keys[:i], t.keys[i+1:]...)
			return
		}
	}
}

func (t *table) get(key string) (value, bool) {
	for _, k := range t.keys {
		if k.key == key {
			return k.val, true
		}
	}
	return "", false
}

func (t *table) has(key string) bool {
	_, ok := t.get(key)
	return ok
}

// sub appends a subtable called name under t ("real_server" under "virtual_server").
func (t *table) sub(name string, array bool) *table {
	s := newTable(t.name+"."+name, array)
	t.subs = append(t.subs, s)
	return s
}

func (t *table) note(line string) { t.comments = append(t.comments, line) }

// clone copies t deeply (virtual_server_group expansion writes one service per entry).
func (t *table) clone() *table {
	c := &table{name: t.name, array: t.array}
	c.comments = append([]string(nil), t.comments...)
	c.keys = append([]kv(nil), t.keys...)
	for _, s := range t.subs {
		c.subs = append(c.subs, s.clone())
	}
	return c
}

// write writes t and its subtables.
func (t *table) write(b *strings.Builder) {
	for _, c := range t.comments {
		b.WriteString(commentLine(c))
	}
	if t.array {
		fmt.Fprintf(b, "[[%s]]\n", t.name)
	} else {
		fmt.Fprintf(b, "[%s]\n", t.name)
	}
	width := 0
	for _, k := range t.keys {
		if k.comment != "" && !strings.Contains(string(k.val), "\n") {
			width = max(width, len(k.key)+3+utf8.RuneCountInString(string(k.val)))
		}
	}
	width = min(width, 48)
	for _, k := range t.keys {
		line := k.key + " = " + string(k.val)
		if k.comment != "" {
			if strings.Contains(line, "\n") {
				// A multi-line array carries its comments on its elements.
				b.WriteString(line)
			} else {
				pad := max(width-utf8.RuneCountInString(line), 0)
				b.WriteString(line + strings.Repeat(" ", pad) + "  # " + commentText(k.comment))
			}
		} else {
			b.WriteString(line)
		}
		b.WriteByte('\n')
	}
	for _, s := range t.subs {
		b.WriteByte('\n')
		s.write(b)
	}
}

func commentLine(c string) string {
	if c == "" {
		return "#\n"
	}
	return "# " + commentText(c) + "\n"
}

// commentText makes text from the source safe in a TOML comment: TOML forbids control
// characters (but tab) and invalid UTF-8 there, and a line break would end the comment and
// let the rest be read as TOML. They are written as Go escapes (\x1e, \n, \ufffd).
func commentText(c string) string {
	if !strings.ContainsFunc(c, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f || r == utf8.RuneError }) {
		return c
	}
	var b strings.Builder
	for i, r := range c {
		switch {
		case r == utf8.RuneError && invalidAt(c, i):
			fmt.Fprintf(&b, `\x%02x`, c[i])
		case r < 0x20 && r != '\t' || r == 0x7f:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// invalidAt reports whether s holds a byte that is not UTF-8 at i (rather than a U+FFFD).
func invalidAt(s string, i int) bool {
	_, size := utf8.DecodeRuneInString(s[i:])
	return size == 1
}

// The value encoders.

func vStr(s string) value { return value(tomlQuote(s)) }

func vInt(n int64) value { return value(strconv.FormatInt(n, 10)) }

func vBool(b bool) value { return value(strconv.FormatBool(b)) }

// vMicros writes a time in microseconds as keepalived's <TIMER>, a number of seconds: an
// integer when whole, a decimal otherwise.
func vMicros(us int64) value {
	if us%1e6 == 0 {
		return vInt(us / 1e6)
	}
	s := strconv.FormatFloat(float64(us)/1e6, 'f', 6, 64)
	s = strings.TrimRight(s, "0")
	return value(s)
}

func vArr(vs ...value) value {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return value("[" + strings.Join(s, ", ") + "]")
}

// vArrLines writes an array one element a line, each with its own comment.
func vArrLines(vs []value, comments []string) value {
	var b strings.Builder
	b.WriteString("[\n")
	for i, v := range vs {
		b.WriteString("  " + string(v) + ",")
		if i < len(comments) && comments[i] != "" {
			b.WriteString(" # " + commentText(comments[i]))
		}
		b.WriteByte('\n')
	}
	b.WriteString("]")
	return value(b.String())
}

func vInline(kvs ...kv) value {
	s := make([]string, len(kvs))
	for i, k := range kvs {
		s[i] = k.key + " = " + string(k.val)
	}
	return value("{ " + strings.Join(s, ", ") + " }")
}

// tomlQuote writes s as a TOML basic string. strconv.Quote will not do: TOML has no \x, \a
// or \v escapes.
func tomlQuote(s string) string { return tomlstr.Quote(s, true) }

// quoteArgs joins the words of a command into a command line that uvs splits back into the
// same words (internal/cmdline's syntax: blanks separate words, '...' quotes everything).
func quoteArgs(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = quoteArg(a)
	}
	return strings.Join(out, " ")
}

func quoteArg(a string) string {
	if a != "" && !strings.ContainsFunc(a, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./_-", r))
	}) {
		return a
	}
	return "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
}
