package lab

import (
	"context"
	"fmt"

	"github.com/uvs-lb/uvs/lab/apps"
)

// loadRun is one load of a client, with what it recorded.
type loadRun struct {
	node *hostNode
	g    *Generator
	rec  *apps.Recorder
	err  error
}

// run runs the load until ctx ends.
func (l *loadRun) run(ctx context.Context) error {
	g := l.g
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
	default:
		return fmt.Errorf("unknown load type %q", g.Type)
	}
	return load.Run(ctx, l.node, l.rec)
}
