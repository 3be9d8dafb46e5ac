//go:build linux

package afpacket

import (
	"encoding/binary"
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/internal/netnstest"
	"github.com/uvs-lb/uvs/packet"
	"github.com/uvs-lb/uvs/packet/packettest"
)

// Privileged tests build their own network namespaces, named uvs-afp-<pid>-<n> so that
// concurrent runs do not collide, and always delete them in Cleanup (deleting a namespace
// deletes the veth ends inside it). They need root (CI runs them as root).

func needRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root: creates network namespaces and veth pairs with ip(8) (CI runs this as root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		tb.Skip("needs iproute2's ip command")
	}
}

// The namespace helpers are netnstest's; these names keep the tests short.
var (
	run       = netnstest.Run
	inNetns   = netnstest.In
	doInNetns = netnstest.Do
)

// newNetns makes a namespace named uvs-afp-<pid>-<n>, deleted in Cleanup.
func newNetns(tb testing.TB) string {
	tb.Helper()
	return netnstest.New(tb, "uvs-afp")
}

// link is a veth pair between two fresh namespaces: a0 in nsA, where the port under test
// opens, and b0 in nsB, where the kernel holds peerIP.
type link struct {
	nsA, nsB       string
	macA, macB     net.HardwareAddr
	portIP, peerIP netip.Addr
}

func newLink(tb testing.TB) *link {
	tb.Helper()
	l := &link{nsA: newNetns(tb), nsB: newNetns(tb),
		portIP: netip.MustParseAddr("10.77.0.2"), peerIP: netip.MustParseAddr("10.77.0.1")}
	run(tb, "ip", "link", "add", "a0", "netns", l.nsA, "type", "veth", "peer", "name", "b0", "netns", l.nsB)
	run(tb, "ip", "-n", l.nsB, "addr", "add", l.peerIP.String()+"/24", "dev", "b0")
	run(tb, "ip", "-n", l.nsA, "link", "set", "a0", "up")
	run(tb, "ip", "-n", l.nsB, "link", "set", "b0", "up")
	l.macA, l.macB = l.mac(tb, l.nsA, "a0"), l.mac(tb, l.nsB, "b0")
	return l
}

func (l *link) mac(tb testing.TB, ns, dev string) net.HardwareAddr {
	var mac net.HardwareAddr
	inNetns(tb, ns, func() error {
		ifi, err := net.InterfaceByName(dev)
		if err == nil {
			mac = ifi.HardwareAddr
		}
		return err
	})
	return mac
}

// open opens a port on dev in namespace ns and closes it in Cleanup.
func openIn(tb testing.TB, ns string, cfg Config) *Port {
	tb.Helper()
	var p *Port
	inNetns(tb, ns, func() (err error) {
		p, err = Open(cfg)
		return err
	})
	tb.Cleanup(func() { p.Close() })
	return p
}

// linkStats returns the kernel's counters of dev in ns (ip -s -j link).
func linkStats(tb testing.TB, ns, dev string) (rx, tx uint64) {
	tb.Helper()
	var v []struct {
		Stats64 struct {
			RX struct{ Packets uint64 } `json:"rx"`
			TX struct{ Packets uint64 } `json:"tx"`
		} `json:"stats64"`
	}
	if err := json.Unmarshal([]byte(run(tb, "ip", "-n", ns, "-s", "-j", "link", "show", "dev", dev)), &v); err != nil || len(v) != 1 {
		tb.Fatalf("ip -j link: %v", err)
	}
	return v[0].Stats64.RX.Packets, v[0].Stats64.TX.Packets
}

func mac6(m net.HardwareAddr) [6]byte { return [6]byte(m) }

