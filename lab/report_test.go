package lab

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/lab/wire"
)

// sampleReport is a report with every field set, and names that need escaping in XML.
func sampleReport() *Report {
	return &Report{
		Name: "sample <&>", File: "sample.toml", Duration: 4 * time.Second, Bucket: time.Second, Setup: 12 * time.Millisecond,
		Clients: []ClientReport{{
			Client: "c1", Load: "http", Type: LoadHTTP, Target: "10.0.0.1:80", Requests: 400, Errors: 10,
			ErrorKinds: map[string]uint64{"refused": 7, "timeout": 3},
			P50:        time.Millisecond, P90: 2 * time.Millisecond, P99: 5 * time.Millisecond, Max: 9 * time.Millisecond,
			PerServer: map[string]uint64{"rs1": 200, "rs<2>": 190},
		}, {
			Client: "c2", Load: "tcp-long", Type: LoadTCPLong, Target: "10.0.0.1:7", Requests: 80, Errors: 2,
			ErrorKinds: map[string]uint64{"reset": 2}, P50: time.Millisecond, P90: time.Millisecond, P99: time.Millisecond, Max: time.Millisecond,
			PerServer: map[string]uint64{"rs1": 40, "rs<2>": 38}, Conns: 10, Kept: 8, Broken: 2, Reconnects: 2,
		}},
		Servers: []ServerReport{{Name: "rs1", Answered: 200, Share: 51.3, Received: 201}, {Name: "rs<2>", Answered: 190, Share: 48.7, Received: 190}},
		Appliances: []ApplianceReport{{Name: "lb1", Conns: 400, InTable: 380, Forwarded: 4000, Passed: 20, Dropped: 3,
			Drops: map[string]uint64{"no_neighbor": 3}, HealthChecks: 16, HealthFailed: 3,
			Checked: []CheckedReport{{VirtualServer: "10.0.0.1:80", Server: "rs1", Address: "192.168.1.21:80", Alive: true, Checks: 8},
				{VirtualServer: "10.0.0.1:80", Server: "rs<2>", Address: "192.168.1.22:80", Alive: true, Checks: 8, Failed: 3}},
			VRRP: []VRRPInstanceReport{{Instance: "VI_1", VRID: 51, Interface: "eth0", Version: 3, AdvertInt: 100 * time.Millisecond,
				MasterDown: 361 * time.Millisecond, Priority: 150, Start: "MASTER", StartPriority: 150, End: "DOWN", Master: "lb1 10.0.0.2",
				BecomeMaster: 1, AdvertSent: 20}},
			Sync: &SyncReport{Role: "DOWN", MessagesSent: 12, ConnsSent: 410, Queued: 410}},
			{Name: "lb2", Sync: &SyncReport{Role: "master", MessagesRecv: 11, ConnsRecv: 400, Installed: 399, InstallFailed: 1}, VRRP: []VRRPInstanceReport{{Instance: "VI_1", VRID: 51, Interface: "eth0", Version: 3, AdvertInt: 100 * time.Millisecond,
				MasterDown: 361 * time.Millisecond, Priority: 100, Start: "BACKUP", StartPriority: 100, End: "MASTER", Master: "lb2 10.0.0.3",
				BecomeMaster: 1, AdvertRcvd: 20, AdvertSent: 10}}}},
		Links: []LinkReport{{Name: "c1:eth0--lb1:eth0", A: "c1:eth0", B: "lb1:eth0",
			AtoB: wire.DirStats{Frames: 10, Bytes: 1000, Delivered: 9, Lost: 1}, BtoA: wire.DirStats{Frames: 5, Delivered: 5}}},
		Events: []EventReport{
			{At: time.Second, Action: ActServiceStop, Subject: "rs<2>/http"},
			{At: time.Second, Action: ActWeight, Subject: "lb1 192.168.1.22 weight 0"},
			{At: 2 * time.Second, Action: ActKill, Subject: "lb1"},
			{At: 3 * time.Second, Action: ActReload, Subject: "lb1", Error: "appliance: reload: interfaces changed & more"},
		},
		Health: []HealthTransition{
			{At: 1500 * time.Millisecond, Appliance: "lb1", VirtualServer: "10.0.0.1:80", Server: "rs<2>", Address: "192.168.1.22:80",
				Check: "HTTP_GET", Reason: "connection refused"},
			{At: 3200 * time.Millisecond, Appliance: "lb1", VirtualServer: "10.0.0.1:80", Server: "rs<2>", Address: "192.168.1.22:80",
				Up: true, Check: "HTTP_GET", Reason: "succeeded"},
		},
		VRRP: []VRRPTransition{
			{At: 2 * time.Second, Appliance: "lb1", Instance: "VI_1", VRID: 51, From: "MASTER", To: "DOWN", Reason: "killed", Priority: 150},
			{At: 2361 * time.Millisecond, Appliance: "lb2", Instance: "VI_1", VRID: 51, From: "BACKUP", To: "MASTER", Reason: "master down", Priority: 100},
		},
		Series: []SeriesPoint{
			{Start: 0, PerServer: map[string]uint64{"rs1": 50, "rs<2>": 50}},
			{Start: time.Second, PerServer: map[string]uint64{"rs1": 60, "rs<2>": 30}, Errors: 10},
			{Start: 2 * time.Second, PerServer: map[string]uint64{"rs1": 90}},
			{Start: 3 * time.Second, PerServer: map[string]uint64{"rs1": 0, "rs<2>": 110}},
		},
		Expectations: []ExpectationResult{
			{Key: "expect[0].max_errors", File: "sample.toml", Line: 40, Col: 1, Subject: "c1", What: "errors", Got: "10", Want: "≤ 5"},
			{Key: "expect[1].share", File: "sample.toml", Line: 43, Col: 1, Subject: "rs1", What: "share", Got: "51.3%", Want: "40%–60%", Pass: true},
		},
	}
}

