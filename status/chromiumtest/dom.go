package chromiumtest

import (
	"html"
	"strings"
)

// What a test does with a dump: find elements by their attributes (data-* attributes are
// what pages give tests to hold on to) and read their text. Chromium serializes a DOM
// regularly — every attribute quoted, every non-void element closed, names in lower case —
// so a small scanner reads it; it is not an HTML parser for pages at large.

// Tag is one element's start tag in a dumped DOM.
type Tag struct {
	Name  string            // lower case
	Attrs map[string]string // unescaped values
	// Start is the offset of its "<" in the DOM, End the offset just past its ">".
	Start, End int
}

// rawText are the elements whose content is text, not markup: "<" in them starts no tag.
var rawText = map[string]bool{"script": true, "style": true, "textarea": true, "title": true,
	"xmp": true, "iframe": true, "noembed": true, "noframes": true, "noscript": true}

// void are the elements with no end tag.
var void = map[string]bool{"area": true, "base": true, "br": true, "col": true, "embed": true,
	"hr": true, "img": true, "input": true, "link": true, "meta": true, "source": true,
	"track": true, "wbr": true}

// inline are the elements that flow within a line of text, which Text does not break at.
var inline = map[string]bool{"a": true, "abbr": true, "b": true, "bdi": true, "bdo": true, "cite": true,
	"code": true, "data": true, "dfn": true, "em": true, "i": true, "kbd": true, "mark": true, "q": true,
	"s": true, "samp": true, "small": true, "span": true, "strong": true, "sub": true, "sup": true,
	"time": true, "u": true, "var": true, "label": true}

// Tags returns the start tags of dom that have attribute attr with the given value (any
// value, when value is ""), in document order; attr "" matches every tag.
func Tags(dom, attr, value string) []Tag {
	var out []Tag
	for i := 0; i < len(dom); {
		lt := strings.IndexByte(dom[i:], '<')
		if lt < 0 {
			break
		}
		i += lt
		switch {
		case strings.HasPrefix(dom[i:], "<!--"):
			end := strings.Index(dom[i+4:], "-->")
			if end < 0 {
				return out
			}
			i += 4 + end + 3
			continue
		case strings.HasPrefix(dom[i:], "</"), strings.HasPrefix(dom[i:], "<!"), strings.HasPrefix(dom[i:], "<?"):
			end := strings.IndexByte(dom[i:], '>')
			if end < 0 {
				return out
			}
			i += end + 1
			continue
		}
		t, ok := startTag(dom, i)
		if !ok {
			i++
			continue
		}
		if v, has := t.Attrs[attr]; attr == "" || has && (value == "" || v == value) {
			out = append(out, t)
		}
		i = t.End
		if rawText[t.Name] {
			end := strings.Index(strings.ToLower(dom[i:]), "</"+t.Name)
			if end < 0 {
				return out
			}
			i += end
		}
	}
	return out
}

// startTag reads the start tag at dom[i], which is '<'.
func startTag(dom string, i int) (Tag, bool) {
	t := Tag{Start: i, Attrs: map[string]string{}}
	j := i + 1
	for j < len(dom) && isNameByte(dom[j]) {
		j++
	}
	if j == i+1 {
		return t, false
	}
	t.Name = strings.ToLower(dom[i+1 : j])
	for j < len(dom) {
		for j < len(dom) && isSpace(dom[j]) {
			j++
		}
		if j >= len(dom) {
			return t, false
		}
		switch dom[j] {
		case '>':
			t.End = j + 1
			return t, true
		case '/':
			j++
			continue
		}
		k := j
		for k < len(dom) && !isSpace(dom[k]) && dom[k] != '=' && dom[k] != '>' && dom[k] != '/' {
			k++
		}
		name := strings.ToLower(dom[j:k])
		j = k
		for j < len(dom) && isSpace(dom[j]) {
			j++
		}
		if j >= len(dom) || dom[j] != '=' {
			t.Attrs[name] = ""
			continue
		}
		j++
		for j < len(dom) && isSpace(dom[j]) {
			j++
		}
		if j >= len(dom) {
			return t, false
		}
		var raw string
		if q := dom[j]; q == '"' || q == '\'' {
			end := strings.IndexByte(dom[j+1:], q)
			if end < 0 {
				return t, false
			}
			raw, j = dom[j+1:j+1+end], j+1+end+1
		} else {
			k := j
			for k < len(dom) && !isSpace(dom[k]) && dom[k] != '>' {
				k++
			}
			raw, j = dom[j:k], k
		}
		t.Attrs[name] = html.UnescapeString(raw)
	}
	return t, false
}

// Inner is the markup between t's start tag and its end tag in dom ("" for a void element
// or one not closed).
func (t Tag) Inner(dom string) string {
	if void[t.Name] {
		return ""
	}
	depth := 1
	for i := t.End; i < len(dom); {
		lt := strings.IndexByte(dom[i:], '<')
		if lt < 0 {
			return ""
		}
		i += lt
		if strings.HasPrefix(dom[i:], "</") {
			name, _, _ := strings.Cut(dom[i+2:], ">")
			if strings.EqualFold(strings.TrimSpace(name), t.Name) {
				if depth--; depth == 0 {
					return dom[t.End:i]
				}
			}
			i += 2
			continue
		}
		if strings.HasPrefix(dom[i:], "<!--") {
			end := strings.Index(dom[i+4:], "-->")
			if end < 0 {
				return ""
			}
			i += 4 + end + 3
			continue
		}
		if s, ok := startTag(dom, i); ok {
			if s.Name == t.Name {
				depth++
			}
			i = s.End
			if rawText[s.Name] {
				end := strings.Index(strings.ToLower(dom[i:]), "</"+s.Name)
				if end < 0 {
					return ""
				}
				i += end
			}
			continue
		}
		i++
	}
	return ""
}

// Text is t's text; see Text.
func (t Tag) Text(dom string) string { return Text(t.Inner(dom)) }

// Text is markup's text, roughly as a browser shows it: tags and comments dropped (a space
// in place of those of elements not inline), entities unescaped, runs of white space made
// single spaces.
func Text(markup string) string {
	var b strings.Builder
	for i := 0; i < len(markup); {
		lt := strings.IndexByte(markup[i:], '<')
		if lt < 0 {
			b.WriteString(markup[i:])
			break
		}
		b.WriteString(markup[i : i+lt])
		i += lt
		closer := ">"
		if strings.HasPrefix(markup[i:], "<!--") {
			closer = "-->"
		}
		end := strings.Index(markup[i:], closer)
		if end < 0 {
			break
		}
		name := strings.TrimPrefix(markup[i+1:i+end], "/")
		if k := strings.IndexFunc(name, func(r rune) bool { return r > 0x7f || !isNameByte(byte(r)) }); k >= 0 {
			name = name[:k]
		}
		i += end + len(closer)
		// Other elements separate words, as a browser lays them out: "<td>a</td><td>b</td>"
		// is "a b", where "<span>a</span>b" is "ab".
		if !inline[strings.ToLower(name)] {
			b.WriteByte(' ')
		}
	}
	return strings.Join(strings.Fields(html.UnescapeString(b.String())), " ")
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == ':'
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }
