package wire

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/netstack/port"
)

// fakeQEMU is the listening side of QEMU's stream netdev: it speaks the 4-byte big-endian
// length framing.
type fakeQEMU struct {
	network, addr string
	ln            net.Listener
	conn          net.Conn
	r             *bufio.Reader
}

func listenFakeQEMU(t *testing.T, network, addr string) *fakeQEMU {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	return &fakeQEMU{network: network, addr: ln.Addr().String(), ln: ln}
}

func (q *fakeQEMU) accept(t *testing.T) {
	t.Helper()
	c, err := q.ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	q.conn, q.r = c, bufio.NewReader(c)
}

// stop is the VM going away: the connection and the listener close.
func (q *fakeQEMU) stop() {
	q.conn.Close()
	q.ln.Close()
}

// relisten is the VM coming back on the same address.
func (q *fakeQEMU) relisten(t *testing.T) {
	t.Helper()
	ln, err := net.Listen(q.network, q.addr)
	if err != nil {
		t.Fatal(err)
	}
	q.ln = ln
}

func (q *fakeQEMU) close() {
	if q.conn != nil {
		q.conn.Close()
	}
	q.ln.Close()
}

func (q *fakeQEMU) send(t *testing.T, frames ...[]byte) {
	t.Helper()
	var b []byte
	for _, f := range frames {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	if _, err := q.conn.Write(b); err != nil {
		t.Fatal(err)
	}
}

func (q *fakeQEMU) recv(t *testing.T) []byte {
	t.Helper()
	q.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	var h [4]byte
	if _, err := io.ReadFull(q.r, h[:]); err != nil {
		t.Fatal(err)
	}
	f := make([]byte, binary.BigEndian.Uint32(h[:]))
	if _, err := io.ReadFull(q.r, f); err != nil {
		t.Fatal(err)
	}
	return f
}

type dropper interface{ Dropped() uint64 }

func TestQEMUStream(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			addr := "127.0.0.1:0"
			if network == "unix" {
				addr = filepath.Join(t.TempDir(), "vm.sock")
			}
			q := listenFakeQEMU(t, network, addr)
			defer q.close()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			p, err := DialQEMUStream(ctx, network, q.addr)
			if err != nil {
				t.Fatal(err)
			}
			q.accept(t)
			rx := collect(p)

			// VM → lab: several frames in one write, and one too long for the reader's buffer.
			q.send(t, testFrame(bcast, macA, 1, 60), make([]byte, 2000), testFrame(bcast, macA, 2, 1514))
			if got := seqs(rx.wait(2, 2*time.Second)); !slices.Equal(got, []uint32{1, 2}) {
				t.Fatalf("port read %v", got)
			}
			if d := p.(dropper).Dropped(); d != 1 {
				t.Fatalf("Dropped = %d after an oversized frame, want 1", d)
			}
			// lab → VM.
			writeFrames(t, p, testFrame(macA, macB, 3, 100), testFrame(macA, macB, 4, 200))
			if f := q.recv(t); frameSeq(f) != 3 || len(f) != 100 {
				t.Fatalf("VM got %d bytes, seq %d", len(f), frameSeq(f))
			}
			if f := q.recv(t); frameSeq(f) != 4 || len(f) != 200 {
				t.Fatalf("VM got %d bytes, seq %d", len(f), frameSeq(f))
			}

			// The VM restarts: the port notices, drops what is written meanwhile, redials.
			q.stop()
			connected := p.(interface{ Connected() bool })
			eventually(t, "the port to notice", func() bool { return !connected.Connected() })
			writeFrames(t, p, testFrame(macA, macB, 5, 100))
			if d := p.(dropper).Dropped(); d != 2 {
				t.Fatalf("Dropped = %d after a write while disconnected, want 2", d)
			}
			q.relisten(t)
			q.accept(t)
			eventually(t, "the port to reconnect", connected.Connected)
			q.send(t, testFrame(bcast, macA, 6, 60))
			if got := seqs(rx.wait(3, 2*time.Second)); !slices.Equal(got, []uint32{1, 2, 6}) {
				t.Fatalf("port read %v after the reconnect", got)
			}
			writeFrames(t, p, testFrame(macA, macB, 7, 100))
			if f := q.recv(t); frameSeq(f) != 7 {
				t.Fatalf("VM got seq %d after the reconnect", frameSeq(f))
			}

			p.Close()
			rx.stopped(t)
			if _, err := p.Write([][]byte{{1}}, []int{1}, 0); !errors.Is(err, port.ErrClosed) {
				t.Fatalf("Write after Close: %v", err)
			}
			p.Close()
		})
	}
}

func TestQEMUStreamDialRetriesUntilVMListens(t *testing.T) {
	addr := filepath.Join(t.TempDir(), "vm.sock")
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	if _, err := DialQEMUStream(ctx, "unix", addr); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("dial with nothing listening: %v", err)
	}
	if _, err := DialQEMUStream(context.Background(), "udp", addr); err == nil {
		t.Fatal("udp accepted as a stream network")
	}

	listening := make(chan *fakeQEMU, 1)
	go func() { // QEMU starts a moment after the lab dials
		time.Sleep(100 * time.Millisecond)
		ln, err := net.Listen("unix", addr)
		if err != nil {
			listening <- nil
			return
		}
		listening <- &fakeQEMU{network: "unix", addr: addr, ln: ln}
	}()
	ctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	p, err := DialQEMUStream(ctx, "unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	q := <-listening
	if q == nil {
		t.Fatal("fake QEMU could not listen")
	}
	defer q.close()
	q.accept(t)
	writeFrames(t, p, testFrame(macA, macB, 1, 64))
	if f := q.recv(t); frameSeq(f) != 1 {
		t.Fatalf("VM got seq %d", frameSeq(f))
	}
}

