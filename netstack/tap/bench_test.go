//go:build linux

package tap

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/packet"
	"github.com/uvs-lb/uvs/packet/packettest"
)

// The benchmarks run against the kernel behind a TAP in a namespace they create (root only),
// bounded by b.N and a deadline that closes the port if replies stop.

// BenchmarkTAPRoundTrip: an ARP request to the kernel and its reply, per op.
func BenchmarkTAPRoundTrip(b *testing.B) {
	needTun(b)
	for _, vh := range []bool{false, true} {
		b.Run(map[bool]string{false: "water", true: "vnethdr"}[vh], func(b *testing.B) {
			l := newTapLink(b, Config{VNetHdr: vh})
			hr := l.p.Headroom()
			f := arpRequest(l.p.HardwareAddr(), l.portIP, l.peerIP)
			wb, ws := [][]byte{append(make([]byte, hr), f...)}, []int{len(f)}
			rb, rs := mkBufs(8, 2048)
			guard := time.AfterFunc(time.Minute, func() { l.p.Close() })
			defer guard.Stop()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := l.p.Write(wb, ws, hr); err != nil {
					b.Fatal(err)
				}
				for got := false; !got; {
					n, err := l.p.Read(rb, rs, hr)
					if err != nil {
						b.Fatal(err)
					}
					for i := 0; i < n; i++ {
						_, ok := isARPReply(rb[i][hr:hr+rs[i]], l.peerIP, l.p.HardwareAddr())
						got = got || ok
					}
				}
			}
		})
	}
}

// BenchmarkTAPPingBatch: 64 ICMP echo requests written in one Write, and the kernel's 64
// replies read back in batches; ns/op and pps are per echo (one frame each way).
func BenchmarkTAPPingBatch(b *testing.B) {
	needTun(b)
	l := newTapLink(b, Config{})
	l.neigh(b)
	const batch = 64
	wb := make([][]byte, batch)
	ws := make([]int, batch)
	for i := range wb {
		wb[i] = echo(l.p.HardwareAddr(), l.kernelMAC, l.portIP, l.peerIP, uint16(i))
		ws[i] = len(wb[i])
	}
	rb, rs := mkBufs(batch, 2048)
	guard := time.AfterFunc(2*time.Minute, func() { l.p.Close() })
	defer guard.Stop()
	rounds := (b.N + batch - 1) / batch
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range rounds {
		if n, err := l.p.Write(wb, ws, 0); n != batch || err != nil {
			b.Fatalf("Write = %d, %v", n, err)
		}
		for got := 0; got < batch; {
			n, err := l.p.Read(rb, rs, 0)
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; i < n; i++ {
				if f := rb[i][:rs[i]]; len(f) > 34 && f[23] == packet.ProtoICMP && f[34] == 0 {
					got++
				}
			}
		}
	}
	b.ReportMetric(float64(rounds*batch)/time.Since(start).Seconds(), "pps")
}

func echo(srcMAC, dstMAC net.HardwareAddr, src, dst netip.Addr, seq uint16) []byte {
	m := make([]byte, 8+18)
	m[0] = 8
	binary.BigEndian.PutUint16(m[4:], 0x7575)
	binary.BigEndian.PutUint16(m[6:], seq)
	binary.BigEndian.PutUint16(m[2:], ^packet.Checksum(m, 0))
	ip := packettest.IP(src, dst, packet.ProtoICMP, 64, m)
	f := make([]byte, 14+len(ip))
	packet.PutEthernet(f, mac6(dstMAC), mac6(srcMAC), packet.EtherTypeIPv4)
	copy(f[14:], ip)
	return f
}
