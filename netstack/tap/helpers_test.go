//go:build linux

package tap

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/internal/netnstest"
	"github.com/uvs-lb/uvs/packet"
	"golang.org/x/sys/unix"
)

// needTun skips unless the test can create TAP devices: root (creating network namespaces),
// and /dev/net/tun present and openable. On this machine /dev/net/tun is mode 0600
// (root only), so these tests run only as root; CI runs them as root.
func needTun(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root: creates network namespaces and TAP devices (/dev/net/tun is root-only here); CI runs this as root")
	}
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		tb.Skipf("/dev/net/tun is absent or cannot be opened: %v", err)
	}
	unix.Close(fd)
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

// newNetns makes a namespace named uvs-tap-<pid>-<n>, deleted in Cleanup.
func newNetns(tb testing.TB) string {
	tb.Helper()
	return netnstest.New(tb, "uvs-tap")
}

// tapLink is a TAP device t0 in a fresh namespace, the kernel holding 10.78.0.1/24 on it, and
// the port (the uvs end of the wire) open on it as 10.78.0.2.
type tapLink struct {
	ns             string
	p              *Port
	kernelMAC      net.HardwareAddr
	portIP, peerIP netip.Addr
}

func newTapLink(tb testing.TB, cfg Config) *tapLink {
	tb.Helper()
	l := &tapLink{ns: newNetns(tb), portIP: netip.MustParseAddr("10.78.0.2"), peerIP: netip.MustParseAddr("10.78.0.1")}
	if cfg.Name == "" {
		cfg.Name = "t0"
	}
	inNetns(tb, l.ns, func() (err error) {
		l.p, err = Open(cfg)
		return err
	})
	tb.Cleanup(func() { l.p.Close() })
	run(tb, "ip", "-n", l.ns, "addr", "add", l.peerIP.String()+"/24", "dev", l.p.Name())
	run(tb, "ip", "-n", l.ns, "link", "set", l.p.Name(), "up")
	inNetns(tb, l.ns, func() error {
		ifi, err := net.InterfaceByName(l.p.Name())
		if err == nil {
			l.kernelMAC = ifi.HardwareAddr
		}
		return err
	})
	return l
}

// neigh tells the kernel the port's MAC for portIP, so it sends without asking.
func (l *tapLink) neigh(tb testing.TB) {
	run(tb, "ip", "-n", l.ns, "neigh", "replace", l.portIP.String(), "lladdr", l.p.HardwareAddr().String(), "dev", l.p.Name(), "nud", "permanent")
}

func mac6(m net.HardwareAddr) [6]byte { return [6]byte(m) }

func arpRequest(mac net.HardwareAddr, sender, target netip.Addr) []byte {
	b := make([]byte, packet.EthernetLen+packet.ARPLen)
	packet.PutEthernet(b, [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, mac6(mac), packet.EtherTypeARP)
	a := packet.ARP(b[packet.EthernetLen:])
	binary.BigEndian.PutUint16(a[0:], 1)
	binary.BigEndian.PutUint16(a[2:], 0x0800)
	a[4], a[5] = 6, 4
	a.SetOp(1)
	a.SetSenderMAC(mac6(mac))
	a.SetSenderIP(sender.As4())
	a.SetTargetIP(target.As4())
	return b
}

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

func mkBufs(n, size int) ([][]byte, []int) {
	bufs := make([][]byte, n)
	for i := range bufs {
		bufs[i] = make([]byte, size)
	}
	return bufs, make([]int, n)
}

// collect reads frames from p until done returns true for the frames so far or d passes (then
// the port is closed to end the read).
func collect(tb testing.TB, p *Port, d time.Duration, each func(hdr, frame []byte), done func() bool) {
	tb.Helper()
	bufs, sizes := mkBufs(p.BatchSize(), p.Headroom()+p.MaxFrame())
	hr := p.Headroom()
	timer := time.AfterFunc(d, func() { p.Close() })
	defer timer.Stop()
	for !done() {
		n, err := p.Read(bufs, sizes, hr)
		if err != nil {
			tb.Fatalf("Read: %v (after %v?)", err, d)
		}
		for i := 0; i < n; i++ {
			each(bufs[i][:hr], bufs[i][hr:hr+sizes[i]])
		}
	}
}
