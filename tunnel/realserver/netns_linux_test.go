//go:build linux

package realserver

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/uvs-lb/uvs/internal/netnstest"
	"github.com/uvs-lb/uvs/packet/packettest"
)

// Addresses of the namespace test: the client (which also plays the balancer, building the
// outer headers itself) and the real server share a veth; the VIPs are on the server's lo.
var (
	cliV4, rsV4 = netip.MustParseAddr("10.88.0.1"), netip.MustParseAddr("10.88.0.2")
	cliV6, rsV6 = netip.MustParseAddr("fd00:88::1"), netip.MustParseAddr("fd00:88::2")
)

const guePort = 6080

// skipUnlessPrivileged skips a test that needs root, /dev/net/tun and iproute2.
func skipUnlessPrivileged(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, raw sockets, a TUN device); CI runs it as root")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("needs /dev/net/tun: %v", err)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2's ip command")
	}
}

// rsTopo is a client namespace and a real-server namespace joined by a veth (eth0 in both),
// with kernel UDP echo and TCP servers on the VIPs in the server's namespace.
type rsTopo struct {
	cli, rs string
	wg      sync.WaitGroup
	closers []func() error
}

func sysctl(t *testing.T, ns string, kv ...string) {
	t.Helper()
	for _, s := range kv {
		netnstest.Run(t, "ip", "netns", "exec", ns, "sysctl", "-qw", s)
	}
}

func newRSTopo(t *testing.T) *rsTopo {
	t.Helper()
	tp := &rsTopo{cli: netnstest.New(t, "uvsrs-cli"), rs: netnstest.New(t, "uvsrs-rs")}
	netnstest.Run(t, "ip", "-n", tp.cli, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", tp.rs)
	for _, c := range []struct {
		ns     string
		v4, v6 netip.Addr
	}{{tp.cli, cliV4, cliV6}, {tp.rs, rsV4, rsV6}} {
		sysctl(t, c.ns, "net.ipv6.conf.eth0.accept_dad=0", "net.ipv6.conf.eth0.disable_ipv6=0", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.eth0.rp_filter=0")
		netnstest.Run(t, "ip", "-n", c.ns, "addr", "add", c.v4.String()+"/24", "dev", "eth0")
		netnstest.Run(t, "ip", "-n", c.ns, "addr", "add", c.v6.String()+"/64", "dev", "eth0", "nodad")
		netnstest.Run(t, "ip", "-n", c.ns, "link", "set", "eth0", "up")
	}
	// The real server's side of the setup (what SetupCommands prints), and a strict default
	// rp_filter and IPv6 off by default (netnstest's): Start must override both on its device.
	sysctl(t, tp.rs, "net.ipv6.conf.lo.disable_ipv6=0", "net.ipv4.conf.default.rp_filter=1")
	for _, v := range []netip.Addr{vip4, vip6} {
		netnstest.Run(t, "ip", "-n", tp.rs, "addr", "add", netip.PrefixFrom(v, v.BitLen()).String(), "dev", "lo")
	}
	sysctl(t, tp.rs, "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2")
	t.Cleanup(tp.close)

	// Kernel servers on the VIPs: UDP echo on port 7, TCP listeners on port 80.
	netnstest.In(t, tp.rs, func() error {
		for _, v := range []netip.Addr{vip4, vip6} {
			pc, err := net.ListenPacket("udp", netip.AddrPortFrom(v, 7).String())
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", netip.AddrPortFrom(v, 80).String())
			if err != nil {
				pc.Close()
				return err
			}
			tos, err := tosServer(v)
			if err != nil {
				pc.Close()
				ln.Close()
				return err
			}
			tp.closers = append(tp.closers, pc.Close, ln.Close, tos.Close)
			tp.wg.Add(1)
			go func() {
				defer tp.wg.Done()
				serveTOS(tos)
			}()
			tp.wg.Add(1)
			go func() {
				defer tp.wg.Done()
				buf := make([]byte, 2048)
				for {
					n, from, err := pc.ReadFrom(buf)
					if err != nil {
						return
					}
					pc.WriteTo(append([]byte("echo:"), buf[:n]...), from)
				}
			}()
		}
		return nil
	})
	return tp
}

// tosServer listens on vip:8 for serveTOS, with the TOS / traffic class of every datagram
// reported.
func tosServer(vip netip.Addr) (*net.UDPConn, error) {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(vip, 8)))
	if err != nil {
		return nil, err
	}
	rc, err := c.SyscallConn()
	if err == nil {
		cerr := rc.Control(func(fd uintptr) {
			if vip.Is4() {
				err = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_RECVTOS, 1)
			} else {
				err = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVTCLASS, 1)
			}
		})
		err = errors.Join(err, cerr)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// serveTOS answers every datagram with "tos:N", N the TOS / traffic class it arrived with.
