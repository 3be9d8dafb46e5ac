package vrrp_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/packet"
	"github.com/uvs-lb/uvs/vrrp"
)

var (
	mcast4 = vrrp.GroupIPv4
	mcast6 = vrrp.GroupIPv6
)

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func ips(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = ip(s)
	}
	return out
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wireCases are VRRP messages with known bytes: two captured from real routers (tcpdump
// dumps published with gopacket's VRRP tests: a VRRPv2 router, and a keepalived VRRPv3
// instance with keepalived's sample addresses 192.168.200.16-18), and three whose checksums
// were summed by hand (RFC 1071), independently of package packet.
var wireCases = []struct {
	name     string
	src, dst netip.Addr
	hex      string
	advert   vrrp.Advert
}{
	{
		// 192.168.0.30 > 224.0.0.18: VRRPv2, Advertisement, vrid 1, prio 100, authtype none, intvl 1s
		name: "captured v2",
		src:  ip("192.168.0.30"), dst: mcast4,
		hex: "21016401 0001ba52 c0a80001 0000000000000000",
		advert: vrrp.Advert{Version: 2, VRID: 1, Priority: 100, Interval: time.Second,
			Addrs: ips("192.168.0.1")},
	},
	{
		// keepalived: 10.0.0.130 > 224.0.0.18: VRRPv3, Advertisement, vrid 1, prio 100, intvl 100cs,
		// addrs(3): 192.168.200.16,192.168.200.17,192.168.200.18
		name: "captured keepalived v3",
		src:  ip("10.0.0.130"), dst: mcast4,
		hex: "31016403 0064e54e c0a8c810 c0a8c811 c0a8c812",
		advert: vrrp.Advert{Version: 3, VRID: 1, Priority: 100, Interval: time.Second,
			Addrs: ips("192.168.200.16", "192.168.200.17", "192.168.200.18")},
	},
	{
		// v2, PASS "secret": the checksum covers the VRRP message only, password included.
		name: "v2 PASS",
		src:  ip("10.0.0.1"), dst: mcast4,
		hex: "21339602 01018816 c0a8010a c0a8010b 7365637265740000",
		advert: vrrp.Advert{Version: 2, VRID: 51, Priority: 150, Interval: time.Second,
			AuthType: vrrp.AuthPass, AuthData: [8]byte{'s', 'e', 'c', 'r', 'e', 't'},
			Addrs: ips("192.168.1.10", "192.168.1.11")},
	},
	{
		// v3 unicast, 10 cs. Pseudo-header c000+0201+c000+0202+0070+000c = 0x1847f; message
		// 310a+7801+000a+0000+c000+0264 = 0x16b79; total 0x2eff8 folds to 0xeffa, whose
		// complement is 0x1005.
		name: "v3 IPv4 unicast",
		src:  ip("192.0.2.1"), dst: ip("192.0.2.2"),
		hex: "310a7801 000a1005 c0000264",
		advert: vrrp.Advert{Version: 3, VRID: 10, Priority: 120, Interval: 100 * time.Millisecond,
			Addrs: ips("192.0.2.100")},
	},
	{
		// v3 over IPv6: the pseudo-header of RFC 8200 8.1 (addresses, 32-bit length, next header).
		name: "v3 IPv6",
		src:  ip("fe80::1"), dst: mcast6,
		hex: "3107c802 0064dc1a fe800000000000000000000000000007 20010db8000000000000000000000007",
		advert: vrrp.Advert{Version: 3, VRID: 7, Priority: 200, Interval: time.Second,
			Addrs: ips("fe80::7", "2001:db8::7")},
	},
}

func TestWire(t *testing.T) {
	for _, tc := range wireCases {
		t.Run(tc.name, func(t *testing.T) {
			wire := unhex(t, tc.hex)
			var got vrrp.Advert
			if err := vrrp.Parse(wire, tc.src, tc.dst, 255, &got); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tc.advert) {
				t.Errorf("Parse:\n got %+v\nwant %+v", got, tc.advert)
			}
			buf := make([]byte, 1500)
			n, err := vrrp.Marshal(buf, &tc.advert, tc.src, tc.dst)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if !bytes.Equal(buf[:n], wire) {
				t.Errorf("Marshal:\n got %x\nwant %x", buf[:n], wire)
			}
			if n != vrrp.Len(tc.advert.Version, tc.src.Is6(), len(tc.advert.Addrs)) {
				t.Errorf("Len = %d, Marshal wrote %d", vrrp.Len(tc.advert.Version, tc.src.Is6(), len(tc.advert.Addrs)), n)
			}
		})
	}
}

