package conf

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/uvs-lb/uvs/conf/tomlpos"
)

// Pos is a position in a configuration file: 1-based line and byte column (as Go's own
// tools count them). The zero Pos means unknown.
type Pos = tomlpos.Pos

// Error is one problem in a configuration file.
type Error struct {
	File string
	Line int // 1-based; 0 when the position is unknown
	Col  int // 1-based byte column
	// Key is the path of the key at fault, with array elements indexed from 0:
	// "virtual_server[1].real_server[0].address". It is empty for TOML syntax errors that
	// happen outside any key.
	Key string
	Msg string
}

// Error formats e as "file:line:col: key: msg", the form editors and CI logs link to.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a file, in file order. Parse and Load return it as their
// error (never empty); errors.As(err, &errs) gets it back.
type Errors []*Error

// Error prints one error per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// sort orders es by position; errors of unknown position go last. The sort is stable so
// that several errors about one key keep the order they were found in.
func (es Errors) sort() {
	slices.SortStableFunc(es, func(a, b *Error) int {
		if (a.Line == 0) != (b.Line == 0) {
			if a.Line == 0 {
				return 1
			}
			return -1
		}
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
}
