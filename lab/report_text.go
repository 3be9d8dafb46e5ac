package lab

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Text returns the report as a person reads it: a table per kind of node, the timeline, and
// the expectations.
func (r *Report) Text() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "lab %s (%s): %v, setup %v\n", r.Name, r.File, r.Duration, roundDuration(r.Setup))

	section(&b, "CLIENT\tLOAD\tTARGET\tREQUESTS\tERRORS\tP50\tP99\t", func(w *tabwriter.Writer) {
		for _, c := range r.Clients {
			fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", c.Client, c.Load, c.Target, c.Requests, c.Errors,
				latency(c.P50, c.Requests > c.Errors), latency(c.P99, c.Requests > c.Errors), clientNotes(c))
		}
	})
	if slices.ContainsFunc(r.Clients, func(c ClientReport) bool { return c.Type == LoadTCPLong }) {
		section(&b, "CLIENT\tLOAD\tCONNECTIONS\tKEPT\tBROKEN\tRECONNECTED\t", func(w *tabwriter.Writer) {
			for _, c := range r.Clients {
				if c.Type != LoadTCPLong {
					continue
				}
				fmt.Fprintf(w, "%s\t%s\t%d\t%d%s\t%d\t%d\t\n", c.Client, c.Load, c.Conns, c.Kept, percentOf(c.Kept, c.Conns), c.Broken, c.Reconnects)
			}
		})
	}
	r.floodText(&b)
	if len(r.Servers) > 0 {
		section(&b, "REAL SERVER\tANSWERED\tSHARE\t", func(w *tabwriter.Writer) {
			for _, s := range r.Servers {
				fmt.Fprintf(w, "%s\t%d\t%.1f%%\t\n", s.Name, s.Answered, s.Share)
			}
		})
	}
	if len(r.Appliances) > 0 {
		section(&b, "APPLIANCE\tCONNS\tIN TABLE\tFORWARDED\tDROPPED\t", func(w *tabwriter.Writer) {
			for _, a := range r.Appliances {
				fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%s\n", a.Name, a.Conns, a.InTable, a.Forwarded, a.Dropped, counts(a.Drops))
			}
		})
	}
	if slices.ContainsFunc(r.Appliances, func(a ApplianceReport) bool { return a.Sync != nil }) {
		// Connections (and templates) sent and received, installed and refused.
		section(&b, "APPLIANCE\tSYNC\tSENT\tRECEIVED\tINSTALLED\tFAILED\t", func(w *tabwriter.Writer) {
			for _, a := range r.Appliances {
				if s := a.Sync; s != nil {
					fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%d\t\n", a.Name, s.Role, s.ConnsSent, s.ConnsRecv, s.Installed, s.InstallFailed)
				}
			}
		})
	}
	if len(r.Events) > 0 {
		section(&b, "AT\tEVENT\t", func(w *tabwriter.Writer) {
			for _, e := range r.Events {
				// Of a repeated event, the first and the last, and any that failed.
				if e.N > 0 && e.Nth != 1 && e.Nth != e.N && e.Error == "" {
					continue
				}
				line := fmt.Sprintf("%v\t%s %s", e.At, e.Action, e.Subject)
				if e.N > 0 {
					line += fmt.Sprintf(" (%d of %d: %s)", e.Nth, e.N, e.Repeat)
				}
				if e.Error != "" {
					line += ": FAILED: " + e.Error
				}
				fmt.Fprintln(w, line)
			}
		})
	}
	if len(r.Health) > 0 {
		section(&b, "AT\tAPPLIANCE\tVIRTUAL SERVER\tREAL SERVER\tHEALTH\t", func(w *tabwriter.Writer) {
			for _, h := range r.Health {
				fmt.Fprintf(w, "%v\t%s\t%s\t%s\t%s\n", roundDuration(h.At), h.Appliance, h.VirtualServer, h.serverText(), h.stateText())
			}
		})
	}
	if r.hasVRRP() {
		section(&b, "AT\tAPPLIANCE\tINSTANCE\tVRRP\t", func(w *tabwriter.Writer) {
			for _, a := range r.Appliances {
				for _, v := range a.VRRP {
					fmt.Fprintf(w, "start\t%s\t%s\t%s, priority %d\n", a.Name, v.Instance, v.Start, v.StartPriority)
				}
			}
			for _, v := range r.VRRP {
				fmt.Fprintf(w, "%v\t%s\t%s\t%s\n", roundDuration(v.At), v.Appliance, v.Instance, v.stateText())
			}
		})
	}
	if len(r.Expectations) > 0 {
		section(&b, "EXPECT\t\t", func(w *tabwriter.Writer) {
			for _, x := range r.Expectations {
				verdict := "ok"
				if !x.Pass {
					verdict = "FAIL"
				}
				fmt.Fprintf(w, "%s\t%s\t(line %d)\n", verdict, x.Sentence(), x.Line)
			}
		})
	}
	return b.String()
}