// arpRequest builds "who has target? tell sender" from mac.
func arpRequest(mac net.HardwareAddr, sender, target netip.Addr) []byte {
	b := make([]byte, packet.EthernetLen+packet.ARPLen)
	packet.PutEthernet(b, [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, mac6(mac), packet.EtherTypeARP)
	a := packet.ARP(b[packet.EthernetLen:])
	binary.BigEndian.PutUint16(a[0:], 1)      // Ethernet
	binary.BigEndian.PutUint16(a[2:], 0x0800) // IPv4
	a[4], a[5] = 6, 4
	a.SetOp(1)
	a.SetSenderMAC(mac6(mac))
	a.SetSenderIP(sender.As4())
	a.SetTargetIP(target.As4())
	return b
}

// isARPReply reports whether frame is an ARP reply from ip to mac, and its sender MAC.
func isARPReply(frame []byte, from netip.Addr, to net.HardwareAddr) (sender [6]byte, ok bool) {
	if len(frame) < packet.EthernetLen+packet.ARPLen || packet.Ethernet(frame).EtherType() != packet.EtherTypeARP {
		return sender, false
	}
	a := packet.ARP(frame[packet.EthernetLen:])
	if a.Op() != 2 || a.SenderIP() != from.As4() || a.TargetMAC() != mac6(to) {
		return sender, false
	}
	return a.SenderMAC(), true
}

// icmpEcho builds an ICMP echo request.
func icmpEcho(srcMAC, dstMAC net.HardwareAddr, src, dst netip.Addr, id, seq uint16, payload []byte) []byte {
	m := make([]byte, 8+len(payload))
	m[0] = 8
	binary.BigEndian.PutUint16(m[4:], id)
	binary.BigEndian.PutUint16(m[6:], seq)
	copy(m[8:], payload)
	binary.BigEndian.PutUint16(m[2:], ^packet.Checksum(m, 0))
	ip := packettest.IP(src, dst, packet.ProtoICMP, 64, m)
	b := make([]byte, 14+len(ip))
	packet.PutEthernet(b, mac6(dstMAC), mac6(srcMAC), packet.EtherTypeIPv4)
	copy(b[14:], ip)
	return b
}

// testFrame is a frame of the local experimental EtherType 0x88B5, which the kernel ignores,
// carrying a sequence number.
func testFrame(dst, src net.HardwareAddr, seq uint32, size int) []byte {
	b := make([]byte, size)
	packet.PutEthernet(b, mac6(dst), mac6(src), 0x88B5)
	binary.BigEndian.PutUint32(b[14:], seq)
	return b
}

func testFrameSeq(b []byte) (uint32, bool) {
	if len(b) < 18 || packet.Ethernet(b).EtherType() != 0x88B5 {
		return 0, false
	}
	return binary.BigEndian.Uint32(b[14:]), true
}

// readUntil reads from p until match accepts a frame, and returns a copy of it. If none comes
// within d it closes the port, which ends the Read in progress, and fails the test.
func readUntil(tb testing.TB, p *Port, d time.Duration, match func([]byte) bool) []byte {
	tb.Helper()
	bufs := make([][]byte, p.BatchSize())
	for i := range bufs {
		bufs[i] = make([]byte, p.Headroom()+p.MaxFrame())
	}
	sizes := make([]int, len(bufs))
	type res struct {
		f   []byte
		err error
	}
	ch := make(chan res, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			n, err := p.Read(bufs, sizes, p.Headroom())
			if err != nil {
				ch <- res{err: err}
				return
			}
			for i := 0; i < n; i++ {
				f := bufs[i][p.Headroom() : p.Headroom()+sizes[i]]
				if match(f) {
					ch <- res{f: append([]byte(nil), f...)}
					return
				}
			}
			select {
			case <-stop:
				ch <- res{}
				return
			default:
			}
		}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			tb.Fatalf("Read: %v", r.err)
		}
		return r.f
	case <-time.After(d):
		// The reader goroutine is still inside Read: closing the port (Cleanup) ends it.
		p.Close()
		<-ch
		tb.Fatalf("no matching frame within %v", d)
		return nil
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
