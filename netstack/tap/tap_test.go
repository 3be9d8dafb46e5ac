//go:build linux

package tap

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os/exec"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/netstack/afpacket/vnet"
	"github.com/uvs-lb/uvs/netstack/port"
	"github.com/uvs-lb/uvs/packet"
	"golang.org/x/sys/unix"
)

func TestDeriveMAC(t *testing.T) {
	a, b := DeriveMAC("tap0"), DeriveMAC("tap1")
	if len(a) != 6 || a[0]&0x02 == 0 || a[0]&0x01 != 0 {
		t.Fatalf("%s is not a locally administered unicast address", a)
	}
	if !bytes.Equal(a, DeriveMAC("tap0")) || bytes.Equal(a, b) {
		t.Fatalf("DeriveMAC not stable or not distinct: %s %s", a, b)
	}
}

func TestTAPARPWithKernel(t *testing.T) {
	needTun(t)
	for _, vh := range []bool{false, true} {
		t.Run(map[bool]string{false: "water", true: "vnethdr"}[vh], func(t *testing.T) {
			l := newTapLink(t, Config{VNetHdr: vh})
			p := l.p
			if p.Name() != "t0" || !bytes.Equal(p.HardwareAddr(), DeriveMAC("t0")) || p.MTU() != 1500 ||
				bytes.Equal(p.HardwareAddr(), l.kernelMAC) {
				t.Fatalf("port %s mac %s (kernel %s) mtu %d", p.Name(), p.HardwareAddr(), l.kernelMAC, p.MTU())
			}
			if vh && (p.Headroom() != port.VNetHdrLen || p.MaxFrame() != MaxGSOFrame || p.Offloads()&unix.TUN_F_TSO4 == 0) ||
				!vh && (p.Headroom() != 0 || p.MaxFrame() != 1518) {
				t.Fatalf("headroom %d maxframe %d offloads %#x", p.Headroom(), p.MaxFrame(), p.Offloads())
			}
			hr := p.Headroom()
			f := arpRequest(p.HardwareAddr(), l.portIP, l.peerIP)
			buf := append(make([]byte, hr), f...)
			if vh {
				vnet.Hdr{Flags: vnet.FlagDataValid}.Encode(buf) // as Read hands headers out
			}
			if n, err := p.Write([][]byte{buf}, []int{len(f)}, hr); n != 1 || err != nil {
				t.Fatalf("Write = %d, %v", n, err)
			}
			got := false
			collect(t, p, 5*time.Second, func(_, f []byte) {
				m, ok := isARPReply(f, l.peerIP, p.HardwareAddr())
				got = got || ok && m == mac6(l.kernelMAC)
			}, func() bool { return got })
		})
	}
}