func serveTOS(c *net.UDPConn) {
	buf, oob := make([]byte, 2048), make([]byte, 128)
	for {
		_, oobn, _, from, err := c.ReadMsgUDP(buf, oob)
		if err != nil {
			return
		}
		tos := -1
		msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
		for _, m := range msgs {
			switch {
			case m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_TOS && len(m.Data) >= 1:
				tos = int(m.Data[0])
			case m.Header.Level == unix.IPPROTO_IPV6 && m.Header.Type == unix.IPV6_TCLASS && len(m.Data) >= 4:
				tos = int(binary.NativeEndian.Uint32(m.Data))
			}
		}
		c.WriteToUDP([]byte(fmt.Sprintf("tos:%d", tos)), from)
	}
}

func (tp *rsTopo) close() {
	for _, c := range tp.closers {
		c()
	}
	tp.wg.Wait()
}

// client is the client namespace's sockets: raw senders for hand-built tunnel packets, UDP
// sockets that get the echo replies straight from the VIPs, raw TCP receivers for SYN-ACKs.
type client struct {
	t              *testing.T
	hdrincl4       int // AF_INET, IPPROTO_RAW: whole IPv4 packets, outer header built here
	ipip6, ip6ip6  int // AF_INET6 raw, next header 4 and 41: the kernel adds the outer IPv6 header
	gue            net.PacketConn
	reply4, reply6 net.PacketConn
	tcp4, tcp6     int // raw TCP receivers
	udp6raw        int // AF_INET6 raw UDP: datagrams with a zero checksum
	replyPort      uint16
	tos4           uint8 // TOS of the outer IPv4 headers sendOuter4 builds
}

