package health

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
)

// DNSCheck is keepalived's DNS_CHECK: it sends one recursive query for Name and Type over
// UDP to Connect, and the server is up when the answer (the reply with the query's ID) has
// RCODE NOERROR. keepalived looks no further; RequireAnswer also demands at least one record
// of Type in the answer section, so that an empty NOERROR answer (no data) fails.
type DNSCheck struct {
	Connect netip.AddrPort // connect_ip and connect_port; port 0: 53
	Bind    netip.AddrPort // bindto and bind_port; zero: chosen by the stack
	// Type is the query type: A, AAAA, NS, MX, TXT, SOA, CNAME, PTR or SRV; "": SOA, as
	// keepalived.
	Type string
	// Name is the name queried; "": ".", the root, as keepalived.
	Name          string
	RequireAnswer bool
}

// dnsTypes are the query types DNSCheck knows: keepalived's and PTR and SRV.
var dnsTypes = map[string]uint16{
	"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28, "SRV": 33,
}

// dnsRcodes name the usual response codes.
var dnsRcodes = [...]string{1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}

// dnsReplySize is the largest reply read: a plain UDP answer is at most 512 bytes, and no
// EDNS option asks for more.
const dnsReplySize = 1232

// Check implements Checker.
func (c DNSCheck) Check(ctx context.Context, n Net) Result {
	connect := c.connectAddr()
	if !connect.Addr().IsValid() {
		return checkFailed("no address to connect to")
	}
	qtype, ok := dnsTypes[strings.ToUpper(c.typeName())]
	if !ok {
		return checkFailed(fmt.Sprintf("unknown DNS type %q", c.Type))
	}
	id := uint16(rand.Uint32())
	query, err := dnsQuery(id, c.Name, qtype)
	if err != nil {
		return checkFailed(err.Error())
	}
	conn, err := n.DialContext(ctx, "udp", c.Bind, connect)
	if err != nil {
		return failedBy(ctx, err)
	}
	defer conn.Close()
	defer limitConn(ctx, conn)()
	if _, err := conn.Write(query); err != nil {
		return udpFailure(ctx, err)
	}
	buf := make([]byte, dnsReplySize)
	for {
		got, err := conn.Read(buf)
		if err != nil {
			return udpFailure(ctx, err)
		}
		m := buf[:got]
		// As keepalived: what is not the answer to this query (too short, another ID, not
		// a response) is ignored, and the reading goes on.
		if len(m) < 12 || binary.BigEndian.Uint16(m) != id || m[2]&0x80 == 0 {
			continue
		}
		if rcode := m[3] & 0x0f; rcode != 0 {
			name := ""
			if int(rcode) < len(dnsRcodes) && dnsRcodes[rcode] != "" {
				name = " " + dnsRcodes[rcode]
			}
			return checkFailed(fmt.Sprintf("DNS rcode %d%s", rcode, name))
		}
		if c.RequireAnswer {
			count, err := dnsAnswers(m, qtype)
			if err != nil {
				return checkFailed("malformed DNS answer: " + err.Error())
			}
			if count == 0 {
				return checkFailed(fmt.Sprintf("no %s record in the DNS answer", strings.ToUpper(c.typeName())))
			}
		}
		return checkPassed()
	}
}

// String implements Checker: "DNS_CHECK 10.0.0.1:53".
func (c DNSCheck) String() string { return "DNS_CHECK " + c.connectAddr().String() }

func (c DNSCheck) connectAddr() netip.AddrPort {
	if c.Connect.Port() == 0 && c.Connect.Addr().IsValid() {
		return netip.AddrPortFrom(c.Connect.Addr(), 53)
	}
	return c.Connect
}

func (c DNSCheck) typeName() string {
	if c.Type == "" {
		return "SOA"
	}
	return c.Type
}

// dnsQuery builds a query with id for name and qtype, class IN, recursion desired.
func dnsQuery(id uint16, name string, qtype uint16) ([]byte, error) {
	q := make([]byte, 12, 12+len(name)+2+4)
	binary.BigEndian.PutUint16(q[0:], id)
	binary.BigEndian.PutUint16(q[2:], 0x0100) // RD
	binary.BigEndian.PutUint16(q[4:], 1)      // QDCOUNT
	if name != "" && name != "." {
		for label := range strings.SplitSeq(strings.TrimSuffix(name, "."), ".") {
			if len(label) == 0 || len(label) > 63 {
				return nil, fmt.Errorf("bad DNS name %q: labels are 1 to 63 bytes", name)
			}
			q = append(q, byte(len(label)))
			q = append(q, label...)
		}
		if len(q)-12+1 > 255 {
			return nil, fmt.Errorf("bad DNS name %q: longer than 255 bytes", name)
		}
	}
	q = append(q, 0)
	q = binary.BigEndian.AppendUint16(q, qtype)
	q = binary.BigEndian.AppendUint16(q, 1) // IN
	return q, nil
}

var errDNSShort = errors.New("truncated message")

// dnsAnswers counts the records of qtype in the answer section of message m.
func dnsAnswers(m []byte, qtype uint16) (int, error) {
	qd, an := int(binary.BigEndian.Uint16(m[4:])), int(binary.BigEndian.Uint16(m[6:]))
	off := 12
	var err error
	for range qd {
		if off, err = skipDNSName(m, off); err != nil {
			return 0, err
		}
		off += 4 // QTYPE, QCLASS
	}
	count := 0
	for range an {
		if off, err = skipDNSName(m, off); err != nil {
			return 0, err
		}
		if off+10 > len(m) {
			return 0, errDNSShort
		}
		typ, rdlen := binary.BigEndian.Uint16(m[off:]), int(binary.BigEndian.Uint16(m[off+8:]))
		off += 10 + rdlen
		if off > len(m) {
			return 0, errDNSShort
		}
		if typ == qtype {
			count++
		}
	}
	return count, nil
}

// skipDNSName returns the offset just past the (possibly compressed) name at off in m.
func skipDNSName(m []byte, off int) (int, error) {
	for {
		if off >= len(m) {
			return 0, errDNSShort
		}
		l := int(m[off])
		switch {
		case l == 0:
			return off + 1, nil
		case l&0xc0 == 0xc0: // a pointer ends the name
			if off+2 > len(m) {
				return 0, errDNSShort
			}
			return off + 2, nil
		case l&0xc0 != 0:
			return 0, fmt.Errorf("bad label type %#x", l&0xc0)
		}
		off += 1 + l
	}
}
