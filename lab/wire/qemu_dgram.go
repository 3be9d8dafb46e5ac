package wire

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/uvs-lb/uvs/netstack/port"
)

// qemuDgram is a port over QEMU's datagram netdev (-netdev dgram, or the older
// -netdev socket,udp=): one raw Ethernet frame per datagram, no header.
type qemuDgram struct {
	name   string
	conn   net.Conn // *net.UDPConn or *net.UnixConn, not connected
	raw    syscall.RawConn
	udp    *net.UDPConn
	udpTo  netip.AddrPort
	unix   *net.UnixConn
	unixTo *net.UnixAddr
	local  string // unix socket path to remove on Close, "" for udp

	// Read state, for recv: kept here rather than captured by a closure so that a Read
	// allocates nothing.
	rmu    sync.Mutex
	rbufs  [][]byte
	rsizes []int
	roff   int
	rn     int
	recvFn func(fd uintptr) bool

	closed  atomic.Bool
	close   sync.Once
	dropped atomic.Uint64
}

// ListenQEMUDatagram returns a port that exchanges frames with a QEMU VM over datagrams:
// it receives on local and sends to remote ("udp" host:port pairs, or "unixgram" socket
// paths), mirroring QEMU's
//
//	-netdev dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port=10001,remote.type=inet,remote.host=127.0.0.1,remote.port=10000
//
// where QEMU's local is this remote and the other way round. Datagrams from any sender are
// taken (the socket is not connected, so that a VM that is not up yet causes no errors), and
// frames sent while nothing listens on remote are dropped and counted. The port creates the
// unix socket file at local (which must not exist) and removes it on Close. It has no MAC
// address, an MTU of 1500 and, besides port.Port, Dropped() uint64: frames that could not be
// sent, or received too long for the reader's buffer.
func ListenQEMUDatagram(network, local, remote string) (port.Port, error) {
	d := &qemuDgram{name: "qemu:" + local}
	switch network {
	case "udp", "udp4", "udp6":
		la, err := net.ResolveUDPAddr(network, local)
		if err != nil {
			return nil, fmt.Errorf("wire: qemu dgram local %s: %w", local, err)
		}
		ra, err := net.ResolveUDPAddr(network, remote)
		if err != nil {
			return nil, fmt.Errorf("wire: qemu dgram remote %s: %w", remote, err)
		}
		c, err := net.ListenUDP(network, la)
		if err != nil {
			return nil, fmt.Errorf("wire: qemu dgram: %w", err)
		}
		d.conn, d.udp, d.udpTo = c, c, ra.AddrPort()
		d.name = "qemu:" + c.LocalAddr().String()
	case "unixgram":
		c, err := net.ListenUnixgram(network, &net.UnixAddr{Name: local, Net: network})
		if err != nil {
			return nil, fmt.Errorf("wire: qemu dgram: %w", err)
		}
		d.conn, d.unix, d.local = c, c, local
		d.unixTo = &net.UnixAddr{Name: remote, Net: network}
	default:
		return nil, fmt.Errorf("wire: qemu dgram %s: network %q is not udp or unixgram", local, network)
	}
	raw, err := d.conn.(syscall.Conn).SyscallConn()
	if err != nil {
		d.conn.Close()
		return nil, fmt.Errorf("wire: qemu dgram: %w", err)
	}
	d.raw = raw
	d.recvFn = d.recv
	return d, nil
}

// Read implements port.Port. It waits for a datagram, then takes those already queued on
// the socket, up to len(bufs), without waiting again.
func (d *qemuDgram) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	d.rmu.Lock()
	defer d.rmu.Unlock()
	d.rbufs, d.rsizes, d.roff, d.rn = bufs, sizes, offset, 0
	err := d.raw.Read(d.recvFn)
	n := d.rn
	d.rbufs, d.rsizes = nil, nil
	if n > 0 {
		return n, nil
	}
	if d.closed.Load() || errors.Is(err, net.ErrClosed) {
		return 0, port.ErrClosed
	}
	return 0, err
}

// recv runs under RawConn.Read on the non-blocking socket: it returns false to wait for
// readability while it has nothing.
func (d *qemuDgram) recv(fd uintptr) bool {
	for d.rn < len(d.rbufs) {
		b := d.rbufs[d.rn][d.roff:]
		n, err := recvTrunc(int(fd), b)
		switch {
		case err == syscall.EAGAIN:
			return d.rn > 0
		case err == syscall.EINTR:
		case err != nil:
			// An ICMP error reported on the socket, say: not the port's failure.
		case n > len(b):
			d.dropped.Add(1) // truncated: longer than the reader's buffer
		default:
			d.rsizes[d.rn] = n
			d.rn++
		}
	}
	return true
}

// Write implements port.Port: one datagram per frame to remote.
func (d *qemuDgram) Write(bufs [][]byte, sizes []int, offset int) (int, error) {
	if d.closed.Load() {
		return 0, port.ErrClosed
	}
	for i, b := range bufs {
		f := b[offset : offset+sizes[i]]
		var err error
		if d.udp != nil {
			_, err = d.udp.WriteToUDPAddrPort(f, d.udpTo)
		} else {
			_, err = d.unix.WriteToUnix(f, d.unixTo)
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return i, port.ErrClosed
			}
			d.dropped.Add(1) // nobody at remote yet, or its buffer is full
		}
	}
	return len(bufs), nil
}

// Dropped returns how many frames the port dropped (see ListenQEMUDatagram).
func (d *qemuDgram) Dropped() uint64 { return d.dropped.Load() }

// BatchSize implements port.Port.
func (d *qemuDgram) BatchSize() int { return qemuBatch }

// MTU implements port.Port.
func (d *qemuDgram) MTU() int { return qemuMTU }

// MaxFrame implements port.Port.
func (d *qemuDgram) MaxFrame() int { return qemuMTU + 18 }

// Headroom implements port.Port.
func (d *qemuDgram) Headroom() int { return 0 }

// HardwareAddr implements port.Port: nil, the MAC is the VM's.
func (d *qemuDgram) HardwareAddr() net.HardwareAddr { return nil }

// Name implements port.Port.
func (d *qemuDgram) Name() string { return d.name }

// Close implements port.Port; it removes the unix socket file it created.
func (d *qemuDgram) Close() error {
	var err error
	d.close.Do(func() {
		d.closed.Store(true)
		err = d.conn.Close()
		if d.local != "" {
			if rerr := os.Remove(d.local); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
				err = rerr
			}
		}
	})
	return err
}
