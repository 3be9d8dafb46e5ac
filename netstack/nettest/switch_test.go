package nettest

import (
	"net"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/netstack/port"
)

func TestSwitchFloodsThenLearns(t *testing.T) {
	macs := [][6]byte{{2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}, {2, 0, 0, 0, 0, 3}}
	var hosts []*port.Mem
	var sides []port.Port
	for i, m := range macs {
		h, s := port.Pipe(port.MemConfig{Name: "host", MAC: net.HardwareAddr(m[:])},
			port.MemConfig{Name: "sw", MAC: net.HardwareAddr{2, 0, 0, 0, 1, byte(i)}})
		hosts, sides = append(hosts, h), append(sides, s)
	}
	sw := NewSwitch(sides...)
	sw.Start()
	defer func() {
		sw.Close()
		for _, h := range hosts {
			h.Close()
		}
	}()
	frame := func(dst, src [6]byte) []byte {
		f := make([]byte, 60)
		copy(f, dst[:])
		copy(f[6:], src[:])
		f[12], f[13] = 0x88, 0xb5 // local experimental EtherType
		return f
	}
	send := func(from int, f []byte) { hosts[from].Write([][]byte{f}, []int{len(f)}, 0) }
	got := func(h int) [6]byte { // the source of the next frame at host h
		c := make(chan []byte, 1)
		go func() {
			bufs, sizes := [][]byte{make([]byte, 1518)}, []int{0}
			if n, err := hosts[h].Read(bufs, sizes, 0); err == nil && n == 1 {
				c <- bufs[0][:sizes[0]]
			}
		}()
		select {
		case f := <-c:
			return [6]byte(f[6:12])
		case <-time.After(5 * time.Second):
			t.Fatalf("host %d received nothing", h)
			return [6]byte{}
		}
	}
	send(0, frame([6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, macs[0]))
	if got(1) != macs[0] || got(2) != macs[0] {
		t.Fatal("a broadcast was not flooded")
	}
	bcast := [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	send(1, frame(macs[0], macs[1])) // to a learned MAC: host 0 only
	if got(0) != macs[1] {
		t.Error("host 0 did not get the frame for it")
	}
	send(0, frame(bcast, macs[0]))
	if got(2) != macs[0] { // host 2's next frame is this broadcast, had it not got the unicast
		t.Error("a unicast to a learned MAC was flooded")
	}
	got(1)
}
