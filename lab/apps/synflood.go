package apps

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/uvs-lb/uvs/packet"
)

// FrameWriter is a host that lets a program write raw Ethernet frames below its stack, as
// a raw socket does: netstack.Host, or a lab node that follows its host through restarts.
type FrameWriter interface {
	// NextHop returns how the host's stack would send to dst: the NIC, its MAC and the next
	// hop's (the route's gateway, or dst on-link), from the host's neighbor table; while the
	// next hop is unresolved it starts the resolution and returns an error.
	NextHop(dst netip.Addr) (nic int, src, next [6]byte, err error)
	// WriteFrames writes bufs[i][offset:offset+sizes[i]] out of NIC nic and returns how many
	// the port took. offset is at least Headroom(nic).
	WriteFrames(nic int, bufs [][]byte, sizes []int, offset int) (int, error)
	// Headroom is the room a NIC's port needs before each frame.
	Headroom(nic int) int
}

// SYNFlood is a spoofed SYN flood: TCP SYNs to Target from random addresses of Sources,
// random ports and random initial sequence numbers, Rate a second, written as raw frames
// at the host's NIC (FrameWriter), below its TCP stack, which never hears of them, nor of
// the answers (SYN-ACKs to addresses that sent nothing, or nothing at all). Each frame is
// addressed as the host's stack would address a packet to Target: to its next hop's MAC, the
// gateway's (resolved by the host, as for any packet); until that is resolved nothing is
// sent. The frames carry valid IPv4 and TCP checksums and a TCP MSS option, as a SYN does.
//
// It sends in batches, paced: every period it writes a batch of up to synBatch frames from
// a set of buffers it reuses, so it allocates nothing per frame and makes no call per frame,
// and a schedule it falls behind (its goroutine descheduled) is caught up in full batches,
// keeping the count rather than the spacing, as every paced load here does.
//
// The Recorder counts the SYNs written (Summary.Sent, and per bucket); a batch the host
// could not send (its next hop unresolved, the node down) is one error, of its kind.
type SYNFlood struct {
	Target  netip.AddrPort // an IPv4 address and port
	Sources netip.Prefix   // the spoofed sources: an IPv4 prefix
	Rate    float64        // SYNs per second, > 0
	Seed    uint64         // of the random sources, ports and ISNs (0 = 1)
	// Stop, if set, ends the flood at the first batch due at or after it, even if the
	// context, whose deadline fires on a timer, has not ended yet: a flood that fell behind
	// and catches up sends no batch due after its end.
	Stop time.Time
}

// synBatch is the most frames one write carries: a memory port's batch.
const synBatch = 64

// minBatchPeriod is the shortest pause between two batches of fewer than synBatch frames:
// a batch is the frames due in it (at least one), so the pause is a millisecond or a
// little more, and above synBatch frames a millisecond the pause shrinks instead.
const minBatchPeriod = time.Millisecond

// synFrameLen is a SYN's frame: Ethernet, IPv4 without options, TCP with one option (MSS),
// padded to Ethernet's 60-byte minimum.
const (
	synTCPLen   = packet.TCPMinLen + 4
	synIPLen    = packet.IPv4MinLen + synTCPLen
	synFrameLen = 60
)

// Run floods until ctx ends and returns nil then; it returns an error at once if the
// configuration is unusable.
func (f *SYNFlood) Run(ctx context.Context, w FrameWriter, rec *Recorder) error {
	if !f.Target.Addr().Is4() || f.Target.Port() == 0 {
		return fmt.Errorf("apps: syn-flood target %s: want an IPv4 address and a port", f.Target)
	}
	if !f.Sources.IsValid() || !f.Sources.Addr().Is4() {
		return fmt.Errorf("apps: syn-flood sources %s: want an IPv4 prefix", f.Sources)
	}
	if !(f.Rate > 0) {
		return errors.New("apps: syn-flood rate must be positive")
	}
	if err := checkTarget(f.Target.String(), f.Rate); err != nil {
		return err
	}
	batch := max(1, min(synBatch, int(math.Ceil(f.Rate*minBatchPeriod.Seconds()))))
	period := time.Duration(float64(batch) * float64(time.Second) / f.Rate)
	g := newSYNGen(f)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pace(ctx, time.Now(), period, func(due time.Time) {
		if !f.Stop.IsZero() && !due.Before(f.Stop) {
			cancel()
			return
		}
		if err := g.send(w, batch); err != nil {
			rec.Request(due, 0, "", err)
			return
		}
		rec.Sent(due, uint64(batch))
	})
	return nil
}

