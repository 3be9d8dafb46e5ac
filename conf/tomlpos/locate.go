// Package tomlpos reads TOML documents strictly and with positions, for conf (an appliance's
// configuration) and lab (a topology file). BurntSushi/toml v1.6 keeps key positions private,
// and keys them by name without array indices, so Locate scans for them itself; a Reader then
// walks the generically decoded document table by table, each accessor marking its key as
// known and reporting a value of the wrong type, so that one run reports every mistake at its
// position and every key nobody asked for is an error.
package tomlpos

import (
	"bytes"
	"sort"
	"strconv"
	"strings"
)

// Pos is a position in a TOML file: 1-based line and byte column (as Go's own tools count
// them). The zero Pos means unknown.
type Pos struct{ Line, Col int }

// Positions are what Locate found in a document, by path: "ipvs.timeouts.tcp",
// "virtual_server[1]", "nodes.rs1.interface[0].addresses[1]".
type Positions struct {
	Keys   map[string]Pos // every key, table header and array element
	Values map[string]int // the byte offset at which each key's value starts
}

// Locate returns the positions of src. src must already have parsed as TOML: the scanner only
// needs to tell keys, headers and values apart, not to validate them.
func Locate(src []byte) *Positions {
	l := &locator{src: src, pos: make(map[string]Pos), vals: make(map[string]int), arrays: make(map[string]int)}
	l.lines = append(l.lines, 0)
	for i, c := range src {
		if c == '\n' {
			l.lines = append(l.lines, i+1)
		}
	}
	table := ""
	for l.i < len(src) {
		l.skipSpace()
		switch c := l.peek(); {
		case c == 0:
			return &Positions{Keys: l.pos, Values: l.vals}
		case c == '#':
			l.skipComment()
		case c == '[':
			start := l.i
			double := l.has("[[")
			l.i += 1 + b2i(double)
			keys := l.key()
			l.skipBlank()
			l.i += 1 + b2i(double)
			table = l.resolve("", keys, double)
			l.set(table, start)
		default:
			if !l.keyValue(table) {
				l.skipLine() // not TOML after all; keep scanning rather than loop
			}
		}
	}
	return &Positions{Keys: l.pos, Values: l.vals}
}

type locator struct {
	src    []byte
	i      int
	lines  []int // offset of the first byte of each line
	pos    map[string]Pos
	vals   map[string]int // byte offset of each key's value
	arrays map[string]int // number of elements of each array of tables, by resolved path
}

// keyValue reads "key = value" in table and records the key and what its value holds.
func (l *locator) keyValue(table string) bool {
	start := l.i
	keys := l.key()
	if len(keys) == 0 {
		return false
	}
	path := l.resolve(table, keys, false)
	l.set(path, start)
	l.skipBlank()
	if l.peek() != '=' {
		return false
	}
	l.i++
	l.skipBlank()
	l.vals[path] = l.i
	l.value(path)
	return true
}

// resolve turns the dotted key keys, relative to base, into a path. A segment naming an array
// of tables means its latest element, as in TOML; with newElem the last segment starts a new
// element ([[header]]).
func (l *locator) resolve(base string, keys []string, newElem bool) string {
	p := base
	for j, k := range keys {
		if p != "" {
			p += "."
		}
		p += k
		if newElem && j == len(keys)-1 {
			n := l.arrays[p]
			l.arrays[p] = n + 1
			return p + "[" + strconv.Itoa(n) + "]"
		}
		if n, ok := l.arrays[p]; ok {
			p += "[" + strconv.Itoa(n-1) + "]"
		}
	}
	return p
}

func (l *locator) set(path string, off int) {
	n := sort.Search(len(l.lines), func(k int) bool { return l.lines[k] > off })
	l.pos[path] = Pos{Line: n, Col: off - l.lines[n-1] + 1}
}

