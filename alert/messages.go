package alert

import (
	"fmt"

	"github.com/uvs-lb/uvs/conf"
)

// The alerts, worded as keepalived words them (vrrp_notify.c, ipwrapper.c, the checkers,
// smtp.c). Each prefixes the subject with "[router_id] ". The caller decides whether an
// alert is wanted (the instance's, group's or virtual server's SMTPAlert); the names are
// keepalived's too: an instance's or group's name, a virtual server as "[10.0.0.1]:tcp:80"
// or "FWM 80", a real server as "[10.0.0.2]:tcp:80".

// VRRP mails a VRRP instance's new state: "MASTER", "BACKUP", "FAULT", "STOP" (the instance
// stops, at shutdown) or "DELETED" (a reload removed it). A state already mailed last for
// the instance is not mailed again, nor FAULT with no_email_faults.
//
//	[LB1] VRRP Instance VI_1 - Entering MASTER state
//	=> VRRP Instance is now owning VRRP VIPs <=
func (m *Mailer) VRRP(instance, state string) {
	var subject, body string
	switch state {
	case "MASTER":
		subject, body = "Entering MASTER state", "=> VRRP Instance is now owning VRRP VIPs <="
	case "BACKUP":
		subject, body = "Entering BACKUP state", "=> VRRP Instance is no longer owning VRRP VIPs <="
	case "FAULT":
		subject, body = "Entering FAULT state", "=> VRRP Instance is no longer owning VRRP VIPs <="
	case "STOP":
		subject, body = "Stopping", "=> VRRP Instance stopping <="
	case "DELETED":
		subject, body = "Deleted", "=> VRRP Deleted at reload <="
	default:
		m.log.Warn().Str("instance", instance).Str("state", state).Msg("no e-mail alert for this VRRP state")
		return
	}
	what := "VRRP Instance " + instance
	m.enqueueState(what, state, what+" - "+subject, body)
}

// VRRPGroup mails a VRRP sync group's new state, as VRRP an instance's:
//
//	[LB1] VRRP Group VG_1 - Entering MASTER state
//	=> All VRRP group instances are now in MASTER state <=
func (m *Mailer) VRRPGroup(group, state string) {
	var subject, body string
	switch state {
	case "MASTER", "BACKUP", "FAULT":
		subject = "Entering " + state + " state"
		body = "=> All VRRP group instances are now in " + state + " state <="
	case "STOP":
		subject, body = "Stopping", "=> All VRRP group instances are now stopping <="
	default:
		m.log.Warn().Str("group", group).Str("state", state).Msg("no e-mail alert for this VRRP group state")
		return
	}
	what := "VRRP Group " + group
	m.enqueueState(what, state, what+" - "+subject, body)
}

// RealServer mails a real server going up or down, with the body of no checker in
// particular (keepalived's HTTP_GET wording):
//
//	[LB1] Realserver [10.0.0.2]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - DOWN
//	=> CHECK failed on service <=
func (m *Mailer) RealServer(virtualServer, server string, up bool) {
	m.RealServerCheck(virtualServer, server, "", up)
}

// RealServerCheck mails a real server going up or down because of a check of kind check,
// with that checker's body in keepalived ("=> TCP CHECK failed on service <=").
func (m *Mailer) RealServerCheck(virtualServer, server string, check conf.CheckKind, up bool) {
	m.enqueue(realServerSubject(virtualServer, server, up), checkBody(check, up))
}

// RealServerRemoved mails a live real server taken out of its service, by a reload or, with
// omega, at shutdown:
//
//	[LB1] Realserver [10.0.0.2]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - DOWN
//	=> Shutting down <=
func (m *Mailer) RealServerRemoved(virtualServer, server string, shutdown bool) {
	body := "=> Removing <="
	if shutdown {
		body = "=> Shutting down <="
	}
	m.enqueue(realServerSubject(virtualServer, server, false), body)
}

func realServerSubject(virtualServer, server string, up bool) string {
	return fmt.Sprintf("Realserver %s of virtual server %s - %s", server, virtualServer, upDown(up))
}

// checkBody is the body of a checker's real server alert in keepalived.
func checkBody(check conf.CheckKind, up bool) string {
	ok := map[bool]string{true: "succeed", false: "failed"}[up]
	switch check {
	case conf.CheckTCP:
		return "=> TCP CHECK " + ok + " on service <="
	case conf.CheckUDP:
		return "=> UDP CHECK " + ok + " on service <="
	case conf.CheckPing:
		return "=> ICMP CHECK " + ok + " on service <="
	case conf.CheckDNS:
		return "=> DNS_CHECK: " + ok + " on service <="
	case conf.CheckMisc:
		if up {
			return "=> MISC CHECK succeeded on service <="
		}
		return "=> MISC CHECK failed on service <="
	case conf.CheckHTTP, conf.CheckSSL:
		if !up {
			return "=> CHECK failed on service : HTTP/SSL request failed <="
		}
	}
	return "=> CHECK " + ok + " on service <="
}

// QuorumChange is a virtual server's quorum transition.
type QuorumChange struct {
	VirtualServer      string // "[10.0.0.1]:tcp:80", "FWM 80"
	Up                 bool   // gained (or starting with) quorum
	Quorum, Hysteresis int64
	Weight             int64 // the total weight of its live real servers
	Starting           bool  // the state it starts in, not a change
	Stopping           bool  // shutting down (omega)
}

// Quorum mails a virtual server gaining or losing quorum. The body is keepalived's, quirk
// included: it writes quorum+hysteresis and the threshold, which is quorum-hysteresis when
// quorum is lost (3+1=2).
//
//	[LB1] Virtualserver [10.0.0.1]:tcp:80 - UP
//	=> Gained quorum 1+0=1 <= 2 <=
func (m *Mailer) Quorum(q QuorumChange) {
	body := "=> Shutting down <="
	if !q.Stopping {
		var what string
		switch {
		case q.Up && q.Starting:
			what = "Starting with quorum up"
		case q.Up:
			what = "Gained quorum"
		case q.Starting:
			what = "Starting with quorum down"
		default:
			what = "Lost quorum"
		}
		threshold := q.Quorum - q.Hysteresis
		if q.Up {
			threshold = q.Quorum + q.Hysteresis
		}
		body = fmt.Sprintf("=> %s %d+%d=%d <= %d <=", what, q.Quorum, q.Hysteresis, threshold, q.Weight)
	}
	m.enqueue(fmt.Sprintf("Virtualserver %s - %s", q.VirtualServer, upDown(q.Up && !q.Stopping)), body)
}

func upDown(up bool) string {
	if up {
		return "UP"
	}
	return "DOWN"
}