// TestTAPReadCompletesPartialChecksums: with offloads on (TUNSETOFFLOAD), the kernel hands the
// TAP UDP datagrams, a UDP GSO super-frame (USO) and a TCP SYN with partial checksums; Read
// delivers them with complete, valid checksums.
func TestTAPReadCompletesPartialChecksums(t *testing.T) {
	needTun(t)
	l := newTapLink(t, Config{VNetHdr: true})
	l.neigh(t)
	var uc *net.UDPConn
	inNetns(t, l.ns, func() (err error) {
		uc, err = net.ListenUDP("udp4", &net.UDPAddr{IP: l.peerIP.AsSlice()})
		return err
	})
	defer uc.Close()
	dst := &net.UDPAddr{IP: l.portIP.AsSlice(), Port: 9}
	one := bytes.Repeat([]byte{0xab, 0xcd, 0xef}, 333)
	if _, err := uc.WriteToUDP(one, dst); err != nil {
		t.Fatal(err)
	}
	rc, _ := uc.SyscallConn()
	rc.Control(func(fd uintptr) { unix.SetsockoptInt(int(fd), unix.SOL_UDP, unix.UDP_SEGMENT, 1000) })
	if _, err := uc.WriteToUDP(bytes.Repeat([]byte("0123456789"), 300), dst); err != nil {
		t.Fatalf("UDP GSO send: %v", err)
	}
	// The dialer's socket must be made in the namespace: dial on a namespaced thread, with a
	// context cancelled once the SYN has been seen.
	ctx, cancel := context.WithCancel(context.Background())
	var d net.Dialer
	dialDone := make(chan struct{})
	go func() {
		defer close(dialDone)
		inNetnsNoFail(l.ns, func() {
			c, err := d.DialContext(ctx, "tcp4", netip.AddrPortFrom(l.portIP, 80).String())
			if err == nil {
				c.Close()
			}
		})
	}()
	var udpBytes, udpFrames, udpGSO, syn, valid, total int
	collect(t, l.p, 5*time.Second, func(hdr, f []byte) {
		var pk packet.Packet
		if packet.Parse(f, &pk) != nil || pk.Key.SrcAddr() != l.peerIP {
			return
		}
		total++
		if packet.ChecksumsValid(f, &pk) {
			valid++
		}
		h := vnet.Decode(hdr)
		switch pk.Key.Proto {
		case packet.ProtoUDP:
			udpFrames++
			udpBytes += pk.IPLen - (pk.L4Off - pk.L3Off) - 8
			if h.GSOType == vnet.GSOUDPL4 {
				udpGSO++
			}
		case packet.ProtoTCP:
			if pk.TCPFlags&packet.TCPSyn != 0 {
				syn++
			}
		}
	}, func() bool { return udpBytes >= len(one)+3000 && syn > 0 })
	cancel()
	<-dialDone
	st := l.p.Stats()
	t.Logf("%d frames (%d UDP, %d UDP GSO, %d SYN), %d valid; offloads %#x; %+v", total, udpFrames, udpGSO, syn, valid, l.p.Offloads(), st)
	if valid != total || st.CsumCompleted == 0 || udpBytes != len(one)+3000 {
		t.Fatalf("%d of %d frames valid, %d UDP payload bytes; %+v", valid, total, udpBytes, st)
	}
	if l.p.Offloads()&unix.TUN_F_USO4 != 0 && udpGSO == 0 {
		t.Fatal("USO offload on, but no UDP GSO super-frame arrived")
	}
}

// inNetnsNoFail is inNetns for goroutines other than the test's (no t.Fatal there).
func inNetnsNoFail(ns string, fn func()) {
	if err := doInNetns(ns, func() error { fn(); return nil }); err != nil {
		panic(err)
	}
}

// TestTAPWriteGSOToKernel: a UDP GSO super-frame written with a virtio header is segmented by
// the kernel, and a socket behind the TAP receives the datagrams.
func TestTAPWriteGSOToKernel(t *testing.T) {
	needTun(t)
	l := newTapLink(t, Config{VNetHdr: true})
	var uc *net.UDPConn
	inNetns(t, l.ns, func() (err error) {
		uc, err = net.ListenUDP("udp4", &net.UDPAddr{IP: l.peerIP.AsSlice(), Port: 9999})
		return err
	})
	defer uc.Close()
	src, dst := netip.AddrPortFrom(l.portIP, 7777), netip.AddrPortFrom(l.peerIP, 9999)
	var bufs [][]byte
	var sizes []int
	for _, s := range [][2]int{{3, 500}, {1, 333}} {
		f, h := udpFrame(l.p.HardwareAddr(), l.kernelMAC, src, dst, s[0], s[1])
		b := make([]byte, vnet.Len+len(f))
		h.Encode(b)
		copy(b[vnet.Len:], f)
		bufs, sizes = append(bufs, b), append(sizes, len(f))
	}
	if n, err := l.p.Write(bufs, sizes, vnet.Len); n != 2 || err != nil {
		t.Fatalf("Write = %d, %v; %+v", n, err, l.p.Stats())
	}
	uc.SetReadDeadline(time.Now().Add(2 * time.Second))
	var lens []int
	for range 4 {
		b := make([]byte, 2048)
		n, err := uc.Read(b)
		if err != nil {
			t.Fatalf("after %v: %v", lens, err)
		}
		lens = append(lens, n)
	}
	if lens[0] != 500 || lens[1] != 500 || lens[2] != 500 || lens[3] != 333 {
		t.Fatalf("datagrams %v", lens)
	}
}

