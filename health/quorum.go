package health

// Quorum tracks a virtual service's quorum with hysteresis, as keepalived does (quorum,
// hysteresis, quorum_up, quorum_down, sorry_server). Feed it, after every change, the sum of
// the weights of the live real servers (keepalived counts each alive server's effective
// weight, clamped to [0, 2³¹-1]).
//
//   - The first Update sets the state: up when alive ≥ Quorum + Hysteresis. This is
//     keepalived's start: it computes the state from the servers' initial states (all alive
//     unless alpha) before any check. changed is false then: the caller decides what the
//     first state means (the appliance, as keepalived's code, runs quorum_down once for a
//     service that starts without quorum and has a sorry server, and nothing otherwise).
//   - Down → up when alive ≥ Quorum + Hysteresis.
//   - Up → down when alive < Quorum − Hysteresis, or when alive is 0 whatever the thresholds
//     say (keepalived's rule too: a service with no live weight has no quorum).
//
// Quorum below 1 counts as 1 (keepalived's default). On a reload, keep the Quorum and change
// its fields: the state stays, and the next Update applies the new thresholds. Not safe for
// concurrent use.
type Quorum struct {
	Quorum, Hysteresis int64

	known, up bool
}

// Update takes the live weight and returns the state, and whether this call changed it.
func (q *Quorum) Update(alive int64) (up, changed bool) {
	quorum := max(q.Quorum, 1)
	if !q.known {
		q.known = true
		q.up = alive >= quorum+q.Hysteresis
		return q.up, false
	}
	switch {
	case !q.up && alive >= quorum+q.Hysteresis:
		q.up = true
		return true, true
	case q.up && (alive <= 0 || alive < quorum-q.Hysteresis):
		q.up = false
		return false, true
	}
	return q.up, false
}

// Up reports the state (false before the first Update).
func (q *Quorum) Up() bool { return q.up }
