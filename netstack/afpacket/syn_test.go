//go:build linux

package afpacket

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/packet/packettest"
	"golang.org/x/sys/unix"
)

// runCBPF runs a classic BPF program over frame as the kernel does for a packet socket's
// filter (sk_run_filter semantics for the instructions synFilter uses): a load past the end
// of the frame ends the program with 0.
func runCBPF(tb testing.TB, prog []unix.SockFilter, frame []byte) uint32 {
	tb.Helper()
	var a, x uint32
	load := func(off uint32, size int) (uint32, bool) {
		if uint64(off)+uint64(size) > uint64(len(frame)) {
			return 0, false
		}
		switch size {
		case 1:
			return uint32(frame[off]), true
		case 2:
			return uint32(binary.BigEndian.Uint16(frame[off:])), true
		}
		return binary.BigEndian.Uint32(frame[off:]), true
	}
	size := func(code uint16) int {
		switch code & 0x18 {
		case unix.BPF_B:
			return 1
		case unix.BPF_H:
			return 2
		}
		return 4
	}
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		switch cls := in.Code & 0x07; cls {
		case unix.BPF_LD:
			switch mode := in.Code & 0xe0; mode {
			case unix.BPF_LEN:
				a = uint32(len(frame))
			case unix.BPF_ABS, unix.BPF_IND:
				off := in.K
				if mode == unix.BPF_IND {
					off += x
				}
				v, ok := load(off, size(in.Code))
				if !ok {
					return 0
				}
				a = v
			default:
				tb.Fatalf("pc %d: ld mode %#x", pc, mode)
			}
		case unix.BPF_LDX:
			if in.Code&0xe0 != unix.BPF_MSH || in.Code&0x18 != unix.BPF_B {
				tb.Fatalf("pc %d: ldx %#x", pc, in.Code)
			}
			v, ok := load(in.K, 1)
			if !ok {
				return 0
			}
			x = 4 * (v & 0xf)
		case unix.BPF_ALU:
			switch op := in.Code & 0xf0; op {
			case unix.BPF_ADD:
				a += in.K
			case unix.BPF_AND:
				a &= in.K
			default:
				tb.Fatalf("pc %d: alu %#x", pc, op)
			}
		case unix.BPF_MISC:
			if in.Code&0xf8 == unix.BPF_TAX {
				x = a
			} else {
				a = x
			}
		case unix.BPF_JMP:
			v := in.K
			if in.Code&unix.BPF_X != 0 {
				v = x
			}
			var cond bool
			switch op := in.Code & 0xf0; op {
			case unix.BPF_JEQ:
				cond = a == v
			case unix.BPF_JGE:
				cond = a >= v
			case unix.BPF_JSET:
				cond = a&v != 0
			default:
				tb.Fatalf("pc %d: jmp %#x", pc, op)
			}
			if cond {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case unix.BPF_RET:
			return in.K
		default:
			tb.Fatalf("pc %d: class %#x", pc, cls)
		}
	}
	tb.Fatal("program fell off its end")
	return 0
}

// isOpening is the rule the SYN ring applies, written out plainly: a TCP segment with SYN
// set and ACK clear, in an untagged IPv4 packet that is not a later fragment, or right
// behind an IPv6 header, with the whole TCP flags byte in the frame.
func isOpening(f []byte) bool {
	if len(f) < 54 {
		return false
	}
	switch binary.BigEndian.Uint16(f[12:]) {
	case 0x0800:
		ihl := int(f[14]&0xf) * 4
		return f[23] == 6 && binary.BigEndian.Uint16(f[20:])&0x1fff == 0 &&
			len(f) >= 14+ihl+14 && f[14+ihl+13]&0x12 == 0x02
	case 0x86dd:
		return len(f) >= 68 && f[20] == 6 && f[67]&0x12 == 0x02
	}
	return false
}