func newClient(t *testing.T, ns string) *client {
	c := &client{t: t, replyPort: 40000}
	netnstest.In(t, ns, func() (err error) {
		open := func(family, proto int) int {
			if err != nil {
				return -1
			}
			var fd int
			fd, err = unix.Socket(family, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
			if err == nil {
				t.Cleanup(func() { unix.Close(fd) })
			}
			return fd
		}
		c.hdrincl4 = open(unix.AF_INET, unix.IPPROTO_RAW)
		c.ipip6 = open(unix.AF_INET6, unix.IPPROTO_IPIP)
		c.ip6ip6 = open(unix.AF_INET6, unix.IPPROTO_IPV6)
		c.udp6raw = open(unix.AF_INET6, unix.IPPROTO_UDP)
		c.tcp4 = open(unix.AF_INET, unix.IPPROTO_TCP)
		c.tcp6 = open(unix.AF_INET6, unix.IPPROTO_TCP)
		if err != nil {
			return err
		}
		for _, p := range []struct {
			pc   *net.PacketConn
			addr string
		}{{&c.gue, ":0"}, {&c.reply4, fmt.Sprintf("%s:%d", cliV4, c.replyPort)}, {&c.reply6, fmt.Sprintf("[%s]:%d", cliV6, c.replyPort)}} {
			if *p.pc, err = net.ListenPacket("udp", p.addr); err != nil {
				return err
			}
			t.Cleanup(func() { (*p.pc).Close() })
		}
		return nil
	})
	return c
}

// sendOuter4 sends inner behind an outer IPv4 header (protocol 4 or 41) from the client to
// the real server.
func (c *client) sendOuter4(proto uint8, inner []byte) {
	c.t.Helper()
	pkt := packettest.IP(cliV4, rsV4, proto, 64, inner)
	pkt[1] = c.tos4 // the kernel computes the header checksum of IP_HDRINCL packets
	if err := unix.Sendto(c.hdrincl4, pkt, 0, &unix.SockaddrInet4{Addr: rsV4.As4()}); err != nil {
		c.t.Fatalf("send IPv4 outer: %v", err)
	}
}

// sendOuter6 sends inner behind an outer IPv6 header (next header 4 or 41).
func (c *client) sendOuter6(proto uint8, inner []byte) {
	c.t.Helper()
	fd := c.ipip6
	if proto == 41 {
		fd = c.ip6ip6
	}
	if err := unix.Sendto(fd, inner, 0, &unix.SockaddrInet6{Addr: rsV6.As16()}); err != nil {
		c.t.Fatalf("send IPv6 outer: %v", err)
	}
}

// sendGUE6NoCsum sends a GUE datagram over IPv6 with a zero UDP checksum, as Linux IPVS does
// with --tun-nocsum (RFC 6935).
func (c *client) sendGUE6NoCsum(payload []byte) {
	c.t.Helper()
	u := make([]byte, 8+len(payload))
	binary.BigEndian.PutUint16(u[0:], 50000)
	binary.BigEndian.PutUint16(u[2:], guePort)
	binary.BigEndian.PutUint16(u[4:], uint16(len(u)))
	copy(u[8:], payload)
	if err := unix.Sendto(c.udp6raw, u, 0, &unix.SockaddrInet6{Addr: rsV6.As16()}); err != nil {
		c.t.Fatalf("send GUE without checksum: %v", err)
	}
}

// sendGUE sends a GUE UDP datagram to the real server over IPv4 or IPv6.
func (c *client) sendGUE(outer netip.Addr, payload []byte) {
	c.t.Helper()
	if _, err := c.gue.WriteTo(payload, net.UDPAddrFromAddrPort(netip.AddrPortFrom(outer, guePort))); err != nil {
		c.t.Fatalf("send GUE: %v", err)
	}
}

// echoRequest is a UDP datagram from the client's reply socket to the VIP's echo port.
func (c *client) echoRequest(vip netip.Addr, msg string) []byte {
	return c.udpRequest(vip, 7, msg)
}

// udpRequest is a UDP datagram from the client's reply socket to vip:port.
func (c *client) udpRequest(vip netip.Addr, port uint16, msg string) []byte {
	src := cliV4
	if vip.Is6() {
		src = cliV6
	}
	return packettest.Frame{Src: netip.AddrPortFrom(src, c.replyPort), Dst: netip.AddrPortFrom(vip, port),
		Proto: 17, Payload: []byte(msg)}.Build()[14:]
}

// expectEcho waits for the echo of msg from vip:7 on the client's reply socket; wait 0 means
// expect nothing for a short while.
func (c *client) expectEcho(vip netip.Addr, msg string, wait time.Duration) {
	c.t.Helper()
	c.expect(vip, 7, "echo:"+msg, wait)
}

// expect waits for the reply want from vip:port on the client's reply socket; wait 0 means
// expect nothing for a short while.
func (c *client) expect(vip netip.Addr, port uint16, want string, wait time.Duration) {
	c.t.Helper()
	pc := c.reply4
	if vip.Is6() {
		pc = c.reply6
	}
	quiet := wait == 0
	if quiet {
		wait = 300 * time.Millisecond
	}
	pc.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 2048)
	for {
		n, from, err := pc.ReadFrom(buf)
		if quiet {
			if err == nil {
				c.t.Fatalf("got %q from %v, want nothing", buf[:n], from)
			}
			return
		}
		if err != nil {
			c.t.Fatalf("no %q from %v:%d: %v", want, vip, port, err)
		}
		got := from.(*net.UDPAddr).AddrPort()
		if got.Addr().Unmap() != vip || got.Port() != port {
			c.t.Fatalf("reply from %v, want %v:%d (the VIP answers the client directly)", got, vip, port)
		}
		if string(buf[:n]) == want {
			return
		}
		c.t.Fatalf("got %q from %v, want %q", buf[:n], got, want)
	}
}

// withTOS sets the TOS (IPv4, fixing the header checksum) or traffic class (IPv6) of the IP
// packet b.
func withTOS(b []byte, tos uint8) []byte {
	if b[0]>>4 == 4 {
		b[1] = tos
		b[10], b[11] = 0, 0
		c := packettest.Checksum(b[:20], 0)
		b[10], b[11] = byte(c>>8), byte(c)
	} else {
		b[0] = 0x60 | tos>>4
		b[1] = b[1]&0x0f | tos<<4
	}
	return b
}

