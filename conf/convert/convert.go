package convert

import (
	"fmt"
	"sort"
	"strings"
)

// Note is a directive that was not converted, with where it was.
type Note struct {
	File      string
	Line      int
	Directive string
	Reason    string
}

// String formats the note as "keepalived.conf:12: lvs_sync_daemon_interface: not supported
// (reason)".
func (n Note) String() string {
	var b strings.Builder
	if n.File != "" {
		b.WriteString(n.File)
		b.WriteByte(':')
		if n.Line > 0 {
			fmt.Fprintf(&b, "%d:", n.Line)
		}
		b.WriteByte(' ')
	}
	b.WriteString(n.Directive)
	b.WriteString(": not supported")
	if n.Reason != "" {
		b.WriteString(" (")
		b.WriteString(n.Reason)
		b.WriteString(")")
	}
	return b.String()
}

// Result is the TOML text and what could not be converted.
type Result struct {
	TOML        []byte
	Unsupported []Note
}

// notes collects the notes of one conversion. Files are numbered in the order they are first
// read, so that sorting keeps an included file's notes where the include was.
type notes struct {
	list  []Note
	order map[string]int
}

func (ns *notes) add(file string, line int, directive, reason string) {
	if ns.order == nil {
		ns.order = map[string]int{}
	}
	if _, ok := ns.order[file]; !ok {
		ns.order[file] = len(ns.order)
	}
	ns.list = append(ns.list, Note{File: file, Line: line, Directive: directive, Reason: reason})
}

// file registers a file name, so that its notes sort in reading order even before it has one.
func (ns *notes) file(name string) {
	if ns.order == nil {
		ns.order = map[string]int{}
	}
	if _, ok := ns.order[name]; !ok {
		ns.order[name] = len(ns.order)
	}
}

// sorted returns the notes in file order, then line order; notes of one line keep the order
// they were made in.
func (ns *notes) sorted() []Note {
	out := append([]Note(nil), ns.list...)
	sort.SliceStable(out, func(i, j int) bool {
		fi, fj := ns.order[out[i].File], ns.order[out[j].File]
		if fi != fj {
			return fi < fj
		}
		return out[i].Line < out[j].Line
	})
	return out
}

// directive renders the words of a source line for a note, shortened when long: the note
// must say which line it is about, not repeat it.
func directive(words []string) string {
	s := strings.Join(words, " ")
	const max = 60
	if r := []rune(s); len(r) > max {
		s = string(r[:max-1]) + "…"
	}
	return s
}
