// Package status is uvs's status page, in the spirit of HAProxy's stats page and Piranha's
// GUI: one self-contained HTML page (inline CSS and script, no external assets) that shows a
// control.Snapshot — VRRP instances, virtual services with their real servers, events, drops,
// the sync daemon — and its data as JSON. The daemon serves it on the metrics listener.
//
// The page is rendered on the server with html/template, so it is complete without
// JavaScript and everything from the snapshot (names, reasons, messages) is escaped. A small
// inline script refreshes it in place every Options.Refresh: it fetches the page again and
// swaps the new content in, with no reload's flicker or lost scroll position; a <noscript>
// meta refresh does the same, with a reload, for browsers without scripts.
package status

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/uvs-lb/uvs/control"
)

// Source returns the appliance's state; the daemon passes its control API's.
type Source func(ctx context.Context) (*control.Snapshot, error)

// Options tune the page.
type Options struct {
	// Refresh is the auto-refresh period (DefaultRefresh if 0 or less).
	Refresh time.Duration
	// Title names the page, e.g. the node's name ("uvs" if empty).
	Title string
}

// DefaultRefresh is the refresh period when Options.Refresh is not set, conf's default.
const DefaultRefresh = 5 * time.Second

// The page's parts: the template, and the style sheet and script it inlines. They are
// separate files so that each is edited as what it is.
var (
	//go:embed page.html
	pageHTML string
	//go:embed style.css
	styleCSS string
	//go:embed refresh.js
	refreshJS string
)

var (
	pageTmpl = template.Must(template.New("page").Funcs(funcs).Parse(pageHTML))
	// csp allows the page exactly its own inline style sheet and script, by hash, and
	// fetches of its own origin: if escaping ever failed, injected markup still could
	// neither run a script nor load anything from elsewhere. img-src data: is for the
	// empty favicon, which keeps browsers from asking for /favicon.ico.
	csp = "default-src 'none'; script-src '" + hash(refreshJS) + "'; style-src '" + hash(styleCSS) +
		"'; img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(h[:])
}

// Handler serves the page at "/" and its data at "/status.json" (the Snapshot as JSON),
// to GET and HEAD; other paths are 404 and other methods 405. Each request asks src for a
// fresh Snapshot under the request's context; when src fails, both answer 503 with the
// error (the page still refreshes, so it recovers by itself when src does).
func Handler(src Source, o Options) http.Handler {
	if o.Refresh <= 0 {
		o.Refresh = DefaultRefresh
	}
	if o.Title == "" {
		o.Title = "uvs"
	}
	h := &handler{src: src, o: o}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.page)
	mux.HandleFunc("GET /status.json", h.json)
	return mux
}

type handler struct {
	src Source
	o   Options
}

// snapshot asks the source, under the request's context: a client that goes away (a
// refresh abandoned after its period) cancels the source's work.
func (h *handler) snapshot(r *http.Request) (*control.Snapshot, error) {
	s, err := h.src(r.Context())
	if err == nil && s == nil {
		err = errors.New("the source returned no snapshot")
	}
	return s, err
}

func (h *handler) page(w http.ResponseWriter, r *http.Request) {
	snap, err := h.snapshot(r)
	code := http.StatusOK
	if err != nil {
		code = http.StatusServiceUnavailable
	}
	v := newView(snap, err, h.o, time.Now())
	// Rendered to a buffer first: a template error must be a 500, not half a page.
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, v); err != nil {
		http.Error(w, "status page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", csp)
	common(hd, b.Len())
	w.WriteHeader(code)
	w.Write(b.Bytes())
}

func (h *handler) json(w http.ResponseWriter, r *http.Request) {
	var body any
	snap, err := h.snapshot(r)
	code := http.StatusOK
	if err != nil {
		code, body = http.StatusServiceUnavailable, control.Error{Error: err.Error()}
	} else {
		body = snap
	}
	// Indented: it is read by people with curl as often as by programs.
	b, err := json.MarshalIndent(body, "", "  ")
	if err != nil {
		http.Error(w, "status.json: "+err.Error(), http.StatusInternalServerError)
		return
	}
	b = append(b, '\n')
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	common(hd, len(b))
	w.WriteHeader(code)
	w.Write(b)
}

// common sets what both answers share: they are live state, never to be cached (a cached
// page would show a server up that is down), nor sniffed as another type.
func common(hd http.Header, n int) {
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Content-Length", strconv.Itoa(n))
}
