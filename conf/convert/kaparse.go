package convert

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// keepalived's configuration syntax (lib/parser.c, keepalived.conf(5)), as read here:
//
//   - a line is cut at the first '#' or '!' outside double quotes; "\#" and "\!" outside
//     quotes are those characters;
//   - a line is cut again before and after every '{' and '}' outside double quotes, so that
//     "real_server 10.0.0.1 80 { weight 1 }" is four statements: the keyword line, "{",
//     "weight 1" and "}". A statement followed by "{" owns the block up to its "}";
//   - words are separated by blanks; a word beginning with '"' runs to the next '"', blanks
//     included, without the quotes and without escapes;
//   - script keywords (notify_*, misc_path, script, quorum_*) reread their line with both
//     quote characters, and split the script itself again with escapes (kaScriptArgs);
//   - "include FILE" (and includer, includem, includew, includeb, includea) reads the files
//     its glob matches, in order, relative to the including file's directory, wherever it
//     appears, even inside a block;
//   - "$NAME=value" defines a parameter (a trailing backslash continues it on the next line)
//     that $NAME and ${NAME} are replaced with in later lines;
//   - "@ID line" is for the keepalived started with -i ID, "@^ID line" for any other: with no
//     configuration id here, the first is left out (with a note) and the second kept.

// kaLine is one statement: a line, or a part of one cut at a brace.
type kaLine struct {
	words []string
	raw   string // the statement's text, for the keywords that reread it
	file  string
	line  int
}

// kaNode is a statement with its block, if it has one.
type kaNode struct {
	kaLine
	kids  []*kaNode
	block bool
}

func (n *kaNode) key() string { return n.words[0] }

func (n *kaNode) args() []string { return n.words[1:] }

func (n *kaNode) arg(i int) string {
	if i+1 < len(n.words) {
		return n.words[i+1]
	}
	return ""
}

// kaReader reads a keepalived.conf and the files it includes into statements.
type kaReader struct {
	fsys  fs.FS
	notes *notes
	defs  map[string]string
	lines []kaLine
	open  []string // the files being read, to refuse an include loop
}

const maxIncludeDepth = 32

// read reads the file at fsPath (a path in r.fsys), naming it display in notes.
func (r *kaReader) read(fsPath, display string) error {
	data, err := fs.ReadFile(r.fsys, fsPath)
	if err != nil {
		return err
	}
	r.notes.file(display)
	r.open = append(r.open, fsPath)
	defer func() { r.open = r.open[:len(r.open)-1] }()

	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	phys := strings.Split(text, "\n")
	var defName string // a multi-line definition being read
	for i, l := range phys {
		lineNo := i + 1
		s, cont := decomment(l)
		if defName != "" {
			// Lines of a multi-line definition are kept as lines: the parameter may expand
			// to several statements.
			r.defs[defName] += "\n" + s
			if !cont {
				defName = ""
			}
			continue
		}
		if s == "" {
			continue
		}
		if s[0] == '@' {
			rev := strings.HasPrefix(s, "@^")
			id, rest := strings.TrimPrefix(strings.TrimPrefix(s, "@"), "^"), ""
			if i := strings.IndexAny(id, " \t"); i >= 0 {
				id, rest = id[:i], strings.TrimSpace(id[i:])
			}
			if !rev {
				r.notes.add(display, lineNo, directive(strings.Fields(s)), fmt.Sprintf("for the keepalived started with -i %s only; uvs has no configuration id", id))
				continue
			}
			if rest == "" {
				continue
			}
			s = rest
		}
		if m := defRE.FindStringSubmatch(s); m != nil {
			if r.defs == nil {
				r.defs = map[string]string{}
			}
			r.defs[m[1]] = strings.TrimSpace(m[2])
			if cont {
				defName = m[1]
			}
			continue
		}
		if strings.HasPrefix(s, "~SEQ") || strings.HasPrefix(s, "~LST") {
			r.notes.add(display, lineNo, directive(strings.Fields(s)), "sequence and list blocks are not expanded: write the statements out")
			continue
		}
		if len(r.defs) > 0 && strings.Contains(s, "$") {
			s = r.substitute(s, display, lineNo)
		}
		for _, part := range strings.Split(s, "\n") {
			part, _ = decomment(part)
			if part == "" {
				continue
			}
			if kw, pattern, ok := includeLine(part); ok {
				if err := r.include(kw, pattern, fsPath, display, lineNo); err != nil {
					return err
				}
				continue
			}
			for _, seg := range splitBraces(part) {
				words, ok := kaWords(seg)
				if !ok {
					r.notes.add(display, lineNo, directive(strings.Fields(seg)), "unmatched quote: the rest of the line is ignored, as keepalived ignores it")
				}
				if len(words) == 0 {
					continue
				}
				r.lines = append(r.lines, kaLine{words: words, raw: seg, file: display, line: lineNo})
			}
		}
	}
	return nil
}

