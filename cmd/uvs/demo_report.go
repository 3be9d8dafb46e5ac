package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// header prints what runs, before it runs; the timeline follows as it happens.
func (d *demoRun) header(w io.Writer) {
	o := d.o
	rs := d.servers[d.failed]
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p("uvs demo: an in-process NAT scenario on the real appliance, %v of traffic", o.duration)
	p("")
	p("What runs, all in this process: %d client hosts -> VIP %s on a uvs appliance -> %d real servers.", len(d.clients), demoVIP, len(d.servers))
	p("Every host is a gVisor TCP/IP stack; links are in-memory Ethernet pipes through two learning")
	p("switches. The appliance is appliance.New on the configuration below, the code `uvs run` runs,")
	p("with memory ports instead of afpacket ones. The real servers run Go's net/http. Before the")
	p("clients start, the appliance's own host connects once to each real server, as a TCP health")
	p("check would; that also resolves their MAC addresses.")
	p("What is simulated: %s's failure is its HTTP server stopped (its host stays up); its return,", rs)
	p("a restart of its host and server. As uvs has no health checks yet, the appliance learns of")
	p("each by a reload, standing in for one: without %s %v after the failure, with it again", rs, o.detect.Round(time.Millisecond))
	p("right after the restart.")
	p("")
	d.topology(w)
	p("")
	p("configuration (embedded, uvs's own format; `uvs conf check` accepts it):")
	for _, l := range strings.Split(strings.TrimRight(demoConfig, "\n"), "\n") {
		if l == "" {
			p("")
		} else {
			p("    %s", l)
		}
	}
	p("")
	p("timeline (as it happens):")
}

// summary prints what the run did, after the timeline: requests per real server per window,
// the clients' view, and the appliance's counters.
func (d *demoRun) summary(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	o := d.o
	p("")
	d.windows(w)
	p("")
	d.clientTable(w)
	p("")
	d.applianceTables(w)
	p("")
	p("wall time %.1fs: setup, %v of traffic, the drain, and the teardown of every host, switch", d.wall.Seconds(), o.duration)
	p("and the appliance.")
}

func (d *demoRun) topology(w io.Writer) {
	var cs, rs []string
	for _, c := range d.clients {
		cs = append(cs, fmt.Sprintf("%s %s", c.name, c.addr))
	}
	for i, s := range d.servers {
		rs = append(rs, fmt.Sprintf("%s %s", s, d.addrs[i]))
	}
	fmt.Fprintf(w, "  %s   (clients, gateway %s)\n", strings.Join(cs, "   "), demoClientGW)
	fmt.Fprintln(w, "      |                 switch")
	fmt.Fprintf(w, "  eth0 10.0.0.254  [uvs: VIP %s, TCP, NAT, %s]  eth1 192.168.1.254\n", demoVIP, d.sched)
	fmt.Fprintln(w, "      |                 switch")
	fmt.Fprintf(w, "  %s   (real servers, gateway %s)\n", strings.Join(rs, "   "), demoServerGW)
}

// wrap breaks s into lines of at most width columns, indenting the continuations.
func wrap(s string, width int, indent string) string {
	var b strings.Builder
	col := 0
	for i, word := range strings.Fields(s) {
		if i > 0 && col+1+len(word) > width {
			b.WriteString("\n" + indent)
			col = 0
		} else if i > 0 {
			b.WriteByte(' ')
			col++
		}
		b.WriteString(word)
		col += len(word)
	}
	return b.String()
}

func (d *demoRun) window(at time.Duration) int {
	for i := 1; i < len(d.edges)-1; i++ {
		if at < d.edges[i] {
			return i - 1
		}
	}
	return len(d.edges) - 2
}

func (d *demoRun) windows(w io.Writer) {
	nw := len(d.edges) - 1
	counts := make([][]int, nw)
	failed := make([]int, nw)
	for i := range counts {
		counts[i] = make([]int, len(d.servers))
	}
	for _, r := range d.results {
		wi := d.window(r.at)
		if r.server < 0 {
			failed[wi]++
		} else {
			counts[wi][r.server]++
		}
	}
	fmt.Fprintln(w, "requests answered per real server, by window (a request counts in the window it was sent")
	fmt.Fprintf(w, "in; the windows are sixths of the run, aligned on %s's failure and return):\n", d.servers[d.failed])
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "window\t")
	for _, s := range d.servers {
		fmt.Fprintf(tw, "%s\t", s)
	}
	fmt.Fprintln(tw, "failed\t")
	total := make([]int, len(d.servers)+1)
	for i := range nw {
		fmt.Fprintf(tw, "%.1f-%.1fs\t", d.edges[i].Seconds(), d.edges[i+1].Seconds())
		for j, n := range counts[i] {
			fmt.Fprintf(tw, "%d\t", n)
			total[j] += n
		}
		total[len(d.servers)] += failed[i]
		note := ""
		if i >= d.outFrom && i < d.outTo {
			note = "  " + d.servers[d.failed] + " down"
		}
		fmt.Fprintf(tw, "%d\t%s\n", failed[i], note)
	}
	fmt.Fprint(tw, "total\t")
	for _, n := range total {
		fmt.Fprintf(tw, "%d\t", n)
	}
	fmt.Fprintln(tw)
	tw.Flush()
}