// syn is a TCP SYN from the client's port sport to vip:80.
func (c *client) syn(vip netip.Addr, sport uint16, seq uint32) []byte {
	src := cliV4
	if vip.Is6() {
		src = cliV6
	}
	return packettest.Frame{Src: netip.AddrPortFrom(src, sport), Dst: netip.AddrPortFrom(vip, 80),
		Proto: 6, TCPFlags: 0x02, Seq: seq}.Build()[14:]
}

// expectSYNACK waits for the kernel listener's SYN-ACK from vip:80 to port sport,
// acknowledging seq. (Each SYN has its own port: the client never completes the handshake,
// the listener keeps the half-open connection.)
func (c *client) expectSYNACK(vip netip.Addr, sport uint16, seq uint32) {
	c.t.Helper()
	fd := c.tcp4
	if vip.Is6() {
		fd = c.tcp6
	}
	deadline := time.Now().Add(5 * time.Second)
	buf := make([]byte, 2048)
	for time.Now().Before(deadline) {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if n, _ := unix.Poll(pfd, int(time.Until(deadline).Milliseconds())+1); n <= 0 {
			continue
		}
		n, from, err := unix.Recvfrom(fd, buf, unix.MSG_DONTWAIT)
		if err != nil {
			continue
		}
		seg := buf[:n]
		var src netip.Addr
		if vip.Is4() {
			if n < 20 {
				continue
			}
			seg = buf[int(buf[0]&0xf)*4 : n] // an IPv4 raw socket gives the IP header too
			src = netip.AddrFrom4(from.(*unix.SockaddrInet4).Addr)
		} else {
			src = netip.AddrFrom16(from.(*unix.SockaddrInet6).Addr)
		}
		if len(seg) < 20 || src != vip || binary.BigEndian.Uint16(seg[0:]) != 80 ||
			binary.BigEndian.Uint16(seg[2:]) != sport {
			continue
		}
		if flags := seg[13]; flags&0x12 != 0x12 {
			c.t.Fatalf("from %v:80: TCP flags %#x, want SYN-ACK", vip, flags)
		}
		if ack := binary.BigEndian.Uint32(seg[8:]); ack != seq+1 {
			c.t.Fatalf("SYN-ACK acknowledges %d, want %d", ack, seq+1)
		}
		return
	}
	c.t.Fatalf("no SYN-ACK from %v:80 within 5s", vip)
}

