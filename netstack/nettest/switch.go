// Package nettest is test support for in-process topologies built from memory ports: a
// learning Ethernet switch to put several hosts on one segment.
package nettest

import (
	"sync"

	"github.com/uvs-lb/uvs/netstack/port"
)

// Switch is a learning Ethernet switch: it remembers which port each source MAC was seen
// on, sends unicast to the port that learned its destination and floods everything else
// (broadcast, multicast, unknown unicast) to every other port. It owns its ports.
type Switch struct {
	ports []port.Port

	mu    sync.Mutex
	where map[[6]byte]int // MAC → port index

	wg    sync.WaitGroup
	close sync.Once
}

// NewSwitch returns a switch over ports. It starts nothing.
func NewSwitch(ports ...port.Port) *Switch {
	return &Switch{ports: ports, where: make(map[[6]byte]int)}
}

// Start starts one goroutine per port.
func (s *Switch) Start() {
	for i := range s.ports {
		s.wg.Add(1)
		go s.serve(i)
	}
}

// Close closes the ports and waits for the goroutines.
func (s *Switch) Close() {
	s.close.Do(func() {
		for _, p := range s.ports {
			p.Close()
		}
	})
	s.wg.Wait()
}

func (s *Switch) serve(in int) {
	defer s.wg.Done()
	p := s.ports[in]
	bufs, sizes := make([][]byte, p.BatchSize()), make([]int, p.BatchSize())
	for i := range bufs {
		bufs[i] = make([]byte, p.MaxFrame())
	}
	for {
		n, err := p.Read(bufs, sizes, 0)
		if err != nil {
			return
		}
		for i := range n {
			s.switchFrame(in, bufs[i][:sizes[i]])
		}
	}
}

func (s *Switch) switchFrame(in int, f []byte) {
	if len(f) < 14 {
		return
	}
	dst, src := [6]byte(f[0:6]), [6]byte(f[6:12])
	s.mu.Lock()
	s.where[src] = in
	out, known := s.where[dst]
	s.mu.Unlock()
	if known && dst[0]&1 == 0 {
		if out != in {
			s.ports[out].Write([][]byte{f}, []int{len(f)}, 0)
		}
		return
	}
	for i, p := range s.ports {
		if i != in {
			p.Write([][]byte{f}, []int{len(f)}, 0)
		}
	}
}
