package lab

import (
	"bytes"
	"cmp"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/uvs-lb/uvs/conf"
	"github.com/uvs-lb/uvs/conf/tomlpos"
)

// Load reads and checks the topology file at path, and the appliance configuration files it
// names (relative to its directory). A problem in the files is a conf.Errors, every problem
// at once, each as "file:line:col: key: message"; other errors (the file cannot be read) are
// returned as they are.
func Load(path string) (*Topology, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse reads and checks a topology; name is the file name errors carry, and the directory
// configuration files are looked up in.
func Parse(name string, data []byte) (*Topology, error) {
	var root map[string]any
	if _, err := toml.Decode(string(data), &root); err != nil {
		return nil, conf.Errors{syntaxError(name, data, err)}
	}
	r := newReader(name, data)
	t := r.topology(r.Table("", root))
	if len(r.errs) > 0 {
		r.sortErrors()
		return nil, r.errs
	}
	return t, nil
}

// reader is what every step of reading one file shares: its name, its text, the strict reader
// of its tables (which knows the positions of its keys and where values start) and the errors
// found so far. The topology file is read as conf reads an appliance's, with tomlpos.
type reader struct {
	*tomlpos.Reader
	file string
	src  []byte
	errs conf.Errors
}

func newReader(file string, src []byte) *reader {
	r := &reader{file: file, src: src}
	r.Reader = &tomlpos.Reader{
		Pos: tomlpos.Locate(src),
		Report: func(key string, pos tomlpos.Pos, msg string) {
			r.errs = append(r.errs, &conf.Error{File: r.file, Line: pos.Line, Col: pos.Col, Key: key, Msg: msg})
		},
	}
	return r
}

// table reads one TOML table strictly: see tomlpos.Table.
type table = tomlpos.Table

// item is one element of an array value, with its path for messages.
type item = tomlpos.Item

// strs returns the strings of t's array of strings k, and the path of each; elements of
// another type are reported and left out.
func strs(t *table, k string) (vals, keys []string, ok bool) {
	items, ok := t.StrList(k)
	for _, it := range items {
		vals, keys = append(vals, it.V.(string)), append(keys, it.Key)
	}
	return vals, keys, ok
}

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

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Bounds of the top-level durations: a lab runs in real time, on one machine.
const (
	maxDuration   = 24 * time.Hour
	defaultBucket = time.Second
	minBucket     = 10 * time.Millisecond
)

// topology reads the document: nodes first (links name their ports), then links (events
// name them), then events and expectations, then the checks across all of them.
func (r *reader) topology(t *table) *Topology {
	topo := &Topology{File: r.file, src: r}
	if s, ok := t.Str("name"); ok {
		topo.Name = s
	} else {
		topo.Name = strings.TrimSuffix(filepath.Base(r.file), ".toml")
	}
	if d, ok := t.Duration("duration", time.Second, maxDuration); ok {
		topo.Duration = d
	} else if !t.Has("duration") {
		t.Errorf("duration", "the run's duration is required (like duration = \"20s\")")
	}
	topo.Bucket = defaultBucket
	if d, ok := t.Duration("bucket", minBucket, maxDuration); ok {
		topo.Bucket = d
	}
	seed := int64(1)
	if n, ok := t.Integer("seed", -1<<63, 1<<63-1); ok {
		seed = n
	}
	topo.Requires = r.requires(t)
	if nt, ok := t.Sub("nodes"); ok {
		for _, name := range r.inFileOrder(nt) {
			if n := r.node(nt, name); n != nil {
				topo.Nodes = append(topo.Nodes, n)
			}
		}
		nt.Done()
	}
	for i, lt := range t.Subs("links") {
		topo.Links = append(topo.Links, r.link(lt, seed+int64(i)))
	}
	for _, et := range t.Subs("events") {
		if e := r.event(et, topo.Duration); e != nil {
			topo.Events = append(topo.Events, r.expand(e, topo.Duration)...)
		}
	}
	for _, xt := range t.Subs("expect") {
		if x := r.expectation(xt); x != nil {
			topo.Expect = append(topo.Expect, x)
		}
	}
	t.Done()
	// The timeline runs in time order; events at the same time in file order.
	slices.SortStableFunc(topo.Events, func(a, b *Event) int { return cmp.Compare(a.At, b.At) })
	resolveRepeats(topo)
	r.check(topo)
	return topo
}

// inFileOrder returns the keys of t in the order the file writes them.
func (r *reader) inFileOrder(t *table) []string {
	keys := sortedKeys(t.M)
	slices.SortStableFunc(keys, func(a, b string) int {
		pa, pb := r.Lookup(t.Key(a)), r.Lookup(t.Key(b))
		if pa.Line != pb.Line {
			return pa.Line - pb.Line
		}
		return pa.Col - pb.Col
	})
	return keys
}

// validName reports whether s can name a node, port, link, service or load: it appears in
// "node:port" endpoints and "client/load" names, and in file names (pcaps).
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

const nameRule = "names are 1 to 64 letters, digits, '.', '_' or '-'"

// syntaxError converts the TOML parser's error; its position is the offending character
// (as conf does it: toml v1.6 puts an error at a line's first byte at the end of the line
// before, but its byte offset is right).
func syntaxError(name string, data []byte, err error) *conf.Error {
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		return &conf.Error{File: name, Msg: err.Error()}
	}
	line, col := pe.Position.Line, pe.Position.Col
	if off := pe.Position.Start; off > 0 && off <= len(data) {
		line = 1 + bytes.Count(data[:off], []byte("\n"))
		col = off - bytes.LastIndexByte(data[:off], '\n')
	}
	msg := strings.TrimSuffix(pe.Message, ".")
	if len(msg) > 1 && msg[0] >= 'A' && msg[0] <= 'Z' && !(msg[1] >= 'A' && msg[1] <= 'Z') {
		msg = strings.ToLower(msg[:1]) + msg[1:]
	}
	return &conf.Error{File: name, Line: line, Col: col, Key: pe.LastKey, Msg: "syntax error: " + msg}
}
