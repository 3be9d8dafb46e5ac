//go:build linux

package afpacket

import (
	"slices"
	"testing"
	"time"
)

// arpRoundTrips writes n ARP requests to the kernel on the peer, one at a time, reads each
// reply back through p, and returns the round-trip times, sorted.
func arpRoundTrips(tb testing.TB, p *Port, l *link, n int) []time.Duration {
	tb.Helper()
	req := arpRequest(p.HardwareAddr(), l.portIP, l.peerIP)
	hr := p.Headroom()
	wb, ws := [][]byte{append(make([]byte, hr), req...)}, []int{len(req)}
	rb, rs := mkBufs(p.BatchSize(), hr+p.MaxFrame())
	guard := time.AfterFunc(30*time.Second, func() { p.Close() })
	defer guard.Stop()
	rtts := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if _, err := p.Write(wb, ws, hr); err != nil {
			tb.Fatal(err)
		}
		for got := false; !got; {
			k, err := p.Read(rb, rs, hr)
			if err != nil {
				tb.Fatal(err)
			}
			for i := 0; i < k; i++ {
				if _, ok := isARPReply(rb[i][hr:hr+rs[i]], l.peerIP, p.HardwareAddr()); ok {
					got = true
				}
			}
		}
		rtts = append(rtts, time.Since(start))
	}
	slices.Sort(rtts)
	return rtts
}

// TestV2RoundTripLatency: with the V2 ring a reply is readable as soon as the kernel has
// written it, so a request/reply with the kernel takes microseconds; V3 holds it until its
// block times out (FrameTimeout, 1 ms).
func TestV2RoundTripLatency(t *testing.T) {
	needRoot(t)
	const n = 20
	med := map[RingVersion]time.Duration{}
	eachRing(t, func(t *testing.T, rv RingVersion) {
		for _, vh := range []bool{false, true} {
			l := newLink(t)
			p := openIn(t, l.nsA, Config{Name: "a0", NumBlocks: 8, VNetHdr: vh, RingVersion: rv})
			arpRoundTrips(t, p, l, 2) // the peer learns our address
			rtts := arpRoundTrips(t, p, l, n)
			t.Logf("%s vnethdr=%v: ARP round trip min %v, median %v, max %v", rv, vh, rtts[0], rtts[n/2], rtts[n-1])
			if !vh {
				med[rv] = rtts[n/2]
			}
			if rv == RingV2 && rtts[n/2] >= 500*time.Microsecond {
				t.Errorf("V2 median round trip %v, want < 500µs (all: %v)", rtts[n/2], rtts)
			}
		}
	})
	t.Logf("median round trip: v2 %v, v3 %v", med[RingV2], med[RingV3])
}