// synCases are frames on both sides of the rule, by name.
func synCases(src, dst [6]byte) map[string][]byte {
	a4, b4 := netip.MustParseAddr("10.77.0.1"), netip.MustParseAddr("10.77.0.2")
	a6, b6 := netip.MustParseAddr("fd77::1"), netip.MustParseAddr("fd77::2")
	tcp := func(a, b netip.Addr, flags uint8, payload int) []byte {
		return packettest.Frame{SrcMAC: src, DstMAC: dst, Src: netip.AddrPortFrom(a, 40000), Dst: netip.AddrPortFrom(b, 80),
			Proto: 6, TCPFlags: flags, Seq: 7, Payload: make([]byte, payload)}.Build()
	}
	cases := map[string][]byte{
		"syn4":         tcp(a4, b4, 0x02, 0),
		"syn4-ecn":     tcp(a4, b4, 0x02|0x40|0x80, 0), // SYN with ECE and CWR
		"syn4-data":    tcp(a4, b4, 0x02, 1200),        // TCP Fast Open: longer than a SYN slot
		"syn6":         tcp(a6, b6, 0x02, 0),
		"synack4":      tcp(a4, b4, 0x12, 0),
		"ack4":         tcp(a4, b4, 0x10, 100),
		"rst4":         tcp(a4, b4, 0x04, 0),
		"synack6":      tcp(a6, b6, 0x12, 0),
		"ack6":         tcp(a6, b6, 0x10, 100),
		"udp4":         packettest.Frame{SrcMAC: src, DstMAC: dst, Src: netip.AddrPortFrom(a4, 5), Dst: netip.AddrPortFrom(b4, 80), Proto: 17, Payload: []byte{2, 2}}.Build(),
		"arp":          arpRequest(src[:], a4, b4),
		"runt":         append(append(dst[:], src[:]...), 0x08, 0x00, 0x45),
		"syn4-trunc":   tcp(a4, b4, 0x02, 0)[:14+20+12], // the flags cut off
		"syn6-trunc":   tcp(a6, b6, 0x02, 0)[:14+40+13],
		"syn4-options": nil,
		"syn4-frag":    nil,
		"syn4-vlan":    packettest.Frame{SrcMAC: src, DstMAC: dst, VLAN: 7, Src: netip.AddrPortFrom(a4, 1), Dst: netip.AddrPortFrom(b4, 80), Proto: 6, TCPFlags: 0x02}.Build(),
	}
	// A SYN behind 4 bytes of IPv4 options (IHL 6), and a later fragment whose first bytes
	// look like a SYN's flags.
	s := tcp(a4, b4, 0x02, 0)
	o := append(append(append([]byte{}, s[:34]...), 1, 1, 1, 0), s[34:]...)
	o[14] = 0x46
	binary.BigEndian.PutUint16(o[16:], uint16(len(o)-14))
	cases["syn4-options"] = o
	fr := append([]byte{}, s...)
	binary.BigEndian.PutUint16(fr[20:], 185) // fragment offset 185 × 8
	cases["syn4-frag"] = fr
	return cases
}

// TestSYNFilterProgram runs both programs over every case and over random mutations of them:
// the SYN ring's keeps exactly the openings (by isOpening), the main ring's keeps everything
// else, whole, and no frame is in both or neither.
func TestSYNFilterProgram(t *testing.T) {
	syn, main := synFilter(true), synFilter(false)
	check := func(name string, f []byte) {
		t.Helper()
		s, m := runCBPF(t, syn, f), runCBPF(t, main, f)
		want := isOpening(f)
		if (s != 0) != want || (m != 0) == want || (s != 0 && s != 0xffffffff) || (m != 0 && m != 0xffffffff) {
			t.Fatalf("%s (%d bytes): syn program %#x, main program %#x; an opening: %v", name, len(f), s, m, want)
		}
	}
	cases := synCases([6]byte{2, 0, 0, 0, 0, 1}, [6]byte{2, 0, 0, 0, 0, 2})
	want := map[string]bool{"syn4": true, "syn4-ecn": true, "syn4-data": true, "syn6": true, "syn4-options": true}
	for name, f := range cases {
		if isOpening(f) != want[name] {
			t.Fatalf("%s: isOpening = %v", name, !want[name])
		}
		check(name, f)
	}
	// Every prefix of every case, and every value of the bytes the programs read.
	for name, f := range cases {
		for n := range len(f) + 1 {
			check(fmt.Sprintf("%s[:%d]", name, n), f[:n])
		}
		for _, off := range []int{12, 13, 14, 20, 21, 23, 47, 67} {
			if off >= len(f) {
				continue
			}
			g := append([]byte{}, f...)
			for v := range 256 {
				g[off] = byte(v)
				check(fmt.Sprintf("%s with byte %d = %#x", name, off, v), g)
			}
		}
	}
}

