package vrrp_test

import (
	"bytes"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/vrrp"
)

// FuzzParse: Parse never panics (fixsum recomputes the checksum of the fuzzed bytes first, so
// that mutations reach the checks after it), and whatever it accepts Marshal writes back to an advert
// that parses the same, in bytes that differ from the input only where the RFCs say a
// receiver ignores them (v3's reserved bits, v2's auth data with no authentication).
func FuzzParse(f *testing.F) {
	for _, tc := range wireCases {
		f.Add(unhex(f, tc.hex), tc.src.Is6(), false, uint8(255), false)
	}
	f.Add([]byte{0x21, 1, 100, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false, true, uint8(255), true)
	f.Fuzz(func(t *testing.T, b []byte, v6, unicast bool, ttl uint8, fixsum bool) {
		src, dst := ip("192.0.2.1"), vrrp.GroupIPv4
		if unicast {
			dst = ip("192.0.2.2")
		}
		if v6 {
			src, dst = ip("fe80::1"), vrrp.GroupIPv6
			if unicast {
				dst = ip("fe80::2")
			}
		}
		if fixsum && len(b) >= vrrp.HeaderLen {
			// Let mutations past the checksum, to the checks after it.
			b = fix(b, src, dst)
		}
		var a vrrp.Advert
		if err := vrrp.Parse(b, src, dst, ttl, &a); err != nil {
			if vrrp.KindOf(err) == vrrp.KindNone {
				t.Fatalf("Parse returned a foreign error %v", err)
			}
			return
		}
		buf := make([]byte, len(b))
		n, err := vrrp.Marshal(buf, &a, src, dst)
		if a.AuthType == vrrp.AuthAH {
			if err != vrrp.ErrAuthType {
				t.Fatalf("Marshal of AH = %v", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Marshal of a parsed advert %+v: %v", a, err)
		}
		var a2 vrrp.Advert
		if err := vrrp.Parse(buf[:n], src, dst, 255, &a2); err != nil {
			t.Fatalf("Parse of Marshal: %v", err)
		}
		if !reflect.DeepEqual(a, a2) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", a2, a)
		}
		want := bytes.Clone(b)
		if a.Version == 3 {
			want[4] &= 0x0F
		} else if a.AuthType == vrrp.AuthNone {
			clear(want[n-vrrp.AuthLen:])
		}
		if bytes.Equal(want, b) {
			// One's complement has two zeros: a sender's checksum field of 0x0000 and one of
			// 0xFFFF both verify (RFC 1071); Marshal writes the first.
			if !bytes.Equal(buf[:n], b) && !(sameButChecksum(buf[:n], b) && bothZeros(buf[6:8], b[6:8])) {
				t.Fatalf("Marshal wrote %x for %x", buf[:n], b)
			}
		} else if !sameButChecksum(buf[:n], want) {
			t.Fatalf("Marshal wrote %x for %x", buf[:n], b)
		}
	})
}

// bothZeros reports whether two checksum fields are one's complement's two zeros.
func bothZeros(a, b []byte) bool {
	z := func(x []byte) bool { return x[0] == x[1] && (x[0] == 0 || x[0] == 0xFF) }
	return z(a) && z(b)
}

// sameButChecksum: after clearing ignored bits the checksum differs, the rest must not.
func sameButChecksum(a, b []byte) bool {
	return len(a) == len(b) && bytes.Equal(a[:6], b[:6]) && bytes.Equal(a[8:], b[8:])
}

// FuzzMarshal: every encodable advert round-trips through Marshal and Parse.
func FuzzMarshal(f *testing.F) {
	f.Add(uint8(3), uint8(1), uint8(100), uint16(100), uint8(3), false, uint64(7), false)
	f.Add(uint8(2), uint8(51), uint8(0), uint16(1), uint8(1), false, uint64(1), true)
	f.Add(uint8(3), uint8(255), uint8(255), uint16(4095), uint8(2), true, uint64(99), false)
	f.Fuzz(func(t *testing.T, version, vrid, prio uint8, ivl uint16, naddr uint8, v6 bool, seed uint64, pass bool) {
		a := vrrp.Advert{Version: version, VRID: vrid, Priority: prio}
		src, dst := ip("10.0.0.1"), vrrp.GroupIPv4
		if v6 {
			src, dst = ip("fe80::1"), vrrp.GroupIPv6
		}
		if version == 2 {
			a.Interval = time.Duration(ivl) * time.Second
			if pass {
				a.AuthType, a.AuthData = vrrp.AuthPass, [8]byte{byte(seed), byte(seed >> 8), 'x'}
			}
		} else {
			a.Interval = time.Duration(ivl) * 10 * time.Millisecond
		}
		for i := range int(naddr) {
			x := seed*uint64(i+1)*0x9E3779B97F4A7C15 + uint64(i)
			if v6 {
				var b [16]byte
				for j := range b {
					b[j] = byte(x >> (8 * (j % 8)))
				}
				b[0] = 0x20
				a.Addrs = append(a.Addrs, netip.AddrFrom16(b))
			} else {
				a.Addrs = append(a.Addrs, netip.AddrFrom4([4]byte{byte(x), byte(x >> 8), byte(x >> 16), byte(x >> 24)}))
			}
		}
		buf := make([]byte, vrrp.Len(3, true, 255)+vrrp.AuthLen)
		n, err := vrrp.Marshal(buf, &a, src, dst)
		encodable := (version == 3 || (version == 2 && !v6)) && vrid != 0 &&
			((version == 2 && ivl >= 1 && ivl <= 255) || (version == 3 && ivl >= 1 && ivl <= 4095))
		if !encodable {
			if err == nil {
				t.Fatalf("Marshal accepted %+v", a)
			}
			return
		}
		if err != nil {
			t.Fatalf("Marshal %+v: %v", a, err)
		}
		var got vrrp.Advert
		if err := vrrp.Parse(buf[:n], src, dst, 255, &got); err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if !reflect.DeepEqual(got, a) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, a)
		}
	})
}