// fix recomputes the checksum of a VRRP message after a test changed it.
func fix(b []byte, src, dst netip.Addr) []byte {
	b = bytes.Clone(b)
	b[6], b[7] = 0, 0
	var sum uint16
	if b[0]>>4 == 3 {
		if src.Is4() {
			sum = packet.PseudoHeaderChecksum4(vrrp.Protocol, src.As4(), dst.As4(), uint16(len(b)))
		} else {
			s, d := src.As16(), dst.As16()
			sum = packet.PseudoHeaderChecksum6(vrrp.Protocol, &s, &d, uint32(len(b)))
		}
	}
	binary.BigEndian.PutUint16(b[6:], ^packet.Checksum(b, sum))
	return b
}

func TestParseErrors(t *testing.T) {
	v2 := unhex(t, wireCases[0].hex) // from 192.168.0.30
	v3 := unhex(t, wireCases[1].hex) // from 10.0.0.130
	v6 := unhex(t, wireCases[4].hex) // from fe80::1
	s2, s3, s6 := wireCases[0].src, wireCases[1].src, wireCases[4].src
	with := func(b []byte, src, dst netip.Addr, f func([]byte) []byte) []byte {
		return fix(f(bytes.Clone(b)), src, dst)
	}
	cases := []struct {
		name     string
		b        []byte
		src, dst netip.Addr
		ttl      uint8
		err      error
		counter  string
	}{
		{"src and dst of two families", v2, s2, mcast6, 255, vrrp.ErrAddrFamily, "addr_list_err"},
		{"no src", v2, netip.Addr{}, mcast4, 255, vrrp.ErrAddrFamily, "addr_list_err"},
		{"empty", nil, s2, mcast4, 255, vrrp.ErrLength, "packet_len_err"},
		{"short header", v2[:7], s2, mcast4, 255, vrrp.ErrLength, "packet_len_err"},
		{"multicast TTL 254", v2, s2, mcast4, 254, vrrp.ErrTTL, "ip_ttl_err"},
		{"multicast hop limit 1", v6, s6, mcast6, 1, vrrp.ErrTTL, "ip_ttl_err"},
		{"version 1", with(v2, s2, mcast4, func(b []byte) []byte { b[0] = 0x11; return b }), s2, mcast4, 255, vrrp.ErrVersion, "vers_err"},
		{"version 4", with(v3, s3, mcast4, func(b []byte) []byte { b[0] = 0x41; return b }), s3, mcast4, 255, vrrp.ErrVersion, "vers_err"},
		{"version 2 over IPv6", with(v6, s6, mcast6, func(b []byte) []byte { b[0] = 0x21; return append(b, make([]byte, 8)...) }), s6, mcast6, 255, vrrp.ErrVersion, "vers_err"},
		{"type 2", with(v2, s2, mcast4, func(b []byte) []byte { b[0] = 0x22; return b }), s2, mcast4, 255, vrrp.ErrType, "invalid_type_rcvd"},
		{"VRID 0", with(v3, s3, mcast4, func(b []byte) []byte { b[1] = 0; return b }), s3, mcast4, 255, vrrp.ErrVRID, "vrid_err"},
		{"count says 2, one address", with(v2, s2, mcast4, func(b []byte) []byte { b[3] = 2; return b }), s2, mcast4, 255, vrrp.ErrLength, "packet_len_err"},
		{"count says 0, one address", with(v3, s3, mcast4, func(b []byte) []byte { b[3] = 0; return b }), s3, mcast4, 255, vrrp.ErrLength, "packet_len_err"},
		{"v2 without auth data", with(v2, s2, mcast4, func(b []byte) []byte { return b[:12] }), s2, mcast4, 255, vrrp.ErrLength, "packet_len_err"},
		{"trailing byte", with(v3, s3, mcast4, func(b []byte) []byte { return append(b, 0) }), s3, mcast4, 255, vrrp.ErrLength, "packet_len_err"},
		{"IPv6 count too large", with(v6, s6, mcast6, func(b []byte) []byte { b[3] = 8; return b }), s6, mcast6, 255, vrrp.ErrLength, "packet_len_err"},
		{"auth type 3", with(v2, s2, mcast4, func(b []byte) []byte { b[4] = 3; return b }), s2, mcast4, 255, vrrp.ErrAuthType, "invalid_authtype"},
		{"v2 interval 0", with(v2, s2, mcast4, func(b []byte) []byte { b[5] = 0; return b }), s2, mcast4, 255, vrrp.ErrInterval, "advert_interval_err"},
		{"v3 interval 0", with(v3, s3, mcast4, func(b []byte) []byte { b[4], b[5] = 0xF0, 0; return b }), s3, mcast4, 255, vrrp.ErrInterval, "advert_interval_err"},
		{"v2 checksum", func() []byte { b := bytes.Clone(v2); b[7] ^= 1; return b }(), s2, mcast4, 255, vrrp.ErrChecksum, "chk_err"},
		{"v3 pseudo-header src", v3, ip("10.0.0.131"), mcast4, 255, vrrp.ErrChecksum, "chk_err"},
		{"v3 pseudo-header dst", v3, s3, ip("224.0.0.19"), 255, vrrp.ErrChecksum, "chk_err"},
		{"v3 IPv6 pseudo-header", v6, ip("fe80::2"), mcast6, 255, vrrp.ErrChecksum, "chk_err"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var a vrrp.Advert
			err := vrrp.Parse(tc.b, tc.src, tc.dst, tc.ttl, &a)
			if err != tc.err {
				t.Fatalf("Parse = %v, want %v", err, tc.err)
			}
			if k := vrrp.KindOf(err); k.Counter() != tc.counter {
				t.Errorf("KindOf(%v).Counter() = %q, want %q", err, k.Counter(), tc.counter)
			}
			if len(tc.b) >= vrrp.HeaderLen && tc.src.IsValid() && tc.src.Is4() == tc.dst.Is4() && a.VRID != tc.b[1] {
				t.Errorf("VRID after error = %d, want the header's %d", a.VRID, tc.b[1])
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	v3 := unhex(t, wireCases[1].hex)
	var a vrrp.Advert
	// keepalived accepts any TTL from unicast peers: so does Parse.
	uni := unhex(t, wireCases[3].hex)
	if err := vrrp.Parse(uni, wireCases[3].src, wireCases[3].dst, 1, &a); err != nil {
		t.Fatalf("unicast TTL 1: %v", err)
	}
	// IPv4-mapped IPv6 addresses are IPv4.
	if err := vrrp.Parse(v3, netip.AddrFrom16(wireCases[1].src.As16()), mcast4, 255, &a); err != nil {
		t.Fatalf("4-in-6 source: %v", err)
	}
	// AH (2) is a valid auth type on the wire; the Router counts it as a mismatch.
	v2 := fix(func() []byte { b := unhex(t, wireCases[0].hex); b[4] = vrrp.AuthAH; return b }(), wireCases[0].src, mcast4)
	if err := vrrp.Parse(v2, wireCases[0].src, mcast4, 255, &a); err != nil || a.AuthType != vrrp.AuthAH {
		t.Fatalf("auth type AH: %v, %d", err, a.AuthType)
	}
	// v2 auth data is ignored (kept zero) with no authentication.
	v2 = fix(func() []byte { b := unhex(t, wireCases[0].hex); b[15] = 'x'; return b }(), wireCases[0].src, mcast4)
	if err := vrrp.Parse(v2, wireCases[0].src, mcast4, 255, &a); err != nil || a.AuthData != [8]byte{} {
		t.Fatalf("auth data with no auth: %v, %q", err, a.AuthData)
	}
	// v3's four reserved bits are ignored.
	v3r := fix(func() []byte { b := bytes.Clone(v3); b[4] |= 0xF0; return b }(), wireCases[1].src, mcast4)
	if err := vrrp.Parse(v3r, wireCases[1].src, mcast4, 255, &a); err != nil || a.Interval != time.Second {
		t.Fatalf("reserved bits: %v, %v", err, a.Interval)
	}
	// No addresses at all is a valid advert (keepalived sends one with no VIPs).
	none := fix(unhex(t, "31010100 00640000"), wireCases[1].src, mcast4)
	if err := vrrp.Parse(none, wireCases[1].src, mcast4, 255, &a); err != nil || len(a.Addrs) != 0 {
		t.Fatalf("no addresses: %v, %v", err, a.Addrs)
	}
}

func TestParseAllocs(t *testing.T) {
	wire := unhex(t, wireCases[1].hex)
	a := vrrp.Advert{Addrs: make([]netip.Addr, 0, 3)}
	src := wireCases[1].src
	allocs := testing.AllocsPerRun(100, func() {
		if err := vrrp.Parse(wire, src, mcast4, 255, &a); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Parse allocates %v times with room for the addresses", allocs)
	}
	bad := wire[:5]
	allocs = testing.AllocsPerRun(100, func() { _ = vrrp.Parse(bad, src, mcast4, 255, &a) })
	if allocs != 0 {
		t.Errorf("a failing Parse allocates %v times", allocs)
	}
}

func TestMarshalErrors(t *testing.T) {
	ok := vrrp.Advert{Version: 3, VRID: 1, Priority: 100, Interval: time.Second, Addrs: ips("10.0.0.100")}
	src := ip("10.0.0.1")
	many := make([]netip.Addr, 256)
	for i := range many {
		many[i] = netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
	}
	cases := []struct {
		name     string
		f        func(a *vrrp.Advert)
		src, dst netip.Addr
		n        int
		err      error
	}{
		{"families", nil, src, mcast6, 100, vrrp.ErrAddrFamily},
		{"version 1", func(a *vrrp.Advert) { a.Version = 1 }, src, mcast4, 100, vrrp.ErrVersion},
		{"version 2 over IPv6", func(a *vrrp.Advert) { a.Version = 2; a.Addrs = ips("fe80::7") }, ip("fe80::1"), mcast6, 100, vrrp.ErrVersion},
		{"VRID 0", func(a *vrrp.Advert) { a.VRID = 0 }, src, mcast4, 100, vrrp.ErrVRID},
		{"v3 interval 5ms", func(a *vrrp.Advert) { a.Interval = 5 * time.Millisecond }, src, mcast4, 100, vrrp.ErrInterval},
		{"v3 interval 15ms", func(a *vrrp.Advert) { a.Interval = 15 * time.Millisecond }, src, mcast4, 100, vrrp.ErrInterval},
		{"v3 interval 41s", func(a *vrrp.Advert) { a.Interval = 41 * time.Second }, src, mcast4, 100, vrrp.ErrInterval},
		{"v2 interval 1.5s", func(a *vrrp.Advert) { a.Version = 2; a.Interval = 1500 * time.Millisecond }, src, mcast4, 100, vrrp.ErrInterval},
		{"v2 interval 256s", func(a *vrrp.Advert) { a.Version = 2; a.Interval = 256 * time.Second }, src, mcast4, 100, vrrp.ErrInterval},
		{"v3 auth", func(a *vrrp.Advert) { a.AuthType = vrrp.AuthPass }, src, mcast4, 100, vrrp.ErrAuthType},
		{"v2 AH", func(a *vrrp.Advert) { a.Version = 2; a.AuthType = vrrp.AuthAH }, src, mcast4, 100, vrrp.ErrAuthType},
		{"address of the other family", func(a *vrrp.Advert) { a.Addrs = ips("10.0.0.100", "fe80::1") }, src, mcast4, 100, vrrp.ErrAddrFamily},
		{"256 addresses", func(a *vrrp.Advert) { a.Addrs = many }, src, mcast4, 2000, vrrp.ErrTooManyAddrs},
		{"short buffer", nil, src, mcast4, 11, vrrp.ErrShortBuffer},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := ok
			if tc.f != nil {
				tc.f(&a)
			}
			if _, err := vrrp.Marshal(make([]byte, tc.n), &a, tc.src, tc.dst); err != tc.err {
				t.Errorf("Marshal = %v, want %v", err, tc.err)
			}
		})
	}
	a := ok
	if n, err := vrrp.Marshal(make([]byte, 12), &a, src, mcast4); n != 12 || err != nil {
		t.Errorf("Marshal into an exact buffer = %d, %v", n, err)
	}
}

func TestKinds(t *testing.T) {
	for _, err := range []error{vrrp.ErrLength, vrrp.ErrTTL, vrrp.ErrVersion, vrrp.ErrType, vrrp.ErrAuthType,
		vrrp.ErrChecksum, vrrp.ErrVRID, vrrp.ErrInterval, vrrp.ErrAddrFamily, vrrp.ErrAuthMismatch, vrrp.ErrAuthFailure} {
		if vrrp.KindOf(err).Counter() == "" {
			t.Errorf("%v has no counter", err)
		}
		wrapped := errors.Join(errors.New("context"), err)
		if vrrp.KindOf(wrapped) != vrrp.KindOf(err) {
			t.Errorf("KindOf does not see through wrapping for %v", err)
		}
	}
	if vrrp.KindOf(errors.New("other")) != vrrp.KindNone || vrrp.KindOf(nil) != vrrp.KindNone {
		t.Error("KindOf of a foreign error")
	}
}
