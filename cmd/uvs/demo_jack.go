package main

import (
	"net"
	"sync"

	"github.com/uvs-lb/uvs/netstack/port"
)

// demoJack is a switch port with a cable that can be unplugged and plugged again: the
// switch reads and writes the switch end of whichever in-memory link is plugged in. A real
// server's host is rebooted by closing it (which closes its end of the link) and plugging
// in a fresh host's link; nettest.Switch keeps its ports for its lifetime.
type demoJack struct {
	name string
	mac  net.HardwareAddr

	mu     sync.Mutex
	cond   *sync.Cond
	cur    *port.Mem // the switch end of the link plugged in; nil while none is
	closed bool
}

func newDemoJack(name string, mac net.HardwareAddr) *demoJack {
	j := &demoJack{name: name, mac: mac}
	j.cond = sync.NewCond(&j.mu)
	return j
}

// plug connects the switch end m of a new link.
func (j *demoJack) plug(m *port.Mem) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		m.Close()
		return
	}
	j.cur = m
	j.cond.Broadcast()
}

// Read implements port.Port: it reads the link plugged in, and waits for the next one when
// the far end goes away.
func (j *demoJack) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	for {
		j.mu.Lock()
		for j.cur == nil && !j.closed {
			j.cond.Wait()
		}
		if j.closed {
			j.mu.Unlock()
			return 0, port.ErrClosed
		}
		m := j.cur
		j.mu.Unlock()
		n, err := m.Read(bufs, sizes, offset)
		if err == nil {
			return n, nil
		}
		j.mu.Lock()
		if j.cur == m {
			j.cur = nil // unplugged: the host closed its end
		}
		j.mu.Unlock()
	}
}

// Write implements port.Port: with no link plugged in, frames are lost, as on a dead wire.
func (j *demoJack) Write(bufs [][]byte, sizes []int, offset int) (int, error) {
	j.mu.Lock()
	m, closed := j.cur, j.closed
	j.mu.Unlock()
	if closed {
		return 0, port.ErrClosed
	}
	if m != nil {
		m.Write(bufs, sizes, offset)
	}
	return len(bufs), nil
}

func (j *demoJack) BatchSize() int                 { return 64 }
func (j *demoJack) MTU() int                       { return 1500 }
func (j *demoJack) MaxFrame() int                  { return 1500 + 18 }
func (j *demoJack) Headroom() int                  { return 0 }
func (j *demoJack) HardwareAddr() net.HardwareAddr { return j.mac }
func (j *demoJack) Name() string                   { return j.name }

// Close implements port.Port: it closes the link plugged in, and Read returns ErrClosed.
func (j *demoJack) Close() error {
	j.mu.Lock()
	m := j.cur
	j.cur, j.closed = nil, true
	j.cond.Broadcast()
	j.mu.Unlock()
	if m != nil {
		m.Close()
	}
	return nil
}