var (
	defRE   = regexp.MustCompile(`^\$([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$`)
	paramRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)
)

// substitute replaces the parameters of s. An undefined one is left as written, as
// keepalived leaves it.
func (r *kaReader) substitute(s, file string, line int) string {
	return paramRE.ReplaceAllStringFunc(s, func(m string) string {
		name := strings.Trim(m, "${}")
		if v, ok := r.defs[name]; ok {
			return v
		}
		if strings.HasPrefix(m, "${") && strings.ContainsAny(m, " \t") {
			r.notes.add(file, line, m, "parameters with arguments are not expanded")
		}
		return m
	})
}

// includeLine recognises keepalived's include keywords.
func includeLine(s string) (kw, pattern string, ok bool) {
	kw, rest, found := strings.Cut(s, " ")
	if !found {
		kw, rest, found = strings.Cut(s, "\t")
	}
	switch kw {
	case "include", "includer", "includem", "includew", "includeb", "includea":
		pattern = strings.TrimSpace(rest)
		if found && pattern != "" {
			return kw, strings.Trim(pattern, `"`), true
		}
	}
	return "", "", false
}

// include reads the files pattern matches, relative to the including file's directory.
// Plain "include" tolerates a pattern that matches nothing, as keepalived does; the other
// forms were meant to check, so a missing file is noted either way.
func (r *kaReader) include(kw, pattern, fromFS, fromDisplay string, line int) error {
	if len(r.open) >= maxIncludeDepth {
		return fmt.Errorf("%s:%d: include %s: more than %d nested includes (an include loop?)", fromDisplay, line, pattern, maxIncludeDepth)
	}
	var fsPattern string
	abs := strings.HasPrefix(pattern, "/")
	if abs {
		fsPattern = strings.TrimPrefix(path.Clean(pattern), "/")
	} else {
		fsPattern = path.Join(path.Dir(fromFS), pattern)
	}
	var matches []string
	for _, p := range expandBraces(fsPattern) {
		m, err := fs.Glob(r.fsys, p)
		if err != nil {
			r.notes.add(fromDisplay, line, kw+" "+pattern, "bad pattern: "+err.Error())
			return nil
		}
		matches = append(matches, m...)
	}
	sort.Strings(matches)
	matches = dedupe(matches)
	if len(matches) == 0 {
		r.notes.add(fromDisplay, line, kw+" "+pattern, "no file matches it")
		return nil
	}
	for _, m := range matches {
		for _, o := range r.open {
			if o == m {
				return fmt.Errorf("%s:%d: include %s: %s includes itself", fromDisplay, line, pattern, m)
			}
		}
		var display string
		if abs {
			display = "/" + m
		} else {
			rel := strings.TrimPrefix(m, path.Dir(fromFS)+"/")
			if path.Dir(fromFS) == "." {
				rel = m
			}
			display = filepath.Join(filepath.Dir(fromDisplay), filepath.FromSlash(rel))
		}
		if err := r.read(m, display); err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
				r.notes.add(fromDisplay, line, kw+" "+pattern, err.Error())
				continue
			}
			return err
		}
	}
	return nil
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// expandBraces expands csh-style braces, which keepalived's glob takes: "{a,b}.conf" is
// "a.conf" and "b.conf". fs.Glob has none.
func expandBraces(p string) []string {
	open := strings.IndexByte(p, '{')
	if open < 0 {
		return []string{p}
	}
	depth := 0
	start := open + 1
	var alts []string
	for i := open; i < len(p); i++ {
		switch p[i] {
		case '{':
			depth++
		case ',':
			if depth == 1 {
				alts = append(alts, p[start:i])
				start = i + 1
			}
		case '}':
			depth--
			if depth == 0 {
				alts = append(alts, p[start:i])
				var out []string
				for _, a := range alts {
					out = append(out, expandBraces(p[:open]+a+p[i+1:])...)
				}
				return out
			}
		}
	}
	return []string{p} // unbalanced: taken literally
}

