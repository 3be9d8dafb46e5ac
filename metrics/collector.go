// Package metrics is uvs's Prometheus exposition: it renders one control.Snapshot per
// scrape as metrics.
//
// The names follow the exporters operators already run next to IPVS and keepalived, so that
// their dashboards and alerts carry over with a change of prefix: node_exporter's IPVS
// collector (node_ipvs_* → uvs_ipvs_*, with the same labels and label values) and
// keepalived-exporter (keepalived_* → uvs_*, with the same labels). docs/metrics.md lists
// every metric and the name it corresponds to.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/uvs-lb/uvs/control"
)

// Source returns the current state.
type Source func(ctx context.Context) (*control.Snapshot, error)

// collectTimeout bounds a Collect, which has no context of its own: a Source that never
// returns would otherwise hang the scrape and pile up goroutines, one per scrape. It is
// Prometheus's default scrape_timeout. Handler uses the request's context instead.
const collectTimeout = 10 * time.Second

// collector renders a Snapshot. It keeps only what must outlive a scrape: the count of
// failed scrapes and the IPVS totals' accounting.
type collector struct {
	src      Source
	d        *descs
	failures atomic.Uint64
	totals   ipvsTotals
}

// NewCollector returns a prometheus.Collector that takes one Snapshot per scrape.
func NewCollector(src Source) prometheus.Collector {
	return newCollector(src)
}

func newCollector(src Source) *collector {
	return &collector{src: src, d: newDescs()}
}

// Describe sends every metric's description: the set is fixed, so a registry can check
// each scrape against it.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.d.all {
		ch <- d
	}
}

// Collect takes a Snapshot and sends its metrics.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), collectTimeout)
	defer cancel()
	c.collect(ctx, ch)
}

// collect is Collect under ctx. A failing Source still yields a valid exposition, uvs_up 0
// and the failures' count, so that the failure is what alerts see rather than a scrape
// error that hides the Go and process metrics too.
func (c *collector) collect(ctx context.Context, ch chan<- prometheus.Metric) {
	s, err := c.src(ctx)
	if err == nil && s == nil {
		err = errors.New("metrics: the source returned no snapshot")
	}
	if err != nil {
		c.failures.Add(1)
	}
	e := emitter{ch}
	up := 0.0
	if err == nil {
		up = 1
	}
	e.gauge(c.d.up, up)
	e.counter(c.d.scrapeErrors, c.failures.Load())
	if err != nil {
		return
	}

	if !s.Started.IsZero() {
		e.gauge(c.d.started, float64(s.Started.UnixNano())/1e9)
	}
	c.collectIPVS(e, s)
	c.collectVRRP(e, s.VRRP)
	c.collectHealth(e, &s.Health)
	c.collectSync(e, &s.Sync)
	c.collectTable(e, &s.Table)
	for reason, n := range s.Drops {
		e.counter(c.d.drops, n, reason)
	}
	c.collectPorts(e, s.Ports)
}

// serviceAgg and backendAgg gather what is exported under one label set. node_exporter sums
// the backends that share one (its collector does); here that happens only for the
// services of the two families with the same firewall mark, which /proc/net/ip_vs, and so
// node_exporter's labels, do not tell apart. Two series with the same labels would make the
// registry fail the whole scrape.
type serviceAgg struct {
	labels   []string
	stats    control.Stats
	quorumUp bool // every service of the label set has its quorum
	sorry    bool // some service of the label set uses its sorry server
}

type backendAgg struct {
	labels                   []string
	active, inactive, persis int64
	weight                   int64
	stats                    control.Stats
}

