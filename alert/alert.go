// Package alert mails keepalived's e-mail alerts: a VRRP instance or sync group changing
// state, a real server going up or down, a virtual server gaining or losing quorum, with
// keepalived's subjects and bodies ("[LB1] VRRP Instance VI_1 - Entering MASTER state",
// "=> VRRP Instance is now owning VRRP VIPs <="), so that the mail filters and the habits
// built on keepalived keep working.
//
// A Mailer never holds up its caller, which is the VRRP or health-checking path: each alert
// goes into a bounded queue (dropped and counted when it is full) and one goroutine sends
// them, one SMTP conversation per alert, as keepalived does. A mail that cannot be sent (the
// server unreachable, silent past smtp_connect_timeout, or refusing) is logged and counted,
// and not tried again: an alert that arrives an hour late misleads more than it informs.
//
// The SMTP is keepalived's: plain SMTP to a relay, EHLO (HELO if refused), MAIL FROM, one
// RCPT TO per notification_email, DATA. There is no STARTTLS and no authentication; point
// smtp_server at a local relay that has them.
package alert

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/uvs-lb/uvs/conf"
)

// QueueSize is how many alerts wait for the sender at most; more are dropped. A failover
// mails a few; a queue this long outlasts a storm of flapping servers against a dead relay
// (each attempt then takes smtp_connect_timeout) without growing without bound.
const QueueSize = 64

// Stats count a Mailer's alerts since it was built.
type Stats struct {
	Sent    uint64 // accepted by the server (250 after DATA)
	Failed  uint64 // tried and not accepted: connection refused or timed out, an SMTP error
	Dropped uint64 // not sent for want of trying: the queue full, the Mailer stopped first (or mid-conversation), mail turned off by a reload
	Queued  int    // waiting now
}

// DialFunc connects to address ("mail.example.com:25") over network ("tcp"):
// net.Dialer.DialContext's signature, which the appliance's netstack Host also has.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// Mailer sends the alerts. Its methods are safe for concurrent use; the alert methods
// (VRRP, VRRPGroup, RealServer, RealServerCheck, RealServerRemoved, Quorum) never block.
type Mailer struct {
	log  zerolog.Logger
	dial DialFunc
	now  func() time.Time
	// env is the configuration in use, nil when mail is off; Reconfigure swaps it. The
	// sender takes it once per mail.
	env atomic.Pointer[envelope]

	queue chan message

	sent, failed, dropped atomic.Uint64
	// dropping is set while the queue is full, so that an episode of drops is logged once
	// when it starts and once when it ends, not once per alert.
	dropping       atomic.Bool
	droppedInBurst atomic.Uint64

	mu      sync.Mutex
	last    map[string]string // "VRRP Instance VI_1" → the state last mailed, as keepalived
	started bool
	stopped bool // no more alerts are taken: closed, or the sender has ended
	cancel  context.CancelFunc
	done    chan struct{} // closed when the sender ends
}

// message is one mail, or a Flush barrier.
type message struct {
	subject, body string
	flushed       chan struct{} // non-nil: a barrier, closed when reached
}

// New builds the Mailer of cfg. With mail not configured (!cfg.Enabled()) the Mailer takes
// every alert and sends nothing, so that callers need no test. The defaults keepalived takes
// from the host (router_id, notification_email_from, smtp_helo_name) are resolved here.
func New(cfg conf.Alerts, log zerolog.Logger) *Mailer {
	m := &Mailer{
		log:   log.With().Str("component", "alert").Logger(),
		dial:  (&net.Dialer{}).DialContext,
		now:   time.Now,
		queue: make(chan message, QueueSize),
		last:  map[string]string{},
		done:  make(chan struct{}),
	}
	m.Reconfigure(cfg)
	return m
}

// Reconfigure makes cfg the configuration of the mails to come (a reload): the alerts
// queued keep their subjects and go with cfg's server and recipients. With mail off in cfg,
// they are dropped.
func (m *Mailer) Reconfigure(cfg conf.Alerts) {
	if !cfg.Enabled() {
		m.env.Store(nil)
		return
	}
	env, err := newEnvelope(cfg)
	if err != nil {
		// conf has checked every address; a hand-built cfg may not have.
		m.log.Error().Err(err).Msg("e-mail alerts are off")
		m.env.Store(nil)
		return
	}
	m.env.Store(env)
}

// SetDialer makes the Mailer connect with dial (the default is the host's network stack,
// as keepalived). Call it before Start.
func (m *Mailer) SetDialer(dial DialFunc) { m.dial = dial }

// Start starts the sender; it stops when ctx ends or Close is called. Alerts taken before
// Start wait for it. Start after Close, or a second time, does nothing.
func (m *Mailer) Start(ctx context.Context) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.started || m.stopped {
		return
	}
	m.started = true
	ctx, m.cancel = context.WithCancel(ctx)
	go m.run(ctx)
}

