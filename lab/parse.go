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
	r := &reader{file: name, src: data, pos: locate(data)}
	t := r.topology(r.table("", root))
	if len(r.errs) > 0 {
		r.sortErrors()
		return nil, r.errs
	}
	return t, nil
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
	if s, ok := t.str("name"); ok {
		topo.Name = s
	} else {
		topo.Name = strings.TrimSuffix(filepath.Base(r.file), ".toml")
	}
	if d, ok := t.duration("duration", time.Second, maxDuration); ok {
		topo.Duration = d
	} else if !t.has("duration") {
		t.errorf("duration", "the run's duration is required (like duration = \"20s\")")
	}
	topo.Bucket = defaultBucket
	if d, ok := t.duration("bucket", minBucket, maxDuration); ok {
		topo.Bucket = d
	}
	seed := int64(1)
	if n, ok := t.integer("seed", -1<<63, 1<<63-1); ok {
		seed = n
	}
	topo.Requires = r.requires(t)
	if nt, ok := t.sub("nodes"); ok {
		for _, name := range r.inFileOrder(nt) {
			if n := r.node(nt, name); n != nil {
				topo.Nodes = append(topo.Nodes, n)
			}
		}
		nt.done()
	}
	for i, lt := range t.subs("links") {
		topo.Links = append(topo.Links, r.link(lt, seed+int64(i)))
	}
	for _, et := range t.subs("events") {
		if e := r.event(et, topo.Duration); e != nil {
			topo.Events = append(topo.Events, e)
		}
	}
	for _, xt := range t.subs("expect") {
		if x := r.expectation(xt); x != nil {
			topo.Expect = append(topo.Expect, x)
		}
	}
	t.done()
	// The timeline runs in time order; events at the same time in file order.
	slices.SortStableFunc(topo.Events, func(a, b *Event) int { return cmp.Compare(a.At, b.At) })
	r.check(topo)
	return topo
}

// inFileOrder returns the keys of t in the order the file writes them.
func (r *reader) inFileOrder(t *table) []string {
	keys := sortedKeys(t.m)
	slices.SortStableFunc(keys, func(a, b string) int {
		pa, pb := r.lookup(t.key(a)), r.lookup(t.key(b))
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