// TestQEMUStreamDesync: a length prefix no QEMU sends means the stream is lost; the port
// drops the connection and redials rather than reading garbage as frames.
func TestQEMUStreamDesync(t *testing.T) {
	q := listenFakeQEMU(t, "tcp", "127.0.0.1:0")
	defer q.close()
	p, err := DialQEMUStream(context.Background(), "tcp", q.addr)
	if err != nil {
		t.Fatal(err)
	}
	q.accept(t)
	rx := collect(p)
	q.conn.Write([]byte{0xff, 0xff, 0xff, 0xff, 1, 2, 3})
	old := q.conn
	q.accept(t) // the redial
	old.Close()
	q.send(t, testFrame(bcast, macA, 1, 60))
	if got := seqs(rx.wait(1, 2*time.Second)); !slices.Equal(got, []uint32{1}) {
		t.Fatalf("port read %v", got)
	}
	p.Close()
	rx.stopped(t)
}

func TestQEMUDatagramUnixgram(t *testing.T) {
	dir := t.TempDir()
	local, remote := filepath.Join(dir, "lab.sock"), filepath.Join(dir, "vm.sock")
	vm, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: remote, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	p, err := ListenQEMUDatagram("unixgram", local, remote)
	if err != nil {
		t.Fatal(err)
	}
	testDatagram(t, p, vm, &net.UnixAddr{Name: local, Net: "unixgram"})
	if _, err := os.Stat(local); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket file left behind: %v", err)
	}
}

func TestQEMUDatagramUDP(t *testing.T) {
	vm, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	p, err := ListenQEMUDatagram("udp", "127.0.0.1:0", vm.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	// The port's address is learnt from its first datagram, as QEMU is configured with it.
	writeFrames(t, p, testFrame(bcast, macB, 0, 64))
	vm.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 2048)
	n, from, err := vm.ReadFrom(buf)
	if err != nil || frameSeq(buf[:n]) != 0 {
		t.Fatalf("VM ReadFrom: %v", err)
	}
	testDatagram(t, p, vm, from)
}

// testDatagram exchanges frames between p and a fake VM at vmAddr's peer.
func testDatagram(t *testing.T, p port.Port, vm net.PacketConn, labAddr net.Addr) {
	t.Helper()
	rx := collect(p)
	writeFrames(t, p, testFrame(macA, macB, 1, 60), testFrame(macA, macB, 2, 1514))
	buf := make([]byte, 4096)
	for want := uint32(1); want <= 2; want++ {
		vm.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, _, err := vm.ReadFrom(buf)
		if err != nil || frameSeq(buf[:n]) != want {
			t.Fatalf("VM got %d bytes, %v; want frame %d", n, err, want)
		}
	}
	for i := range 10 {
		if _, err := vm.WriteTo(testFrame(bcast, macA, uint32(10+i), 100+i), labAddr); err != nil {
			t.Fatal(err)
		}
		if i == 4 {
			vm.WriteTo(make([]byte, 3000), labAddr) // longer than MaxFrame: dropped
		}
	}
	got := rx.wait(10, 2*time.Second)
	for i, f := range got {
		if frameSeq(f.data) != uint32(10+i) || len(f.data) != 100+i {
			t.Fatalf("frame %d: seq %d, %d bytes", i, frameSeq(f.data), len(f.data))
		}
	}
	if len(got) != 10 {
		t.Fatalf("port read %d frames, want 10", len(got))
	}
	if d := p.(dropper).Dropped(); d != 1 {
		t.Fatalf("Dropped = %d after an oversized datagram, want 1", d)
	}
	p.Close()
	rx.stopped(t)
	if _, err := p.Write([][]byte{{1}}, []int{1}, 0); !errors.Is(err, port.ErrClosed) {
		t.Fatalf("Write after Close: %v", err)
	}
}

func TestQEMUDatagramNobodyListening(t *testing.T) {
	dir := t.TempDir()
	p, err := ListenQEMUDatagram("unixgram", filepath.Join(dir, "lab.sock"), filepath.Join(dir, "vm.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	writeFrames(t, p, testFrame(bcast, macA, 1, 64))
	if d := p.(dropper).Dropped(); d != 1 {
		t.Fatalf("Dropped = %d with no VM, want 1", d)
	}
	if _, err := ListenQEMUDatagram("tcp", "a", "b"); err == nil {
		t.Fatal("tcp accepted as a datagram network")
	}
}

// TestQEMUOnSwitch puts a fake VM on a switch through a link, as a lab does.
func TestQEMUOnSwitch(t *testing.T) {
	q := listenFakeQEMU(t, "tcp", "127.0.0.1:0")
	defer q.close()
	vmPort, err := DialQEMUStream(context.Background(), "tcp", q.addr)
	if err != nil {
		t.Fatal(err)
	}
	q.accept(t)
	ts := newTestSwitch(t, true, "h1")
	ts.sw.AddPort("vm", vmPort)
	ts.send(t, "h1", bcast, macA, 1)
	if f := q.recv(t); frameSeq(f) != 1 {
		t.Fatalf("VM got %d", frameSeq(f))
	}
	q.send(t, testFrame(macA, macB, 2, 80))
	ts.expect(t, "h1", 0, 2)
}
