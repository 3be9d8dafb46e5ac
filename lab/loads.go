package lab

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/uvs-lb/uvs/lab/apps"
)

// loadRun is one load of a client, with what it recorded.
type loadRun struct {
	node *hostNode
	g    *Generator
	rec  *apps.Recorder
	err  error
}

// run runs the load from its start (start is the clients') until its stop, or until ctx
// ends.
func (l *loadRun) run(ctx context.Context, start time.Time) error {
	g := l.g
	if g.Start > 0 {
		timer := time.NewTimer(time.Until(start.Add(g.Start)))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
	}
	if g.Stop > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, start.Add(g.Stop))
		defer cancel()
	}
	target := g.Target.String()
	var load interface {
		Run(context.Context, apps.Dialer, *apps.Recorder) error
	}
	switch g.Type {
	case LoadHTTP:
		load = &apps.HTTPLoad{Target: target, Rate: g.Rate, Concurrency: g.Concurrency, KeepAlive: g.KeepAlive, Timeout: g.Timeout, Path: g.Path}
	case LoadTCPLong:
		load = &apps.LongTCP{Target: target, Conns: g.Conns, Interval: g.Interval, Timeout: g.Timeout}
	case LoadUDPFlows:
		load = &apps.UDPFlows{Target: target, Flows: g.Flows, Rate: g.Rate, Timeout: g.Timeout}
	case LoadBulk:
		load = &apps.Bulk{Target: target, Conns: g.Conns, Rate: float64(g.BitRate) / 8, Timeout: g.Timeout}
	case LoadSYNFlood:
		f := &apps.SYNFlood{Target: g.Target, Sources: g.Sources, Rate: g.Rate, Seed: seedOf(l.node.n.Name + "/" + g.Name)}
		if g.Stop > 0 {
			f.Stop = start.Add(g.Stop)
		}
		return f.Run(ctx, l.node, l.rec)
	default:
		return fmt.Errorf("unknown load type %q", g.Type)
	}
	return load.Run(ctx, l.node, l.rec)
}

// seedOf makes a load's random seed from its name: the same from one run of a file to the
// next, different for each load.
func seedOf(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}