// FuzzSYNFilter: for any frame the two programs agree with isOpening and with each other.
func FuzzSYNFilter(f *testing.F) {
	for _, c := range synCases([6]byte{2, 0, 0, 0, 0, 1}, [6]byte{2, 0, 0, 0, 0, 2}) {
		f.Add(c)
	}
	syn, main := synFilter(true), synFilter(false)
	f.Fuzz(func(t *testing.T, b []byte) {
		s, m := runCBPF(t, syn, b), runCBPF(t, main, b)
		if want := isOpening(b); (s != 0) != want || (m != 0) == want {
			t.Fatalf("syn %#x main %#x, opening %v: % x", s, m, want, b)
		}
	})
}

// TestSYNRingSortsFrames: through a real veth, with and without virtio headers, every frame
// of synCases reaches a port with a SYN ring exactly once and unchanged, the openings by the
// SYN ring (Stats.SYNRead) and the rest by the main ring: the kernel's filter agrees with
// runCBPF's reading of the program.
func TestSYNRingSortsFrames(t *testing.T) {
	needRoot(t)
	for _, vh := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "vnethdr"}[vh], func(t *testing.T) { synRingSorts(t, vh) })
	}
}

func synRingSorts(t *testing.T, vh bool) {
	l := newLink(t)
	a := openIn(t, l.nsA, Config{Name: "a0", NumBlocks: 8})
	b := openIn(t, l.nsB, Config{Name: "b0", NumBlocks: 8, VNetHdr: vh, SYNRing: true, SYNRingFrames: 512})
	if got := b.SYNRingFrames(); got != 512 {
		t.Fatalf("SYNRingFrames = %d", got)
	}
	cases := synCases(mac6(l.macA), mac6(l.macB))
	byBytes := map[string]string{}
	var wb [][]byte
	var ws []int
	openings := 0
	for name, f := range cases {
		byBytes[string(f)] = name
		wb, ws = append(wb, f), append(ws, len(f))
		// The kernel takes a frame's (outer) 802.1Q tag out before any packet socket's filter
		// runs, so a tagged SYN is an opening to the filter; Read puts the tag back.
		if isOpening(f) || name == "syn4-vlan" {
			openings++
		}
	}
	if n, err := a.Write(wb, ws, 0); n != len(wb) || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	seen := map[string]int{}
	readUntil(t, b, 5*time.Second, func(f []byte) bool {
		if name, ok := byBytes[string(f)]; ok { // else the kernel's own traffic (IPv6 router solicitations, ...)
			seen[name]++
		}
		return len(seen) == len(cases)
	})
	for name := range cases {
		if seen[name] != 1 {
			t.Errorf("%s arrived %d times", name, seen[name])
		}
	}
	if s := b.Stats(); s.SYNRead != uint64(openings) || s.SYNPackets != uint64(openings) || s.SYNDrops != 0 {
		t.Errorf("stats %+v, want %d openings read from the SYN ring", s, openings)
	}
}