func (c *collector) collectIPVS(e emitter, s *control.Snapshot) {
	d := c.d
	var (
		svcs     = map[string]*serviceAgg{}
		svcOrder []string
		backs    = map[string]*backendAgg{}
		seen     = map[string]bool{} // real servers already exported, by backend labels
		stats    = map[string]control.Stats{}
	)
	for i := range s.Services {
		svc := &s.Services[i]
		sl := serviceLabelValues(svc.ServiceKey)
		sk := strings.Join(sl, "\xff")
		a := svcs[sk]
		if a == nil {
			a = &serviceAgg{labels: sl, quorumUp: true}
			svcs[sk] = a
			svcOrder = append(svcOrder, sk)
		}
		addStats(&a.stats, &svc.Stats)
		a.quorumUp = a.quorumUp && svc.QuorumUp
		e.gauge(d.serviceInfo, 1, append(sl[:len(sl):len(sl)], svc.Name, svc.Scheduler)...)

		for j := range svc.Servers {
			srv := &svc.Servers[j]
			if srv.Sorry {
				a.sorry = true
			}
			bl := backendLabelValues(sl, srv.Addr, srv.Port)
			bk := strings.Join(bl, "\xff")
			// IPVS lists only the servers in its table (/proc/net/ip_vs): one taken out
			// by its checks is gone from node_exporter's metrics, and from these. Its
			// counters restart when it comes back, which Prometheus reads as a reset.
			if srv.InTable {
				b := backs[bk]
				if b == nil {
					b = &backendAgg{labels: bl}
					backs[bk] = b
				}
				b.active += int64(srv.ActiveConns)
				b.inactive += int64(srv.InactConns)
				b.persis += int64(srv.PersistConns)
				b.weight += int64(srv.CurrentWeight)
				addStats(&b.stats, &srv.Stats)
			}
			if seen[bk] {
				continue // a duplicate: the first one's state stands
			}
			seen[bk] = true
			c.collectServer(e, bl, srv)
		}
	}

	for _, sk := range svcOrder {
		a := svcs[sk]
		stats[sk] = a.stats
		for i, v := range statValues(&a.stats) {
			e.counter(d.ipvsService[i], v, a.labels...)
		}
		e.gauge(d.serviceQuorumUp, b2f(a.quorumUp), a.labels...)
		e.gauge(d.serviceSorry, b2f(a.sorry), a.labels...)
	}
	for _, b := range backs {
		e.gauge(d.backendActive, float64(b.active), b.labels...)
		e.gauge(d.backendInactive, float64(b.inactive), b.labels...)
		e.gauge(d.backendPersistent, float64(b.persis), b.labels...)
		e.gauge(d.backendWeight, float64(b.weight), b.labels...)
		for i, v := range statValues(&b.stats) {
			e.counter(d.ipvsBackend[i], v, b.labels...)
		}
	}
	tot := c.totals.update(s.Started, s.Time, stats)
	for i, v := range statValues(&tot) {
		e.counter(d.ipvsTotal[i], v)
	}

	e.gauge(d.timeout, float64(s.Timeouts.TCP), "tcp")
	e.gauge(d.timeout, float64(s.Timeouts.TCPFin), "tcpfin")
	e.gauge(d.timeout, float64(s.Timeouts.UDP), "udp")
}

// collectServer sends a real server's configuration and health, and its checkers'.
func (c *collector) collectServer(e emitter, bl []string, srv *control.Server) {
	d := c.d
	e.gauge(d.serverInfo, 1, append(bl[:len(bl):len(bl)], srv.Method)...)
	e.gauge(d.serverInTable, b2f(srv.InTable), bl...)
	e.gauge(d.serverWeight, float64(srv.Weight), bl...)
	e.gauge(d.serverUp, b2f(srv.Alive), bl...)
	for k := range srv.Checks {
		ck := &srv.Checks[k]
		// The index tells apart two checkers of one kind on one server (keepalived
		// allows, say, two HTTP_GETs on different ports); it is the configuration's
		// order, stable across scrapes.
		cl := append(bl[:len(bl):len(bl)], ck.Kind, strconv.Itoa(k))
		e.gauge(d.checkUp, b2f(ck.Up), cl...)
		e.counter(d.checks, ck.Checks, cl...)
		e.counter(d.checkFailures, ck.Failed, cl...)
		e.counter(d.checkTransitions, ck.Ups, append(cl[:len(cl):len(cl)], "up")...)
		e.counter(d.checkTransitions, ck.Downs, append(cl[:len(cl):len(cl)], "down")...)
		if !ck.LastCheck.IsZero() {
			e.gauge(d.checkLast, float64(ck.LastCheck.UnixNano())/1e9, cl...)
		}
	}
}

// vrrpStates is keepalived's state numbering, which keepalived-exporter exports as the
// value of keepalived_vrrp_state.
var vrrpStates = map[string]float64{"INIT": 0, "BACKUP": 1, "MASTER": 2, "FAULT": 3}

func (c *collector) collectVRRP(e emitter, ins []control.VRRPInstance) {
	d := c.d
	for i := range ins {
		in := &ins[i]
		l := []string{in.Name, in.Interface, strconv.Itoa(int(in.VRID))}
		st, ok := vrrpStates[in.State]
		if !ok {
			st = -1
		}
		e.gauge(d.vrrpState, st, l...)
		e.gauge(d.vrrpPriority, float64(in.Priority), l...)
		for _, vip := range in.VIPs {
			e.gauge(d.vrrpVIP, 1, append(l[:len(l):len(l)], addrString(vip))...)
		}
		// Every counter, present in Stats or not: a series that appears only once its
		// counter moves makes increase() miss the first increment.
		for _, vc := range vrrpCounters {
			e.counter(d.vrrpCounters[vc.stat], in.Stats[vc.stat], l...)
		}
	}
}

func (c *collector) collectHealth(e emitter, h *control.HealthCounts) {
	d := c.d
	e.counter(d.healthServerTransitions, h.ServersUp, "up")
	e.counter(d.healthServerTransitions, h.ServersDown, "down")
	e.counter(d.healthQuorumTransitions, h.QuorumGained, "gained")
	e.counter(d.healthQuorumTransitions, h.QuorumLost, "lost")
	e.counter(d.healthScripts, h.Scripts)
	e.counter(d.healthScriptFailures, h.ScriptFailures)
}

