//go:build linux

package realserver

import (
	"bytes"
	"context"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/uvs-lb/uvs/packet/packettest"
)

// socketpair returns a datagram socket pair, both ends closed at cleanup unless handed over.
func socketpair(t *testing.T) [2]int {
	t.Helper()
	p, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestReceiveLoop runs the receive goroutines on socket pairs standing in for the raw and UDP
// sockets and the TUN device (no privileges needed): what reaches the "device" is exactly the
// inner packets for the VIPs, in order; the rest is counted by reason; cancelling the context
// stops the receivers and Close releases everything.
func TestReceiveLoop(t *testing.T) {
	s, err := New(Config{VIPs: []netip.Addr{vip4, vip6}, Batch: 4, MaxPacket: 1500})
	if err != nil {
		t.Fatal(err)
	}
	tun, raw, gue := socketpair(t), socketpair(t), socketpair(t)
	defer unix.Close(tun[1])
	defer unix.Close(raw[1])
	defer unix.Close(gue[1])
	for _, fd := range []int{raw[0], gue[0]} {
		unix.SetNonblock(fd, true)
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	sys := &system{tun: tun[0], efd: efd, socks: []int{raw[0], gue[0]}}
	recv := []*receiver{
		{name: "ip4in4", fd: raw[0], proto: 4, outerIPv4: true},
		{name: "gue6", fd: gue[0], proto: 17},
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.mu.Lock()
	s.launch(ctx, sys, recv)
	s.mu.Unlock()
	defer s.Close()

	send := func(fd int, b []byte) {
		t.Helper()
		if _, err := unix.Write(fd, b); err != nil {
			t.Fatal(err)
		}
	}
	var want [][]byte
	// IPIP over IPv4, the outer header included as an AF_INET raw socket gives it.
	for i := range 10 {
		in := udpIP(client4, vip4, string(rune('a'+i)))
		send(raw[1], packettest.IP(lb4, rs4, 4, 64, in))
		want = append(want, in)
	}
	send(raw[1], packettest.IP(lb4, rs4, 4, 64, udpIP(client4, rs4, "not for a VIP")))
	send(raw[1], []byte{0x45, 0, 0})                                              // malformed outer header
	send(raw[1], packettest.IP(lb4, rs4, 4, 64, make([]byte, 1600)))              // larger than MaxPacket
	send(gue[1], gue0(41, 0, udpIP(client6, netip.MustParseAddr("fd00::9"), ""))) // not for a VIP
	send(gue[1], []byte{0x20, 0, 0, 0})                                           // control message
	in6 := udpIP(client6, vip6, "over GUE")
	send(gue[1], gue0(41, 0, in6))

	unix.SetsockoptTimeval(tun[1], unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 5})
	buf := make([]byte, 2000)
	var got [][]byte
	for range len(want) + 1 {
		n, err := unix.Read(tun[1], buf)
		if err != nil {
			t.Fatalf("after %d packets on the device: %v", len(got), err)
		}
		got = append(got, bytes.Clone(buf[:n]))
	}
	// The two receivers run concurrently: order is kept per socket only.
	var ipip [][]byte
	sawGUE := false
	for _, g := range got {
		if bytes.Equal(g, in6) {
			sawGUE = true
			continue
		}
		ipip = append(ipip, g)
	}
	if !sawGUE || len(ipip) != len(want) {
		t.Fatalf("device got %d IPIP inner packets (want %d), GUE's: %v", len(ipip), len(want), sawGUE)
	}
	for i := range want {
		if !bytes.Equal(ipip[i], want[i]) {
			t.Fatalf("inner packet %d: %x, want %x", i, ipip[i], want[i])
		}
	}
	var st Stats
	deadline := time.Now().Add(5 * time.Second)
	for {
		st = s.Stats()
		if st.Received == 16 && st.Written == 11 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st.Received != 16 || st.Decapsulated != 11 || st.Written != 11 || st.TotalDropped() != 5 ||
		st.Dropped[DropNotVIP] != 2 || st.Dropped[DropMalformed] != 1 || st.Dropped[DropOversize] != 1 ||
		st.Dropped[DropGUE] != 1 || st.BySocket["ip4in4"] != 13 || st.BySocket["gue6"] != 3 {
		t.Fatalf("stats: %+v, drops %v", st, st.DropCounts())
	}

	// A device that refuses packets: counted, not fatal.
	unix.Close(tun[1])
	tun[1] = -1
	send(raw[1], packettest.IP(lb4, rs4, 4, 64, udpIP(client4, vip4, "lost")))
	for deadline := time.Now().Add(5 * time.Second); s.Stats().Dropped[DropWrite] != 1; {
		if time.Now().After(deadline) {
			t.Fatalf("a refused write is not counted: %+v", s.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}

	// The context ends the receivers; Close then waits and closes.
	cancel()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Write(raw[1], []byte{1}); err == nil {
		t.Error("the receiving socket is still open after Close")
	}
}

// cmsg builds one control message with data.
func cmsg(level, typ int32, data []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(data)))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(len(data)))
	copy(b[unix.CmsgLen(0):], data)
	return b
}

func TestCmsgECN(t *testing.T) {
	tclass := make([]byte, 4)
	binary.NativeEndian.PutUint32(tclass, 0xb8|ecnCE)
	for _, c := range []struct {
		name string
		b    []byte
		want uint8
	}{
		{"IP_TOS", cmsg(unix.IPPROTO_IP, unix.IP_TOS, []byte{0xb8 | 1}), 1},
		{"IPV6_TCLASS", cmsg(unix.IPPROTO_IPV6, unix.IPV6_TCLASS, tclass), ecnCE},
		{"after another message", append(cmsg(unix.IPPROTO_IP, unix.IP_TTL, []byte{64, 0, 0, 0}), cmsg(unix.IPPROTO_IP, unix.IP_TOS, []byte{2})...), 2},
		{"none", nil, ecnUnknown},
		{"other message", cmsg(unix.IPPROTO_IP, unix.IP_TTL, []byte{64, 0, 0, 0}), ecnUnknown},
		{"truncated", cmsg(unix.IPPROTO_IP, unix.IP_TOS, []byte{3})[:8], ecnUnknown},
		{"bad length", func() []byte {
			b := cmsg(unix.IPPROTO_IP, unix.IP_TOS, []byte{3})
			(*unix.Cmsghdr)(unsafe.Pointer(&b[0])).SetLen(1000)
			return b
		}(), ecnUnknown},
	} {
		if got := cmsgECN(c.b); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}
