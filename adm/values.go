package adm

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// parseNumber parses a decimal number in [lo, hi], as ipvsadm's string_to_number.
func parseNumber(s string, lo, hi int64) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, false
	}
	return n, true
}

// parseTimeout parses a timeout in seconds (-p, --set).
func parseTimeout(s string, lo, hi int64) (uint32, error) {
	n, ok := parseNumber(s, lo, hi)
	if !ok {
		return 0, fail("invalid timeout value `%s' specified", s)
	}
	return uint32(n), nil
}

// parseFwmark parses -f's mark: an integer greater than zero.
func parseFwmark(s string) (uint32, error) {
	n, ok := parseNumber(s, 1, 1<<32-1)
	if !ok {
		return 0, fail("invalid fwmark value `%s' specified", s)
	}
	return uint32(n), nil
}

// parseNetmask parses -M: a dotted mask for an IPv4 service, a prefix length for an IPv6
// one. The model keeps a prefix length, so a mask must be contiguous (IPVS would take any);
// a full-length mask is the model's 0, a single address.
func parseNetmask(s string, v6 bool) (int, error) {
	if v6 {
		n, ok := parseNumber(s, 1, 128)
		if !ok {
			return 0, fail("illegal ipv6 netmask specified")
		}
		return int(n) % 128, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return 0, fail("illegal virtual server persistent mask specified")
	}
	b := a.As4()
	m := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	ones := 0
	for m&(1<<31) != 0 {
		ones, m = ones+1, m<<1
	}
	if m != 0 || ones == 0 {
		return 0, fail("illegal virtual server persistent mask specified")
	}
	return ones % 32, nil
}

// parseAddrPort parses ipvsadm's service and server addresses: ADDR[:PORT] for IPv4 (or a
// host name, resolved to its first IPv4 address as gethostbyname would), [ADDR]:PORT or a
// bare ADDR for IPv6; the port is a number or a service name of proto. It reports whether
// a port was given and whether s made sense.
func parseAddrPort(ctx context.Context, s, proto string) (a netip.Addr, port uint16, hasPort, ok bool) {
	if allDigits(s) {
		// "80" alone is not an address (ipvsadm refuses it rather than resolving it).
		return a, 0, false, false
	}
	host, ps := s, ""
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 || !strings.HasPrefix(s[end+1:], ":") {
			return a, 0, false, false
		}
		host, ps, hasPort = s[1:end], s[end+2:], true
	case strings.Count(s, ":") > 1:
		// A bare IPv6 address: it has no port.
		host = s
	default:
		if i := strings.LastIndexByte(s, ':'); i >= 0 {
			host, ps, hasPort = s[:i], s[i+1:], true
		}
	}
	a, ok = resolveHost(ctx, host)
	if !ok {
		return a, 0, false, false
	}
	if hasPort {
		if port, ok = resolvePort(ctx, ps, proto); !ok {
			return a, 0, false, false
		}
	}
	return a, port, hasPort, true
}

// resolver looks host and service names up (tests replace it with one that has no network).
var resolver = net.DefaultResolver

// resolveHost parses an address literal or resolves a host name to IPv4.
func resolveHost(ctx context.Context, host string) (netip.Addr, bool) {
	if host == "" {
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a, a.Zone() == ""
	}
	if strings.Contains(host, ":") {
		return netip.Addr{}, false
	}
	as, err := resolver.LookupNetIP(ctx, "ip4", host)
	if err != nil || len(as) == 0 {
		return netip.Addr{}, false
	}
	return as[0].Unmap(), true
}

// resolvePort parses a port number or looks a service name up for proto.
func resolvePort(ctx context.Context, s, proto string) (uint16, bool) {
	if n, ok := parseNumber(s, 0, 65535); ok {
		return uint16(n), true
	}
	if s == "" || allDigits(s) {
		return 0, false
	}
	n, err := resolver.LookupPort(ctx, strings.ToLower(proto), s)
	if err != nil || n < 0 || n > 65535 {
		return 0, false
	}
	return uint16(n), true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Scheduler flag bits, as IPVS numbers them: sh-* and mh-* are the generic flag-1 and
// flag-2 of those schedulers.
const (
	schedFlag1 = 1 << iota
	schedFlag2
	schedFlag3
)

// parseSchedFlags parses -b: comma-separated flags, which must suit the scheduler (-s, or
// the default one). It returns the flags in the model's spelling, in IPVS's bit order.
func parseSchedFlags(sched, arg string) ([]string, error) {
	if sched == "" {
		sched = defaultSched
	}
	bits := 0
	for _, f := range strings.Split(arg, ",") {
		switch f {
		case "":
			// strtok skips empty fields.
		case "flag-1":
			bits |= schedFlag1
		case "flag-2":
			bits |= schedFlag2
		case "flag-3":
			bits |= schedFlag3
		case "sh-fallback", "sh-port", "mh-fallback", "mh-port":
			if !strings.HasPrefix(f, sched+"-") {
				return nil, fail("incompatible scheduler flag `%s'", f)
			}
			if strings.HasSuffix(f, "-fallback") {
				bits |= schedFlag1
			} else {
				bits |= schedFlag2
			}
		default:
			return nil, fail("invalid scheduler flag `%s'", f)
		}
	}
	return schedFlagNames(sched, bits), nil
}

// schedFlagNames spells flag bits for a scheduler, as ipvsadm prints them.
func schedFlagNames(sched string, bits int) []string {
	names := [3]string{"flag-1", "flag-2", "flag-3"}
	switch sched {
	case "sh", "mh":
		// ipvsadm knows only the two named flags of sh and mh.
		names = [3]string{sched + "-fallback", sched + "-port", ""}
	}
	var fs []string
	for i, n := range names {
		if bits&(1<<i) != 0 && n != "" {
			fs = append(fs, n)
		}
	}
	return fs
}

// schedFlagBits reads the model's flag names back into bits.
func schedFlagBits(flags []string) int {
	bits := 0
	for _, f := range flags {
		switch f {
		case "flag-1", "sh-fallback", "mh-fallback":
			bits |= schedFlag1
		case "flag-2", "sh-port", "mh-port":
			bits |= schedFlag2
		case "flag-3":
			bits |= schedFlag3
		}
	}
	return bits
}

// checkMcastGroup checks --mcast-group: a multicast address of either family.
func checkMcastGroup(s string) error {
	a, err := netip.ParseAddr(s)
	if strings.Contains(s, ":") {
		if err != nil || !a.Is6() || a.Zone() != "" || !a.IsMulticast() {
			return fail("invalid IPv6 mcast-group `%s'", s)
		}
		return nil
	}
	if err != nil || !a.Is4() || !a.IsMulticast() {
		return fail("invalid IPv4 mcast-group `%s'", s)
	}
	return nil
}
