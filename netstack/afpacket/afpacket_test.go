//go:build linux

package afpacket

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/netstack/afpacket/vnet"
	"github.com/uvs-lb/uvs/netstack/port"
	"github.com/uvs-lb/uvs/packet"
	"github.com/uvs-lb/uvs/packet/packettest"
)

func TestOpenValidatesConfig(t *testing.T) {
	for _, c := range []Config{
		{},
		{Name: "lo", BlockSize: 3000},
		{Name: "lo", RingVersion: "v4"},
		{Name: "lo", BlockSize: 4096, VNetHdr: true, RingVersion: RingV3}, // V3: a block holds a GSO frame
		{Name: "lo", BlockSize: 64 << 10, RingVersion: RingV2},            // V2: a slot holds a frame of MTU 65536
		{Name: "lo", FrameSize: 65536 + 120, RingVersion: RingV2},         // not a multiple of 16
		{Name: "lo", NumBlocks: -1},
		{Name: "lo", SYNRing: true, SYNRingFrames: -1},
		{Name: "lo", SYNRing: true, SYNRingFrames: 1<<22 + 1},
	} {
		if p, err := Open(c); err == nil {
			p.Close()
			t.Errorf("Open(%+v) succeeded", c)
		}
	}
	if _, err := Open(Config{Name: "uvs-no-such-if"}); err == nil {
		t.Error("Open of a missing interface succeeded")
	}
}

// TestARPAndPingWithKernel: the port speaks to the kernel on the other end of a veth, with and
// without virtio headers: an ARP request gets the kernel's reply, and so does an ICMP echo.
func TestARPAndPingWithKernel(t *testing.T) {
	needRoot(t)
	eachRing(t, func(t *testing.T, rv RingVersion) {
		for _, vh := range []bool{false, true} {
			t.Run(map[bool]string{false: "plain", true: "vnethdr"}[vh], func(t *testing.T) { arpAndPing(t, rv, vh) })
		}
	})
}

