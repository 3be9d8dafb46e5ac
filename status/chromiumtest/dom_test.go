package chromiumtest

import (
	"reflect"
	"testing"
)

// dom is what chromium's --dump-dom prints, in small: a doctype-less document, raw text
// with "<" in it, comments, escaped attribute values, nested elements of one name.
const dom = `<html><head><title>a &lt;b&gt; c</title><style>p<q{}</style></head><body data-x="1">
<!-- <p data-k="comment"> -->
<div id="outer" class="a b"><div id="inner" data-k="v &amp; &quot;w&quot; &lt;x&gt;">one <span>t</span>wo</div>
<br><img src="data:," alt=''><input disabled value=plain></div>
<script>if (1 < 2 && "<p data-k='script'>") {}</script>
<table><tbody><tr data-k="row"><td>a</td><td>b<b>c</b></td></tr></tbody></table>
</body></html>`

func TestTags(t *testing.T) {
	var got []string
	for _, tag := range Tags(dom, "data-k", "") {
		got = append(got, tag.Name+" "+tag.Attrs["data-k"])
	}
	if want := []string{`div v & "w" <x>`, "tr row"}; !reflect.DeepEqual(got, want) {
		t.Errorf("data-k tags: %q, want %q", got, want)
	}
	if tags := Tags(dom, "data-k", "row"); len(tags) != 1 || tags[0].Name != "tr" {
		t.Errorf("data-k=row: %v", tags)
	}
	if in := Tags(dom, "value", "plain"); len(in) != 1 || !hasKey(in[0].Attrs, "disabled") || in[0].Attrs["disabled"] != "" {
		t.Errorf("input: %v", in)
	}
	if img := Tags(dom, "alt", ""); len(img) != 1 || img[0].Attrs["src"] != "data:," {
		t.Errorf("img: %v", img)
	}
	var names []string
	for _, tag := range Tags(dom, "", "") {
		names = append(names, tag.Name)
	}
	want := []string{"html", "head", "title", "style", "body", "div", "div", "span", "br", "img", "input", "script", "table", "tbody", "tr", "td", "td", "b"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("all tags: %q\nwant %q", names, want)
	}
}

func TestInnerText(t *testing.T) {
	outer := Tags(dom, "id", "outer")[0]
	if got := outer.Text(dom); got != "one two" {
		// "one <span>t</span>wo": span is inline, so "t" and "wo" join.
		t.Errorf("outer text %q", got)
	}
	if got := Tags(dom, "id", "inner")[0].Inner(dom); got != "one <span>t</span>wo" {
		t.Errorf("inner markup %q", got)
	}
	if got := Tags(dom, "data-k", "row")[0].Text(dom); got != "a bc" {
		t.Errorf("row text %q", got)
	}
	if got := Tags(dom, "alt", "")[0].Inner(dom); got != "" {
		t.Errorf("a void element has content %q", got)
	}
	for _, tag := range Tags(dom, "", "") {
		if tag.Name == "title" && tag.Text(dom) != "a <b> c" {
			t.Errorf("title %q", tag.Text(dom))
		}
	}
	if got := Text("x<!-- y -->z &amp;\n\t w"); got != "x z & w" {
		t.Errorf("Text %q", got)
	}
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}
