package lab

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/uvs-lb/uvs/lab/apps"
)

// Options configure Run.
type Options struct {
	// PcapDir, if set, receives one pcap per link, named after the link (NAME.pcap, with
	// the ':' of endpoint names as '_'), of every frame that entered it.
	PcapDir string
	// Log receives the appliances' logs (zerolog, console form); nil discards them.
	Log io.Writer
}

// Run builds the topology (from Load or Parse) in this process, starts every node, runs the clients' loads for
// the topology's duration while playing its timeline, and returns the report with the
// expectations judged. Everything it started is stopped before it returns: no goroutine of
// the lab outlives Run. Nothing in it needs privileges, except the real interfaces a
// topology may ask for (afpacket and tap).
//
// An error means the run could not be made (a topology that requires features uvs lacks is
// an *UnsupportedError); failed expectations are in the report (Report.Failed). When ctx ends
// early, Run stops and returns the report of what ran with ctx's error.
func Run(ctx context.Context, t *Topology, o Options) (*Report, error) {
	if missing := t.missingFeatures(); len(missing) > 0 {
		return nil, &UnsupportedError{File: t.File, Missing: missing}
	}
	r := &runner{t: t, o: o, jacks: map[Endpoint]*jack{}, appliances: map[string]*applianceNode{}, hosts: map[string]*hostNode{}}
	r.log = zerolog.Nop()
	if o.Log != nil {
		r.log = zerolog.New(zerolog.ConsoleWriter{Out: o.Log, NoColor: true}).With().Timestamp().Logger()
	}
	defer r.close()
	began := time.Now()
	if err := r.build(ctx); err != nil {
		return nil, err
	}
	setup := time.Since(began)
	r.health = newHealthWatch(r)
	r.vrrp = newVRRPWatch(r)
	r.table = newTableWatch(r)
	r.run(ctx)
	return r.report(setup), ctx.Err()
}

// runner is one run of a topology.
type runner struct {
	t   *Topology
	o   Options
	log zerolog.Logger

	jacks      map[Endpoint]*jack
	cables     []*cable
	switches   []*switchNode
	appliances map[string]*applianceNode
	hosts      map[string]*hostNode // hosts and clients
	loads      []*loadRun
	macs       uint32

	events []EventReport // the timeline as it ran
	health *healthWatch  // the appliances' health transitions
	vrrp   *vrrpWatch    // and their VRRP instances'
	table  *tableWatch   // and their connection tables' sizes
}

// run runs the loads for the topology's duration and plays the timeline meanwhile.
func (r *runner) run(ctx context.Context) {
	start := time.Now()
	runCtx, cancel := context.WithDeadline(ctx, start.Add(r.t.Duration))
	defer cancel()
	var wg sync.WaitGroup
	for _, l := range r.loads {
		l.rec = apps.NewRecorder(start, r.t.Bucket)
		wg.Go(func() { l.err = l.run(runCtx, start) })
	}
	wg.Go(func() { r.timeline(ctx, runCtx, start) })
	wg.Go(func() { r.health.run(runCtx, start) })
	wg.Go(func() { r.table.run(runCtx, start) })
	if r.t.hasVRRP() {
		wg.Go(func() { r.vrrp.run(runCtx, start) })
	}
	wg.Wait()
	<-runCtx.Done() // the run lasts its duration, whether or not clients or events fill it
}

// close stops everything, nodes first (their ends of the pipes), then the links (the jacks),
// then the switches, and waits for all of it.
func (r *runner) close() {
	for _, hn := range r.hosts {
		hn.kill()
	}
	for _, an := range r.appliances {
		an.kill()
	}
	var errs []error
	for _, c := range r.cables {
		c.w.Close()
		if c.pcap != nil {
			errs = append(errs, c.pcap.Close())
		}
	}
	for _, s := range r.switches {
		s.sw.Close()
	}
	if err := errors.Join(errs...); err != nil {
		r.log.Error().Err(err).Msg("closing the captures")
	}
}