// udpFrame builds a UDP frame of segs*seg payload bytes with a partial checksum, and the
// virtio header that asks the kernel to finish it (and segment it, when segs > 1).
func udpFrame(srcMAC, dstMAC net.HardwareAddr, src, dst netip.AddrPort, segs, seg int) ([]byte, vnet.Hdr) {
	l4 := make([]byte, 8+segs*seg)
	binary.BigEndian.PutUint16(l4[0:], src.Port())
	binary.BigEndian.PutUint16(l4[2:], dst.Port())
	binary.BigEndian.PutUint16(l4[4:], uint16(len(l4)))
	binary.BigEndian.PutUint16(l4[6:], packet.PseudoHeaderChecksum4(packet.ProtoUDP, src.Addr().As4(), dst.Addr().As4(), uint16(len(l4))))
	f := make([]byte, 34+len(l4))
	packet.PutEthernet(f, mac6(dstMAC), mac6(srcMAC), packet.EtherTypeIPv4)
	ip := packet.IPv4(f[14:34])
	ip[0], ip[8], ip[9] = 0x45, 64, packet.ProtoUDP
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(l4)))
	s, d := src.Addr().As4(), dst.Addr().As4()
	copy(ip[12:], s[:])
	copy(ip[16:], d[:])
	ip.SetChecksum(ip.ComputeChecksum())
	copy(f[34:], l4)
	h := vnet.Hdr{Flags: vnet.FlagNeedsCsum, CsumStart: 34, CsumOffset: 6}
	if segs > 1 {
		h.GSOType, h.GSOSize, h.HdrLen = vnet.GSOUDPL4, uint16(seg), 42
	}
	return f, h
}

