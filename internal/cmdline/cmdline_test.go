package cmdline

import (
	"slices"
	"testing"
)

func TestSplit(t *testing.T) {
	for _, c := range []struct {
		in    string
		words []string
		shell rune
		err   bool
	}{
		{in: "/bin/echo a  b", words: []string{"/bin/echo", "a", "b"}},
		{in: `/x 'a b' "c \"d\" \$e" f\ g ''`, words: []string{"/x", "a b", `c "d" $e`, "f g", ""}},
		{in: "/x a|b", words: []string{"/x", "a|b"}, shell: '|'},
		{in: "/x 'a|b'", words: []string{"/x", "a|b"}},
		{in: "/x 'a", err: true},
		{in: `/x a\`, err: true},
		{in: "  ", err: true},
		{in: "'' x", err: true},
	} {
		words, shell, err := Split(c.in)
		if (err != nil) != c.err || !slices.Equal(words, c.words) || shell != c.shell {
			t.Errorf("Split(%q) = %q, %q, %v", c.in, words, shell, err)
		}
	}
}
