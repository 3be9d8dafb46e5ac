package netstack

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/netstack/port"
	"github.com/uvs-lb/uvs/packet"
)

// NextHop resolves a routed destination's gateway through the host's neighbor table (the
// gateway, played by the test, answers the ARP request it starts), refuses a destination no
// route reaches, and WriteFrames puts the caller's frames on the wire unchanged.
func TestNextHopAndWriteFrames(t *testing.T) {
	hostMAC, gwMAC := [6]byte{0x02, 0, 0, 0, 0x09, 1}, [6]byte{0x02, 0, 0, 0, 0x09, 2}
	gw := netip.MustParseAddr("10.0.2.254")
	ph, pg := port.Pipe(mem("eth0", hostMAC), mem("gw", gwMAC))
	h := mustHost(t, HostConfig{Standalone: true,
		NICs:   []NICConfig{{Port: ph, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.2.1/24")}}},
		Routes: []Route{{Dst: netip.MustParsePrefix("10.9.0.0/16"), Gateway: gw}}})
	g := newRawEnd(pg, gwMAC, gw)
	t.Cleanup(func() {
		h.Close()
		g.close()
	})
	must(t, h.Start(context.Background()))

	if _, _, _, err := h.NextHop(netip.MustParseAddr("192.0.2.1")); !errors.Is(err, ErrNoRoute) {
		t.Fatalf("NextHop of an unrouted address: %v, want ErrNoRoute", err)
	}
	vip := netip.MustParseAddr("10.9.0.1")
	var nic int
	var src, next [6]byte
	deadline := time.Now().Add(waitFor)
	for {
		var err error
		nic, src, next, err = h.NextHop(vip)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrUnresolved) || time.Now().After(deadline) {
			t.Fatalf("NextHop(%s): %v", vip, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if nic != 0 || src != hostMAC || next != gwMAC {
		t.Fatalf("NextHop(%s) = NIC %d, %x → %x; want NIC 0, %x → %x (the gateway's)", vip, nic, src, next, hostMAC, gwMAC)
	}

	f := make([]byte, 64)
	packet.PutEthernet(f, next, src, 0x88b5) // local experimental EtherType: the stack sends none
	copy(f[packet.EthernetLen:], "written below the stack")
	if n, err := h.WriteFrames(nic, [][]byte{f, f}, []int{len(f), len(f)}, h.Headroom(nic)); n != 2 || err != nil {
		t.Fatalf("WriteFrames = %d, %v; want 2, nil", n, err)
	}
	timeout := time.After(waitFor)
	for seen := 0; seen < 2; {
		select {
		case got := <-g.frames:
			if bytes.Equal(got, f) {
				seen++
			}
		case <-timeout:
			t.Fatalf("the gateway got %d of the 2 frames written", seen)
		}
	}
	if _, err := h.WriteFrames(3, [][]byte{f}, []int{len(f)}, 0); err == nil {
		t.Error("WriteFrames to NIC 3 of a one-NIC host: no error")
	}
	h.Close()
	if _, err := h.WriteFrames(nic, [][]byte{f}, []int{len(f)}, 0); err == nil {
		t.Error("WriteFrames on a closed host: no error")
	}
	if _, _, _, err := h.NextHop(vip); err == nil {
		t.Error("NextHop on a closed host: no error")
	}
}

// NextHop and WriteFrames allocate nothing once the next hop is resolved: a flood of
// frames written below the stack costs no garbage per frame.
func TestWriteFramesAllocs(t *testing.T) {
	hostMAC, gwMAC := [6]byte{0x02, 0, 0, 0, 0x0a, 1}, [6]byte{0x02, 0, 0, 0, 0x0a, 2}
	gw := netip.MustParseAddr("10.0.3.254")
	ph, pg := port.Pipe(mem("eth0", hostMAC), mem("gw", gwMAC))
	h := mustHost(t, HostConfig{Standalone: true,
		NICs:   []NICConfig{{Port: ph, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.3.1/24")}}},
		Routes: []Route{{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: gw}}})
	// The gateway: it answers ARP for its address and reads everything else into buffers
	// it reuses, allocating nothing.
	done := make(chan struct{})
	go func() {
		defer close(done)
		bufs, sizes := make([][]byte, pg.BatchSize()), make([]int, pg.BatchSize())
		for i := range bufs {
			bufs[i] = make([]byte, pg.MaxFrame())
		}
		for {
			n, err := pg.Read(bufs, sizes, 0)
			if err != nil {
				return
			}
			for _, f := range bufs[:n] {
				var p packet.Packet
				if packet.Parse(f, &p) != nil || p.EtherType != packet.EtherTypeARP {
					continue
				}
				if a := packet.ARP(f[p.L3Off:]); a.Op() == packet.ARPRequest && a.TargetIP() == gw.As4() {
					reply := arpFrame(packet.ARPReply, gwMAC, a.SenderMAC(), gw, netip.AddrFrom4(a.SenderIP()))
					pg.Write([][]byte{reply}, []int{len(reply)}, 0)
				}
			}
		}
	}()
	t.Cleanup(func() {
		h.Close()
		pg.Close()
		<-done
	})
	must(t, h.Start(context.Background()))
	dst := netip.MustParseAddr("198.51.100.7")
	deadline := time.Now().Add(waitFor)
	for {
		_, _, _, err := h.NextHop(dst)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	bufs, sizes := make([][]byte, 64), make([]int, 64)
	for i := range bufs {
		bufs[i], sizes[i] = make([]byte, 60), 60
	}
	send := func() {
		nic, src, next, err := h.NextHop(dst)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bufs {
			packet.PutEthernet(b, next, src, packet.EtherTypeIPv4)
		}
		h.WriteFrames(nic, bufs, sizes, 0)
	}
	// The pipe allocates a frame the first time its queue holds that many (at most its
	// limit, 1024): faster than the gateway reads, the writes fill it first.
	for range 200 {
		send()
	}
	if n := testing.AllocsPerRun(200, send); n != 0 {
		t.Errorf("%v allocations a batch of 64 frames, want none", n)
	}
}