func TestTAPCloseUnblocksRead(t *testing.T) {
	needTun(t)
	l := newTapLink(t, Config{})
	done := make(chan error, 1)
	go func() {
		_, err := l.p.Read([][]byte{make([]byte, 2048)}, []int{0}, 0)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Read returned %v with nothing sent", err)
	case <-time.After(100 * time.Millisecond):
	}
	go l.p.Close()
	select {
	case err := <-done:
		if !errors.Is(err, port.ErrClosed) {
			t.Fatalf("Read after Close: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not unblock Read")
	}
	if _, err := l.p.Write([][]byte{make([]byte, 60)}, []int{60}, 0); !errors.Is(err, port.ErrClosed) {
		t.Fatalf("Write after Close: %v", err)
	}
}

// TestTAPPersistAndAttach: a persistent TAP outlives its port, a second Open attaches to it
// (in either mode: the vnet-header flag is per attachment), and an Open without Persist makes
// it go away on Close.
func TestTAPPersistAndAttach(t *testing.T) {
	needTun(t)
	ns := newNetns(t)
	exists := func() bool { return exec.Command("ip", "-n", ns, "link", "show", "dev", "tp0").Run() == nil }
	open := func(cfg Config) *Port {
		var p *Port
		inNetns(t, ns, func() (err error) { p, err = Open(cfg); return })
		return p
	}
	p := open(Config{Name: "tp0", Persist: true})
	mac := p.HardwareAddr()
	p.Close()
	if !exists() {
		t.Fatal("persistent TAP gone after Close")
	}
	p = open(Config{Name: "tp0", Persist: true, VNetHdr: true})
	if !bytes.Equal(p.HardwareAddr(), mac) {
		t.Fatalf("MAC changed on attach: %s, was %s", p.HardwareAddr(), mac)
	}
	p.Close()
	if !exists() {
		t.Fatal("persistent TAP gone after the second Close")
	}
	p = open(Config{Name: "tp0"})
	p.Close()
	if exists() {
		t.Fatal("TAP still there after an Open without Persist was closed")
	}
}

// TestTAPReadDrainsBatch: with many frames waiting, one Read returns a full batch (it keeps
// reading until the device is empty or the batch is full).
func TestTAPReadDrainsBatch(t *testing.T) {
	needTun(t)
	l := newTapLink(t, Config{BatchSize: 32})
	l.neigh(t)
	var uc *net.UDPConn
	inNetns(t, l.ns, func() (err error) {
		uc, err = net.ListenUDP("udp4", &net.UDPAddr{IP: l.peerIP.AsSlice()})
		return err
	})
	defer uc.Close()
	const total = 200
	for i := range total {
		if _, err := uc.WriteToUDP([]byte{byte(i)}, &net.UDPAddr{IP: l.portIP.AsSlice(), Port: 9}); err != nil {
			t.Fatal(err)
		}
	}
	bufs, sizes := mkBufs(32, 2048)
	got, maxBatch := 0, 0
	timer := time.AfterFunc(5*time.Second, func() { l.p.Close() })
	defer timer.Stop()
	for got < total {
		n, err := l.p.Read(bufs, sizes, 0)
		if err != nil {
			t.Fatalf("after %d: %v", got, err)
		}
		maxBatch = max(maxBatch, n)
		for i := 0; i < n; i++ {
			var pk packet.Packet
			if packet.Parse(bufs[i][:sizes[i]], &pk) == nil && pk.Key.Proto == packet.ProtoUDP {
				got++
			}
		}
	}
	if maxBatch != 32 {
		t.Fatalf("largest Read returned %d frames, want a full batch of 32", maxBatch)
	}
}

func TestTAPSteadyStateDoesNotAllocate(t *testing.T) {
	needTun(t)
	l := newTapLink(t, Config{VNetHdr: true})
	f := arpRequest(l.p.HardwareAddr(), l.portIP, l.peerIP)
	wb, ws := [][]byte{append(make([]byte, vnet.Len), f...)}, []int{len(f)}
	rb, rs := mkBufs(8, 2048)
	round := func() {
		if n, err := l.p.Write(wb, ws, vnet.Len); n != 1 || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
		for {
			n, err := l.p.Read(rb, rs, vnet.Len)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n; i++ {
				if _, ok := isARPReply(rb[i][vnet.Len:vnet.Len+rs[i]], l.peerIP, l.p.HardwareAddr()); ok {
					return
				}
			}
		}
	}
	round()
	if a := testing.AllocsPerRun(100, round); a != 0 {
		t.Fatalf("%v allocations per Write+Read", a)
	}
}

// TestTAPDropsFramesLongerThanBuffer: a TAP silently cuts a frame to the read buffer; Read
// detects that (a spill byte) and drops the frame, while one that fits exactly is delivered.
func TestTAPDropsFramesLongerThanBuffer(t *testing.T) {
	needTun(t)
	for _, vh := range []bool{false, true} {
		t.Run(map[bool]string{false: "water", true: "vnethdr"}[vh], func(t *testing.T) {
			l := newTapLink(t, Config{VNetHdr: vh})
			l.neigh(t)
			var uc *net.UDPConn
			inNetns(t, l.ns, func() (err error) {
				uc, err = net.ListenUDP("udp4", &net.UDPAddr{IP: l.peerIP.AsSlice()})
				return err
			})
			defer uc.Close()
			const room = 158 // frame bytes that fit after the headroom
			for _, n := range []int{1000, room - 42, 10} {
				if _, err := uc.WriteToUDP(make([]byte, n), &net.UDPAddr{IP: l.portIP.AsSlice(), Port: 9}); err != nil {
					t.Fatal(err)
				}
			}
			bufs, sizes := mkBufs(4, l.p.Headroom()+room)
			var got []int
			collect2 := func() {
				n, err := l.p.Read(bufs, sizes, l.p.Headroom())
				if err != nil {
					t.Fatal(err)
				}
				for i := 0; i < n; i++ {
					got = append(got, sizes[i])
					hr := l.p.Headroom()
					if vh && sizes[i] == room && !valid(bufs[i][hr:hr+room]) {
						t.Fatal("exact-fit frame: checksum not valid")
					}
				}
			}
			timer := time.AfterFunc(5*time.Second, func() { l.p.Close() })
			defer timer.Stop()
			for len(got) < 2 {
				collect2()
			}
			if len(got) != 2 || got[0] != room || got[1] != 52 || l.p.Stats().Oversize != 1 {
				t.Fatalf("sizes %v, stats %+v", got, l.p.Stats())
			}
		})
	}
}

func valid(f []byte) bool {
	var pk packet.Packet
	return packet.Parse(f, &pk) == nil && packet.ChecksumsValid(f, &pk)
}
