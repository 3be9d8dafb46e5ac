//go:build !linux

package realserver

import "errors"

type system struct{}

type receiver struct {
	name      string
	proto     uint8
	outerIPv4 bool
	cmsg      bool
	c         counters
}

func (*system) shutdown()             {}
func (*system) close() error          { return nil }
func (*system) write(b []byte) error  { return errors.New("not supported") }
func (s *Server) receive(r *receiver) {}

func (s *Server) open() (*system, []*receiver, error) {
	return nil, nil, errors.New("realserver: uvs realserver runs on Linux only (raw sockets, TUN devices)")
}