// Close stops the sender and waits for it: a conversation under way is cut off, and the
// alerts still queued are dropped (counted in Stats.Dropped). Flush first to send them.
// Close returns promptly whatever the server does; it may be called more than once.
func (m *Mailer) Close() {
	m.mu.Lock()
	started := m.started
	m.stopped = true
	if started {
		m.cancel()
	}
	m.mu.Unlock()
	if started {
		<-m.done
	} else {
		m.discard()
	}
}

// Flush waits until every alert queued before it has been sent or has failed, or until ctx
// ends: at shutdown, to let the last mails ("Stopping") go before Close.
func (m *Mailer) Flush(ctx context.Context) error {
	m.mu.Lock()
	running := m.started && !m.stopped
	m.mu.Unlock()
	if !running {
		return errors.New("alert: the mailer is not running")
	}
	b := message{flushed: make(chan struct{})}
	select {
	case m.queue <- b:
	case <-m.done:
		return errors.New("alert: the mailer stopped")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-b.flushed:
		return nil
	case <-m.done:
		return errors.New("alert: the mailer stopped")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats returns the counters.
func (m *Mailer) Stats() Stats {
	return Stats{Sent: m.sent.Load(), Failed: m.failed.Load(), Dropped: m.dropped.Load(), Queued: len(m.queue)}
}

// run is the sender.
func (m *Mailer) run(ctx context.Context) {
	defer close(m.done)
	defer m.discard()
	for {
		select {
		case <-ctx.Done():
			return
		case msg := <-m.queue:
			if msg.flushed != nil {
				close(msg.flushed)
				continue
			}
			m.deliver(ctx, msg)
		}
	}
}

// discard stops taking alerts and drops those queued, counting them.
func (m *Mailer) discard() {
	m.mu.Lock()
	m.stopped = true
	m.mu.Unlock()
	var n uint64
	for {
		select {
		case msg := <-m.queue:
			if msg.flushed == nil {
				n++
			}
		default:
			if n > 0 {
				m.dropped.Add(n)
				m.log.Warn().Uint64("dropped", n).Msg("e-mail alerts not sent: stopping")
			}
			return
		}
	}
}

// deliver sends one mail and accounts for it.
func (m *Mailer) deliver(ctx context.Context, msg message) {
	env := m.env.Load()
	if env == nil { // a reload turned mail off
		m.dropped.Add(1)
		return
	}
	start := m.now()
	err := m.send(ctx, env, msg)
	ev := m.log.Info()
	switch {
	case err == nil:
		m.sent.Add(1)
	case ctx.Err() != nil:
		// Closed mid-conversation: the mail is lost to the shutdown, not to the server.
		m.dropped.Add(1)
		ev = m.log.Warn().Err(err)
	default:
		m.failed.Add(1)
		ev = m.log.Warn().Err(err)
	}
	msgText := "SMTP alert sent"
	if err != nil {
		msgText = "SMTP alert not sent"
	}
	ev.Str("smtp_server", env.server).Str("subject", msg.subject).
		Dur("took", m.now().Sub(start)).Msg(msgText)
}

// enqueue takes one alert, or drops it when the queue is full or the Mailer stopped.
func (m *Mailer) enqueue(subject, body string) {
	env := m.env.Load()
	if env == nil {
		return
	}
	msg := message{subject: fmt.Sprintf("[%s] %s", env.routerID, subject), body: body}
	m.mu.Lock()
	defer m.mu.Unlock() // held across the send, so that Close sees every alert taken
	if m.stopped {
		m.dropped.Add(1)
		m.log.Debug().Str("subject", msg.subject).Msg("e-mail alert dropped: the mailer is stopped")
		return
	}
	select {
	case m.queue <- msg:
		if m.dropping.CompareAndSwap(true, false) {
			m.log.Warn().Uint64("dropped", m.droppedInBurst.Swap(0)).Msg("e-mail alert queue takes alerts again")
		}
	default:
		m.dropped.Add(1)
		m.droppedInBurst.Add(1)
		if m.dropping.CompareAndSwap(false, true) {
			m.log.Warn().Int("queue", QueueSize).Str("subject", msg.subject).
				Msg("e-mail alert queue full (the SMTP server is slow or unreachable): dropping alerts")
		}
	}
}

// enqueueState takes the alert of a state change of what (an instance or a group), unless
// that state was the last one mailed for it: keepalived mails a state once, however often
// the instance re-enters it without leaving.
func (m *Mailer) enqueueState(what, state, subject, body string) {
	env := m.env.Load()
	if env == nil || state == "FAULT" && env.noEmailFaults {
		return
	}
	m.mu.Lock()
	if m.last[what] == state {
		m.mu.Unlock()
		return
	}
	m.last[what] = state
	m.mu.Unlock()
	m.enqueue(subject, body)
}