func arpAndPing(t *testing.T, rv RingVersion, vh bool) {
	l := newLink(t)
	run(t, "ip", "-n", l.nsA, "link", "set", "a0", "mtu", "1400")
	p := openIn(t, l.nsA, Config{Name: "a0", VNetHdr: vh, NumBlocks: 8, RingVersion: rv})
	timeout, frameSize := time.Duration(0), 1520 // V2: 112 + MTU, rounded up to 16
	if rv == RingV3 {
		timeout, frameSize = time.Millisecond, 0
	}
	if p.Name() != "a0" || !bytes.Equal(p.HardwareAddr(), l.macA) || p.MTU() != 1400 || p.RingVersion() != rv ||
		p.FrameTimeout() != timeout || p.FrameSize() != frameSize {
		t.Fatalf("port %s %s mtu %d ring %s timeout %v frame size %d", p.Name(), p.HardwareAddr(), p.MTU(), p.RingVersion(), p.FrameTimeout(), p.FrameSize())
	}
	if vh && (p.Headroom() != port.VNetHdrLen || p.MaxFrame() != MaxGSOFrame) || !vh && (p.Headroom() != 0 || p.MaxFrame() != 1418) {
		t.Fatalf("headroom %d maxframe %d", p.Headroom(), p.MaxFrame())
	}
	hr := p.Headroom()
	send := func(f []byte, h vnet.Hdr) {
		buf := make([]byte, hr+len(f))
		if vh {
			h.Encode(buf)
		}
		copy(buf[hr:], f)
		if n, err := p.Write([][]byte{buf}, []int{len(f)}, hr); n != 1 || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	// A header as Read hands them out (DATA_VALID after a completed checksum) is
	// accepted on the way out, as is an all-zero one.
	send(arpRequest(p.HardwareAddr(), l.portIP, l.peerIP), vnet.Hdr{Flags: vnet.FlagDataValid})
	readUntil(t, p, 5*time.Second, func(f []byte) bool {
		m, ok := isARPReply(f, l.peerIP, p.HardwareAddr())
		return ok && m == mac6(l.macB)
	})
	send(icmpEcho(p.HardwareAddr(), l.macB, l.portIP, l.peerIP, 0x4242, 1, []byte("uvs ping")), vnet.Hdr{})
	reply := readUntil(t, p, 5*time.Second, func(f []byte) bool {
		var pk packet.Packet
		return packet.Parse(f, &pk) == nil && pk.Key.Proto == packet.ProtoICMP && pk.ICMPType == 0 &&
			pk.Key.SrcAddr() == l.peerIP
	})
	var pk packet.Packet
	packet.Parse(reply, &pk)
	if !packet.ChecksumsValid(reply, &pk) || !bytes.Contains(reply, []byte("uvs ping")) {
		t.Fatalf("bad echo reply % x", reply)
	}
}

// TestBatchWriteCountedOnPeer: 1000 frames written in batches (more frames per Write than
// BatchSize) arrive at a second port on the peer, all of them, in order, and the peer's
// kernel counters agree.
func TestBatchWriteCountedOnPeer(t *testing.T) {
	needRoot(t)
	eachRing(t, func(t *testing.T, rv RingVersion) {
		for _, bypass := range []bool{false, true} {
			t.Run(map[bool]string{false: "qdisc", true: "qdisc-bypass"}[bypass], func(t *testing.T) { batchWrite(t, rv, bypass) })
		}
	})
}

func batchWrite(t *testing.T, rv RingVersion, bypass bool) {
	l := newLink(t)
	a := openIn(t, l.nsA, Config{Name: "a0", QdiscBypass: bypass, NumBlocks: 8, RingVersion: rv})
	b := openIn(t, l.nsB, Config{Name: "b0", NumBlocks: 64, BlockSize: 64 << 10, RingVersion: rv})
	rx0, _ := linkStats(t, l.nsB, "b0")
	const total, per = 1000, 100
	bufs := make([][]byte, per)
	sizes := make([]int, per)
	for s := 0; s < total; s += per {
		for i := range bufs {
			bufs[i] = testFrame(l.macB, l.macA, uint32(s+i), 60+i)
			sizes[i] = len(bufs[i])
		}
		if n, err := a.Write(bufs, sizes, 0); n != per || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	rb := make([][]byte, b.BatchSize())
	for i := range rb {
		rb[i] = make([]byte, b.MaxFrame())
	}
	rs := make([]int, len(rb))
	next := uint32(0)
	deadline := time.Now().Add(5 * time.Second)
	for next < total && time.Now().Before(deadline) {
		n, err := b.Read(rb, rs, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			seq, ok := testFrameSeq(rb[i][:rs[i]])
			if !ok {
				continue
			}
			if seq != next || rs[i] != 60+int(seq%per) {
				t.Fatalf("frame %d (size %d), want %d", seq, rs[i], next)
			}
			next++
		}
	}
	if next != total {
		t.Fatalf("peer port read %d of %d frames", next, total)
	}
	if rx, _ := linkStats(t, l.nsB, "b0"); rx-rx0 < total {
		t.Fatalf("b0 rx_packets grew by %d, want >= %d", rx-rx0, total)
	}
	if s := a.Stats(); s.TxPackets != total || s.TxDropped != 0 {
		t.Fatalf("sender stats %+v", s)
	}
	if s := b.Stats(); s.Packets < total || s.Drops != 0 {
		t.Fatalf("receiver stats %+v", s)
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	needRoot(t)
	eachRing(t, closeUnblocksRead)
}

func closeUnblocksRead(t *testing.T, rv RingVersion) {
	l := newLink(t)
	p := openIn(t, l.nsA, Config{Name: "a0", NumBlocks: 4, RingVersion: rv})
	done := make(chan error, 1)
	var returned time.Time
	go func() {
		_, err := p.Read([][]byte{make([]byte, 2048)}, []int{0}, 0)
		returned = time.Now()
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Read returned %v on an idle link", err)
	case <-time.After(100 * time.Millisecond):
	}
	start := time.Now()
	go p.Close()
	select {
	case err := <-done:
		if !errors.Is(err, port.ErrClosed) {
			t.Fatalf("Read after Close: %v", err)
		}
		t.Logf("Read returned %v after Close was called", returned.Sub(start))
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not unblock Read")
	}
	if _, err := p.Write([][]byte{make([]byte, 60)}, []int{60}, 0); !errors.Is(err, port.ErrClosed) {
		t.Fatalf("Write after Close: %v", err)
	}
	if _, err := p.Read([][]byte{make([]byte, 60)}, []int{0}, 0); !errors.Is(err, port.ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
	p.Close() // twice is fine
}

// TestRingOverflowIsCounted: a reader that falls behind loses frames to a full ring, and
// PACKET_STATISTICS says how many: what was read plus what was dropped is what was sent.
func TestRingOverflowIsCounted(t *testing.T) {
	needRoot(t)
	eachRing(t, ringOverflow)
}

func ringOverflow(t *testing.T, rv RingVersion) {
	l := newLink(t)
	a := openIn(t, l.nsA, Config{Name: "a0", NumBlocks: 8, RingVersion: rv})
	// V3: 2 x 27 frames of 60 bytes; V2: 2 x 2 slots.
	b := openIn(t, l.nsB, Config{Name: "b0", NumBlocks: 2, BlockSize: 4096, RingVersion: rv})
	const total = 2000
	bufs := make([][]byte, 50)
	sizes := make([]int, len(bufs))
	for s := 0; s < total; s += len(bufs) {
		for i := range bufs {
			bufs[i] = testFrame(l.macB, l.macA, uint32(s+i), 60)
			sizes[i] = 60
		}
		a.Write(bufs, sizes, 0)
	}
	time.Sleep(20 * time.Millisecond) // two block timeouts: the ring is handed over
	rb := make([][]byte, 64)
	for i := range rb {
		rb[i] = make([]byte, 2048)
	}
	rs := make([]int, len(rb))
	got := 0
	for {
		// Everything sent is either in the ring now or dropped: read until the stats add up.
		s := b.Stats()
		if uint64(got)+s.Drops >= total {
			if s.Drops == 0 || s.Packets < total || (s.Freezes == 0) != (rv == RingV2) {
				t.Fatalf("stats %+v after %d read", s, got)
			}
			t.Logf("read %d, dropped %d (%+v)", got, s.Drops, s)
			return
		}
		n, err := b.Read(rb, rs, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			if _, ok := testFrameSeq(rb[i][:rs[i]]); ok {
				got++
			}
		}
	}
}

// transfer sends n bytes over a kernel TCP connection from nsB (10.77.0.1) to a listener in
// nsA (10.77.0.2 on a0), while the port on a0 watches.
func transfer(t *testing.T, l *link, n int) {
	t.Helper()
	var ln net.Listener
	inNetns(t, l.nsA, func() (err error) {
		ln, err = net.Listen("tcp4", l.portIP.String()+":5001")
		return err
	})
	defer ln.Close()
	got := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- -1
			return
		}
		m, _ := io.Copy(io.Discard, c)
		c.Close()
		got <- m
	}()
	var c net.Conn
	inNetns(t, l.nsB, func() (err error) {
		c, err = net.DialTimeout("tcp4", l.portIP.String()+":5001", 5*time.Second)
		return err
	})
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Write(bytes.Repeat([]byte("uvs-afpacket-"), n/13)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if m := <-got; m != int64(n/13*13) {
		t.Fatalf("listener got %d bytes", m)
	}
}

type tcpSeen struct {
	frames, valid, gso, big int
	maxSize                 int
}

// watch reads p in a goroutine until stop is closed (then Close unblocks it) and checks every
// TCP frame from the peer.
func watch(t *testing.T, p *Port, from netip.Addr) (stop func() tcpSeen) {
	var (
		seen tcpSeen
		wg   sync.WaitGroup
	)
	bufs := make([][]byte, p.BatchSize())
	for i := range bufs {
		bufs[i] = make([]byte, p.Headroom()+p.MaxFrame())
	}
	sizes := make([]int, len(bufs))
	hr := p.Headroom()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			n, err := p.Read(bufs, sizes, hr)
			if err != nil {
				return
			}
			for i := 0; i < n; i++ {
				f := bufs[i][hr : hr+sizes[i]]
				var pk packet.Packet
				if packet.Parse(f, &pk) != nil || pk.Key.Proto != packet.ProtoTCP || pk.Key.SrcAddr() != from {
					continue
				}
				seen.frames++
				if packet.ChecksumsValid(f, &pk) {
					seen.valid++
				}
				if hr > 0 && vnet.Decode(bufs[i][:hr]).IsGSO() {
					seen.gso++
				}
				if sizes[i] > 1514 {
					seen.big++
				}
				seen.maxSize = max(seen.maxSize, sizes[i])
			}
		}
	}()
	return func() tcpSeen {
		time.Sleep(10*p.FrameTimeout() + 10*time.Millisecond) // let the last block be handed over, and read
		p.Close()
		wg.Wait()
		return seen
	}
}

// TestTCPFromKernelChecksumsVerify: a kernel TCP transfer over a veth with offloads on (the
// default) arrives as GSO super-frames with partial checksums. With VNetHdr the port delivers
// them whole with complete checksums; without it, and with the offloads turned off by
// DisableOffloads, it gets MTU-sized frames with complete checksums; without either, it sees
// the partial checksums and super-frames the documentation warns about.
func TestTCPFromKernelChecksumsVerify(t *testing.T) {
	needRoot(t)
	eachRing(t, tcpFromKernel)
}

func tcpFromKernel(t *testing.T, rv RingVersion) {
	const size = 4 << 20
	setup := func(t *testing.T) *link {
		l := newLink(t)
		run(t, "ip", "-n", l.nsA, "addr", "add", l.portIP.String()+"/24", "dev", "a0")
		return l
	}
	t.Run("vnethdr-offloads-on", func(t *testing.T) {
		l := setup(t)
		p := openIn(t, l.nsA, Config{Name: "a0", VNetHdr: true, RingVersion: rv})
		stop := watch(t, p, l.peerIP)
		transfer(t, l, size)
		seen, st := stop(), p.Stats()
		t.Logf("%+v; %+v", seen, st)
		if seen.frames == 0 || seen.valid != seen.frames || seen.gso == 0 || seen.big == 0 || st.CsumCompleted == 0 ||
			(st.Queued == 0) != (rv == RingV3) || st.Truncated != 0 || st.Oversize != 0 {
			t.Fatalf("%d TCP frames, %d with valid checksums, %d GSO; stats %+v", seen.frames, seen.valid, seen.gso, st)
		}
	})
	t.Run("offloads-off", func(t *testing.T) {
		l := setup(t)
		inNetns(t, l.nsB, func() error { return DisableOffloads("b0") })
		inNetns(t, l.nsA, func() error { return DisableOffloads("a0") })
		var off map[string]bool
		inNetns(t, l.nsB, func() (err error) { off, err = Offloads("b0"); return })
		for k, v := range off {
			if v {
				t.Fatalf("b0 offload %s still on: %v", k, off)
			}
		}
		p := openIn(t, l.nsA, Config{Name: "a0", RingVersion: rv})
		stop := watch(t, p, l.peerIP)
		transfer(t, l, size)
		seen, st := stop(), p.Stats()
		t.Logf("%+v; %+v", seen, st)
		if seen.frames == 0 || seen.valid != seen.frames || seen.big != 0 || st.PartialCsum != 0 || st.Oversize != 0 || st.Queued != 0 {
			t.Fatalf("%d TCP frames, %d valid, %d bigger than 1514; stats %+v", seen.frames, seen.valid, seen.big, st)
		}
	})
	t.Run("plain-offloads-on", func(t *testing.T) {
		l := setup(t)
		p := openIn(t, l.nsA, Config{Name: "a0", RingVersion: rv})
		stop := watch(t, p, l.peerIP)
		transfer(t, l, size)
		seen, st := stop(), p.Stats()
		t.Logf("%+v; %+v", seen, st)
		if st.PartialCsum == 0 || st.Oversize == 0 {
			t.Fatalf("expected partial checksums and oversize super-frames (the caveat): %+v", st)
		}
	})
}

// udpGSO builds a UDP super-frame of segs segments of seg bytes with a partial checksum and
// the virtio header asking the kernel to segment it.
func udpGSO(srcMAC, dstMAC net.HardwareAddr, src, dst netip.AddrPort, segs, seg int) ([]byte, vnet.Hdr) {
	payload := make([]byte, segs*seg)
	for i := range payload {
		payload[i] = byte(i / seg)
	}
	l4 := make([]byte, 8+len(payload))
	binary.BigEndian.PutUint16(l4[0:], src.Port())
	binary.BigEndian.PutUint16(l4[2:], dst.Port())
	binary.BigEndian.PutUint16(l4[4:], uint16(len(l4)))
	copy(l4[8:], payload)
	binary.BigEndian.PutUint16(l4[6:], packet.PseudoHeaderChecksum4(packet.ProtoUDP, src.Addr().As4(), dst.Addr().As4(), uint16(len(l4))))
	f := append(make([]byte, 14), ipv4(src.Addr(), dst.Addr(), packet.ProtoUDP, l4)...)
	packet.PutEthernet(f, mac6(dstMAC), mac6(srcMAC), packet.EtherTypeIPv4)
	h := vnet.Hdr{Flags: vnet.FlagNeedsCsum, CsumStart: 34, CsumOffset: 6}
	if segs > 1 {
		h.GSOType, h.GSOSize, h.HdrLen = vnet.GSOUDPL4, uint16(seg), 42
	}
	return f, h
}

// tcpGSO is udpGSO for TCP (the kernel's TSO/GSO of a TCPv4 super-frame).
func tcpGSO(srcMAC, dstMAC net.HardwareAddr, src, dst netip.AddrPort, segs, seg int) ([]byte, vnet.Hdr) {
	l4 := make([]byte, 20+segs*seg)
	binary.BigEndian.PutUint16(l4[0:], src.Port())
	binary.BigEndian.PutUint16(l4[2:], dst.Port())
	binary.BigEndian.PutUint32(l4[4:], 1000)
	l4[12], l4[13] = 5<<4, packet.TCPAck|packet.TCPPsh
	binary.BigEndian.PutUint16(l4[14:], 65535)
	for i := 20; i < len(l4); i++ {
		l4[i] = byte(i)
	}
	binary.BigEndian.PutUint16(l4[16:], packet.PseudoHeaderChecksum4(packet.ProtoTCP, src.Addr().As4(), dst.Addr().As4(), uint16(len(l4))))
	f := append(make([]byte, 14), ipv4(src.Addr(), dst.Addr(), packet.ProtoTCP, l4)...)
	packet.PutEthernet(f, mac6(dstMAC), mac6(srcMAC), packet.EtherTypeIPv4)
	return f, vnet.Hdr{Flags: vnet.FlagNeedsCsum, CsumStart: 34, CsumOffset: 16, GSOType: vnet.GSOTCPv4, GSOSize: uint16(seg), HdrLen: 54}
}

func ipv4(src, dst netip.Addr, proto uint8, l4 []byte) []byte {
	ip := make([]byte, 20+len(l4))
	ip[0], ip[8], ip[9] = 0x45, 64, proto
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)))
	s, d := src.As4(), dst.As4()
	copy(ip[12:], s[:])
	copy(ip[16:], d[:])
	packet.IPv4(ip).SetChecksum(packet.IPv4(ip).ComputeChecksum())
	copy(ip[20:], l4)
	return ip
}