// TestSVGWellFormed decodes the picture of a sample report and of a real run as XML, and
// checks that it draws what it must: a line per server, the errors, a marker and a legend
// line per instant of the timeline, axes with ticks.
func TestSVGWellFormed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		rep  *Report
	}{{"sample", sampleReport()}, {"tiny", tinyReport(t)}} {
		t.Run(tc.name, func(t *testing.T) {
			svg := tc.rep.SVG()
			elems, text := decodeSVG(t, svg)
			wantLines := len(tc.rep.Servers)
			for _, p := range tc.rep.Series {
				if p.Errors > 0 {
					wantLines++ // and the errors' line
					break
				}
			}
			if elems["polyline"] != wantLines {
				t.Errorf("%d polylines, want %d", elems["polyline"], wantLines)
			}
			if n := len(eventInstants(tc.rep.Events)); elems["circle"] != n {
				t.Errorf("%d event markers, want %d", elems["circle"], n)
			}
			for _, s := range tc.rep.Servers {
				if !strings.Contains(text, s.Name) {
					t.Errorf("server %q is not in the legend", s.Name)
				}
			}
			for _, e := range tc.rep.Events {
				if !strings.Contains(text, string(e.Action)+" "+e.Subject) {
					t.Errorf("event %s %s is not listed", e.Action, e.Subject)
				}
			}
			for _, h := range tc.rep.Health {
				if !strings.Contains(text, h.sentence()) {
					t.Errorf("health transition %+v is not listed", h)
				}
			}
			for _, v := range tc.rep.VRRP {
				if !strings.Contains(text, v.sentence()) {
					t.Errorf("VRRP transition %+v is not listed", v)
				}
			}
			for _, tick := range []string{"0s", "requests/s"} {
				if !strings.Contains(text, tick) {
					t.Errorf("no %q on the axes", tick)
				}
			}
		})
	}
}

// decodeSVG parses svg strictly and returns how many of each element it has and its text.
func decodeSVG(t *testing.T, svg []byte) (map[string]int, string) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(svg))
	d.Strict = true
	elems := map[string]int{}
	var text strings.Builder
	depth := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, svg)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 0 && (tok.Name.Local != "svg" || tok.Name.Space != "http://www.w3.org/2000/svg") {
				t.Fatalf("root element %v, want svg in the SVG namespace", tok.Name)
			}
			depth++
			elems[tok.Name.Local]++
		case xml.EndElement:
			depth--
		case xml.CharData:
			text.Write(tok)
			text.WriteByte(' ')
		}
	}
	if depth != 0 || elems["svg"] != 1 {
		t.Fatalf("unbalanced document: depth %d, %d svg elements", depth, elems["svg"])
	}
	return elems, text.String()
}

// TestJSONRoundTrip: the JSON holds the whole report: decoded, it is the same report.
func TestJSONRoundTrip(t *testing.T) {
	t.Parallel()
	for _, rep := range []*Report{sampleReport(), tinyReport(t)} {
		data, err := rep.JSON()
		if err != nil {
			t.Fatal(err)
		}
		var back Report
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatal(err)
		}
		again, err := back.JSON()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, again) {
			t.Errorf("round trip changed the report\n--- first\n%s\n--- second\n%s", data, again)
		}
		if back.Duration != rep.Duration || len(back.Clients) != len(rep.Clients) || len(back.Series) != len(rep.Series) {
			t.Errorf("decoded %+v", back)
		}
	}
	var raw map[string]any
	data, _ := sampleReport().JSON()
	json.Unmarshal(data, &raw)
	for _, k := range []string{"clients", "servers", "appliances", "links", "events", "health", "vrrp", "series", "expectations", "setup_ns"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("JSON has no %q", k)
		}
	}
}

// TestTextReport checks the text form of the sample report, whole.
func TestTextReport(t *testing.T) {
	golden(t, "testdata/golden/sample-text.txt", sampleReport().Text())
	x := sampleReport().Failed()
	if len(x) != 1 || x[0].Error() != "sample.toml:40:1: expect[0].max_errors: c1 errors 10, want ≤ 5" {
		t.Errorf("failed expectations: %v", x)
	}
}
