package health

import "testing"

func TestStrtol(t *testing.T) {
	for _, tc := range []struct {
		in string
		v  int64
		ok bool
	}{
		{"", 0, true}, {"abc", 0, true}, {"42", 42, true}, {"-42", -42, true}, {"+42x", 42, true},
		{" \n\t 7", 7, true}, {"0x1f", 31, true}, {"0X1F", 31, true}, {"0x", 0, true}, {"0xg", 0, true},
		{"017", 15, true}, {"019", 1, true}, {"08", 0, true}, {"- 5", 0, true},
		{"9223372036854775807", 1<<63 - 1, true}, {"-9223372036854775808", -1 << 63, true},
		{"9223372036854775808", 0, false}, {"-9223372036854775809", 0, false}, {"99999999999999999999", 0, false},
	} {
		if v, ok := strtol(tc.in); v != tc.v || ok != tc.ok {
			t.Errorf("strtol(%q) = %d, %v; want %d, %v", tc.in, v, ok, tc.v, tc.ok)
		}
	}
}
