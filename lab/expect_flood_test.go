package lab

import (
	"strings"
	"testing"
	"time"
)

// floodReport is a report of a bulk load that lost half its goodput in seconds 2 and 3 of
// a flood from 2 s to 4 s, and of a table that filled.
func floodReport() *Report {
	return &Report{
		Duration: 6 * time.Second, Bucket: time.Second, Series: make([]SeriesPoint, 6),
		Clients: []ClientReport{
			{Client: "c1", Load: "bulk", Type: LoadBulk, Bytes: 50e6, Conns: 2, Kept: 2, Stop: 6 * time.Second,
				BytesSeries: []uint64{10e6, 10e6, 5e6, 5e6, 10e6, 10e6}},
			{Client: "c2", Load: "syn-flood", Type: LoadSYNFlood, Sent: 40000, Start: 2 * time.Second, Stop: 4 * time.Second,
				SentSeries: []uint64{0, 0, 20000, 20000, 0, 0}},
		},
		Appliances: []ApplianceReport{{Name: "lb1", Capacity: 1024, PeakInTable: 1024, PeakSeries: []int{2, 2, 1024, 1024, 900, 800}, Evicted: 7}},
	}
}

func TestGoodputJudged(t *testing.T) {
	rep := floodReport()
	type verdict struct {
		what, got, want string
		pass            bool
	}
	var got []verdict
	res := func(bound, subject, what, g, want string, pass bool) { got = append(got, verdict{what, g, want, pass}) }
	for _, c := range []struct {
		during [2]time.Duration
		min    float64
		want   verdict
	}{
		{[2]time.Duration{2 * time.Second, 4 * time.Second}, 0.5,
			verdict{"goodput 2s–4s over 0s–2s", "50.0% (5.0 MB/s / 10.0 MB/s)", "≥ 50%", true}},
		{[2]time.Duration{2 * time.Second, 4 * time.Second}, 0.9,
			verdict{"goodput 2s–4s over 0s–2s", "50.0% (5.0 MB/s / 10.0 MB/s)", "≥ 90%", false}},
		{[2]time.Duration{3 * time.Second, 6 * time.Second}, 0.8, // 5+10+10 over 3 s
			verdict{"goodput 3s–6s over 0s–2s", "83.3% (8.3 MB/s / 10.0 MB/s)", "≥ 80%", true}},
	} {
		got = nil
		x := &Expectation{HasGoodput: true, MinGoodputRatio: c.min, Before: [2]time.Duration{0, 2 * time.Second}, During: c.during}
		judgeGoodput(rep, x, "c1/bulk", rep.Clients, res)
		if len(got) != 1 || got[0] != c.want {
			t.Errorf("%v ≥ %v: %+v, want %+v", c.during, c.min, got, c.want)
		}
	}
	// No goodput before: the ratio cannot hold.
	got = nil
	x := &Expectation{HasGoodput: true, MinGoodputRatio: 0.1, Before: [2]time.Duration{0, time.Second}, During: [2]time.Duration{time.Second, 2 * time.Second}}
	judgeGoodput(rep, x, "c2", rep.Clients[1:], res)
	if len(got) != 1 || got[0].pass {
		t.Errorf("a ratio over no goodput: %+v", got)
	}

	got = nil
	judgeTable(rep.Appliances[0], &Expectation{HasMaxInTable: true, MaxInTable: 1000}, res)
	if len(got) != 1 || got[0].pass || got[0].got != "1024 (capacity 1024)" {
		t.Errorf("max_in_table 1000 of a table that held 1024: %+v", got)
	}
}

func TestFloodText(t *testing.T) {
	text := floodReport().Text()
	for _, want := range []string{
		"c1      bulk  2            2 (100%)  0       0            8.3 MB/s",
		"c2      syn-flood  2s    4s  40000      20000/s",
		"lb1        1024      1024           7        0",
		"PER 1s              0s    1s    2s     3s     4s    5s",
		"c1/bulk MB/s        10.0  10.0  5.0    5.0    10.0  10.0",
		"c2/syn-flood SYN/s  0     0     20000  20000  0     0",
		"lb1 table           2     2     1024   1024   900   800",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in\n%s", want, text)
		}
	}
}
