package health_test

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/health"
)

// dnsQuestion is what the test server read from a query.
type dnsQuestion struct {
	name  string
	qtype uint16
	rd    bool
}

// serveDNS answers the queries on pc by name until pc is closed, and reports the questions.
// Names: "." and "example.com" are answered (example.com's A as a CNAME then an A record,
// with compressed names), "missing.example" is NXDOMAIN, "servfail.example" SERVFAIL,
// "empty.example" an empty NOERROR, "slow.example" never, and "noisy.example" after a reply
// with another ID and a query with its own.
func serveDNS(t *testing.T, pc net.PacketConn) <-chan dnsQuestion {
	t.Helper()
	asked := make(chan dnsQuestion, 16)
	var wg sync.WaitGroup
	t.Cleanup(func() { pc.Close(); wg.Wait() })
	wg.Go(func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := buf[:n]
			name, end := readName(q, 12)
			if end < 0 || end+4 > len(q) {
				continue
			}
			question := dnsQuestion{name: name, qtype: binary.BigEndian.Uint16(q[end:]), rd: q[2]&1 == 1}
			asked <- question
			reply := func(id uint16, flags uint16, answers ...[]byte) {
				m := binary.BigEndian.AppendUint16(nil, id)
				m = binary.BigEndian.AppendUint16(m, flags)
				m = binary.BigEndian.AppendUint16(m, 1)
				m = binary.BigEndian.AppendUint16(m, uint16(len(answers)))
				m = append(m, 0, 0, 0, 0)
				m = append(m, q[12:end+4]...)
				for _, a := range answers {
					m = append(m, a...)
				}
				pc.WriteTo(m, from)
			}
			id := binary.BigEndian.Uint16(q)
			const ok, nxdomain, servfail = 0x8180, 0x8183, 0x8182
			switch name {
			case ".":
				reply(id, ok, record(6, []byte{1, 'a', 0, 1, 'b', 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5}))
			case "example.com":
				reply(id, ok, record(5, []byte{3, 'w', 'w', 'w', 0xc0, 12}), record(1, []byte{192, 0, 2, 1}))
			case "missing.example":
				reply(id, nxdomain)
			case "servfail.example":
				reply(id, servfail)
			case "empty.example":
				reply(id, ok)
			case "noisy.example":
				reply(id+1, ok, record(question.qtype, []byte{192, 0, 2, 2}))
				reply(id, 0x0100) // a query, not a response
				reply(id, ok, record(question.qtype, []byte{192, 0, 2, 3}))
			}
		}
	})
	return asked
}

// record is an answer record named by a pointer to the question's name.
func record(typ uint16, rdata []byte) []byte {
	r := []byte{0xc0, 12}
	r = binary.BigEndian.AppendUint16(r, typ)
	r = binary.BigEndian.AppendUint16(r, 1)
	r = binary.BigEndian.AppendUint32(r, 60)
	r = binary.BigEndian.AppendUint16(r, uint16(len(rdata)))
	return append(r, rdata...)
}

// readName reads an uncompressed name at off: "." for the root.
func readName(m []byte, off int) (string, int) {
	var labels []string
	for off < len(m) {
		l := int(m[off])
		if l == 0 {
			if len(labels) == 0 {
				return ".", off + 1
			}
			return strings.Join(labels, "."), off + 1
		}
		if l > 63 || off+1+l > len(m) {
			return "", -1
		}
		labels = append(labels, string(m[off+1:off+1+l]))
		off += 1 + l
	}
	return "", -1
}

func TestDNSCheck(t *testing.T) {
	r := newProbeRig(t)
	asked := serveDNS(t, r.listenUDP(t, netip.AddrPortFrom(rsAddr, 53)))
	at := netip.AddrPortFrom(rsAddr, 0) // port 53 by default

	for _, c := range []struct {
		check health.DNSCheck
		want  string // "" = OK
		q     dnsQuestion
	}{
		{health.DNSCheck{Connect: at}, "", dnsQuestion{".", 6, true}}, // keepalived's default: SOA of the root
		{health.DNSCheck{Connect: at, RequireAnswer: true}, "", dnsQuestion{".", 6, true}},
		{health.DNSCheck{Connect: at, Type: "a", Name: "example.com."}, "", dnsQuestion{"example.com", 1, true}},
		{health.DNSCheck{Connect: at, Type: "A", Name: "example.com", RequireAnswer: true}, "", dnsQuestion{"example.com", 1, true}},
		{health.DNSCheck{Connect: at, Type: "AAAA", Name: "example.com", RequireAnswer: true}, "no AAAA record in the DNS answer", dnsQuestion{"example.com", 28, true}},
		{health.DNSCheck{Connect: at, Type: "MX", Name: "missing.example"}, "DNS rcode 3 NXDOMAIN", dnsQuestion{"missing.example", 15, true}},
		{health.DNSCheck{Connect: at, Type: "TXT", Name: "servfail.example"}, "DNS rcode 2 SERVFAIL", dnsQuestion{"servfail.example", 16, true}},
		{health.DNSCheck{Connect: at, Type: "NS", Name: "empty.example"}, "", dnsQuestion{"empty.example", 2, true}}, // keepalived: NOERROR is enough
		{health.DNSCheck{Connect: at, Type: "NS", Name: "empty.example", RequireAnswer: true}, "no NS record in the DNS answer", dnsQuestion{"empty.example", 2, true}},
		{health.DNSCheck{Connect: at, Type: "PTR", Name: "noisy.example", RequireAnswer: true}, "", dnsQuestion{"noisy.example", 12, true}},
	} {
		res := c.check.Check(within(t, 5*time.Second), r.net)
		if c.want == "" {
			wantOK(t, c.check, res)
		} else {
			wantFail(t, c.check, res, c.want)
		}
		if q := <-asked; q != c.q {
			t.Errorf("%v type %q name %q asked %+v, want %+v", c.check, c.check.Type, c.check.Name, q, c.q)
		}
	}

	slow := health.DNSCheck{Connect: at, Name: "slow.example"}
	wantFail(t, slow, slow.Check(within(t, 300*time.Millisecond), r.net), "no reply (timeout)")
	<-asked
	closed := health.DNSCheck{Connect: netip.AddrPortFrom(rsAddr, 5300)}
	wantFail(t, closed, closed.Check(within(t, 5*time.Second), r.net), "ICMP port unreachable")
	bad := health.DNSCheck{Connect: at, Type: "HINFO"}
	wantFail(t, bad, bad.Check(within(t, time.Second), r.net), `unknown DNS type "HINFO"`)
	badName := health.DNSCheck{Connect: at, Name: "a..b"}
	wantFail(t, badName, badName.Check(within(t, time.Second), r.net), "bad DNS name")
	if s := slow.String(); s != "DNS_CHECK 10.7.0.1:53" {
		t.Errorf("String() = %q", s)
	}
}
