package port

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"
)

func TestPipeCarriesFramesInOrder(t *testing.T) {
	a, b := Pipe(MemConfig{Name: "a", MAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}}, MemConfig{Name: "b"})
	defer a.Close()
	frames := [][]byte{[]byte("one"), []byte("two"), []byte("three")}
	sizes := []int{3, 3, 5}
	if n, err := a.Write(frames, sizes, 0); n != 3 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	bufs := [][]byte{make([]byte, 64), make([]byte, 64)}
	got := make([]int, 2)
	n, err := b.Read(bufs, got, 4)
	if err != nil || n != 2 || !bytes.Equal(bufs[0][4:4+got[0]], []byte("one")) || !bytes.Equal(bufs[1][4:4+got[1]], []byte("two")) {
		t.Fatalf("first Read = %d, %v, %q %q", n, err, bufs[0][4:4+got[0]], bufs[1][4:4+got[1]])
	}
	if n, _ = b.Read(bufs, got, 0); n != 1 || string(bufs[0][:got[0]]) != "three" {
		t.Fatalf("second Read = %d %q", n, bufs[0][:got[0]])
	}
}

func TestPipeReadBlocksUntilCloseAndFullQueueDrops(t *testing.T) {
	a, b := Pipe(MemConfig{Name: "a"}, MemConfig{Name: "b"})
	done := make(chan error)
	go func() {
		_, err := b.Read([][]byte{make([]byte, 8)}, []int{0}, 0)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Read returned %v with nothing sent", err)
	case <-time.After(20 * time.Millisecond):
	}
	b.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
	if _, err := a.Write([][]byte{{1}}, []int{1}, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write to a closed peer: %v", err)
	}

	a, b = Pipe(MemConfig{Name: "a"}, MemConfig{Name: "b"})
	defer a.Close()
	big := make([][]byte, DefaultQueue+10)
	sizes := make([]int, len(big))
	for i := range big {
		big[i], sizes[i] = []byte{byte(i)}, 1
	}
	a.Write(big, sizes, 0)
	if d := b.Dropped(); d != 10 {
		t.Fatalf("Dropped = %d, want 10", d)
	}
	// What the dataplane reports as the port's receive drops (port.RxDropper).
	var p Port = b
	if rd, ok := p.(RxDropper); !ok || rd.RxDropped() != 10 {
		t.Fatalf("b as an RxDropper: %v, %v", ok, rd)
	}
}

// Each end's receive queue holds its own Queue of frames.
func TestPipeQueuePerEnd(t *testing.T) {
	a, b := Pipe(MemConfig{Name: "a", Queue: 3}, MemConfig{Name: "b", Queue: DefaultQueue * 2})
	defer a.Close()
	big := make([][]byte, DefaultQueue*2+5)
	sizes := make([]int, len(big))
	for i := range big {
		big[i], sizes[i] = []byte{byte(i)}, 1
	}
	a.Write(big, sizes, 0)
	b.Write(big, sizes, 0)
	if db, da := b.Dropped(), a.Dropped(); db != 5 || da != uint64(len(big)-3) {
		t.Fatalf("dropped toward b %d, toward a %d; want 5 and %d", db, da, len(big)-3)
	}
}
