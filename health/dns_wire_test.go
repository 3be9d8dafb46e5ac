package health

import (
	"bytes"
	"strings"
	"testing"
)

func TestDNSQueryWire(t *testing.T) {
	root, err := dnsQuery(0xabcd, ".", 6)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 1}
	if !bytes.Equal(root, want) {
		t.Errorf("query for . = % x, want % x", root, want)
	}
	if empty, _ := dnsQuery(0xabcd, "", 6); !bytes.Equal(empty, want) {
		t.Errorf("query for \"\" = % x, want the root's", empty)
	}
	www, _ := dnsQuery(1, "www.example.com", 1)
	dotted, _ := dnsQuery(1, "www.example.com.", 1)
	if name := "\x03www\x07example\x03com\x00"; string(www[12:len(www)-4]) != name || !bytes.Equal(www, dotted) {
		t.Errorf("query for www.example.com = % x (with a final dot: % x)", www, dotted)
	}
	for _, bad := range []string{"a..b", ".a", strings.Repeat("x", 64) + ".com", strings.Repeat("abcdefg.", 32) + "com"} {
		if _, err := dnsQuery(1, bad, 1); err == nil {
			t.Errorf("query for %q built", bad)
		}
	}
}

func TestDNSAnswersCount(t *testing.T) {
	q, _ := dnsQuery(7, "example.com", 1)
	m := append([]byte(nil), q...)
	m[2], m[3], m[7] = 0x81, 0x80, 2                                                       // a response with 2 answers
	m = append(m, 0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, 3, 'w', 'w', 'w', 0xc0, 12)     // CNAME
	m = append(m, 3, 'w', 'w', 'w', 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1) // A
	for qtype, want := range map[uint16]int{1: 1, 5: 1, 28: 0} {
		if n, err := dnsAnswers(m, qtype); err != nil || n != want {
			t.Errorf("answers of type %d: %d, %v, want %d", qtype, n, err, want)
		}
	}
	for cut := 12; cut < len(m); cut++ {
		if _, err := dnsAnswers(m[:cut], 1); err == nil && cut < len(m) {
			t.Errorf("an answer cut at %d of %d bytes parsed", cut, len(m))
		}
	}
	bad := append([]byte(nil), m...)
	bad[len(q)] = 0x80 // a reserved label type
	if _, err := dnsAnswers(bad, 1); err == nil {
		t.Error("a reserved label type parsed")
	}
}