func (c *collector) collectSync(e emitter, s *control.Sync) {
	d := c.d
	// Role is "master", "backup", "master+backup" or "": one series per mode, so that
	// an alert can ask for either without parsing the role.
	e.gauge(d.syncRunning, b2f(strings.Contains(s.Role, "master")), "master")
	e.gauge(d.syncRunning, b2f(strings.Contains(s.Role, "backup")), "backup")
	vals := [9]uint64{s.MessagesSent, s.ConnsSent, s.MessagesRecv, s.ConnsRecv, s.Installed, s.InstallFailed,
		s.BadMessages, s.SendFailures, s.Bulk}
	for i, v := range vals {
		e.counter(d.sync[i], v)
	}
}

func (c *collector) collectTable(e emitter, t *control.TableCounts) {
	d := c.d
	e.gauge(d.tableEntries, float64(t.Current))
	e.gauge(d.tableTemplates, float64(t.Templates))
	e.gauge(d.tableCapacity, float64(t.Capacity))
	e.counter(d.tableInserted, t.Inserted)
	e.counter(d.tableExpired, t.Expired)
	e.counter(d.tableRefused, t.Refused)
	e.counter(d.tableEvicted, t.Evicted)
	e.gauge(d.defensePressure, b2f(t.Pressure))
	e.gauge(d.defenseOn, b2f(t.DropEntry), "drop_entry")
	e.gauge(d.defenseOn, b2f(t.DropRate > 0), "drop_packet")
	e.gauge(d.defenseOn, b2f(t.SecureTCP), "secure_tcp")
	e.gauge(d.defenseDropRate, float64(t.DropRate))
	e.counter(d.clockJumps, t.ClockJumps)
	e.gauge(d.clockOffset, t.ClockOffset)
}

func (c *collector) collectPorts(e emitter, ports []control.Port) {
	seen := map[string]bool{}
	for i := range ports {
		p := &ports[i]
		if seen[p.Name] {
			continue // one port per interface; a second would fail the scrape
		}
		seen[p.Name] = true
		vals := [len(portCounters)]uint64{p.RxFrames, p.RxErrors, p.RxDropped, p.RxSYNDropped, p.Forwarded, p.Passed, p.Rejected, p.Dropped, p.TxFrames, p.TxDropped}
		for j, v := range vals {
			e.counter(c.d.port[j], v, p.Name)
		}
	}
}

// serviceLabelValues are node_exporter's labels of a virtual service, with its values:
// /proc/net/ip_vs prints a firewall-mark service as "FWM  %08X", with no address nor
// port, and node_exporter passes the mark on as printed, so local_mark is the mark in
// eight upper-case hex digits, local_address "" and local_port "0".
func serviceLabelValues(k control.ServiceKey) []string {
	if k.FWMark != 0 {
		return []string{"", "0", "FWM", fmt.Sprintf("%08X", k.FWMark)}
	}
	return []string{addrString(k.Addr), strconv.Itoa(int(k.Port)), k.Proto, ""}
}

// backendLabelValues are backendLabels' values: the service's with the real server's.
func backendLabelValues(svc []string, addr netip.Addr, port uint16) []string {
	return []string{svc[0], svc[1], addrString(addr), strconv.Itoa(int(port)), svc[2], svc[3]}
}

// addrString prints an address as node_exporter does (Go's net.IP.String): an
// IPv4-mapped IPv6 address as IPv4, no zone, "" for none.
func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.Unmap().WithZone("").String()
}

func statValues(s *control.Stats) [5]uint64 {
	return [5]uint64{s.Conns, s.InPkts, s.OutPkts, s.InBytes, s.OutBytes}
}

func addStats(to, s *control.Stats) {
	to.Conns += s.Conns
	to.InPkts += s.InPkts
	to.OutPkts += s.OutPkts
	to.InBytes += s.InBytes
	to.OutBytes += s.OutBytes
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// emitter sends const metrics. The label counts are the code's own, right by construction;
// the label values come from the configuration and the system (interface, instance and
// service names), and one that is not UTF-8 would make MustNewConstMetric panic, so they
// are repaired instead.
type emitter struct{ ch chan<- prometheus.Metric }

func (e emitter) gauge(d *prometheus.Desc, v float64, labels ...string) {
	e.ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, validLabels(labels)...)
}

func (e emitter) counter(d *prometheus.Desc, v uint64, labels ...string) {
	e.ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), validLabels(labels)...)
}

func validLabels(labels []string) []string {
	for i, l := range labels {
		if !utf8.ValidString(l) {
			labels[i] = strings.ToValidUTF8(l, "\uFFFD")
		}
	}
	return labels
}
