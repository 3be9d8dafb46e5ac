package lab

import (
	"cmp"
	"context"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// run loads and runs a topology file, failing the test if it cannot run.
func run(t *testing.T, file string, o Options) *Report {
	t.Helper()
	topo, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), topo.Duration+30*time.Second)
	defer cancel()
	rep, err := Run(ctx, topo, o)
	if err != nil {
		t.Fatalf("Run %s: %v", file, err)
	}
	for _, e := range rep.Events {
		if strings.Contains(e.Error, "port is in use") {
			t.Errorf("event %s %s failed: %s: netstack.Host.ListenTCP must set SO_REUSEADDR, as "+
				"Go's net.Listen does, for a stopped service to listen again while its old "+
				"connections are in TIME_WAIT", e.Action, e.Subject, e.Error)
		}
	}
	return rep
}

var tiny struct {
	once sync.Once
	rep  *Report
	err  string
}

// tinyReport runs testdata/tiny.toml once for the tests that only read a report.
func tinyReport(t *testing.T) *Report {
	t.Helper()
	tiny.once.Do(func() {
		topo, err := Load("testdata/tiny.toml")
		if err == nil {
			tiny.rep, err = Run(context.Background(), topo, Options{})
		}
		if err != nil {
			tiny.err = err.Error()
		}
	})
	if tiny.err != "" {
		t.Fatal(tiny.err)
	}
	return tiny.rep
}

// redact zeroes what depends on timing and scheduling (counts, rates, latencies, what
// the expectations measured), keeping what a golden report pins down: the tables' rows,
// the timeline with the outcome of each event, and the verdict of each expectation.
func redact(r *Report) *Report {
	c := *r
	c.File = filepath.Base(r.File)
	c.Setup = 0
	c.Clients = nil
	for _, x := range r.Clients {
		c.Clients = append(c.Clients, ClientReport{Client: x.Client, Load: x.Load, Type: x.Type, Target: x.Target, Failed: x.Failed})
	}
	c.Servers = nil
	for _, x := range r.Servers {
		c.Servers = append(c.Servers, ServerReport{Name: x.Name})
	}
	c.Appliances = nil
	for _, x := range r.Appliances {
		a := ApplianceReport{Name: x.Name}
		for _, v := range x.VRRP { // their states at the start and the end stay; not the counts
			v.BecomeMaster, v.ReleaseMaster, v.AdvertRcvd, v.AdvertSent, v.PriZeroRcvd, v.PriZeroSent = 0, 0, 0, 0, 0, 0
			a.VRRP = append(a.VRRP, v)
		}
		if x.Sync != nil { // its role at the end stays; not the counts
			a.Sync = &SyncReport{Role: x.Sync.Role}
		}
		c.Appliances = append(c.Appliances, a)
	}
	c.Expectations = nil
	for _, x := range r.Expectations {
		x.Got = "…"
		c.Expectations = append(c.Expectations, x)
	}
	c.Series = nil
	// Health transitions keep their rows, undated, each server's in the order they came;
	// servers are sorted, as which of two failing servers a check found first is timing.
	c.Health = nil
	for _, h := range r.Health {
		h.At = 0
		c.Health = append(c.Health, h)
	}
	slices.SortStableFunc(c.Health, func(a, b HealthTransition) int {
		return cmp.Or(cmp.Compare(a.Appliance, b.Appliance), cmp.Compare(a.VirtualServer, b.VirtualServer), cmp.Compare(a.Address, b.Address))
	})
	// VRRP transitions likewise: each instance's in the order they came, by appliance.
	c.VRRP = nil
	for _, v := range r.VRRP {
		v.At = 0
		c.VRRP = append(c.VRRP, v)
	}
	slices.SortStableFunc(c.VRRP, func(a, b VRRPTransition) int {
		return cmp.Or(cmp.Compare(a.Appliance, b.Appliance), cmp.Compare(a.Instance, b.Instance))
	})
	return &c
}

// labGoroutines lists the stacks of goroutines running lab, netstack, appliance or gVisor
// code.
func labGoroutines() []string {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "testing.tRunner") { // a test, paused or running
			continue
		}
		if strings.Contains(g, "github.com/uvs-lb/uvs/") || strings.Contains(g, "gvisor.dev/") {
			out = append(out, g)
		}
	}
	return out
}

// answeredIn returns what server answered in the buckets [from, to) of the series.
func answeredIn(r *Report, server string, from, to time.Duration) uint64 {
	var n uint64
	for _, p := range r.Series {
		if p.Start >= from && p.Start < to {
			n += p.PerServer[server]
		}
	}
	return n
}

func errorsIn(r *Report, from, to time.Duration) uint64 {
	var n uint64
	for _, p := range r.Series {
		if p.Start >= from && p.Start < to {
			n += p.Errors
		}
	}
	return n
}

func client(t *testing.T, r *Report, name string) ClientReport {
	t.Helper()
	for _, c := range r.Clients {
		if c.Name() == name {
			return c
		}
	}
	t.Fatalf("no client load %s", name)
	return ClientReport{}
}
