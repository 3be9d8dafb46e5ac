package lab

import (
	"maps"
	"slices"
	"time"
)

// report gathers what the run saw, while every node is still there to be asked.
func (r *runner) report(setup time.Duration) *Report {
	rep := &Report{Name: r.t.Name, File: r.t.File, Duration: r.t.Duration, Bucket: r.t.Bucket, Setup: setup}
	answered := map[string]uint64{}
	errSeries := map[string][]uint64{}
	buckets := int((r.t.Duration + r.t.Bucket - 1) / r.t.Bucket)
	rep.Series = make([]SeriesPoint, buckets)
	for i := range rep.Series {
		rep.Series[i] = SeriesPoint{Start: time.Duration(i) * r.t.Bucket, PerServer: map[string]uint64{}}
	}
	for _, l := range r.loads {
		s := l.rec.Summary()
		c := ClientReport{
			Client: l.node.n.Name, Load: l.g.Name, Type: l.g.Type, Target: l.g.Target.String(),
			Requests: s.Requests, Errors: s.Errors, ErrorKinds: s.ErrorKinds,
			P50: s.P50, P90: s.P90, P99: s.P99, Max: s.Max, PerServer: s.PerServer,
			Conns: s.Sessions, Kept: s.Kept, Broken: s.Broken, Reconnects: s.Reconnects,
			Sent: s.Sent, Bytes: s.Bytes, Start: l.g.Start, Stop: l.g.Stop,
		}
		if c.Stop == 0 {
			c.Stop = r.t.Duration
		}
		switch l.g.Type {
		case LoadSYNFlood:
			c.SentSeries = make([]uint64, buckets)
		case LoadBulk:
			c.BytesSeries = make([]uint64, buckets)
		}
		for i, p := range s.Series {
			switch {
			case i >= buckets: // recorded on the last instant
			case c.SentSeries != nil:
				c.SentSeries[i] = p.Sent
			case c.BytesSeries != nil:
				c.BytesSeries[i] = p.Bytes
			}
		}
		if l.err != nil {
			c.Failed = l.err.Error()
		}
		rep.Clients = append(rep.Clients, c)
		for _, p := range s.Series {
			errSeries[c.Name()] = append(errSeries[c.Name()], p.Errors)
		}
		for name, n := range s.PerServer {
			answered[name] += n
		}
		for i, p := range s.Series {
			if i >= len(rep.Series) { // a request recorded on the last instant
				break
			}
			rep.Series[i].Errors += p.Errors
			for name, n := range p.PerServer {
				rep.Series[i].PerServer[name] += n
			}
		}
	}
	rep.Servers = r.servers(answered)
	r.health.poll() // the last transitions, and the state at the end
	transitions, checked := r.health.results()
	if r.t.hasVRRP() {
		r.vrrp.poll()
	}
	vrrpTransitions, instances := r.vrrp.results()
	for _, n := range r.t.Nodes {
		if an := r.appliances[n.Name]; an != nil {
			c, inTable, capacity := an.counters()
			peak, peaks := r.table.results(n.Name, buckets)
			rep.Appliances = append(rep.Appliances, ApplianceReport{
				Name: n.Name, Conns: c.Conns, InTable: inTable, InPackets: c.InPkts, OutPackets: c.OutPkts,
				PeakInTable: peak, PeakSeries: peaks, Capacity: capacity, Evicted: c.Evicted, RefusedFull: c.Refused,
				Forwarded: c.Forwarded, Passed: c.Passed, Dropped: c.Dropped, Drops: c.Drops,
				HealthChecks: c.Checks, HealthFailed: c.Failed, Checked: checked[n.Name],
				VRRP: withVRRPCounters(instances[n.Name], c), Sync: an.syncReport(c),
			})
		}
	}
	rep.Health = transitions
	rep.VRRP = vrrpTransitions
	for _, c := range r.cables {
		st := c.w.Stats()
		rep.Links = append(rep.Links, LinkReport{Name: c.l.Name, A: c.l.A.String(), B: c.l.B.String(), AtoB: st.AtoB, BtoA: st.BtoA,
			ARingDropped: r.jacks[c.l.A].dropped(), BRingDropped: r.jacks[c.l.B].dropped()})
	}
	rep.Events = r.events
	rep.Expectations = judge(r.t, rep, errSeries)
	return rep
}

// servers lists the real servers: every host that runs services, in file order, then any
// other name the clients saw answer (a VM behind a QEMU port), sorted.
func (r *runner) servers(answered map[string]uint64) []ServerReport {
	var total uint64
	for _, n := range answered {
		total += n
	}
	var out []ServerReport
	seen := map[string]bool{}
	add := func(name string, received uint64) ServerReport {
		s := ServerReport{Name: name, Answered: answered[name], Received: received}
		if total > 0 {
			s.Share = 100 * float64(s.Answered) / float64(total)
		}
		seen[name] = true
		return s
	}
	for _, n := range r.t.Nodes {
		if n.Kind != KindHost || len(n.Services) == 0 {
			continue
		}
		hn := r.hosts[n.Name]
		var received uint64
		for _, s := range hn.svcs {
			if s.http != nil {
				received += s.http.Requests()
			}
		}
		s := add(n.Name, received)
		s.Decapsulated, s.TunnelDropped = hn.decapsulated.Load(), hn.tunnelDropped.Load()
		out = append(out, s)
	}
	for _, name := range slices.Sorted(maps.Keys(answered)) {
		if !seen[name] && name != "" {
			out = append(out, add(name, 0))
		}
	}
	return out
}

// withVRRPCounters adds to an appliance's instances their counters over its incarnations.
func withVRRPCounters(insts []VRRPInstanceReport, c applianceCounters) []VRRPInstanceReport {
	for i := range insts {
		s := c.VRRP[insts[i].Instance]
		insts[i].BecomeMaster, insts[i].ReleaseMaster = s.BecomeMaster, s.ReleaseMaster
		insts[i].AdvertRcvd, insts[i].AdvertSent = s.AdvertRcvd, s.AdvertSent
		insts[i].PriZeroRcvd, insts[i].PriZeroSent = s.PriZeroRcvd, s.PriZeroSent
	}
	return insts
}