// TestRealServerInNamespaces is the privileged test: the server runs in a real-server
// namespace with the VIPs on lo, as the operator sets it up; a client namespace sends hand-
// built IPIP, IPv6-in-IP and GUE packets carrying UDP datagrams and TCP SYNs for the VIPs,
// and gets the kernel servers' answers directly from the VIPs. Packets for other addresses
// are dropped and counted.
func TestRealServerInNamespaces(t *testing.T) {
	skipUnlessPrivileged(t)
	tp := newRSTopo(t)
	var logBuf syncBuffer
	srv, err := New(Config{VIPs: []netip.Addr{vip4, vip6}, Types: IPIP | GUE, GUEPort: guePort,
		Log: zerolog.New(&logBuf)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var warnings []string
	netnstest.In(t, tp.rs, func() error {
		warnings = CheckHost(srv.Config().VIPs, DefaultDevice)
		return srv.Start(ctx)
	})
	defer srv.Close()
	defer func() {
		if t.Failed() {
			t.Logf("server log:\n%s\nstats: %+v", logBuf.String(), srv.Stats())
		}
	}()
	if len(warnings) != 0 {
		t.Errorf("CheckHost on a host set up as SetupCommands says: %q", warnings)
	}
	for key, want := range map[string]string{"net.ipv4.conf.uvsrs0.rp_filter": "0", "net.ipv6.conf.uvsrs0.disable_ipv6": "0"} {
		out := strings.TrimSpace(netnstest.Run(t, "ip", "netns", "exec", tp.rs, "sysctl", "-n", key))
		if out != want {
			t.Errorf("%s = %s, want %s", key, out, want)
		}
	}
	if out := netnstest.Run(t, "ip", "-n", tp.rs, "link", "show", DefaultDevice); !strings.Contains(out, ",UP") {
		t.Errorf("the TUN device is not up: %s", out)
	}
	c := newClient(t, tp.cli)
	const wait = 5 * time.Second

	t.Run("ipip", func(t *testing.T) {
		c.t = t
		c.sendOuter4(4, c.echoRequest(vip4, "ip4in4"))
		c.expectEcho(vip4, "ip4in4", wait)
		c.sendOuter4(4, c.syn(vip4, 40001, 1000))
		c.expectSYNACK(vip4, 40001, 1000)
	})
	t.Run("ip6ip6", func(t *testing.T) {
		c.t = t
		c.sendOuter6(41, c.echoRequest(vip6, "ip6in6"))
		c.expectEcho(vip6, "ip6in6", wait)
		c.sendOuter6(41, c.syn(vip6, 40002, 2000))
		c.expectSYNACK(vip6, 40002, 2000)
	})
	t.Run("mixed families", func(t *testing.T) {
		c.t = t
		c.sendOuter6(4, c.echoRequest(vip4, "ip4in6"))
		c.expectEcho(vip4, "ip4in6", wait)
		c.sendOuter4(41, c.echoRequest(vip6, "ip6in4"))
		c.expectEcho(vip6, "ip6in4", wait)
	})
	t.Run("gue", func(t *testing.T) {
		c.t = t
		c.sendGUE(rsV4, gue0(4, 0, c.echoRequest(vip4, "gue4")))
		c.expectEcho(vip4, "gue4", wait)
		c.sendGUE(rsV6, gue0(41, 0, c.echoRequest(vip6, "gue6")))
		c.expectEcho(vip6, "gue6", wait)
		c.sendGUE6NoCsum(gue0(4, 0, c.echoRequest(vip4, "gue6 no checksum")))
		c.expectEcho(vip4, "gue6 no checksum", wait)
		c.sendGUE(rsV4, c.echoRequest(vip4, "gue variant 1")) // direct IP, no GUE header
		c.expectEcho(vip4, "gue variant 1", wait)
		c.sendGUE(rsV4, gue0(4, 0, c.syn(vip4, 40003, 3000)))
		c.expectSYNACK(vip4, 40003, 3000)
	})
	t.Run("ecn", func(t *testing.T) {
		c.t = t
		// RFC 6040: an outer congestion mark reaches an ECN-capable inner packet, whichever
		// way the receiver learns the outer header's ECN field (the IPv4 header itself, an
		// IP_TOS or IPV6_TCLASS control message); over a not-ECN-capable one it is a drop.
		const ect0, ce = 2, 3
		c.sendOuter4(4, withTOS(c.udpRequest(vip4, 8, "plain"), ect0))
		c.expect(vip4, 8, "tos:2", wait)
		c.tos4 = ce
		c.sendOuter4(4, withTOS(c.udpRequest(vip4, 8, "ip4in4 CE"), ect0))
		c.expect(vip4, 8, "tos:3", wait)
		before := srv.Stats().Dropped[DropECN]
		c.sendOuter4(4, c.echoRequest(vip4, "not ECN-capable"))
		c.expectEcho(vip4, "", 0)
		waitStats(t, srv, func(st Stats) bool { return st.Dropped[DropECN] == before+1 })
		c.tos4 = 0
		setTOS(t, c.ip6ip6, unix.IPPROTO_IPV6, unix.IPV6_TCLASS, ce)
		c.sendOuter6(41, withTOS(c.udpRequest(vip6, 8, "ip6in6 CE"), 0xb8|ect0))
		c.expect(vip6, 8, fmt.Sprintf("tos:%d", 0xb8|ce), wait)
		setTOS(t, c.ip6ip6, unix.IPPROTO_IPV6, unix.IPV6_TCLASS, 0)
		gue := guePC(t, c)
		setTOS(t, gue, unix.IPPROTO_IP, unix.IP_TOS, ce)
		c.sendGUE(rsV4, gue0(4, 0, withTOS(c.udpRequest(vip4, 8, "gue CE"), ect0)))
		c.expect(vip4, 8, "tos:3", wait)
		setTOS(t, gue, unix.IPPROTO_IP, unix.IP_TOS, 0)
	})
	t.Run("not a VIP", func(t *testing.T) {
		c.t = t
		before := srv.Stats().Dropped[DropNotVIP]
		// The real server's own address and a remote one: no relaying either way.
		for _, dst := range []netip.Addr{rsV4, netip.MustParseAddr("192.0.2.1")} {
			in := packettest.Frame{Src: netip.AddrPortFrom(cliV4, c.replyPort), Dst: netip.AddrPortFrom(dst, 7),
				Proto: 17, Payload: []byte("relay")}.Build()[14:]
			c.sendOuter4(4, in)
			c.sendGUE(rsV4, gue0(4, 0, in))
		}
		c.sendOuter6(41, packettest.Frame{Src: netip.AddrPortFrom(cliV6, c.replyPort), Dst: netip.AddrPortFrom(rsV6, 7),
			Proto: 17, Payload: []byte("relay")}.Build()[14:])
		c.expectEcho(vip4, "", 0)
		waitStats(t, srv, func(st Stats) bool { return st.Dropped[DropNotVIP] == before+5 })
	})

	srv.Close()
	st := srv.Stats()
	t.Logf("stats: received %d decapsulated %d written %d, by socket %v, drops %v",
		st.Received, st.Decapsulated, st.Written, st.BySocket, st.DropCounts())
	if st.Received != 21 || st.Decapsulated != 15 || st.Written != 15 || st.TotalDropped() != 6 ||
		st.Dropped[DropNotVIP] != 5 || st.Dropped[DropECN] != 1 {
		t.Errorf("stats: %+v", st)
	}
	for _, name := range []string{"ip4in4", "ip4in6", "ip6in4", "ip6in6", "gue4", "gue6"} {
		if st.BySocket[name] == 0 {
			t.Errorf("nothing received on %s: %v", name, st.BySocket)
		}
	}
	if err := exec.Command("ip", "-n", tp.rs, "link", "show", DefaultDevice).Run(); err == nil {
		t.Errorf("the TUN device outlives Close")
	}
}

// TestStartErrors: the errors of a Start that cannot work say what is wrong, and leave
// nothing open.
func TestStartErrors(t *testing.T) {
	skipUnlessPrivileged(t)
	ns := netnstest.New(t, "uvsrs-err")
	// A GUE port already taken.
	netnstest.In(t, ns, func() error {
		pc, err := net.ListenPacket("udp4", fmt.Sprintf(":%d", guePort))
		if err != nil {
			return err
		}
		defer pc.Close()
		srv, err := New(Config{VIPs: []netip.Addr{vip4}, Types: GUE, GUEPort: guePort})
		if err != nil {
			return err
		}
		defer srv.Close()
		err = srv.Start(context.Background())
		if err == nil || !strings.Contains(err.Error(), "bind the GUE port") || !errors.Is(err, unix.EADDRINUSE) {
			return fmt.Errorf("Start with the GUE port taken: %v", err)
		}
		// Nothing left behind: the device is gone and a second server can start.
		if _, err := net.InterfaceByName(DefaultDevice); err == nil {
			return errors.New("a failed Start left the TUN device")
		}
		return nil
	})
	// Two servers on one device name.
	netnstest.In(t, ns, func() error {
		a, _ := New(Config{VIPs: []netip.Addr{vip4}})
		b, _ := New(Config{VIPs: []netip.Addr{vip4}, Types: GUE, GUEPort: guePort})
		defer a.Close()
		defer b.Close()
		if err := a.Start(context.Background()); err != nil {
			return err
		}
		if err := b.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "in use") {
			return fmt.Errorf("a second server on %s: %v", DefaultDevice, err)
		}
		return nil
	})
}

// setTOS sets an IP_TOS or IPV6_TCLASS socket option.
func setTOS(t *testing.T, fd, level, opt int, v int) {
	t.Helper()
	if err := unix.SetsockoptInt(fd, level, opt, v); err != nil {
		t.Fatalf("setsockopt TOS: %v", err)
	}
}

// guePC returns the descriptor of the client's GUE socket (an IPv6 socket that also sends to
// IPv4 addresses; IP_TOS applies to those).
func guePC(t *testing.T, c *client) int {
	t.Helper()
	rc, err := c.gue.(*net.UDPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	fd := -1
	rc.Control(func(f uintptr) { fd = int(f) })
	return fd
}

func waitStats(t *testing.T, srv *Server, ok func(Stats) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok(srv.Stats()) {
		if time.Now().After(deadline) {
			t.Fatalf("stats never as expected: %+v", srv.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines to log into.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