func (d *demoRun) clientTable(w io.Writer) {
	type row struct {
		sent, ok, errs int
		lat            []time.Duration
	}
	rows := make([][numKinds]row, len(d.clients))
	var all row
	causes := map[string]int{}
	natOK := true
	for _, r := range d.results {
		x := &rows[r.client][r.kind]
		x.sent++
		all.sent++
		if r.cause != "" {
			x.errs++
			all.errs++
			causes[r.cause]++
			continue
		}
		x.ok++
		all.ok++
		x.lat = append(x.lat, r.latency)
		all.lat = append(all.lat, r.latency)
		natOK = natOK && r.natSrc
	}
	fmt.Fprintln(w, "clients (latency of the answered requests; a short one's includes its TCP connect):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "client\taddress\tkind\tsent\tanswered\terrors\tp50\tp99\tmax\t")
	line := func(name, addr, kind string, x row) {
		slices.Sort(x.lat)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t\n", name, addr, kind, x.sent, x.ok, x.errs,
			fmtLatency(pct(x.lat, 0.50)), fmtLatency(pct(x.lat, 0.99)), fmtLatency(pct(x.lat, 1)))
	}
	for i, c := range d.clients {
		for k := range numKinds {
			if rows[i][k].sent > 0 {
				line(c.name, c.addr.String(), kindNames[k], rows[i][k])
			}
		}
	}
	line("all", "", "", all)
	tw.Flush()
	if len(causes) == 0 {
		fmt.Fprintln(w, "failed requests: none")
	} else {
		first, last := time.Duration(math.MaxInt64), time.Duration(0)
		for _, r := range d.results {
			if r.cause != "" {
				first, last = min(first, r.at), max(last, r.at)
			}
		}
		fmt.Fprintf(w, "failed requests: %d, sent between %.2fs and %.2fs\n", all.errs, first.Seconds(), last.Seconds())
		keys := make([]string, 0, len(causes))
		for k := range causes {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			return causes[keys[i]] > causes[keys[j]] || causes[keys[i]] == causes[keys[j]] && keys[i] < keys[j]
		})
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%d %s", causes[k], k))
		}
		fmt.Fprintf(w, "failed requests by cause: %s\n", strings.Join(parts, ", "))
	}
	if d.skipped > 0 {
		fmt.Fprintf(w, "short requests not sent (too many in flight): %d\n", d.skipped)
	}
	if all.ok > 0 && natOK {
		fmt.Fprintln(w, "every answer named the client's own address as the source it saw: NAT keeps the client's address")
	} else if all.ok > 0 {
		fmt.Fprintln(w, "some answers named another source address than the client's own")
	}
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return -1
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

func fmtLatency(d time.Duration) string {
	switch {
	case d < 0:
		return "-"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func (d *demoRun) applianceTables(w io.Writer) {
	s := &d.stats
	fmt.Fprintln(w, "appliance, dataplane counters (netstack.Stats) per port; forwarded, passed (to the appliance's")
	fmt.Fprintln(w, "own host: ARP, its own connections), rejected and dropped count the frames received there:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "port\trx\trx_errors\tforwarded\tpassed\trejected\tdropped\ttx\ttx_dropped\t")
	for _, p := range s.ports {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", p.name, p.rx, p.rxErr, p.forwarded, p.passed, p.rejected, p.dropped, p.tx, p.txDropped)
	}
	tw.Flush()
	if len(s.drops) == 0 {
		fmt.Fprintln(w, "drop reasons: none")
	} else {
		fmt.Fprintf(w, "drop reasons: %s\n", strings.Join(s.drops, ", "))
	}
	if s.noDest == 0 {
		fmt.Fprintf(w, "(no no_dest drops: no packet came for %s's entries once it was out, its server having closed\n", d.servers[d.failed])
		fmt.Fprintln(w, "its connections as it stopped)")
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "appliance, engine at the end, as ipvsadm -Ln would print it:")
	fmt.Fprintln(w, "Prot LocalAddress:Port Scheduler Flags")
	fmt.Fprintln(w, "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn")
	for _, svc := range s.services {
		fmt.Fprintf(w, "%s %s\n", ipvsName(svc.name), svc.sched)
		for _, dst := range svc.dests {
			fmt.Fprintf(w, "  -> %-28s %-7s %-6d %-10d %d\n", dst.addr, dst.method, dst.weight, dst.active, dst.inactive)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "and as ipvsadm -Ln --stats --exact would:")
	fmt.Fprintln(w, "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes")
	fmt.Fprintln(w, "  -> RemoteAddress:Port")
	for _, svc := range s.services {
		st := svc.stats
		fmt.Fprintf(w, "%-33s %8d %8d %8d %8d %8d\n", ipvsName(svc.name), st.Conns, st.InPkts, st.OutPkts, st.InBytes, st.OutBytes)
		for _, dst := range svc.dests {
			c := dst.stats
			fmt.Fprintf(w, "  -> %-28s %8d %8d %8d %8d %8d\n", dst.addr, c.Conns, c.InPkts, c.OutPkts, c.InBytes, c.OutBytes)
		}
	}
	fmt.Fprintf(w, "\nconnection table at the end: %d entries (%s); %d inserted, %d expired, %d deleted in the run\n",
		s.conntab.Current, byCount(s.states), s.conntab.Inserted, s.conntab.Expired, s.conntab.Deleted)
	if pre := d.preCount; pre.Conns > 0 {
		fmt.Fprintf(w, "%s's counters survived its removal: %d connections when it was taken out, %d now\n", d.servers[d.failed], pre.Conns, d.failedConnsNow())
	}
}

// failedConnsNow is the failed server's connection count at the end.
func (d *demoRun) failedConnsNow() uint64 {
	for _, svc := range d.stats.services {
		for _, dst := range svc.dests {
			if dst.addr == d.addrs[d.failed] {
				return dst.stats.Conns
			}
		}
	}
	return 0
}

// ipvsName spells a service as ipvsadm does: "TCP  10.0.0.1:80".
func ipvsName(s string) string { return strings.Replace(s, " ", "  ", 1) }