// decomment removes a comment and the blanks around a line, as keepalived's decomment does.
// cont reports a trailing backslash (a definition continued on the next line).
func decomment(s string) (out string, cont bool) {
	s = strings.TrimLeft(s, " \t")
	var b strings.Builder
	quote := false
loop:
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			quote = !quote
			b.WriteByte(c)
		case c == '\\':
			if i+1 == len(s) {
				cont = true
				break loop
			}
			if !quote && (s[i+1] == '#' || s[i+1] == '!') {
				b.WriteByte(s[i+1])
			} else {
				b.WriteByte(c)
				b.WriteByte(s[i+1])
			}
			i++
		case !quote && (c == '#' || c == '!'):
			break loop
		default:
			b.WriteByte(c)
		}
	}
	return strings.TrimRight(b.String(), " \t\r"), cont
}

// splitBraces cuts a line before and after each brace outside double quotes.
func splitBraces(s string) []string {
	var out []string
	for s != "" {
		idx := -1
		quote := false
		for i := 0; i < len(s); i++ {
			switch {
			case s[i] == '"':
				quote = !quote
			case !quote && (s[i] == '{' || s[i] == '}'):
				idx = i
			}
			if idx >= 0 {
				break
			}
		}
		switch {
		case idx < 0:
			out = append(out, s)
			s = ""
		case idx == 0:
			out = append(out, s[:1])
			s = strings.TrimLeft(s[1:], " \t")
		default:
			out = append(out, strings.TrimRight(s[:idx], " \t"))
			s = s[idx:]
		}
	}
	return out
}

func isBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\f' || c == '\v' || c == '\r' || c == '\n'
}

// kaWords splits a statement into words (keepalived's alloc_strvec). ok is false on an
// unmatched quote, where keepalived stops.
func kaWords(s string) (words []string, ok bool) {
	i := 0
	for {
		for i < len(s) && isBlank(s[i]) {
			i++
		}
		if i == len(s) {
			return words, true
		}
		if s[i] == '"' {
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				return words, false
			}
			words = append(words, s[i+1:i+1+j])
			i += j + 2
			continue
		}
		j := i
		for j < len(s) && !isBlank(s[j]) && s[j] != '"' {
			j++
		}
		words = append(words, s[i:j])
		i = j
	}
}

// kaQuoted splits s as keepalived's alloc_strvec_quoted_escaped_common does: blanks separate
// words, "..." and '...' quote (the quote characters are removed, what they enclose kept),
// and a backslash escapes: with escapes, as C does (\n, \t, \xHH, \ooo, ...); without, the
// backslash and its character are both kept.
func kaQuoted(s string, escapes bool) ([]string, error) {
	var words []string
	i := 0
	for {
		for i < len(s) && isBlank(s[i]) {
			i++
		}
		if i == len(s) {
			return words, nil
		}
		var b strings.Builder
		var quote byte
		for i < len(s) {
			c := s[i]
			switch {
			case c == '\\':
				i++
				if i == len(s) {
					return nil, errors.New("ends with a backslash")
				}
				if !escapes {
					b.WriteByte('\\')
					b.WriteByte(s[i])
					i++
					continue
				}
				i += cEscape(&b, s[i:])
				continue
			case quote != 0 && c == quote:
				quote = 0
				i++
				continue
			case quote != 0:
				b.WriteByte(c)
				i++
				continue
			case c == '"' || c == '\'':
				quote = c
				i++
				continue
			case isBlank(c):
			default:
				b.WriteByte(c)
				i++
				continue
			}
			break
		}
		if quote != 0 {
			return nil, fmt.Errorf("missing terminating %c", quote)
		}
		words = append(words, b.String())
	}
}

