package health_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uvs-lb/uvs/health"
)

func TestFileCheck(t *testing.T) {
	const missing = "\x00missing"
	for _, tc := range []struct {
		name    string
		content string
		weight  int32
		reverse bool
		server  int32
		ok      bool
		want    int32
	}{
		{"weight 0, 0: ok", "0\n", 0, false, 1, true, -1},
		{"weight 0, 1: fails", "1\n", 0, false, 1, false, 0},
		{"weight 0, -3: fails", "-3", 0, false, 1, false, 0},
		{"weight 0 reverse, 0: fails", "0", 0, true, 1, false, 0},
		{"weight 0 reverse, 7: ok", "7", 0, true, 1, true, -1},
		{"missing file reads 0", missing, 0, false, 1, true, -1},
		{"empty file reads 0", "", 0, false, 1, true, -1},
		{"garbage reads 0", "up\n", 0, false, 1, true, -1},
		{"weight 10, 3: +30", "3", 10, false, 5, true, 35},
		{"weight 1, 0: configured weight", "0", 1, false, 5, true, -1},
		{"weight 1, -2: lowered", "-2", 1, false, 5, true, 3},
		{"weight 1, -9: quiesced, not down", "-9", 1, false, 5, true, 0},
		{"weight 1 reverse, 2: lowered", "2", 1, true, 5, true, 3},
		{"weight -1, 2: lowered", "2", -1, false, 5, true, 3},
		{"hex", "0x10", 1, false, 0, true, 16},
		{"octal", "010", 1, false, 0, true, 8},
		{"blanks, sign, trailing text", "  \t+7 apples", 1, false, 1, true, 8},
		{"clamped to 2^31-1", "2147483648", 1, false, 5, true, 2147483647},
		{"-2^31 offset: fault", "-2147483648", 1, false, 100, false, 0},
		{"-2^31 offset by weight: fault", "-1073741824", 2, false, 100, false, 0},
		{"just above fault: weight 0", "-2147483647", 1, false, 100, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "track")
			if tc.content != missing {
				if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			c := &health.FileCheck{Path: path, Weight: tc.weight, Reverse: tc.reverse, ServerWeight: tc.server}
			r := c.Check(t.Context(), nil)
			if r.OK != tc.ok || (tc.ok && r.Weight != tc.want) || (!tc.ok && r.Reason == "") {
				t.Fatalf("%+v; want ok %v weight %d", r, tc.ok, tc.want)
			}
		})
	}
}

// An out-of-range value is ignored (keepalived): the previous value stands.
func TestFileCheckOutOfRange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "track")
	c := &health.FileCheck{Path: path, Weight: 1, ServerWeight: 10}
	for _, step := range []struct {
		content string
		want    int32
	}{
		{"5", 15},
		{"2147483649", 15},           // 2^31+1: ignored
		{"-2147483649", 15},          // below -2^31: ignored
		{"99999999999999999999", 15}, // overflows strtol: ignored
		{"3", 13},
	} {
		if err := os.WriteFile(path, []byte(step.content), 0o644); err != nil {
			t.Fatal(err)
		}
		if r := c.Check(t.Context(), nil); !r.OK || r.Weight != step.want {
			t.Fatalf("after %q: %+v, want weight %d", step.content, r, step.want)
		}
	}
}

// A file that exists but cannot be read fails the check (keepalived would read 0).
func TestFileCheckUnreadable(t *testing.T) {
	dir := t.TempDir()
	r := (&health.FileCheck{Path: dir}).Check(t.Context(), nil)
	if r.OK || !strings.Contains(r.Reason, "directory") {
		t.Fatalf("%+v", r)
	}
	if s := (&health.FileCheck{Path: "/run/x"}).String(); s != "FILE_CHECK /run/x" {
		t.Fatal(s)
	}
}