// floodText writes the bulk loads (their connections and goodput), the SYN floods (what
// they sent, how fast), the appliances' tables under them, and all of it per bucket.
func (r *Report) floodText(b *bytes.Buffer) {
	hasType := func(t LoadType) bool {
		return slices.ContainsFunc(r.Clients, func(c ClientReport) bool { return c.Type == t })
	}
	bulk, flood := hasType(LoadBulk), hasType(LoadSYNFlood)
	if bulk {
		section(b, "CLIENT\tLOAD\tCONNECTIONS\tKEPT\tBROKEN\tRECONNECTED\tGOODPUT\t", func(w *tabwriter.Writer) {
			for _, c := range r.Clients {
				if c.Type == LoadBulk {
					fmt.Fprintf(w, "%s\t%s\t%d\t%d%s\t%d\t%d\t%s\t\n", c.Client, c.Load, c.Conns, c.Kept, percentOf(c.Kept, c.Conns),
						c.Broken, c.Reconnects, byteRate(float64(c.Bytes)/(c.Stop-c.Start).Seconds()))
				}
			}
		})
	}
	if flood {
		section(b, "CLIENT\tLOAD\tFROM\tTO\tSYNS SENT\tRATE\t", func(w *tabwriter.Writer) {
			for _, c := range r.Clients {
				if c.Type == LoadSYNFlood {
					fmt.Fprintf(w, "%s\t%s\t%v\t%v\t%d\t%.0f/s\t\n", c.Client, c.Load, c.Start, c.Stop, c.Sent, float64(c.Sent)/(c.Stop-c.Start).Seconds())
				}
			}
		})
		section(b, "APPLIANCE\tCAPACITY\tMOST IN TABLE\tEVICTED\tREFUSED FULL\t", func(w *tabwriter.Writer) {
			for _, a := range r.Appliances {
				fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t\n", a.Name, a.Capacity, a.PeakInTable, a.Evicted, a.RefusedFull)
			}
		})
	}
	if !bulk && !flood {
		return
	}
	// Per bucket: goodput in MB/s, SYNs a second, the most entries in each table.
	header := "PER " + r.Bucket.String() + "\t"
	for i := range len(r.Series) {
		header += (time.Duration(i) * r.Bucket).String() + "\t"
	}
	section(b, header, func(w *tabwriter.Writer) {
		perSecond := r.Bucket.Seconds()
		for _, c := range r.Clients {
			switch c.Type {
			case LoadBulk:
				fmt.Fprintf(w, "%s MB/s\t", c.Name())
				for _, n := range c.BytesSeries {
					fmt.Fprintf(w, "%.1f\t", float64(n)/perSecond/1e6)
				}
			case LoadSYNFlood:
				fmt.Fprintf(w, "%s SYN/s\t", c.Name())
				for _, n := range c.SentSeries {
					fmt.Fprintf(w, "%.0f\t", float64(n)/perSecond)
				}
			default:
				continue
			}
			fmt.Fprintln(w)
		}
		if flood {
			for _, a := range r.Appliances {
				fmt.Fprintf(w, "%s table\t", a.Name)
				for _, n := range a.PeakSeries {
					fmt.Fprintf(w, "%d\t", n)
				}
				fmt.Fprintln(w)
			}
		}
	})
}

// section writes a blank line, then a table with its header, without trailing blanks.
func section(b *bytes.Buffer, header string, rows func(w *tabwriter.Writer)) {
	var table bytes.Buffer
	w := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, header)
	rows(w)
	w.Flush()
	b.WriteByte('\n')
	for _, line := range strings.SplitAfter(table.String(), "\n") {
		b.WriteString(strings.TrimRight(line, " \n"))
		if strings.HasSuffix(line, "\n") {
			b.WriteByte('\n')
		}
	}
}

// percentOf prints n as a percentage of total, " (100%)", or nothing when total is 0.
func percentOf(n, total uint64) string {
	if total == 0 {
		return ""
	}
	return fmt.Sprintf(" (%.0f%%)", math.Floor(100*float64(n)/float64(total)))
}

// latency prints a latency to three significant digits, "-" when nothing succeeded.
func latency(d time.Duration, any bool) string {
	if !any {
		return "-"
	}
	return roundDuration(d).String()
}

// clientNotes says what went wrong for a load: why it could not run, or its errors by kind.
func clientNotes(c ClientReport) string {
	if c.Failed != "" {
		return "could not run: " + c.Failed
	}
	return counts(c.ErrorKinds)
}

// counts prints counts by name, largest first: "refused 60, reset 4".
func counts(m map[string]uint64) string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			if m[a] > m[b] {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for _, k := range keys {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
		}
	}
	return strings.Join(parts, ", ")
}

// serverText names a checked real server: its host and address, or its address.
func (h HealthTransition) serverText() string {
	if h.Server == "" {
		return h.Address
	}
	return h.Server + " " + h.Address
}

// stateText says what happened and why: "out: HTTP_GET connection refused", "in: TCP_CHECK
// succeeded".
func (h HealthTransition) stateText() string {
	s := "in"
	if !h.Up {
		s = "out"
	}
	why := strings.TrimSpace(h.Check + " " + h.Reason)
	if why == "" {
		return s
	}
	return s + ": " + why
}

// sentence says it all: "lb1 took rs2 192.168.1.22:8080 out of 10.0.0.1:80: HTTP_GET
// connection refused".
func (h HealthTransition) sentence() string {
	s := fmt.Sprintf("%s put %s back into %s", h.Appliance, h.serverText(), h.VirtualServer)
	if !h.Up {
		s = fmt.Sprintf("%s took %s out of %s", h.Appliance, h.serverText(), h.VirtualServer)
	}
	if why := strings.TrimSpace(h.Check + " " + h.Reason); why != "" {
		s += ": " + why
	}
	return s
}

// hasVRRP reports whether an appliance of the run has VRRP instances.
func (r *Report) hasVRRP() bool {
	for _, a := range r.Appliances {
		if len(a.VRRP) > 0 {
			return true
		}
	}
	return false
}

// stateText says what happened and why: "BACKUP → MASTER: master down".
func (v VRRPTransition) stateText() string {
	s := v.From + " → " + v.To
	if v.Reason != "" {
		s += ": " + v.Reason
	}
	return s
}

// sentence says it all: "lb2 VI_1 BACKUP → MASTER: master down".
func (v VRRPTransition) sentence() string {
	return v.Appliance + " " + v.Instance + " " + v.stateText()
}
