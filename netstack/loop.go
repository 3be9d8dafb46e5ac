package netstack

import (
	"errors"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/netstack/port"
	"github.com/uvs-lb/uvs/packet"
)

// loop is the data path of one port: it reads batches from the port and disposes of every
// frame before reading the next batch. All its buffers are allocated by newLoop; a frame is
// never copied on its way through, only rewritten in place and written out from where it was
// read.
type loop struct {
	dp     *Dataplane
	nic    int // the port's NIC index
	in     *portInfo
	worker *lb.Worker
	off    int // where Read puts each frame in its buffer: headroom for ports and forwarders

	bufs     [][]byte // receive slots, each off + MaxFrame bytes
	sizes    []int
	frames   [][]byte // the batch's frames for the engine: views into bufs
	slots    []int    // frames[k] was read into bufs[slots[k]]
	pkts     []packet.Packet
	verdicts []lb.Verdict
	tx       []txBatch // by egress NIC, flushed once per batch

	// segs are the buffers GSO super-frames are cut into (see forwardSegments), each off +
	// an MTU-sized frame; segUsed of them hold segments queued for the next flush.
	segs     [][]byte
	segSizes []int
	segUsed  int
	segPkt   packet.Packet

	icmp  tokenBucket
	batch batchCounts
	ctr   loopCounters
}

// txBatch collects the frames a loop sends out of one port during one batch. Its entries are
// views into the loop's receive buffers, each starting the port's headroom before the frame.
type txBatch struct {
	bufs  [][]byte
	sizes []int
	n     int
}

func newLoop(d *Dataplane, nic, off, icmpRate int) *loop {
	in := &d.ports[nic]
	n := in.port.BatchSize()
	l := &loop{
		dp: d, nic: nic, in: in, worker: d.engine.NewWorker(), off: off,
		bufs: make([][]byte, n), sizes: make([]int, n),
		frames: make([][]byte, n), slots: make([]int, n),
		pkts: make([]packet.Packet, n), verdicts: make([]lb.Verdict, n),
		tx:   make([]txBatch, len(d.ports)),
		icmp: tokenBucket{rate: int64(icmpRate), burst: int64(icmpRate)},
	}
	if in.vnet {
		// A 64 KiB super-frame of 1448-byte segments makes 46; a smaller gso_size is rare.
		l.segs, l.segSizes = make([][]byte, maxSegments), make([]int, maxSegments)
		size := off + in.mtu + packet.EthernetLen + packet.VLANTagLen
		for i := range l.segs {
			l.segs[i] = make([]byte, size)
		}
	}
	for i := range l.bufs {
		l.bufs[i] = make([]byte, off+in.port.MaxFrame())
	}
	for i := range l.tx {
		l.tx[i] = txBatch{bufs: make([][]byte, n+len(l.segs)), sizes: make([]int, n+len(l.segs))}
	}
	l.batch.tx, l.batch.txDropped = make([]uint64, len(d.ports)), make([]uint64, len(d.ports))
	l.ctr.tx, l.ctr.txDropped = make([]atomic.Uint64, len(d.ports)), make([]atomic.Uint64, len(d.ports))
	return l
}

// run reads and processes batches until the port is closed. Read blocks while the port is
// idle: the loop never polls.
func (l *loop) run() {
	p := l.in.port
	for {
		n, err := p.Read(l.bufs, l.sizes, l.off)
		if err != nil {
			if errors.Is(err, port.ErrClosed) || l.dp.stopping.Load() {
				return
			}
			l.ctr.rxErrors.Add(1)
			time.Sleep(readRetry) // a transient port error: do not spin on it
			continue
		}
		l.process(n)
		if n == len(l.bufs) {
			// A full batch: more is waiting, and the loop will not block in Read. Let the
			// other ports' loops run first. With one P (uvs pinned to one CPU) a port that
			// never runs dry, as under a flood, would otherwise hold it until the scheduler
			// preempts it, every 10 ms, and the other ports' frames (the replies of the
			// flooded port's established connections) would wait that long.
			runtime.Gosched()
		}
	}
}

// process disposes of the n frames in bufs: one reading of engine time (Engine.Now, the
// clock disciplined against jumps, never the raw clock) and one engine call for the batch,
// then each frame by its verdict, then one write per egress port.
func (l *loop) process(n int) {
	c := &l.batch
	c.rx += uint64(n)
	k := 0
	for i := range n {
		f := l.bufs[i][l.off : l.off+l.sizes[i]]
		if !l.forUs(f) {
			c.loopDrop(DropNotForUs)
			continue
		}
		l.frames[k], l.slots[k] = f, i
		k++
	}
	now := l.dp.engine.Now()
	l.worker.Process(l.frames[:k], l.pkts[:k], l.verdicts[:k], now)
	for j := range k {
		v, p := &l.verdicts[j], &l.pkts[j]
		switch v.Action {
		case lb.ActForward:
			l.forward(l.slots[j], p, v, now)
		case lb.ActPass:
			c.passed++
			l.dp.host.Deliver(l.nic, l.frames[j])
		case lb.ActReject:
			c.count(v.Reason) // the engine's reason (no_server), yet not dropped
			c.rejected++
			l.reject(l.slots[j], p, now)
		default:
			c.drop(v.Reason)
		}
	}
	l.flush()
	c.publish(&l.ctr)
}

// forUs filters frames by destination MAC, as a NIC does: the port's own, broadcast,
// multicast, and the further MACs the host's NIC accepts (Host.AddMAC: a VRRP virtual MAC),
// which are looked at only for a frame to another unicast MAC. A port may see more (a switch
// flooding unknown unicast, a promiscuous AF_PACKET socket), and none of that is the
// appliance's to forward.
func (l *loop) forUs(f []byte) bool {
	if len(f) < packet.EthernetLen {
		return true // the engine counts it as malformed
	}
	return f[0]&1 != 0 || [6]byte(f[0:6]) == l.in.mac || l.dp.host.links[l.nic].acceptsMAC([6]byte(f[0:6]))
}

// send queues the frame at buf[start:start+size] for the port of NIC nic.
func (l *loop) send(nic int, buf []byte, start, size int) {
	t := &l.tx[nic]
	h := l.dp.ports[nic].headroom
	t.bufs[t.n] = buf[start-h : start+size]
	t.sizes[t.n] = size
	t.n++
}

// flush writes each egress port's batch.
func (l *loop) flush() {
	c := &l.batch
	for nic := range l.tx {
		t := &l.tx[nic]
		if t.n == 0 {
			continue
		}
		sent, _ := l.dp.ports[nic].port.Write(t.bufs[:t.n], t.sizes[:t.n], l.dp.ports[nic].headroom)
		c.tx[nic] += uint64(sent)
		c.txDropped[nic] += uint64(t.n - sent)
		clear(t.bufs[:t.n]) // keep no view of a buffer the next Read overwrites
		t.n = 0
	}
	l.segUsed = 0
}

// maxSegments is how many segments a loop holds between flushes.
const maxSegments = 64
