package wire

import (
	"encoding/binary"
	"errors"
	"io"
	"sync"
	"time"
)

// Classic pcap (not pcapng), as tcpdump writes it: every tool reads it, tshark included.
const (
	pcapMagic    = 0xa1b2c3d4 // microsecond timestamps, written in little-endian order
	pcapSnapLen  = 262144     // tcpdump's default; longer frames are truncated in the file
	linkTypeEth  = 1          // LINKTYPE_ETHERNET
	pcapHdrLen   = 24
	pcapRecHdLen = 16
)

// PcapWriter writes Ethernet frames to a classic pcap stream. It is safe for concurrent use:
// each record reaches the underlying writer in one Write, whole, so a file being written
// can be read at any time. After a write error it writes nothing more and returns that
// error.
type PcapWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte // one batch of records, reused
	err error
}

// NewPcapWriter writes the pcap global header to w and returns a writer for the records.
func NewPcapWriter(w io.Writer) (*PcapWriter, error) {
	var h [pcapHdrLen]byte
	le := binary.LittleEndian
	le.PutUint32(h[0:], pcapMagic)
	le.PutUint16(h[4:], 2) // version 2.4
	le.PutUint16(h[6:], 4)
	// h[8:16]: thiszone and sigfigs, zero.
	le.PutUint32(h[16:], pcapSnapLen)
	le.PutUint32(h[20:], linkTypeEth)
	if _, err := w.Write(h[:]); err != nil {
		return nil, err
	}
	return &PcapWriter{w: w}, nil
}

// WriteFrame appends one frame captured at ts.
func (p *PcapWriter) WriteFrame(ts time.Time, frame []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	p.buf = appendRecord(p.buf[:0], ts, frame)
	return p.flush()
}

// writeFrames appends a batch of frames (bufs[i][off:off+sizes[i]]) captured at ts in one
// Write, so a link capturing to a file costs one syscall per batch, not per frame.
func (p *PcapWriter) writeFrames(ts time.Time, bufs [][]byte, sizes []int, off int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	p.buf = p.buf[:0]
	for i, b := range bufs {
		p.buf = appendRecord(p.buf, ts, b[off:off+sizes[i]])
	}
	return p.flush()
}

// flush writes p.buf; p.mu is held.
func (p *PcapWriter) flush() error {
	n, err := p.w.Write(p.buf)
	if err == nil && n < len(p.buf) {
		err = io.ErrShortWrite
	}
	if err != nil {
		p.err = errors.Join(errors.New("pcap: write failed, capture stopped"), err)
	}
	return p.err
}

func appendRecord(b []byte, ts time.Time, frame []byte) []byte {
	caplen := min(len(frame), pcapSnapLen)
	le := binary.LittleEndian
	b = le.AppendUint32(b, uint32(ts.Unix()))
	b = le.AppendUint32(b, uint32(ts.Nanosecond()/1000))
	b = le.AppendUint32(b, uint32(caplen))
	b = le.AppendUint32(b, uint32(len(frame)))
	return append(b, frame[:caplen]...)
}
