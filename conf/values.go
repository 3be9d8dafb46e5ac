package conf

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/packet"
)

// maxTimeout bounds persistence_timeout and the [ipvs.timeouts], as keepalived does
// (LVS_MAX_TIMEOUT, 31 days).
const maxTimeout = 31 * 86400

// addr parses s, at key, as a unicast address: one the appliance can own or talk to.
func (p *parser) addr(key, s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		if _, perr := netip.ParsePrefix(s); perr == nil {
			p.Errorf(key, "%q is a prefix; an address is wanted here", s)
		} else {
			p.Errorf(key, "%q is not an IP address", s)
		}
		return netip.Addr{}, false
	}
	return a, p.unicast(key, a)
}

// unicast reports (and so refuses) addresses that cannot be a host's.
func (p *parser) unicast(key string, a netip.Addr) bool {
	switch {
	case a.Zone() != "":
		p.Errorf(key, "%s: zones are not supported; the interface gives the link", a)
	case a.Is4In6():
		p.Errorf(key, "%s: write the IPv4 address as such (%s)", a, a.Unmap())
	case a.IsUnspecified(), a.IsMulticast(), a.IsLoopback(), a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		p.Errorf(key, "%s is not a unicast address", a)
	default:
		return true
	}
	return false
}

// canonicalPrefix parses s as a network prefix with no host bits set, as routes and mark
// rules want. A bare address is a host prefix when bare is true.
func (p *parser) canonicalPrefix(key, s string, bare bool) (netip.Prefix, bool) {
	pf, err := netip.ParsePrefix(s)
	if err != nil {
		a, aerr := netip.ParseAddr(s)
		switch {
		case aerr == nil && bare:
			return netip.PrefixFrom(a, a.BitLen()), true
		case aerr == nil:
			p.Errorf(key, "%q needs a prefix length, like %s", s, netip.PrefixFrom(a, a.BitLen()))
		default:
			p.Errorf(key, "%q is not a prefix (like 10.1.0.0/16 or 2001:db8::/32)", s)
		}
		return netip.Prefix{}, false
	}
	if pf.Masked() != pf {
		p.Errorf(key, "%s has host bits set; the prefix is %s", pf, pf.Masked())
		return netip.Prefix{}, false
	}
	return pf, true
}

// portRange parses "80" or "10000-20000".
func portRange(s string) (lb.PortRange, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	l, err := port(lo)
	if err != nil {
		return lb.PortRange{}, err
	}
	h := l
	if isRange {
		if h, err = port(hi); err != nil {
			return lb.PortRange{}, err
		}
	}
	if l > h {
		return lb.PortRange{}, fmt.Errorf("range %d-%d is reversed", l, h)
	}
	return lb.PortRange{Lo: l, Hi: h}, nil
}

func port(s string) (uint16, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%q is not a port (1-65535)", s)
	}
	return uint16(n), nil
}

// granularity reads persistence_granularity: a dotted IPv4 netmask, as keepalived, or a
// prefix length, which IPv6 needs (keepalived takes a number for IPv6 too).
func (p *parser) granularity(key string, v any, fam packet.Family) (int, bool) {
	max := int64(32)
	if fam == packet.FamilyIPv6 {
		max = 128
	}
	switch v := v.(type) {
	case int64:
		n, ok := p.Integer(key, v, 1, max)
		return int(n), ok
	case string:
		a, err := netip.ParseAddr(v)
		if err != nil || !a.Is4() {
			p.Errorf(key, "%q is not a netmask (like \"255.255.255.0\")", v)
			return 0, false
		}
		if fam != packet.FamilyIPv4 {
			p.Errorf(key, "an IPv6 service takes a prefix length (1-128), not a netmask")
			return 0, false
		}
		m := binary.BigEndian.Uint32(a.AsSlice())
		ones := bits.LeadingZeros32(^m)
		if m<<ones != 0 || ones == 0 {
			// IPVS would take any mask; the engine groups clients by prefix, and a mask with
			// holes is never what was meant.
			p.Errorf(key, "%s is not a contiguous netmask of at least one bit", a)
			return 0, false
		}
		return ones, true
	}
	p.TypeError(key, "a netmask string or a prefix length", v)
	return 0, false
}

// isPrime reports whether n is prime (n is at most sched.MaxMHTableSize: trial division is
// plenty).
func isPrime(n int) bool {
	if n < 2 {
		return false
	}
	for d := 2; d*d <= n; d++ {
		if n%d == 0 {
			return false
		}
	}
	return true
}

func nextPrime(n int) int {
	for !isPrime(n) {
		n++
	}
	return n
}

// familyName prints a family as the configuration spells it.
func familyName(f packet.Family) string {
	if f == packet.FamilyIPv6 {
		return "ipv6"
	}
	return "ipv4"
}

func familyOf(a netip.Addr) packet.Family {
	if a.Is4() {
		return packet.FamilyIPv4
	}
	return packet.FamilyIPv6
}

// ipName is "IPv4" or "IPv6", for messages.
func ipName(a netip.Addr) string {
	if a.Is4() {
		return "IPv4"
	}
	return "IPv6"
}
