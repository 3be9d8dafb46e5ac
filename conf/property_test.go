package conf

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/uvs-lb/uvs/lb"
)

// TestAcceptedMeansApplied generates configurations that mix families, forwarding methods,
// ports, marks, pools and schedulers at random, and checks that whatever conf accepts the
// engine accepts too. Random bytes (FuzzParse) seldom get past the TOML parser; these reach
// the semantic checks.
func TestAcceptedMeansApplied(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	accepted := 0
	const n = 3000
	for i := 0; i < n; i++ {
		src := randomConfig(r)
		c, err := Parse("gen.toml", []byte(src))
		if err != nil {
			continue
		}
		accepted++
		if err := lb.New(lb.Options{}).Apply(c.Engine()); err != nil {
			t.Fatalf("conf accepted what the engine refuses: %v\n%s", err, src)
		}
	}
	// The generator must produce both outcomes to test anything.
	if accepted < n/20 || accepted > n*19/20 {
		t.Errorf("%d of %d generated configs accepted: the generator needs rebalancing", accepted, n)
	}
	t.Logf("%d of %d accepted", accepted, n)
}

func randomConfig(r *rand.Rand) string {
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	maybe := func(p float64, s string) string {
		if r.Float64() < p {
			return s
		}
		return ""
	}
	var b strings.Builder
	b.WriteString("[[interface]]\nname = \"eth0\"\naddresses = [\"10.0.0.2/24\", \"2001:db8::2/64\"]\n")
	b.WriteString(maybe(0.7, "gateway = \"10.0.0.254\"\n"))
	b.WriteString("[[interface]]\nname = \"eth1\"\naddresses = [\"192.168.1.2/24\"]\n")
	marks := map[int]bool{}
	for s := r.IntN(2) + 1; s > 0; s-- {
		b.WriteString("[[virtual_server]]\n")
		if r.IntN(3) == 0 {
			m := r.IntN(2) + 1
			marks[m] = true
			fmt.Fprintf(&b, "fwmark = %d\n%s", m, maybe(0.3, pick(`family = "ipv4"`+"\n", `family = "ipv6"`+"\n")))
		} else {
			fmt.Fprintf(&b, "address = \"%s\"\n%s", pick("10.0.0.1:80", "10.0.0.1:0", "10.0.0.3:443", "[2001:db8::1]:80"),
				maybe(0.3, "protocol = \"udp\"\n"))
		}
		b.WriteString(maybe(0.4, fmt.Sprintf("lb_algo = %q\n", pick("rr", "wlc", "sh", "mh", "mh", "lblc", "bogus"))))
		b.WriteString(maybe(0.15, fmt.Sprintf("sched_flags = [%q]\n", pick("sh-port", "mh-fallback", "sh-fallback"))))
		b.WriteString(maybe(0.1, fmt.Sprintf("mh_table_size = %s\n", pick("2", "7", "8", "4093"))))
		b.WriteString(maybe(0.5, fmt.Sprintf("lb_kind = %q\n", pick("NAT", "NAT", "DR", "TUN", "FNAT"))))
		b.WriteString(maybe(0.3, fmt.Sprintf("persistence_timeout = %s\n", pick("30", "360"))))
		b.WriteString(maybe(0.15, fmt.Sprintf("persistence_granularity = %s\n", pick("24", "64", `"255.255.255.0"`))))
		b.WriteString(maybe(0.1, "ops = true\n"))
		b.WriteString(maybe(0.3, fmt.Sprintf("local_addresses = [%s]\n", pick(`"10.0.0.2"`, `"10.0.0.2"`, `"10.0.0.1"`, `"2001:db8::2"`, `"192.168.1.2", "10.0.0.2"`))))
		b.WriteString(maybe(0.1, fmt.Sprintf("local_ports = %q\n", pick("2000-3000", "2000-3000", "3000-2000"))))
		b.WriteString(maybe(0.1, fmt.Sprintf("quorum = %s\nhysteresis = %s\n", pick("1", "1", "2", "100"), pick("0", "0", "1"))))
		b.WriteString(maybe(0.1, fmt.Sprintf("delay_loop = %s\nretry = %s\n", pick("6", "0.5"), pick("0", "3"))))
		if r.IntN(5) == 0 {
			fmt.Fprintf(&b, "[virtual_server.sorry_server]\naddress = %q\n%s", pick("192.168.1.99", "192.168.1.99:8080", "10.0.0.99"),
				maybe(0.3, fmt.Sprintf("lb_kind = %q\n", pick("NAT", "DR", "TUN", "FNAT"))))
		}
		for i, n := 0, r.IntN(4); i < n; i++ {
			fmt.Fprintf(&b, "[[virtual_server.real_server]]\naddress = %q\n", fmt.Sprintf(pick("192.168.1.%d", "10.0.0.%d",
				"192.168.1.%d:8080", "2001:db8::%d", "[2001:db8::%d]:80", "172.16.0.%d"), 20+i))
			b.WriteString(maybe(0.2, fmt.Sprintf("lb_kind = %q\n", pick("NAT", "DR", "TUN", "FNAT"))))
			b.WriteString(maybe(0.3, fmt.Sprintf("weight = %s\n", pick("0", "1", "100"))))
			b.WriteString(maybe(0.15, fmt.Sprintf("uthreshold = %s\nlthreshold = %s\n", pick("10", "100"), pick("5", "50"))))
			if r.IntN(4) == 0 { // health checks change nothing the engine sees, but must not break parsing
				fmt.Fprintf(&b, "[[virtual_server.real_server.%s]]\n", pick("tcp_check", "udp_check", "dns_check", "ping_check"))
				b.WriteString(maybe(0.3, fmt.Sprintf("connect_port = %s\n", pick("80", "53"))))
				b.WriteString(maybe(0.2, fmt.Sprintf("bindto = %q\n", pick("10.0.0.2", "192.168.1.2", "2001:db8::2", "10.0.0.9"))))
				b.WriteString(maybe(0.2, fmt.Sprintf("delay_loop = %s\n", pick("6", "0.5", "0.5", "0"))))
			}
		}
	}
	for m := range 3 {
		if marks[m] || r.IntN(20) == 0 {
			fmt.Fprintf(&b, "[[mark]]\nmark = %d\n%s%s", m,
				maybe(0.3, pick(`destination = "10.0.0.1"`+"\n", `destination = "2001:db8::1"`+"\n")),
				maybe(0.5, "protocol = \"tcp\"\nports = [80, \"1000-2000\"]\n"))
		}
	}
	return b.String()
}
