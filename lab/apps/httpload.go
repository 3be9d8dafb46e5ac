package apps

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// HTTPLoad is an HTTP client load: GET Path from Target, in open loop (Rate requests per
// second on a fixed schedule, at most Concurrency in flight) or in closed loop (Rate 0:
// Concurrency workers, each sending its next request when the previous one ends).
//
// A request counts as answered by the server named in the response's X-Served-By header;
// statuses of 500 and up are failures ("status 503"). In open loop, latency is measured from
// when the request was due, and a request due while Concurrency are in flight is not sent
// but recorded as "overloaded" (see the package documentation).
type HTTPLoad struct {
	Target      string        // host:port, such as "10.0.0.1:80"
	Rate        float64       // requests per second (open loop); 0 = closed loop
	Concurrency int           // closed loop: workers (0 = 1); open loop: cap in flight (0 = 64)
	KeepAlive   bool          // reuse connections; otherwise one connection per request (Connection: close)
	Timeout     time.Duration // per request, from when it was due; 0 = 2s
	Path        string        // "" = "/"
}

// Run sends the load until ctx ends, recording every request into rec, and returns nil once
// its requests have all ended; it returns an error at once if the configuration is unusable.
func (l *HTTPLoad) Run(ctx context.Context, d Dialer, rec *Recorder) error {
	if err := checkTarget(l.Target, l.Rate); err != nil {
		return err
	}
	if l.Concurrency < 0 || l.Timeout < 0 {
		return errNegative
	}
	conc, timeout, path := l.Concurrency, l.Timeout, l.Path
	if conc == 0 {
		conc = 1
		if l.Rate > 0 {
			conc = 64
		}
	}
	if timeout == 0 {
		timeout = defaultTimeout
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	url := "http://" + l.Target + path
	if _, err := http.NewRequest(http.MethodGet, url, nil); err != nil {
		return err
	}

	// A Transport of our own: no proxy from the environment, no shared pool with anything
	// else in the process, and connections made by the host's stack.
	tr := &http.Transport{
		DialContext:         d.DialContext,
		DisableKeepAlives:   !l.KeepAlive,
		MaxIdleConnsPerHost: conc, // keep one idle connection per possible request in flight
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	c := &httpClient{tr: tr, url: url, timeout: timeout, rec: rec}

	var wg sync.WaitGroup
	if l.Rate > 0 {
		inFlight := make(chan struct{}, conc)
		pace(ctx, time.Now(), periodOf(l.Rate), func(due time.Time) {
			select {
			case inFlight <- struct{}{}:
				wg.Go(func() {
					c.get(ctx, due)
					<-inFlight
				})
			default:
				rec.Request(due, 0, "", errOverloaded)
			}
		})
	} else {
		for range conc {
			wg.Go(func() {
				for ctx.Err() == nil {
					if !c.get(ctx, time.Now()) {
						sleep(ctx, errorPause)
					}
				}
			})
		}
	}
	wg.Wait()
	return nil
}

type httpClient struct {
	tr      *http.Transport
	url     string
	timeout time.Duration
	rec     *Recorder
}

// get sends one request due at due and records it, unless the run ended first. It reports
// whether the request succeeded (or the run ended).
func (c *httpClient) get(ctx context.Context, due time.Time) bool {
	rctx, cancel := context.WithDeadline(ctx, due.Add(c.timeout))
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, c.url, nil)
	if err != nil {
		panic(err) // checked by Run
	}
	var server string
	resp, err := c.tr.RoundTrip(req) // RoundTrip, not a Client: no redirects, no cookies
	if err == nil {
		server = resp.Header.Get("X-Served-By")
		// Read the whole body: it is part of the answer, and a connection is only reused
		// once its body has been read.
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode >= 500 {
			err = statusError(resp.StatusCode)
		}
	}
	latency := time.Since(due)
	if ctx.Err() != nil {
		return true // the run ended: this request is neither a success nor a failure
	}
	c.rec.Request(due, latency, server, err)
	return err == nil
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
