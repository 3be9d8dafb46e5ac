package appliance

import (
	"net/netip"
	"time"

	"github.com/uvs-lb/uvs/vrrp"
)

// A read-only view of the VRRP instances beyond VRRPStatus, for those who watch an appliance
// from outside (the lab's report, a status page): each instance's sync group, its timing, the
// master it last heard with that master's priority, and its fault, read together with its
// state and counters under the driver's lock. It changes nothing.
//
// The routers keep no record of their transitions (the log has each one, with its reason),
// so a watcher learns them by polling: a change of State between two reads is a transition,
// dated within the poll's period, and the counters and the master heard say why. A backup
// that takes over with no advert heard for MasterDown saw its master go (keepalived's
// "master down"); with PriZeroRcvd up, its master said goodbye; with adverts still coming
// from a lower MasterPriority, it preempted. A MASTER that turns BACKUP heard a higher
// priority, MasterPriority. A transition undone before the next read is seen only in the
// counters (BecomeMaster, ReleaseMaster).

// VRRPDetail is one instance as VRRPStatus reports it, and more.
type VRRPDetail struct {
	VRRPStatus
	SyncGroup string        // the vrrp_sync_group it belongs to; "" if none
	Version   uint8         // 2 or 3
	Interval  time.Duration // advert_int, as configured
	// MasterInterval is the advert interval of the master (version 3 learns it from the
	// master's adverts; otherwise Interval), and MasterDown the master-down interval a
	// backup waits after the last advert it accepted: 3 × MasterInterval + the skew time at
	// the effective priority.
	MasterInterval time.Duration
	MasterDown     time.Duration
	// MasterPriority is the priority in the last advert heard from Master (the own effective
	// priority in MASTER; 0 before any advert).
	MasterPriority uint8
	Preempt        bool // not nopreempt
	Fault          bool // a tracked interface, script or file put it in FAULT
}

// VRRPDetails reports every VRRP instance, in configuration order.
func (a *Appliance) VRRPDetails() []VRRPDetail { return a.vrrp.details() }

func (v *vrrpRun) details() []VRRPDetail {
	var out []VRRPDetail
	for _, in := range v.insts {
		d := VRRPDetail{VRRPStatus: VRRPStatus{Name: in.cfg.Name, Interface: in.cfg.Interface, VRID: in.cfg.VRID},
			SyncGroup: in.cfg.SyncGroup}
		v.driver.Inspect(in.router, func(r *vrrp.Router) {
			c := r.Config()
			d.State, d.Priority, d.Stats = r.State().String(), r.Priority(), r.Stats()
			d.Master, d.MasterPriority = r.Master()
			d.Version, d.Interval, d.Preempt = c.Version, c.Interval, !c.NoPreempt
			d.MasterInterval, d.MasterDown = r.MasterInterval(), r.MasterDown()
			d.Fault = r.Fault()
			// own writes the list on the driver's lock without v.mu, release under v.mu:
			// read it under both.
			v.mu.Lock()
			d.Owned = append([]netip.Addr(nil), in.owned...)
			v.mu.Unlock()
		})
		out = append(out, d)
	}
	return out
}