// synGen builds SYN frames into a set of buffers it reuses.
type synGen struct {
	target netip.AddrPort
	base   uint32 // the sources' network address
	mask   uint32 // its host bits
	rng    *rand.PCG

	bufs   [][]byte
	sizes  []int
	hdroom int // the headroom the buffers were made with
	nic    int
	src    [6]byte
	next   [6]byte
}

func newSYNGen(f *SYNFlood) *synGen {
	seed := f.Seed
	if seed == 0 {
		seed = 1
	}
	p := f.Sources.Masked()
	a := p.Addr().As4()
	return &synGen{target: f.Target, base: binary.BigEndian.Uint32(a[:]), mask: uint32(uint64(1)<<(32-p.Bits()) - 1),
		rng: rand.NewPCG(seed, 0x5eed5eed), hdroom: -1}
}

// send writes n SYNs (n ≤ synBatch) to the target's next hop.
func (g *synGen) send(w FrameWriter, n int) error {
	nic, src, next, err := w.NextHop(g.target.Addr())
	if err != nil {
		return err
	}
	if room := w.Headroom(nic); room != g.hdroom || nic != g.nic || src != g.src || next != g.next {
		g.prepare(room, nic, src, next) // the first batch, or the route changed
	}
	for i := range n {
		g.fill(g.bufs[i][g.hdroom:])
	}
	_, err = w.WriteFrames(nic, g.bufs[:n], g.sizes[:n], g.hdroom)
	return err
}

// prepare (re)makes the buffers with what no SYN changes: Ethernet header, IPv4 and TCP
// fields but for the source, the ports, the ISN, the IP ID and the checksums.
func (g *synGen) prepare(room, nic int, src, next [6]byte) {
	g.hdroom, g.nic, g.src, g.next = room, nic, src, next
	if g.bufs == nil {
		g.bufs, g.sizes = make([][]byte, synBatch), make([]int, synBatch)
	}
	dst := g.target.Addr().As4()
	for i := range g.bufs {
		b := make([]byte, room+synFrameLen)
		g.bufs[i], g.sizes[i] = b, synFrameLen
		frame := b[room:]
		packet.PutEthernet(frame, next, src, packet.EtherTypeIPv4)
		ip := packet.IPv4(frame[packet.EthernetLen:])
		ip.SetHeaderLength(packet.IPv4MinLen)
		ip.SetTotalLength(synIPLen)
		ip.SetFragment(true, false, 0)
		ip.SetTTL(64)
		ip.SetProtocol(packet.ProtoTCP)
		ip.SetDst(dst)
		tcp := packet.TCP(frame[packet.EthernetLen+packet.IPv4MinLen:])
		tcp.SetDstPort(g.target.Port())
		tcp[12] = synTCPLen / 4 << 4 // data offset
		tcp.SetFlags(packet.TCPSyn)
		binary.BigEndian.PutUint16(tcp[14:], 64240) // window
		tcp[20], tcp[21] = 2, 4                     // MSS option, 4 bytes:
		binary.BigEndian.PutUint16(tcp[22:], 1460)
	}
}

// fill writes one SYN's random parts and checksums into frame, prepared.
func (g *synGen) fill(frame []byte) {
	r := g.rng.Uint64()
	var srcIP [4]byte
	binary.BigEndian.PutUint32(srcIP[:], g.base|uint32(r)&g.mask)
	ip := packet.IPv4(frame[packet.EthernetLen:])
	ip.SetID(uint16(r >> 32))
	ip.SetSrc(srcIP)
	ip.SetChecksum(0)
	ip.SetChecksum(ip.ComputeChecksum())
	tcp := packet.TCP(frame[packet.EthernetLen+packet.IPv4MinLen : packet.EthernetLen+synIPLen])
	tcp.SetSrcPort(uint16(1024 + (r>>48)%(65536-1024)))
	binary.BigEndian.PutUint32(tcp[4:], uint32(g.rng.Uint64())) // the ISN
	tcp.SetChecksum(0)
	tcp.SetChecksum(^packet.Checksum(tcp, packet.PseudoHeaderChecksum4(packet.ProtoTCP, srcIP, ip.Dst(), synTCPLen)))
}
