// Package cmdline splits the command lines of keepalived-style scripts (notify, MISC_CHECK,
// vrrp_script) into words, as a shell splits them but with no expansion of any kind, since
// they run without a shell. conf checks them with it and health runs them with it, so the
// two cannot disagree.
package cmdline

import (
	"errors"
	"fmt"
	"strings"
)

// ErrEmpty is Split's error for a line with no word at all.
var ErrEmpty = errors.New("no program")

// Split splits s into words: blanks separate words; 'single quotes' keep everything;
// "double quotes" keep everything but \" \\ \$ \` and \newline, which a backslash escapes; a
// backslash outside quotes keeps the next character. shell is the first character a shell
// would have given a meaning (| & ; < > `) found outside quotes, or 0: without a shell it
// reaches the program as part of a word, which callers may refuse. Split fails on an
// unterminated quote, a trailing backslash, and a line with no program.
func Split(s string) (words []string, shell rune, err error) {
	var word strings.Builder
	in := false    // a word is open (possibly empty: '')
	var quote rune // 0, '\'' or '"'
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch quote {
		case '\'':
			if c == '\'' {
				quote = 0
			} else {
				word.WriteRune(c)
			}
			continue
		case '"':
			switch {
			case c == '"':
				quote = 0
			case c == '\\' && i+1 < len(rs) && strings.ContainsRune("\"\\$`\n", rs[i+1]):
				i++
				if rs[i] != '\n' {
					word.WriteRune(rs[i])
				}
			default:
				word.WriteRune(c)
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			if in {
				words = append(words, word.String())
				word.Reset()
				in = false
			}
		case '\'', '"':
			quote, in = c, true
		case '\\':
			if i+1 == len(rs) {
				return nil, 0, errors.New("ends with a backslash")
			}
			i++
			in = true
			if rs[i] != '\n' {
				word.WriteRune(rs[i])
			}
		default:
			if shell == 0 && strings.ContainsRune("|&;<>`", c) {
				shell = c
			}
			in = true
			word.WriteRune(c)
		}
	}
	switch {
	case quote != 0:
		return nil, 0, fmt.Errorf("has an unterminated %c quote", quote)
	case in:
		words = append(words, word.String())
	}
	switch {
	case len(words) == 0:
		return nil, 0, ErrEmpty
	case words[0] == "":
		return nil, 0, errors.New("the program's name is empty")
	}
	return words, shell, nil
}
