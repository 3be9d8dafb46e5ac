package appliance

import (
	"sync"
	"time"
)

// Event is one transition the appliance went through, for the control API's recent events,
// the status page and alerts (e-mail): a VRRP state change, a real server going down or up,
// a service's quorum, a reload.
type Event struct {
	Time time.Time
	// Kind is "vrrp", "server", "quorum" or "config".
	Kind string
	// Subject is what changed: the VRRP instance's name; "VS / server" in keepalived's names
	// for a server ("[10.0.0.1]:tcp:80 / [192.168.1.22]:tcp:8080"); the virtual server for a
	// quorum; the file for a reload.
	Subject string
	// VirtualServer and Server are keepalived's names of a "server" event's parts.
	VirtualServer, Server string
	// State is the new state: MASTER, BACKUP, FAULT, STOP (vrrp); UP, DOWN (server, quorum);
	// RELOADED (config).
	State   string
	Message string // the log line's words, keepalived's
	// Quorum, Hysteresis and Weight are a "quorum" event's numbers: the service's quorum and
	// hysteresis, and its alive servers' total weight. Starting marks the state a service
	// starts in rather than a change.
	Quorum, Hysteresis, Weight int64
	Starting                   bool
}

// eventCapacity is how many recent events the appliance keeps.
const eventCapacity = 256

// eventLog keeps the most recent events and passes each to the hook. add is called from
// transition paths that hold their own locks (health's, the VRRP driver's): it only takes its
// own lock, and the hook must not block or call back into the appliance.
type eventLog struct {
	hook func(Event)
	now  func() time.Time

	mu   sync.Mutex
	ring []Event
	next int
}

func newEventLog(hook func(Event)) *eventLog {
	return &eventLog{hook: hook, now: time.Now, ring: make([]Event, 0, eventCapacity)}
}

func (l *eventLog) add(e Event) {
	if l == nil {
		return
	}
	e.Time = l.now()
	l.mu.Lock()
	if len(l.ring) < cap(l.ring) {
		l.ring = append(l.ring, e)
	} else {
		l.ring[l.next] = e
		l.next = (l.next + 1) % len(l.ring)
	}
	l.mu.Unlock()
	if l.hook != nil {
		l.hook(e)
	}
}

// recent returns the kept events, oldest first.
func (l *eventLog) recent() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Event, 0, len(l.ring))
	out = append(out, l.ring[l.next:]...)
	return append(out, l.ring[:l.next]...)
}

// Events returns the most recent events (up to 256), oldest first.
func (a *Appliance) Events() []Event { return a.events.recent() }
