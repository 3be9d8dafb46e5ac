// Package tomlstr writes TOML basic strings: the one quoting rule of uvs's TOML writers
// (conf's export and conf/convert's import).
package tomlstr

import "unicode/utf8"

// Quote returns s as a TOML basic string: quotes, backslashes and control characters
// escaped, everything else as it is. A byte that is not UTF-8 cannot be written in a TOML
// file: with replace it becomes U+FFFD (a converter keeps its output valid); without, it is
// written raw, so that reading the text back fails and says where (an export never alters a
// value silently).
func Quote(s string, replace bool) string {
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			if replace {
				b = append(b, `\uFFFD`...)
			} else {
				b = append(b, s[i])
			}
		case r == '"':
			b = append(b, `\"`...)
		case r == '\\':
			b = append(b, `\\`...)
		case r == '\b':
			b = append(b, `\b`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\f':
			b = append(b, `\f`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r < 0x20 || r == 0x7f:
			b = append(b, `\u00`...)
			b = append(b, "0123456789ABCDEF"[r>>4], "0123456789ABCDEF"[r&0xf])
		default:
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return string(append(b, '"'))
}
