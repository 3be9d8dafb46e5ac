package lab

import (
	"fmt"
	"strings"
	"time"

	"github.com/uvs-lb/uvs/conf"
)

// judge evaluates every bound of every expectation against the report. errSeries holds the
// errors per bucket of each load, by "client/load", for the failover bound.
func judge(t *Topology, rep *Report, errSeries map[string][]uint64) []ExpectationResult {
	var out []ExpectationResult
	for _, x := range t.Expect {
		res := func(bound, subject, what, got, want string, pass bool) {
			pos := t.src.Lookup(x.key + "." + bound)
			out = append(out, ExpectationResult{
				Key: x.key + "." + bound, File: t.File, Line: pos.Line, Col: pos.Col,
				Subject: subject, What: what, Got: got, Want: want, Pass: pass,
			})
		}
		switch {
		case x.Server != "":
			s := serverReport(rep, x.Server)
			if x.HasShare {
				res("share", x.Server, "share", fmt.Sprintf("%.1f%%", s.Share),
					fmt.Sprintf("%g%%–%g%%", x.Share[0], x.Share[1]), s.Share >= x.Share[0] && s.Share <= x.Share[1])
			}
			if x.HasMinRequests {
				res("min_requests", x.Server, "answered", fmt.Sprint(s.Answered), fmt.Sprintf("≥ %d", x.MinRequests), s.Answered >= x.MinRequests)
			}
			judgeHealth(t, rep, x, res)
		case x.VRRP != "":
			judgeVRRP(t, rep, x, res)
		case x.Appliance != "":
			for _, a := range rep.Appliances {
				if a.Name == x.Appliance && x.HasMaxDrops {
					res("max_drops", a.Name, "dropped frames", fmt.Sprint(a.Dropped), fmt.Sprintf("≤ %d", x.MaxDrops), a.Dropped <= x.MaxDrops)
				}
				if a.Name == x.Appliance {
					judgeTable(a, x, res)
				}
			}
		default:
			subject, sel := clientsOf(rep, x.Client)
			var requests, errors, broken, reconnects uint64
			var p99 time.Duration
			var merged []uint64
			for _, c := range sel {
				requests += c.Requests
				errors += c.Errors
				broken += c.Broken
				reconnects += c.Reconnects
				p99 = max(p99, c.P99)
				for i, n := range errSeries[c.Name()] {
					for len(merged) <= i {
						merged = append(merged, 0)
					}
					merged[i] += n
				}
			}
			if x.HasMaxErrors {
				res("max_errors", subject, "errors", fmt.Sprint(errors), fmt.Sprintf("≤ %d", x.MaxErrors), errors <= x.MaxErrors)
			}
			if x.HasMinRequests {
				res("min_requests", subject, "requests", fmt.Sprint(requests), fmt.Sprintf("≥ %d", x.MinRequests), requests >= x.MinRequests)
			}
			if x.MaxP99 > 0 {
				res("max_p99", subject, "p99 latency", roundDuration(p99).String(), "≤ "+x.MaxP99.String(), p99 <= x.MaxP99)
			}
			if x.HasFailover {
				outage := longestRun(merged) * rep.Bucket
				res("failover", subject, "longest stretch with errors", outage.String(), "≤ "+x.Failover.String(), outage <= x.Failover)
			}
			if x.HasMaxBroken {
				res("max_broken", subject, "long-lived connections broken", fmt.Sprint(broken), fmt.Sprintf("≤ %d", x.MaxBroken), broken <= x.MaxBroken)
			}
			if x.HasMaxReconnects {
				res("max_reconnects", subject, "reconnections", fmt.Sprint(reconnects), fmt.Sprintf("≤ %d", x.MaxReconnects), reconnects <= x.MaxReconnects)
			}
			judgeGoodput(rep, x, subject, sel, res)
		}
	}
	return out
}

// clientsOf selects the loads an expectation is about: every load (""), a client's, or one.
func clientsOf(rep *Report, client string) (string, []ClientReport) {
	var out []ClientReport
	for _, c := range rep.Clients {
		if client == "" || c.Client == client || c.Name() == client {
			out = append(out, c)
		}
	}
	if client == "" {
		return "all clients", out
	}
	return client, out
}

func serverReport(rep *Report, name string) ServerReport {
	for _, s := range rep.Servers {
		if s.Name == name {
			return s
		}
	}
	return ServerReport{Name: name}
}

// longestRun is the length of the longest run of nonzero counts.
func longestRun(counts []uint64) time.Duration {
	best, cur := 0, 0
	for _, n := range counts {
		if n == 0 {
			cur = 0
			continue
		}
		cur++
		best = max(best, cur)
	}
	return time.Duration(best)
}

// roundDuration keeps three significant digits, as the report prints latencies.
func roundDuration(d time.Duration) time.Duration {
	for unit := time.Duration(1); unit < time.Hour; unit *= 10 {
		if d < 1000*unit {
			return d.Round(unit)
		}
	}
	return d.Round(time.Second)
}

// Error formats a failed expectation as the file's other errors are: "file:line:col: key:
// subject what got, want want".
func (x ExpectationResult) Error() string {
	e := conf.Error{File: x.File, Line: x.Line, Col: x.Col, Key: x.Key, Msg: x.Sentence()}
	return e.Error()
}

// Sentence says what was found and what was wanted: "rs2 share 8.1%, want 12%–30%".
func (x ExpectationResult) Sentence() string {
	return strings.Join([]string{x.Subject, x.What, x.Got + ", want", x.Want}, " ")
}