// TestVNetHdrWriteIsSegmentedByKernel: GSO super-frames and partial checksums written with a
// virtio header leave the link as MTU-sized frames with complete checksums (the kernel
// segments and checksums them in software: a0's offloads are off), and a kernel UDP socket
// on the peer receives the datagrams.
func TestVNetHdrWriteIsSegmentedByKernel(t *testing.T) {
	needRoot(t)
	eachRing(t, vnetHdrWrite)
}

func vnetHdrWrite(t *testing.T, rv RingVersion) {
	l := newLink(t)
	inNetns(t, l.nsA, func() error { return DisableOffloads("a0") })
	a := openIn(t, l.nsA, Config{Name: "a0", VNetHdr: true, NumBlocks: 8, RingVersion: rv})
	b := openIn(t, l.nsB, Config{Name: "b0", NumBlocks: 8, RingVersion: rv})
	var uc *net.UDPConn
	inNetns(t, l.nsB, func() (err error) {
		uc, err = net.ListenUDP("udp4", &net.UDPAddr{IP: l.peerIP.AsSlice(), Port: 9999})
		return err
	})
	defer uc.Close()
	src, dst := netip.AddrPortFrom(l.portIP, 7777), netip.AddrPortFrom(l.peerIP, 9999)
	u3, uh3 := udpGSO(a.HardwareAddr(), l.macB, src, dst, 3, 500)
	u1, uh1 := udpGSO(a.HardwareAddr(), l.macB, src, dst, 1, 333)
	t3, th3 := tcpGSO(a.HardwareAddr(), l.macB, netip.AddrPortFrom(l.portIP, 7778), netip.AddrPortFrom(l.peerIP, 9), 3, 1000)
	var bufs [][]byte
	var sizes []int
	for _, f := range []struct {
		b []byte
		h vnet.Hdr
	}{{u3, uh3}, {u1, uh1}, {t3, th3}} {
		buf := make([]byte, vnet.Len+len(f.b))
		f.h.Encode(buf)
		copy(buf[vnet.Len:], f.b)
		bufs, sizes = append(bufs, buf), append(sizes, len(f.b))
	}
	if n, err := a.Write(bufs, sizes, vnet.Len); n != 3 || err != nil {
		t.Fatalf("Write = %d, %v (stats %+v)", n, err, a.Stats())
	}
	// The peer port sees 3 + 1 UDP and 3 TCP frames, each within the MTU, checksums valid.
	var udp, tcp int
	rb := make([][]byte, 64)
	for i := range rb {
		rb[i] = make([]byte, 2048)
	}
	rs := make([]int, len(rb))
	deadline := time.Now().Add(5 * time.Second)
	for (udp < 4 || tcp < 3) && time.Now().Before(deadline) {
		n, err := b.Read(rb, rs, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			f := rb[i][:rs[i]]
			var pk packet.Packet
			if packet.Parse(f, &pk) != nil || pk.Key.SrcAddr() != l.portIP {
				continue
			}
			if !packet.ChecksumsValid(f, &pk) || len(f) > 1514 {
				t.Fatalf("frame of %d bytes, checksums valid %v", len(f), packet.ChecksumsValid(f, &pk))
			}
			switch pk.Key.Proto {
			case packet.ProtoUDP:
				udp++
			case packet.ProtoTCP:
				tcp++
			}
		}
	}
	if udp != 4 || tcp != 3 {
		t.Fatalf("peer saw %d UDP and %d TCP frames, want 4 and 3", udp, tcp)
	}
	uc.SetReadDeadline(time.Now().Add(2 * time.Second))
	var lens []int
	for range 4 {
		buf := make([]byte, 2048)
		n, err := uc.Read(buf)
		if err != nil {
			t.Fatalf("UDP socket got %v after %v", err, lens)
		}
		lens = append(lens, n)
	}
	if lens[0] != 500 || lens[1] != 500 || lens[2] != 500 || lens[3] != 333 {
		t.Fatalf("datagrams %v", lens)
	}
}

