package health

import (
	"encoding/binary"
	"testing"
)

// FuzzDNSAnswers feeds DNS_CHECK's reply parser what a real server (or anyone who can spoof
// one) may send: it must not panic, and cannot count more records than the answer section
// declares. A message it reads is still read when bytes are appended (a reply's trailing
// authority and additional sections are never looked at).
func FuzzDNSAnswers(f *testing.F) {
	q, _ := dnsQuery(7, "example.com", 1)
	m := append([]byte(nil), q...)
	m[2], m[3], m[7] = 0x81, 0x80, 2
	m = append(m, 0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, 3, 'w', 'w', 'w', 0xc0, 12)
	m = append(m, 3, 'w', 'w', 'w', 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1)
	f.Add(m, uint16(1))
	f.Add(m, uint16(28))
	f.Add(q, uint16(6))
	f.Add(make([]byte, 12), uint16(1))
	f.Add([]byte{0, 7, 0x81, 0x80, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0x3f}, uint16(1))
	f.Fuzz(func(t *testing.T, m []byte, qtype uint16) {
		if len(m) < 12 { // DNSCheck.Check ignores shorter replies
			return
		}
		n, err := dnsAnswers(m, qtype)
		if err != nil {
			if n != 0 {
				t.Fatalf("%d answers with error %v", n, err)
			}
			return
		}
		if an := int(binary.BigEndian.Uint16(m[6:])); n < 0 || n > an {
			t.Fatalf("%d answers of type %d, but ANCOUNT is %d", n, qtype, an)
		}
		if n2, err := dnsAnswers(append(m[:len(m):len(m)], 0, 0, 0), qtype); err != nil || n2 != n {
			t.Fatalf("with trailing bytes: %d, %v; without: %d", n2, err, n)
		}
	})
}
