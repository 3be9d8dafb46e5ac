package control

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/uvs-lb/uvs/appliance"
	"github.com/uvs-lb/uvs/lb"
)

// APIOptions configure an API.
type APIOptions struct {
	Appliance *appliance.Appliance
	Log       zerolog.Logger
	// Reload rereads the configuration file and applies it (POST /v1/reload, SIGHUP's
	// work); nil: the API refuses reloads.
	Reload func() error
}

// API serves the control API. New starts nothing; Start serves on listeners; Close stops
// and waits.
type API struct {
	o       APIOptions
	started time.Time

	mu    sync.Mutex // serialises edits, zeroing and reloads; guards base
	base  baseline
	token string // the bearer token of authenticated listeners

	wg   sync.WaitGroup
	srvs []*http.Server
	lnMu sync.Mutex // guards srvs
}

// NewAPI returns the API of o.Appliance's API.
func NewAPI(o APIOptions) *API {
	return &API{o: o, started: time.Now(), base: baseline{svcs: map[svcID]lb.Stats{}, dests: map[destID]lb.Stats{}}}
}

// Snapshot returns the appliance's state now, as GET /v1/status does (the metrics and the
// status page read it in-process).
func (s *API) Snapshot(context.Context) (*Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return snapshot(s.o.Appliance, &s.base, s.started), nil
}

// ListenUnix creates the control socket at path, mode 0600, replacing a stale one; its
// directory is created (0755) if missing. Close removes it.
func (s *API) ListenUnix(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s: another uvs is listening on it", path)
	}
	os.Remove(path) // stale, from a process that died
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	// Listen creates the file with the process's umask; the API is root's (or uvs's) alone.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(true) // Close removes the socket
	return ln, nil
}

// Start serves the API on ln until Close. With auth, every request must carry the bearer
// token (the TCP listener); without, none is asked (the unix socket).
func (s *API) Start(ctx context.Context, ln net.Listener, auth bool) {
	h := s.Handler()
	if auth {
		h = s.requireToken(h)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	s.lnMu.Lock()
	s.srvs = append(s.srvs, srv)
	s.lnMu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.o.Log.Error().Err(err).Str("listener", ln.Addr().String()).Msg("control API stopped")
		}
	}()
}

// Close stops every listener, waits for the requests in flight (up to 5 s) and removes the
// sockets.
func (s *API) Close() error {
	s.lnMu.Lock()
	srvs := s.srvs
	s.srvs = nil
	s.lnMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range srvs {
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
		}
	}
	s.wg.Wait()
	return nil
}

// SetToken sets the bearer token that listeners started with auth require (the unix
// socket needs none: its mode, 0600, is the access control). Call it before Start.
func (s *API) SetToken(token string) { s.token = token }

func (s *API) requireToken(h http.Handler) http.Handler {
	want := []byte("Bearer " + s.token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if s.token == "" || subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="uvs"`)
			writeError(w, http.StatusUnauthorized, errors.New("a valid bearer token is required"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Handler is the API without authentication (docs/api.md).
func (s *API) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		snap, _ := s.Snapshot(r.Context())
		writeJSON(w, snap)
	})
	mux.HandleFunc("GET /v1/conns", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, conns(s.o.Appliance))
	})
	s.editHandlers(mux)
	mux.HandleFunc("POST /v1/zero", func(w http.ResponseWriter, r *http.Request) {
		var k ServiceKey
		if !readJSON(w, r, &k) {
			return
		}
		if err := s.zero(&k); err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, struct{}{})
	})
	mux.HandleFunc("POST /v1/reload", func(w http.ResponseWriter, r *http.Request) {
		if s.o.Reload == nil {
			writeError(w, http.StatusNotImplemented, errors.New("this appliance was not started from a file: nothing to reload"))
			return
		}
		s.mu.Lock()
		err := s.o.Reload()
		s.mu.Unlock()
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("reload refused, the running configuration stays: %w", err))
			return
		}
		writeJSON(w, struct{}{})
	})
	sync := func(on bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var d SyncDaemon
			if !readJSON(w, r, &d) {
				return
			}
			if err := s.o.Appliance.SetSyncRole(d.State, on); err != nil {
				writeError(w, http.StatusBadRequest, err)
				return
			}
			writeJSON(w, struct{}{})
		}
	}
	mux.HandleFunc("POST /v1/sync/start", sync(true))
	mux.HandleFunc("POST /v1/sync/stop", sync(false))
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(Error{Error: err.Error()})
}

// readJSON decodes the request body into v (an empty body leaves v as it is); on error it
// answers 400 and returns false.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, fmt.Errorf("bad request body: %w", err))
		return false
	}
	return true
}
