package lab

import (
	"net"
	"sync"

	"github.com/uvs-lb/uvs/netstack/port"
)

// jack is the wall socket a node's port is plugged into: the port a link or a switch holds for
// the whole run. Each incarnation of the node (one per restart) gets a new port.Pipe, whose
// far end is plugged into the jack. A killed node closes its end of the pipe, and the jack
// then behaves as a socket with nothing plugged in: reads wait for the next plug, writes are
// lost, as frames sent to a powered-off NIC are. So a node can die and come back while the
// link, its impairments, counters and capture, and the switch port on its other side, stay.
type jack struct {
	name  string
	mac   net.HardwareAddr
	mtu   int
	queue int // the receive queue of the node's port and of the jack (0: port.DefaultQueue)

	mu     sync.Mutex
	plug   sync.Cond
	cur    *port.Mem // nil while nothing is plugged in
	node   *port.Mem // the node's end of cur's pipe
	past   uint64    // frames the ends of earlier pipes dropped (dropped)
	closed bool
}

func newJack(name string, mac net.HardwareAddr, mtu, queue int) *jack {
	j := &jack{name: name, mac: mac, mtu: mtu, queue: queue}
	j.plug.L = &j.mu
	return j
}

// connect returns a new pipe for the node: the node's end, and the other end plugged into j.
// Both ends' receive queues hold the link's queue of frames (node.Queue, if set, for the
// node's).
func (j *jack) connect(node port.MemConfig) *port.Mem {
	if node.Queue == 0 {
		node.Queue = j.queue
	}
	nodeEnd, ours := port.Pipe(node, port.MemConfig{Name: j.name, MAC: j.mac, MTU: j.mtu, Queue: j.queue})
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		ours.Close()
		return nodeEnd
	}
	if j.node != nil {
		j.past += j.node.Dropped()
	}
	j.cur, j.node = ours, nodeEnd
	j.plug.Broadcast()
	return nodeEnd
}

// dropped returns how many frames written into the jack, over every pipe plugged into it,
// the node's port dropped because its receive queue (port.DefaultQueue frames) was full:
// frames the link delivered but the node did not read in time, as a NIC's full ring drops
// them.
func (j *jack) dropped() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := j.past
	if j.node != nil {
		n += j.node.Dropped()
	}
	return n
}

// current waits for a plugged pipe; nil means the jack is closed.
func (j *jack) current() *port.Mem {
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.cur == nil && !j.closed {
		j.plug.Wait()
	}
	if j.closed {
		return nil
	}
	return j.cur
}

// Read implements port.Port. It returns ErrClosed only when the jack itself is closed: an
// unplugged node is a wait, not an end.
func (j *jack) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	for {
		p := j.current()
		if p == nil {
			return 0, port.ErrClosed
		}
		if n, err := p.Read(bufs, sizes, offset); err == nil {
			return n, nil
		}
		// The node closed its end: unplug it, unless a new pipe replaced it already.
		j.mu.Lock()
		if j.cur == p {
			j.cur = nil
		}
		j.mu.Unlock()
	}
}

// Write implements port.Port. Frames for a node that is down are lost without an error: the
// link that writes them has done its job.
func (j *jack) Write(bufs [][]byte, sizes []int, offset int) (int, error) {
	j.mu.Lock()
	p, closed := j.cur, j.closed
	j.mu.Unlock()
	if closed {
		return 0, port.ErrClosed
	}
	if p != nil {
		p.Write(bufs, sizes, offset)
	}
	return len(bufs), nil
}

// Close closes the jack and the pipe plugged into it.
func (j *jack) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.closed = true
	if j.cur != nil {
		j.cur.Close()
	}
	j.plug.Broadcast()
	return nil
}

func (j *jack) BatchSize() int                 { return 64 } // a port.Mem's
func (j *jack) MTU() int                       { return j.mtu }
func (j *jack) MaxFrame() int                  { return j.mtu + 18 } // a port.Mem's
func (j *jack) Headroom() int                  { return 0 }
func (j *jack) HardwareAddr() net.HardwareAddr { return j.mac }
func (j *jack) Name() string                   { return j.name }