// key reads a dotted key of bare, "basic" and 'literal' segments.
func (l *locator) key() []string {
	var keys []string
	for {
		l.skipBlank()
		switch c := l.peek(); {
		case c == '"':
			start := l.i
			l.basicString()
			s, err := strconv.Unquote(string(l.src[start:l.i]))
			if err != nil { // a TOML escape Go lacks (\e); the raw text will do
				s = string(l.src[start+1 : l.i-1])
			}
			keys = append(keys, s)
		case c == '\'':
			start := l.i
			l.literalString()
			keys = append(keys, string(l.src[start+1:l.i-1]))
		default:
			start := l.i
			for isBare(l.peek()) {
				l.i++
			}
			if l.i == start {
				return keys
			}
			keys = append(keys, string(l.src[start:l.i]))
		}
		l.skipBlank()
		if l.peek() != '.' {
			return keys
		}
		l.i++
	}
}

// value skips one value, recording the elements of arrays and the keys of inline tables
// under path.
func (l *locator) value(path string) {
	switch c := l.peek(); {
	case l.has(`"""`):
		l.multiline(`"""`, true)
	case l.has(`'''`):
		l.multiline(`'''`, false)
	case c == '"':
		l.basicString()
	case c == '\'':
		l.literalString()
	case c == '[':
		l.i++
		for n := 0; ; n++ {
			l.skipSpaceAndComments()
			if c := l.peek(); c == ']' || c == 0 {
				l.i++
				return
			}
			elem := path + "[" + strconv.Itoa(n) + "]"
			l.set(elem, l.i)
			l.value(elem)
			l.skipSpaceAndComments()
			if l.peek() == ',' {
				l.i++
			}
		}
	case c == '{':
		l.i++
		for {
			l.skipSpaceAndComments()
			if c := l.peek(); c == '}' || c == 0 {
				l.i++
				return
			}
			if !l.keyValue(path) {
				l.i++ // cannot happen in valid TOML; guarantees progress
			}
			l.skipSpaceAndComments()
			if l.peek() == ',' {
				l.i++
			}
		}
	default: // number, boolean, date-time (which may contain a space)
		for c := l.peek(); c != 0 && !strings.ContainsRune(",]}#\r\n", rune(c)); c = l.peek() {
			l.i++
		}
	}
}

func (l *locator) basicString() {
	for l.i++; l.i < len(l.src); l.i++ {
		switch l.src[l.i] {
		case '\\':
			l.i++
		case '"':
			l.i++
			return
		}
	}
}

func (l *locator) literalString() {
	end := bytes.IndexByte(l.src[l.i+1:], '\'')
	if end < 0 {
		l.i = len(l.src)
		return
	}
	l.i += end + 2
}

// multiline skips a multi-line string delimited by delim. Up to two more quotes may close it
// (`""""` ends a string whose last character is a quote).
func (l *locator) multiline(delim string, escapes bool) {
	for l.i += 3; l.i < len(l.src); l.i++ {
		if escapes && l.src[l.i] == '\\' {
			l.i++
			continue
		}
		if l.has(delim) {
			l.i += 3
			for n := 0; n < 2 && l.peek() == delim[0]; n++ {
				l.i++
			}
			return
		}
	}
}

func (l *locator) peek() byte {
	if l.i < len(l.src) {
		return l.src[l.i]
	}
	return 0
}

func (l *locator) has(s string) bool { return bytes.HasPrefix(l.src[l.i:], []byte(s)) }

// skipBlank skips spaces and tabs.
func (l *locator) skipBlank() {
	for c := l.peek(); c == ' ' || c == '\t'; c = l.peek() {
		l.i++
	}
}

// skipSpace skips blanks and line ends.
func (l *locator) skipSpace() {
	for c := l.peek(); c == ' ' || c == '\t' || c == '\r' || c == '\n'; c = l.peek() {
		l.i++
	}
}

func (l *locator) skipSpaceAndComments() {
	for l.skipSpace(); l.peek() == '#'; l.skipSpace() {
		l.skipComment()
	}
}

func (l *locator) skipComment() { l.skipLine() }

func (l *locator) skipLine() {
	for c := l.peek(); c != 0 && c != '\n'; c = l.peek() {
		l.i++
	}
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
