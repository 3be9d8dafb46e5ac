package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/uvs-lb/uvs/control"
)

// Handler serves /metrics: a registry with the collector, the Go and process collectors,
// and uvs_build_info.
//
// uvs_build_info describes this binary (control.BuildInfo), not the Snapshot's, so that it
// is there when the Source fails too; the handler runs in the daemon, so they are the same.
func Handler(src Source) http.Handler {
	c := newCollector(src)

	// reg holds what needs no Snapshot, and the handler's own promhttp_* counters.
	reg := prometheus.NewRegistry()
	b := control.BuildInfo()
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "uvs_build_info",
		Help:        "The running uvs binary's version, VCS revision and Go version; always 1.",
		ConstLabels: prometheus.Labels{"version": b.Version, "revision": b.Revision, "goversion": b.GoVersion},
	})
	info.Set(1)
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		info,
	)

	scrape := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := scrapeContext(r)
		defer cancel()
		// Collector.Collect takes no context, so the Snapshot's collector is bound to
		// this request's in a registry of its own: a scrape Prometheus gave up on, or a
		// client that went away, cancels the Source's work.
		snap := prometheus.NewRegistry()
		snap.MustRegister(boundCollector{c, ctx})
		promhttp.HandlerFor(prometheus.Gatherers{reg, snap}, promhttp.HandlerOpts{
			// A metric that fails (none should) costs itself, not the scrape.
			ErrorHandling: promhttp.ContinueOnError,
			Registry:      reg,
		}).ServeHTTP(w, r)
	})
	return promhttp.InstrumentMetricHandler(reg, scrape)
}

// scrapeContext is the request's context, bounded by the scrape timeout Prometheus sends
// (X-Prometheus-Scrape-Timeout-Seconds): past it Prometheus discards the answer anyway.
func scrapeContext(r *http.Request) (context.Context, context.CancelFunc) {
	if v, err := strconv.ParseFloat(r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"), 64); err == nil && v > 0 {
		return context.WithTimeout(r.Context(), time.Duration(v*float64(time.Second)))
	}
	return context.WithCancel(r.Context())
}

// boundCollector is a collector scraped under one request's context.
type boundCollector struct {
	c   *collector
	ctx context.Context
}

func (b boundCollector) Describe(ch chan<- *prometheus.Desc) { b.c.Describe(ch) }

func (b boundCollector) Collect(ch chan<- prometheus.Metric) { b.c.collect(b.ctx, ch) }
