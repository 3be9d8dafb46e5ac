package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strings"
	"sync"
)

// FileCheck is keepalived's FILE_CHECK with a track_file: the file holds an integer, and the
// value and the configured weight decide the server's state and weight.
//
// keepalived's rules, as implemented:
//   - The file's first 127 bytes are read as C's strtol(s, NULL, 0) reads them: blanks, a
//     sign, then decimal, 0x hexadecimal or 0 octal digits up to the first other character.
//     An empty file, text with no number, or a file that does not exist reads 0.
//   - A value out of [-2³¹, 2³¹] is ignored: the previous value stands (0 at first).
//   - Weight 0: a value of 0 is OK, anything else fails; Reverse swaps the two.
//   - Weight w ≠ 0: the offset value·w (·-1 with Reverse) is added to the server's weight; an
//     offset at or below -2³¹ fails the server (keepalived's FAULT). Otherwise the check is OK
//     with weight ServerWeight+offset, clamped to [0, 2³¹-1] (a server pushed below 0 stays
//     up, quiesced at weight 0, as IPVS would be given); an offset of 0 reports the
//     configured weight (-1).
//
// Decided where keepalived is unclear or differs: keepalived watches the file with inotify
// and reacts at once; here it is read at every check, so give FILE_CHECK targets a short
// DelayLoop (1 s), Retry 0 and Rise/Fall 1 (keepalived's FILE_CHECK has no retry or alpha).
// A file that exists but cannot be read (permissions, a directory) fails the check with the
// error as its reason, where keepalived reads 0. FILE_CHECK's "dynamic" keyword, documented
// but not parsed by keepalived, is implied: the weight always applies. A real server with
// several weight-setting checkers (MISC_CHECK dynamic, FILE_CHECK) gets, in keepalived, its
// configured weight plus the sum of each checker's offset: that sum is the appliance's.
type FileCheck struct {
	Path         string
	Weight       int32 // track_file (or FILE_CHECK) weight
	Reverse      bool  // weight … reverse
	ServerWeight int32 // the real server's configured weight, to which the offset is added

	mu   sync.Mutex
	last int64 // the last valid value read
}

// Check reads the file once.
func (c *FileCheck) Check(_ context.Context, _ Net) Result {
	v, err := c.read()
	if err != nil {
		return Result{Weight: -1, Reason: err.Error()}
	}
	return c.judge(v)
}

// String names the check as keepalived's logs do.
func (c *FileCheck) String() string { return "FILE_CHECK " + c.Path }

// Value reads the file's number as keepalived reads a tracked file (strtol of its start; a
// missing file is 0; a value out of range leaves the previous one). VRRP's vrrp_track_file
// reads its files with it too.
func (c *FileCheck) Value() (int64, error) { return c.read() }

// read returns the file's value, or the previous one if it is out of range.
func (c *FileCheck) read() (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var v int64
	f, err := os.Open(c.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		v = 0
	case err != nil:
		return 0, err
	default:
		buf := make([]byte, 127)
		n, err := io.ReadFull(f, buf)
		f.Close()
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, fmt.Errorf("%s: %w", c.Path, err)
		}
		var ok bool
		if v, ok = strtol(string(buf[:n])); !ok || v < math.MinInt32 || v > math.MaxInt32+1 {
			return c.last, nil
		}
	}
	c.last = v
	return v, nil
}

// judge applies keepalived's rules to a value.
func (c *FileCheck) judge(v int64) Result {
	mult := int64(1)
	if c.Reverse {
		mult = -1
	}
	if c.Weight == 0 {
		if (v != 0) != c.Reverse {
			return Result{Weight: -1, Reason: fmt.Sprintf("%s holds %d", c.Path, v)}
		}
		return Result{OK: true, Weight: -1}
	}
	off := v * int64(c.Weight) * mult
	if off <= math.MinInt32 {
		return Result{Weight: -1, Reason: fmt.Sprintf("%s holds %d: weight %d fails the server", c.Path, v, off)}
	}
	if off == 0 {
		return Result{OK: true, Weight: -1}
	}
	w := min(max(int64(c.ServerWeight)+off, 0), math.MaxInt32)
	return Result{OK: true, Weight: int32(w)}
}

// strtol parses as C's strtol(s, NULL, 0) does; ok is false on overflow of int64.
func strtol(s string) (v int64, ok bool) {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	base := uint64(10)
	switch {
	case len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && digit(s[2], 16) >= 0:
		base, s = 16, s[2:]
	case len(s) > 0 && s[0] == '0':
		base = 8
	}
	var u uint64
	for i := 0; i < len(s); i++ {
		d := digit(s[i], base)
		if d < 0 {
			break
		}
		if u > (math.MaxUint64-uint64(d))/base {
			return 0, false
		}
		u = u*base + uint64(d)
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

func digit(c byte, base uint64) int {
	var d int
	switch {
	case c >= '0' && c <= '9':
		d = int(c - '0')
	case c >= 'a' && c <= 'z':
		d = int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		d = int(c-'A') + 10
	default:
		return -1
	}
	if uint64(d) >= base {
		return -1
	}
	return d
}
