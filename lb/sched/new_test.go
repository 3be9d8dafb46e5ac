package sched

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestNames(t *testing.T) {
	want := []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "mh", "fo", "ovf", "twos"}
	if got := Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	for _, n := range want {
		s := mustNew(t, n, mkDests(1, 2), 0, Options{})
		if s.Name() != n {
			t.Errorf("New(%q).Name() = %q", n, s.Name())
		}
	}
}

func TestNewErrors(t *testing.T) {
	_, err := New("leastconn", mkDests(1), 0, Options{})
	if !errors.Is(err, ErrUnknownScheduler) {
		t.Fatalf("unknown name: err = %v", err)
	}
	for _, n := range Names() {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("unknown-name error %q does not list %q", err, n)
		}
	}
	for _, tc := range []struct {
		name  string
		ds    []Dest
		flags Flags
		opts  Options
	}{
		{"wlc", mkDests(1), FlagSHPort, Options{}},
		{"sh", mkDests(1), FlagMHFallback, Options{}},
		{"mh", mkDests(1), FlagSHFallback, Options{}},
		{"rr", []Dest{{Weight: 1}}, 0, Options{}},
		{"mh", mkDests(1), 0, Options{MHTableSize: 4095}},
		{"mh", mkDests(1), 0, Options{MHTableSize: 1}},
		{"mh", mkDests(1), 0, Options{MHTableSize: -7}},
		{"mh", mkDests(1, 1, 1), 0, Options{MHTableSize: 2}},
		{"lblc", mkDests(1), 0, Options{CacheSize: -1}},
	} {
		if _, err := New(tc.name, tc.ds, tc.flags, tc.opts); err == nil {
			t.Errorf("New(%q, %d dests, %v, %+v) succeeded", tc.name, len(tc.ds), tc.flags, tc.opts)
		}
	}
	for _, size := range []int{2, 251, 4093, 131071} {
		if _, err := New("mh", mkDests(1, 1), FlagMHFallback|FlagMHPort, Options{MHTableSize: size}); err != nil {
			t.Errorf("mh with table size %d: %v", size, err)
		}
	}
}

// Every scheduler accepts an empty server list, and one where nobody is usable, and then
// picks nobody.
func TestNobodyToPick(t *testing.T) {
	in := &Input{Src: mkDests(1)[0].Addr, Dst: mkDests(1)[0].Addr}
	for _, n := range Names() {
		if got := mustNew(t, n, nil, 0, Options{}).Pick(in); got != -1 {
			t.Errorf("%s with no servers picked %d", n, got)
		}
		ds := mkDests(0, 3, 0)
		ds[1].Counts.Overloaded.Store(true)
		s := mustNew(t, n, ds, 0, Options{})
		for range 10 {
			if got := s.Pick(in); got != -1 {
				t.Fatalf("%s picked unusable server %d", n, got)
			}
		}
	}
}

func TestNewCopiesDests(t *testing.T) {
	ds := mkDests(1, 1)
	s := mustNew(t, "rr", ds, 0, Options{})
	ds[0].Weight, ds[1].Weight = 0, 0
	if s.Pick(&Input{}) < 0 {
		t.Fatal("scheduler saw the caller's later weight change")
	}
}

func TestFlagsString(t *testing.T) {
	if got := (FlagSHFallback | FlagSHPort).String(); got != "sh-fallback,sh-port" {
		t.Errorf("got %q", got)
	}
	if got := (FlagMHPort | 1<<9).String(); got != "mh-port,0x200" {
		t.Errorf("got %q", got)
	}
}