func TestPromiscMembership(t *testing.T) {
	needRoot(t)
	eachRing(t, promisc)
}

func promisc(t *testing.T, rv RingVersion) {
	l := newLink(t)
	promiscuity := func() int {
		var v []struct{ Promiscuity int }
		json.Unmarshal([]byte(run(t, "ip", "-n", l.nsA, "-d", "-j", "link", "show", "dev", "a0")), &v)
		return v[0].Promiscuity
	}
	if n := promiscuity(); n != 0 {
		t.Fatalf("promiscuity %d before", n)
	}
	p := openIn(t, l.nsA, Config{Name: "a0", Promisc: true, NumBlocks: 4, RingVersion: rv})
	if n := promiscuity(); n != 1 {
		t.Fatalf("promiscuity %d while open", n)
	}
	p.Close()
	if n := promiscuity(); n != 0 {
		t.Fatalf("promiscuity %d after Close", n)
	}
}

// TestLinkDownDoesNotSpinOrBreakRead: taking the link down sets ENETDOWN on the socket (poll
// reports POLLERR); Read clears and counts it and keeps waiting, then delivers again.
func TestLinkDownDoesNotSpinOrBreakRead(t *testing.T) {
	needRoot(t)
	eachRing(t, linkDown)
}

func linkDown(t *testing.T, rv RingVersion) {
	l := newLink(t)
	a := openIn(t, l.nsA, Config{Name: "a0", NumBlocks: 4, RingVersion: rv})
	b := openIn(t, l.nsB, Config{Name: "b0", NumBlocks: 4, RingVersion: rv})
	got := make(chan error, 1)
	go func() {
		bufs := [][]byte{make([]byte, 2048)}
		sizes := []int{0}
		for {
			n, err := a.Read(bufs, sizes, 0)
			if err != nil {
				got <- err
				return
			}
			if _, ok := testFrameSeq(bufs[0][:sizes[0]]); n == 1 && ok {
				got <- nil
				return
			}
		}
	}()
	run(t, "ip", "-n", l.nsA, "link", "set", "a0", "down")
	for i := 0; a.Stats().LinkDown == 0; i++ {
		if i == 100 {
			t.Fatal("ENETDOWN never counted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	run(t, "ip", "-n", l.nsA, "link", "set", "a0", "up")
	time.Sleep(50 * time.Millisecond)
	f := testFrame(l.macA, l.macB, 1, 60)
	for i := 0; ; i++ {
		b.Write([][]byte{f}, []int{len(f)}, 0)
		select {
		case err := <-got:
			if err != nil {
				t.Fatal(err)
			}
			return
		case <-time.After(100 * time.Millisecond):
		}
		if i == 30 {
			t.Fatalf("no frame after the link came back; stats %+v", a.Stats())
		}
	}
}

func TestWarning(t *testing.T) {
	needRoot(t)
	l := newLink(t)
	var wa, wb string
	inNetns(t, l.nsA, func() (err error) { wa, err = Warning("a0"); return })
	inNetns(t, l.nsB, func() (err error) { wb, err = Warning("b0"); return })
	if wa != "" {
		t.Fatalf("a0 has no address, warning %q", wa)
	}
	if !strings.Contains(wb, "10.77.0.1/24") || !strings.Contains(wb, "b0") {
		t.Fatalf("warning for b0: %q", wb)
	}
	t.Log(wb)
}

// TestSteadyStateDoesNotAllocate: Write of a batch and the Reads that receive it allocate
// nothing once warmed up.
func TestSteadyStateDoesNotAllocate(t *testing.T) {
	needRoot(t)
	eachRing(t, func(t *testing.T, rv RingVersion) {
		for _, syn := range []bool{false, true} {
			t.Run(map[bool]string{false: "one-ring", true: "syn-ring"}[syn], func(t *testing.T) { steadyState(t, rv, syn) })
		}
	})
}

func steadyState(t *testing.T, rv RingVersion, synRing bool) {
	l := newLink(t)
	a := openIn(t, l.nsA, Config{Name: "a0", NumBlocks: 8, VNetHdr: true, BlockSize: 128 << 10, RingVersion: rv})
	b := openIn(t, l.nsB, Config{Name: "b0", NumBlocks: 8, VNetHdr: true, BlockSize: 128 << 10, RingVersion: rv, SYNRing: synRing})
	// A batch of small frames, a TCP super-frame, which the veth hands b0 whole (with V2
	// it is longer than a slot, and comes from the socket queue), and a SYN (from the SYN
	// ring when there is one).
	const batch = 64
	wb := make([][]byte, batch+2)
	ws := make([]int, batch+2)
	for i := range batch {
		f := testFrame(l.macB, l.macA, uint32(i), 64)
		wb[i] = append(make([]byte, vnet.Len), f...)
		ws[i] = len(f)
	}
	g, gh := tcpGSO(l.macA, l.macB, netip.AddrPortFrom(l.portIP, 7000), netip.AddrPortFrom(l.peerIP, 9), 4, 1400)
	wb[batch] = make([]byte, vnet.Len+len(g))
	gh.Encode(wb[batch])
	copy(wb[batch][vnet.Len:], g)
	ws[batch] = len(g)
	syn := packettest.Frame{SrcMAC: mac6(l.macA), DstMAC: mac6(l.macB), Src: netip.AddrPortFrom(l.portIP, 7001),
		Dst: netip.AddrPortFrom(l.peerIP, 9), Proto: 6, TCPFlags: 0x02}.Build()
	wb[batch+1], ws[batch+1] = append(make([]byte, vnet.Len), syn...), len(syn)
	rb := make([][]byte, batch)
	for i := range rb {
		rb[i] = make([]byte, vnet.Len+MaxGSOFrame)
	}
	rs := make([]int, batch)
	round := func() {
		if n, err := a.Write(wb, ws, vnet.Len); n != batch+2 || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
		for got, gso, syns := 0, 0, 0; got < batch || gso < 1 || syns < 1; {
			n, err := b.Read(rb, rs, vnet.Len)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n; i++ {
				f := rb[i][vnet.Len : vnet.Len+rs[i]]
				if _, ok := testFrameSeq(f); ok {
					got++
				} else if len(f) == len(g) && vnet.Decode(rb[i]).IsGSO() {
					gso++
				} else if string(f) == string(syn) {
					syns++
				}
			}
		}
	}
	round()
	if allocs := testing.AllocsPerRun(50, round); allocs != 0 {
		t.Fatalf("%v allocations per Write+Read of %d frames", allocs, batch)
	}
	if s := b.Stats(); s.CsumCompleted < 51 || (s.Queued < 51) != (rv == RingV3) || (s.SYNRead >= 51) != synRing {
		t.Fatalf("receiver stats %+v", s)
	}
}

// TestWriteCountsRefusedFrames: frames the kernel refuses in the middle of a batch (empty,
// larger than the MTU without GSO) are dropped and counted, and the rest still go out.
func TestWriteCountsRefusedFrames(t *testing.T) {
	needRoot(t)
	eachRing(t, writeRefused)
}

func writeRefused(t *testing.T, rv RingVersion) {
	l := newLink(t)
	a := openIn(t, l.nsA, Config{Name: "a0", NumBlocks: 4, RingVersion: rv})
	b := openIn(t, l.nsB, Config{Name: "b0", NumBlocks: 4, RingVersion: rv})
	bufs := [][]byte{
		testFrame(l.macB, l.macA, 0, 60),
		{},
		testFrame(l.macB, l.macA, 99, 3000),
		testFrame(l.macB, l.macA, 1, 60),
	}
	sizes := []int{60, 0, 3000, 60}
	n, err := a.Write(bufs, sizes, 0)
	if n != 2 || err != nil || a.Stats().TxDropped != 2 || a.Stats().TxPackets != 2 {
		t.Fatalf("Write = %d, %v; %+v", n, err, a.Stats())
	}
	var seqs []uint32
	rb, rs := mkBufs(8, 4096)
	timer := time.AfterFunc(5*time.Second, func() { b.Close() })
	defer timer.Stop()
	for len(seqs) < 2 {
		n, err := b.Read(rb, rs, 0)
		if err != nil {
			t.Fatalf("after %v: %v", seqs, err)
		}
		for i := 0; i < n; i++ {
			if s, ok := testFrameSeq(rb[i][:rs[i]]); ok {
				seqs = append(seqs, s)
			}
		}
	}
	if len(seqs) != 2 || seqs[0] != 0 || seqs[1] != 1 {
		t.Fatalf("peer got %v", seqs)
	}
}