// cEscape writes the character that the escape sequence at the start of s (after its
// backslash) stands for, and returns how many bytes of s it took.
func cEscape(b *strings.Builder, s string) int {
	isHex := func(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
	hexVal := func(c byte) byte {
		switch {
		case c >= '0' && c <= '9':
			return c - '0'
		case c >= 'a' && c <= 'f':
			return c - 'a' + 10
		}
		return c - 'A' + 10
	}
	c := s[0]
	switch {
	case c == 'x' && len(s) > 1 && isHex(s[1]):
		v, n := byte(0), 1
		for n <= 2 && n < len(s) && isHex(s[n]) {
			v = v<<4 | hexVal(s[n])
			n++
		}
		b.WriteByte(v)
		return n
	case c == 'c' && len(s) > 1:
		b.WriteByte(s[1] & 0x1f)
		return 2
	case c >= '0' && c <= '7':
		v, n := byte(0), 0
		for n < 3 && n < len(s) && s[n] >= '0' && s[n] <= '7' {
			v = v<<3 | (s[n] - '0')
			n++
		}
		b.WriteByte(v)
		return n
	}
	esc := map[byte]byte{'a': '\a', 'b': '\b', 'E': 0x1b, 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v'}
	if e, ok := esc[c]; ok {
		b.WriteByte(e)
	} else {
		b.WriteByte(c)
	}
	return 1
}

// kaScript reads a script keyword's line (notify_master, misc_path, script, quorum_up, ...)
// as keepalived does: the line is reread with both quote characters, its second word is the
// script, split again into the program and its arguments with escapes, and the words after
// it are keepalived's user and group. An unquoted script with arguments therefore takes its
// first argument for a user, as keepalived does.
func kaScript(n *kaNode) (args, rest []string, err error) {
	words, err := kaQuoted(n.raw, false)
	if err != nil {
		return nil, nil, err
	}
	if len(words) < 2 {
		return nil, nil, errors.New("no script")
	}
	args, err = kaQuoted(words[1], true)
	if err != nil {
		return nil, nil, err
	}
	if len(args) == 0 {
		return nil, nil, errors.New("no script")
	}
	return args, words[2:], nil
}

// buildTree gathers statements into blocks.
func buildTree(lines []kaLine, ns *notes) []*kaNode {
	root := &kaNode{block: true}
	stack := []*kaNode{root}
	anon := map[*kaNode]bool{} // blocks of no statement: their statements stay at their level
	var last *kaNode           // the statement a "{" would open a block of
	for _, l := range lines {
		cur := stack[len(stack)-1]
		for anon[cur] {
			cur = stack[indexOf(stack, cur)-1]
		}
		switch {
		case len(l.words) == 1 && l.words[0] == "{":
			if last != nil && !last.block {
				last.block = true
				stack = append(stack, last)
			} else {
				ns.add(l.file, l.line, "{", "a block without a keyword: keepalived ignores the '{' and reads what follows at the level it is at")
				a := &kaNode{kaLine: l, block: true}
				anon[a] = true
				stack = append(stack, a)
			}
			last = nil
		case len(l.words) == 1 && l.words[0] == "}":
			if len(stack) == 1 {
				ns.add(l.file, l.line, "}", "extra '}': keepalived ignores it")
			} else {
				stack = stack[:len(stack)-1]
			}
			last = nil
		default:
			n := &kaNode{kaLine: l}
			cur.kids = append(cur.kids, n)
			last = n
		}
	}
	for len(stack) > 1 {
		n := stack[len(stack)-1]
		ns.add(n.file, n.line, directive(n.words), "its block has no closing '}' before the end of the file")
		stack = stack[:len(stack)-1]
	}
	return root.kids
}

func indexOf(stack []*kaNode, n *kaNode) int {
	for i := len(stack) - 1; i >= 0; i-- {
		if stack[i] == n {
			return i
		}
	}
	return 0
}
