package apps

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// HTTPServer is a real server's web service: it answers every request, whatever its method
// and path, with a fixed status and body, and says who it is in an X-Served-By header so
// that clients can tell which real server the load balancer picked.
//
// The fields are read by Serve and must not change while it runs; SetFailing may be called
// at any time. One HTTPServer may Serve several listeners, one after the other (the lab
// stops a server by closing its listener and starts it again with a new one) or at once;
// its request count spans them all.
type HTTPServer struct {
	Name    string        // sent in X-Served-By, and the default body ("<Name>\n")
	Body    string        // overrides the default body
	Status  int           // 0 = 200
	Latency time.Duration // waited before answering

	failing  atomic.Bool
	requests atomic.Uint64
}

// SetFailing makes the server answer 500 to everything (true) or answer normally again
// (false): a failing service, as opposed to a stopped one that refuses connections.
func (s *HTTPServer) SetFailing(failing bool) { s.failing.Store(failing) }

// Requests returns how many requests the server has received, answered or not yet.
func (s *HTTPServer) Requests() uint64 { return s.requests.Load() }

// Serve answers HTTP/1.1 (with keep-alive) on ln until ln is closed or ctx ends, which closes
// ln. Either way it then closes the connections it still has, as a stopped server's would be,
// and waits for their goroutines before returning nil; any other accept error is returned.
func (s *HTTPServer) Serve(ctx context.Context, ln net.Listener) error {
	var conns sync.WaitGroup
	srv := &http.Server{
		Handler:           http.HandlerFunc(s.answer),
		ReadHeaderTimeout: 30 * time.Second, // a client that stalls mid-header must not pin a goroutine forever
		// A stopped server's connections end in errors that the server's log would repeat
		// for every request; the clients' reports say what matters.
		ErrorLog: log.New(io.Discard, "", 0),
		BaseContext: func(net.Listener) context.Context {
			return ctx // handlers waiting out Latency stop when the server does
		},
		// Track connections so that Serve can wait for them: http.Server.Close closes them
		// but does not wait for their goroutines.
		ConnState: func(_ net.Conn, state http.ConnState) {
			switch state {
			case http.StateNew:
				conns.Add(1)
			case http.StateClosed, http.StateHijacked:
				conns.Done()
			}
		},
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()

	err := srv.Serve(ln)
	srv.Close()
	conns.Wait()
	if ctx.Err() != nil || closedListener(err) {
		return nil
	}
	return err
}

// answer is the server's http.Handler.
func (s *HTTPServer) answer(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if s.Latency > 0 {
		t := time.NewTimer(s.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done(): // client gone or server stopped: nobody to answer
			t.Stop()
			return
		}
	}
	// Drain what the client sent, so the connection can carry the next request.
	io.Copy(io.Discard, r.Body)

	status, body := s.Status, s.Body
	if status == 0 {
		status = http.StatusOK
	}
	if body == "" {
		body = s.Name + "\n"
	}
	if s.failing.Load() {
		status, body = http.StatusInternalServerError, s.Name+" failing\n"
	}
	h := w.Header()
	h.Set("X-Served-By", s.Name)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, body)
}
