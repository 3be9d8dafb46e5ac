// Package port defines how frames enter and leave uvs: a Port moves raw Ethernet frames in
// batches, wireguard-go style, and the in-memory Pipe connects two ports inside one process
// (labs, tests). AF_PACKET and TAP ports live in sibling packages.
package port

import (
	"errors"
	"net"
)

// ErrClosed is returned by Read and Write after Close.
var ErrClosed = errors.New("port: closed")

// VNetHdrLen is the size of the virtio-net header a port may keep in the headroom of a frame
// (see Port.Read).
const VNetHdrLen = 10

// Port is a source and sink of raw Ethernet frames.
type Port interface {
	// Read waits for at least one frame and copies up to len(bufs) frames into
	// bufs[i][offset:], setting sizes[i] to each frame's length; it returns how many it read.
	// It blocks (no busy polling) until a frame arrives or the port is closed. offset leaves
	// headroom for encapsulation; a port that uses virtio-net headers (GSO/checksum offload)
	// keeps the frame's header in bufs[i][offset-VNetHdrLen:offset], so offset must be at
	// least Headroom(), and Write expects it at the same place.
	Read(bufs [][]byte, sizes []int, offset int) (int, error)
	// Write sends bufs[i][offset:offset+sizes[i]] for each i and returns how many were
	// sent. It is safe to call from several goroutines (the port loop and the host stack).
	Write(bufs [][]byte, sizes []int, offset int) (int, error)
	// BatchSize is the most frames one Read returns; size bufs accordingly.
	BatchSize() int
	// MTU is the largest IP packet the link carries (1500 on Ethernet).
	MTU() int
	// MaxFrame is the largest frame Read can return (more than MTU+14 with GSO).
	MaxFrame() int
	// Headroom is the offset Read and Write need at least.
	Headroom() int
	// HardwareAddr is the port's MAC address.
	HardwareAddr() net.HardwareAddr
	// Name is the interface name ("eth0", "mem0").
	Name() string
	// Close unblocks Read and releases the port.
	Close() error
}

// RxDropper is a Port that can tell how many frames it dropped on their way in, before
// Read could take them: a full receive ring or queue. Under a flood these are the frames the
// loop never saw, so the dataplane reports them beside what it dropped itself.
type RxDropper interface {
	// RxDropped is the number of frames dropped so far. It may cost a system call: call
	// it when a snapshot is taken, not per packet.
	RxDropped() uint64
}

// SYNDropper is an RxDropper with a receive ring of its own for TCP connection openings (an
// afpacket port with a SYN ring), which can also tell how many of its drops were SYNs at that
// full ring: under a SYN flood, the flood it shed before reading it.
type SYNDropper interface {
	RxDropper
	// RxSYNDropped returns RxDropped and, of those, the SYNs, from one reading of the
	// port's counters. It may cost system calls.
	RxSYNDropped() (dropped, syn uint64)
}