// TestSYNRingServesEstablishedFirst: with both rings full and waiting, a Read takes three
// quarters of its batch from the main ring before any SYN, and a quarter from the SYN ring;
// a flood larger than the SYN ring overflows it (counted in SYNDrops and Drops) while every
// other frame sent amid it arrives, in order.
func TestSYNRingServesEstablishedFirst(t *testing.T) {
	needRoot(t)
	l := newLink(t)
	a := openIn(t, l.nsA, Config{Name: "a0", NumBlocks: 8})
	b := openIn(t, l.nsB, Config{Name: "b0", NumBlocks: 8, SYNRing: true, SYNRingFrames: 256})
	a4, b4 := netip.MustParseAddr("10.77.0.1"), netip.MustParseAddr("10.77.0.2")
	const floods, others = 3000, 300
	wb := make([][]byte, 0, floods+others)
	for i := range floods + others {
		var f []byte
		if i%((floods+others)/others) == 0 {
			f = testFrame(l.macB, l.macA, uint32(len(wb)), 60) // a non-SYN, numbered
		} else {
			f = packettest.Frame{SrcMAC: mac6(l.macA), DstMAC: mac6(l.macB),
				Src: netip.AddrPortFrom(a4, uint16(1024+i)), Dst: netip.AddrPortFrom(b4, 80), Proto: 6, TCPFlags: 0x02}.Build()
		}
		wb = append(wb, f)
	}
	ws := make([]int, len(wb))
	sent := 0
	for i := range wb {
		ws[i] = len(wb[i])
		if _, ok := testFrameSeq(wb[i]); ok {
			sent++
		}
	}
	for i := 0; i < len(wb); i += 64 {
		j := min(i+64, len(wb))
		if n, err := a.Write(wb[i:j], ws[i:j], 0); n != j-i || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	// Wait until the kernel has offered b everything (the veth's receive may be deferred
	// to ksoftirqd on a busy machine), so that the first Read finds both rings full.
	for deadline := time.Now().Add(10 * time.Second); ; {
		if s := b.Stats(); s.SYNPackets >= floods && s.Packets-s.SYNPackets >= others {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the kernel offered b only %+v", b.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	inRing := b.Stats()
	inRing.SYNPackets -= inRing.SYNDrops // the SYNs the SYN ring holds
	got, syns, last := 0, 0, -1
	// tally counts a frame read at position i of a Read's batch (-1: not the first batch).
	tally := func(i int, f []byte) {
		if seq, ok := testFrameSeq(f); ok {
			if int(seq) <= last {
				t.Errorf("frame %d after %d", seq, last)
			}
			last = int(seq)
			got++
			if i >= 48 {
				t.Errorf("first batch: established frame at %d, after the SYNs", i)
			}
		} else if isOpening(f) {
			syns++
			if i >= 0 && i < 48 {
				t.Errorf("first batch: a SYN at %d, before three quarters of established frames", i)
			}
		}
	}
	// Both rings hold frames: the first Read returns at once, with a whole batch.
	rb := make([][]byte, 64)
	for i := range rb {
		rb[i] = make([]byte, 2048)
	}
	rs := make([]int, len(rb))
	n, err := b.Read(rb, rs, 0)
	if err != nil || n != len(rb) {
		t.Fatalf("first Read = %d, %v", n, err)
	}
	for i := range n {
		tally(i, rb[i][:rs[i]])
	}
	readUntil(t, b, 5*time.Second, func(f []byte) bool {
		tally(-1, f)
		return t.Failed() || (got == sent && uint64(syns) == inRing.SYNPackets)
	})
	s := b.Stats()
	if got != sent || syns > 256 || syns < 200 || s.SYNDrops != uint64(floods-syns) || s.Drops != s.SYNDrops {
		t.Fatalf("%d of %d established frames, %d SYNs read; stats %+v", got, sent, syns, s)
	}
	t.Logf("%d established frames, %d SYNs read, %d dropped at the full SYN ring", got, syns, s.SYNDrops)
}
