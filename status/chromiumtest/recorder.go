package chromiumtest

import (
	"net/http"
	"sync"
	"time"
)

// Request is one request the browser made of a server a Recorder wraps.
type Request struct {
	Time   time.Time
	Method string
	Path   string
	Query  string
	// Mode and Dest are the browser's Sec-Fetch-Mode and Sec-Fetch-Dest: "navigate" and
	// "document" for loading (or reloading) a page, "cors" or "same-origin" and "empty"
	// for a script's fetch. Chromium sends them to trustworthy origins, which loopback
	// addresses are.
	Mode string
	Dest string
}

// Navigation reports whether r loaded a document (a load or a reload), rather than being a
// script's request.
func (r Request) Navigation() bool { return r.Mode == "navigate" }

// Recorder logs the requests a handler serves, so that a test can tell what a page did:
// how often it fetched, and whether it reloaded or fetched from a script.
type Recorder struct {
	mu   sync.Mutex
	reqs []Request
}

// Wrap returns h, logging each request before h serves it.
func (rec *Recorder) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, Request{
			Time: time.Now(), Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			Mode: r.Header.Get("Sec-Fetch-Mode"), Dest: r.Header.Get("Sec-Fetch-Dest"),
		})
		rec.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// Requests returns the requests so far, oldest first.
func (rec *Recorder) Requests() []Request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]Request(nil), rec.reqs...)
}
