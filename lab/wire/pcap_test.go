package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type pcapRecord struct {
	ts      time.Time
	origLen int
	data    []byte
}

// readPcap is a minimal classic pcap reader, independent of the writer: both byte orders,
// microsecond or nanosecond timestamps.
func readPcap(b []byte) (linkType uint32, recs []pcapRecord, err error) {
	if len(b) < 24 {
		return 0, nil, errors.New("short global header")
	}
	var bo binary.ByteOrder
	nano := false
	switch {
	case binary.LittleEndian.Uint32(b) == 0xa1b2c3d4:
		bo = binary.LittleEndian
	case binary.BigEndian.Uint32(b) == 0xa1b2c3d4:
		bo = binary.BigEndian
	case binary.LittleEndian.Uint32(b) == 0xa1b23c4d:
		bo, nano = binary.LittleEndian, true
	case binary.BigEndian.Uint32(b) == 0xa1b23c4d:
		bo, nano = binary.BigEndian, true
	default:
		return 0, nil, fmt.Errorf("bad magic %x", b[:4])
	}
	if bo.Uint16(b[4:]) != 2 || bo.Uint16(b[6:]) != 4 {
		return 0, nil, errors.New("not version 2.4")
	}
	snap := bo.Uint32(b[16:])
	linkType = bo.Uint32(b[20:])
	for b = b[24:]; len(b) > 0; {
		if len(b) < 16 {
			return linkType, recs, errors.New("short record header")
		}
		sec, frac := bo.Uint32(b), bo.Uint32(b[4:])
		incl, orig := bo.Uint32(b[8:]), bo.Uint32(b[12:])
		if incl > snap || incl > orig || int(incl) > len(b)-16 {
			return linkType, recs, fmt.Errorf("bad record lengths %d/%d", incl, orig)
		}
		if !nano {
			frac *= 1000
		}
		recs = append(recs, pcapRecord{ts: time.Unix(int64(sec), int64(frac)), origLen: int(orig), data: b[16 : 16+incl]})
		b = b[16+incl:]
	}
	return linkType, recs, nil
}

func TestLinkPcap(t *testing.T) {
	var buf bytes.Buffer
	start := time.Now().Truncate(time.Microsecond)
	tl := newTestLink(t, LinkConfig{Name: "a--b", Pcap: &buf, BtoA: Impairment{Loss: 100}})
	tl.sendAtoB(t, 0, 5, 100)
	writeFrames(t, tl.b, testFrame(macA, macB, 10, 60), testFrame(macA, macB, 11, 1514))
	tl.rb.wait(5, 2*time.Second)
	eventually(t, "b→a to enter", func() bool { return tl.l.Stats().BtoA.Frames == 2 })
	tl.l.Close()

	lt, recs, err := readPcap(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if lt != 1 || len(recs) != 7 {
		t.Fatalf("link type %d, %d records; want 1 (Ethernet), 7 (lost frames included)", lt, len(recs))
	}
	var atob, btoa int
	for _, r := range recs {
		if r.ts.Before(start) || r.ts.After(time.Now()) {
			t.Errorf("timestamp %v outside the test", r.ts)
		}
		if r.origLen != len(r.data) {
			t.Errorf("record truncated: %d of %d", len(r.data), r.origLen)
		}
		switch seq := frameSeq(r.data); {
		case bytes.Equal(r.data[6:12], macA) && seq < 5:
			atob++
		case bytes.Equal(r.data[6:12], macB) && (seq == 10 || seq == 11):
			btoa++
		default:
			t.Errorf("unexpected record % x", r.data[:18])
		}
	}
	if atob != 5 || btoa != 2 {
		t.Fatalf("%d a→b and %d b→a records", atob, btoa)
	}
}

func TestPcapWriterTruncatesAndStopsOnError(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewPcapWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, pcapSnapLen+100)
	ts := time.Unix(1700000000, 123456789)
	if err := w.WriteFrame(ts, big); err != nil {
		t.Fatal(err)
	}
	_, recs, err := readPcap(buf.Bytes())
	if err != nil || len(recs) != 1 || len(recs[0].data) != pcapSnapLen || recs[0].origLen != len(big) {
		t.Fatalf("%v, %d records", err, len(recs))
	}
	if !recs[0].ts.Equal(ts.Truncate(time.Microsecond)) {
		t.Fatalf("timestamp %v, want %v", recs[0].ts, ts)
	}

	fw := &failWriter{after: 1}
	w, err = NewPcapWriter(fw)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame(ts, []byte{1}); err == nil {
		t.Fatal("write error not returned")
	}
	if err := w.WriteFrame(ts, []byte{1}); err == nil || fw.calls != 2 {
		t.Fatalf("after an error: %v, %d calls to the writer", err, fw.calls)
	}
	if _, err := NewPcapWriter(&failWriter{}); err == nil {
		t.Fatal("header write error not returned")
	}
}

type failWriter struct{ after, calls int }

func (w *failWriter) Write(b []byte) (int, error) {
	w.calls++
	if w.calls > w.after {
		return 0, errors.New("disk full")
	}
	return len(b), nil
}

func TestPcapTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed: pcap files checked by the test's own reader only")
	}
	path := filepath.Join(t.TempDir(), "a--b.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	tl := newTestLink(t, LinkConfig{Name: "a--b", Pcap: f})
	tl.sendAtoB(t, 0, 3, 100)
	tl.rb.wait(3, 2*time.Second)
	tl.l.Close()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(tshark, "-r", path, "-c", "1")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark -r: %v\n%s%s", err, out, stderr.Bytes())
	}
	if !strings.Contains(string(out), "02:00:00:00:00:0a") {
		t.Fatalf("tshark did not decode the first frame's source MAC:\n%s", out)
	}
	t.Logf("tshark: %s", strings.TrimSpace(string(out)))
}
