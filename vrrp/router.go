package vrrp

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// Config is one virtual router's configuration: a keepalived vrrp_instance. Zero values take
// keepalived's defaults.
type Config struct {
	// Name is the instance's name (keepalived's vrrp_instance NAME), for logs.
	Name string
	// VRID is virtual_router_id, 1-255.
	VRID uint8
	// Version is 2 or 3; 0 takes keepalived's default: 2 over IPv4, 3 over IPv6. Version 2
	// is IPv4 only (keepalived allows it over IPv6 outside strict mode; this package does not).
	Version uint8
	// Priority is 1-255, 255 being the address owner; 0 takes keepalived's default: 255 with
	// StartMaster, 100 without.
	Priority uint8
	// Interval is advert_int: whole seconds 1-255 s in version 2, whole centiseconds
	// 10 ms-40.95 s in version 3; 0 takes 1 s.
	Interval time.Duration
	// Primary is the router's own address on the link: the source of its adverts (IPv4: the
	// interface's address or unicast_src_ip; IPv6: its link-local address) and the address
	// compared with the master's when priorities are equal. Required; its family is the
	// virtual router's.
	Primary netip.Addr
	// Addrs are the virtual addresses (virtual_ipaddress), all of Primary's family, at most
	// 255 and without duplicates. Adverts carry them; received adverts whose list differs
	// count addr_list_err (and are used all the same, as keepalived does).
	Addrs []netip.Addr
	// NoPreempt is keepalived's nopreempt: a backup never takes over from a live master of
	// lower priority. Cleared (as keepalived does) for the address owner and with StartMaster.
	NoPreempt bool
	// PreemptDelay is preempt_delay: once a backup sees a lower-priority master it keeps
	// accepting its adverts for this long before it starts discarding them (and so takes
	// over a master-down interval later). Cleared with StartMaster, as keepalived does.
	PreemptDelay time.Duration
	// AuthPass is authentication { auth_type PASS; auth_pass ... }: version 2 only, at most
	// 8 bytes (the advert's field; keepalived silently uses the first 8).
	AuthPass string
	// StartMaster is keepalived's "state MASTER". It is a hint only, as in keepalived 2.x: an
	// address owner (priority 255) starts as master whatever this says, and any other router
	// starts as backup and waits a master-down interval for adverts before it takes over.
	// Its effects are keepalived's: Priority defaults to 255, and NoPreempt and PreemptDelay
	// are cleared.
	StartMaster bool
	// LowerPrioNoAdvert is keepalived's lower_prio_no_advert: a master that receives a
	// lower-priority advert does not answer it with one of its own at once (RFC 5798 6.4.3
	// discards it; keepalived by default answers, to end a split brain sooner).
	LowerPrioNoAdvert bool
	// DownAdverts is keepalived's down_timer_adverts: how many advert intervals make the
	// master-down interval (before the skew time), 1-100; 0 takes the RFC's 3.
	DownAdverts int
}

// normalize applies the defaults and checks c.
func (c *Config) normalize() error {
	if c.VRID == 0 {
		return errors.New("vrrp: virtual router id must be 1-255")
	}
	c.Primary = c.Primary.Unmap()
	if !c.Primary.IsValid() {
		return errors.New("vrrp: no primary address")
	}
	v6 := c.Primary.Is6()
	switch c.Version {
	case 0:
		c.Version = 2
		if v6 {
			c.Version = 3
		}
	case 2:
		if v6 {
			return errors.New("vrrp: version 2 is IPv4 only")
		}
	case 3:
	default:
		return fmt.Errorf("vrrp: version %d: must be 2 or 3", c.Version)
	}
	if c.Priority == 0 {
		c.Priority = 100
		if c.StartMaster {
			c.Priority = 255
		}
	}
	if c.Interval == 0 {
		c.Interval = time.Second
	}
	if c.Version == 2 && (c.Interval < time.Second || c.Interval > maxIntervalV2 || c.Interval%time.Second != 0) {
		return fmt.Errorf("vrrp: advert interval %v: version 2 takes whole seconds, 1-255", c.Interval)
	}
	if c.Version == 3 && (c.Interval < 10*time.Millisecond || c.Interval > maxIntervalV3 || c.Interval%(10*time.Millisecond) != 0) {
		return fmt.Errorf("vrrp: advert interval %v: version 3 takes whole centiseconds, 10ms-40.95s", c.Interval)
	}
	if len(c.Addrs) > 255 {
		return errors.New("vrrp: more than 255 virtual addresses")
	}
	addrs := make([]netip.Addr, len(c.Addrs))
	for i, a := range c.Addrs {
		a = a.Unmap()
		if !a.IsValid() || a.Is6() != v6 {
			return fmt.Errorf("vrrp: virtual address %v is not of the primary address's family", a)
		}
		if slices.Contains(addrs[:i], a) {
			return fmt.Errorf("vrrp: virtual address %v twice", a)
		}
		addrs[i] = a
	}
	c.Addrs = addrs
	if c.AuthPass != "" {
		if c.Version != 2 {
			return errors.New("vrrp: authentication is version 2 only")
		}
		if len(c.AuthPass) > AuthLen {
			return errors.New("vrrp: auth_pass longer than 8 bytes")
		}
	}
	if c.PreemptDelay < 0 {
		return errors.New("vrrp: negative preempt delay")
	}
	if c.DownAdverts == 0 {
		c.DownAdverts = 3
	}
	if c.DownAdverts < 1 || c.DownAdverts > 100 {
		return errors.New("vrrp: down_timer_adverts must be 1-100")
	}
	if c.Priority == 255 || c.StartMaster {
		c.NoPreempt = false
	}
	if c.StartMaster {
		c.PreemptDelay = 0
	}
	return nil
}

// ActionKind says what an Action asks of the caller.
type ActionKind uint8

const (
	// ActSend: send Advert (to the group or the unicast peers, TTL 255, from Primary).
	ActSend ActionKind = iota + 1
	// ActTransition: the router changed state. To MASTER: take the virtual addresses and
	// announce them (gratuitous ARP / unsolicited NA); from MASTER: release them.
	ActTransition
)

// Reason says why a transition happened.
type Reason uint8

const (
	ReasonNone Reason = iota
	// ReasonInit: started (INIT → BACKUP).
	ReasonInit
	// ReasonOwner: started as address owner, priority 255 (INIT → MASTER).
	ReasonOwner
	// ReasonMasterDown: no advert for the master-down interval (BACKUP → MASTER).
	ReasonMasterDown
	// ReasonPreempt: the master-down interval ran out while this router discarded a
	// lower-priority master's adverts (BACKUP → MASTER).
	ReasonPreempt
	// ReasonPriorityZero: the master said it was leaving (priority 0) and the skew time
	// passed (BACKUP → MASTER).
	ReasonPriorityZero
	// ReasonHigherPriority: an advert of higher priority, or of equal priority from a
	// higher address (MASTER → BACKUP).
	ReasonHigherPriority
	// ReasonFault: SetFault(true) (→ FAULT).
	ReasonFault
	// ReasonFaultCleared: SetFault(false) (FAULT → BACKUP).
	ReasonFaultCleared
	// ReasonSync: a member of the router's sync group moved it.
	ReasonSync
	// ReasonShutdown: Shutdown (→ INIT).
	ReasonShutdown
)

func (r Reason) String() string {
	switch r {
	case ReasonInit:
		return "init"
	case ReasonOwner:
		return "address owner"
	case ReasonMasterDown:
		return "master down"
	case ReasonPreempt:
		return "preempt"
	case ReasonPriorityZero:
		return "master sent priority 0"
	case ReasonHigherPriority:
		return "higher priority advert"
	case ReasonFault:
		return "fault"
	case ReasonFaultCleared:
		return "fault cleared"
	case ReasonSync:
		return "sync group"
	case ReasonShutdown:
		return "shutdown"
	}
	return "none"
}

// Action is one thing a Router asks its caller to do, in the order given: an advert is
// listed before the transition to MASTER it belongs to, so that the old master hears it
// before the new one announces the addresses (as keepalived orders them).
type Action struct {
	Kind   ActionKind
	Router *Router // whose action: any member of a sync group may act on a call to another
	Advert Advert  // ActSend. Its Addrs are the router's: do not modify them.
	From   State   // ActTransition
	To     State
	Reason Reason
}

// Stats are a virtual router's counters, named as keepalived names them (--json, and
// keepalived-exporter's keepalived_vrrp_* metrics), plus three of the RFC MIB's.
type Stats struct {
	AdvertRcvd        uint64 // adverts that passed every check (addr_list_err ones too)
	AdvertSent        uint64 // ActSend actions returned
	BecomeMaster      uint64
	ReleaseMaster     uint64 // MASTER → BACKUP or FAULT (not Shutdown)
	PacketLenErr      uint64
	AdvertIntervalErr uint64 // v2 interval mismatch, or 0 (keepalived ≥1.2.17 never counts it)
	IPTTLErr          uint64
	InvalidTypeRcvd   uint64
	AddrListErr       uint64 // address list not the configured one, or the wrong family
	InvalidAuthtype   uint64
	AuthtypeMismatch  uint64
	AuthFailure       uint64
	PriZeroRcvd       uint64
	PriZeroSent       uint64
	ChkErr            uint64 // RFC MIB: checksum errors
	VersErr           uint64 // RFC MIB: version errors
	VRIDErr           uint64 // RFC MIB: VRID errors
}

// Visit calls f with each counter's keepalived name and value, in keepalived --json's order
// and then the MIB's three.
func (s *Stats) Visit(f func(name string, value uint64)) {
	f("advert_rcvd", s.AdvertRcvd)
	f("advert_sent", s.AdvertSent)
	f("become_master", s.BecomeMaster)
	f("release_master", s.ReleaseMaster)
	f("packet_len_err", s.PacketLenErr)
	f("advert_interval_err", s.AdvertIntervalErr)
	f("ip_ttl_err", s.IPTTLErr)
	f("invalid_type_rcvd", s.InvalidTypeRcvd)
	f("addr_list_err", s.AddrListErr)
	f("invalid_authtype", s.InvalidAuthtype)
	f("authtype_mismatch", s.AuthtypeMismatch)
	f("auth_failure", s.AuthFailure)
	f("pri_zero_rcvd", s.PriZeroRcvd)
	f("pri_zero_sent", s.PriZeroSent)
	f("chk_err", s.ChkErr)
	f("vers_err", s.VersErr)
	f("vrid_err", s.VRIDErr)
}

// counter returns the counter of a Kind.
func (s *Stats) counter(k Kind) *uint64 {
	switch k {
	case KindLength:
		return &s.PacketLenErr
	case KindTTL:
		return &s.IPTTLErr
	case KindVersion:
		return &s.VersErr
	case KindType:
		return &s.InvalidTypeRcvd
	case KindAuthType:
		return &s.InvalidAuthtype
	case KindChecksum:
		return &s.ChkErr
	case KindVRID:
		return &s.VRIDErr
	case KindInterval:
		return &s.AdvertIntervalErr
	case KindAddrList:
		return &s.AddrListErr
	case KindAuthMismatch:
		return &s.AuthtypeMismatch
	case KindAuthFailure:
		return &s.AuthFailure
	}
	return nil
}

// Router is the state machine of one virtual router (RFC 3768 6, RFC 5798 6.4, as keepalived
// runs it). It is pure: it reads no clock and does no I/O. Every method that can act takes
// the time now and returns the actions to carry out, in order; Deadline says when Tick is
// next due. The returned slice is the Router's (or its Group's) and valid until the next
// call. A Router is not safe for concurrent use: one goroutine drives it (see Driver), or
// the caller locks.
type Router struct {
	cfg  Config
	v6   bool
	auth [AuthLen]byte

	eff   uint8 // effective priority: Priority + delta, 1-254; the owner's stays 255
	delta int

	state State
	want  State // keepalived's wantstate: MASTER once the master-down timer ran out
	fault bool  // SetFault(true)

	masterInt  time.Duration // Master_Adver_Interval (v3: learned from the master's adverts)
	deadline   time.Time     // MASTER: next advert; BACKUP: master down; else zero
	preemptAt  time.Time     // preempt_delay: lower-priority adverts discarded from then on
	master     netip.Addr    // the last master heard
	masterPrio uint8
	discarded  bool // a lower-priority advert was discarded since the last one accepted
	prioZero   bool // the deadline is a skew time after a priority 0 advert

	stats Stats
	acts  []Action
	group *Group
}

// NewRouter returns a Router for cfg, in state INIT. It starts nothing.
func NewRouter(cfg Config) (*Router, error) {
	if err := cfg.normalize(); err != nil {
		if cfg.Name != "" {
			return nil, fmt.Errorf("%s: %w", cfg.Name, err)
		}
		return nil, err
	}
	r := &Router{cfg: cfg, v6: cfg.Primary.Is6(), eff: cfg.Priority, masterInt: cfg.Interval}
	copy(r.auth[:], cfg.AuthPass)
	return r, nil
}

// Config returns the router's configuration with its defaults applied.
func (r *Router) Config() Config {
	c := r.cfg
	c.Addrs = slices.Clone(c.Addrs)
	return c
}

// State returns the router's state.
func (r *Router) State() State { return r.state }

// Priority returns the effective priority: what adverts carry.
func (r *Router) Priority() uint8 { return r.eff }

// Master returns the address and priority of the master this router last heard (invalid
// before any advert); in MASTER, itself.
func (r *Router) Master() (netip.Addr, uint8) {
	if r.state == StateMaster {
		return r.cfg.Primary, r.eff
	}
	return r.master, r.masterPrio
}

// MasterInterval returns Master_Adver_Interval: the advert interval the master-down
// interval is computed from (version 3 learns it from the master's adverts).
func (r *Router) MasterInterval() time.Duration { return r.masterInt }

// Stats returns the counters.
func (r *Router) Stats() Stats { return r.stats }

// Group returns the sync group the router is in, or nil.
func (r *Router) Group() *Group { return r.group }

// Deadline returns when Tick is next due: the next advert of a master, the master-down time
// of a backup. It is the zero time when nothing is (INIT, FAULT).
func (r *Router) Deadline() time.Time { return r.deadline }

// shiftTimes moves the router's deadlines by d, for a Driver whose clock stepped.
func (r *Router) shiftTimes(d time.Duration) {
	if !r.deadline.IsZero() {
		r.deadline = r.deadline.Add(d)
	}
	if !r.preemptAt.IsZero() {
		r.preemptAt = r.preemptAt.Add(d)
	}
}

// Skew returns Skew_Time at the effective priority: (256 − priority) / 256 of the master's
// advert interval in version 3 (RFC 5798 6.1), of a second in version 2 (RFC 3768 6.1).
func (r *Router) Skew() time.Duration {
	unit := time.Second
	if r.cfg.Version == 3 {
		unit = r.masterInt
	}
	return time.Duration(256-int(r.eff)) * unit / 256
}

// MasterDown returns Master_Down_Interval: DownAdverts (3) × the master's advert interval +
// Skew.
func (r *Router) MasterDown() time.Duration {
	return time.Duration(r.cfg.DownAdverts)*r.masterInt + r.Skew()
}

// CountError counts an error of Parse (or Receive) in the counter of its Kind; other errors
// it ignores. keepalived counts per instance: the caller finds the router by the VRID Parse
// left in the advert.
func (r *Router) CountError(err error) {
	if c := r.stats.counter(KindOf(err)); c != nil {
		*c++
	}
}

// buf returns the slice actions go to: the router's, or its group's.
func (r *Router) buf() *[]Action {
	if r.group != nil {
		return &r.group.acts
	}
	return &r.acts
}

// begin starts a call: it empties the action list.
func (r *Router) begin() {
	b := r.buf()
	*b = (*b)[:0]
}

func (r *Router) emit(a Action) {
	a.Router = r
	b := r.buf()
	*b = append(*b, a)
}

func (r *Router) actions() []Action {
	b := *r.buf()
	if len(b) == 0 {
		return nil
	}
	return b
}

func (r *Router) transition(to State, reason Reason) {
	from := r.state
	r.state = to
	r.emit(Action{Kind: ActTransition, From: from, To: to, Reason: reason})
}

// send emits an advert at priority prio.
func (r *Router) send(prio uint8) {
	a := Advert{
		Version:  r.cfg.Version,
		VRID:     r.cfg.VRID,
		Priority: prio,
		Interval: r.cfg.Interval,
		Addrs:    r.cfg.Addrs,
	}
	if r.cfg.AuthPass != "" {
		a.AuthType, a.AuthData = AuthPass, r.auth
	}
	r.stats.AdvertSent++
	if prio == 0 {
		r.stats.PriZeroSent++
	}
	r.emit(Action{Kind: ActSend, Advert: a})
}

// Start starts the router (RFC 5798 6.4.1): an address owner becomes MASTER at once and
// sends an advert; any other router becomes BACKUP and waits a master-down interval; a
// router with a fault goes to FAULT. Starting a member of a sync group starts the group. A
// router that is not in INIT is left as it is.
func (r *Router) Start(now time.Time) []Action {
	r.begin()
	if r.group != nil {
		r.group.start(now)
	} else if r.state == StateInit {
		switch {
		case r.fault:
			r.enterFault(now, ReasonFault)
		case r.cfg.Priority == 255:
			r.gotoMaster(now, ReasonOwner)
		default:
			r.enterBackup(now, ReasonInit)
		}
	}
	return r.actions()
}

// enterBackup moves an INIT or FAULT router to BACKUP with a fresh master-down timer.
func (r *Router) enterBackup(now time.Time, reason Reason) {
	r.want = StateBackup
	r.masterInt = r.cfg.Interval
	r.preemptAt = time.Time{}
	r.discarded, r.prioZero = false, false
	r.deadline = now.Add(r.MasterDown())
	r.transition(StateBackup, reason)
}

// gotoMaster moves the router to MASTER, unless its group holds it back (keepalived's
// vrrp_sync_can_goto_master: a group goes MASTER only when every member wants to; until
// then the router waits in BACKUP, wanting MASTER, another master-down interval).
func (r *Router) gotoMaster(now time.Time, reason Reason) {
	r.want = StateMaster
	if r.group != nil && !r.group.canGoMaster(r) {
		r.deadline = now.Add(r.MasterDown())
		return
	}
	r.masterInt = r.cfg.Interval
	r.prioZero, r.discarded = false, false
	r.send(r.eff)
	r.stats.BecomeMaster++
	r.deadline = now.Add(r.cfg.Interval)
	r.transition(StateMaster, reason)
	if r.group != nil {
		r.group.syncMaster(now, r)
	}
}

// leaveMaster moves a MASTER to BACKUP (or FAULT, sending priority 0 first as keepalived does).
func (r *Router) leaveMaster(now time.Time, to State, reason Reason) {
	r.stats.ReleaseMaster++
	if to == StateFault {
		r.send(0)
		r.deadline = time.Time{}
		r.want = StateFault
		r.transition(StateFault, reason)
		if r.group != nil {
			r.group.syncFault(now, r)
		}
		return
	}
	r.want = StateBackup
	r.preemptAt = time.Time{}
	r.prioZero, r.discarded = false, false
	r.deadline = now.Add(r.MasterDown())
	r.transition(StateBackup, reason)
	if r.group != nil && reason != ReasonSync {
		r.group.syncBackup(now, r)
	}
}

// enterFault moves the router to FAULT.
func (r *Router) enterFault(now time.Time, reason Reason) {
	switch r.state {
	case StateFault:
		return
	case StateMaster:
		r.leaveMaster(now, StateFault, reason)
		return
	}
	r.deadline = time.Time{}
	r.want = StateFault
	r.transition(StateFault, reason)
	if r.group != nil {
		r.group.syncFault(now, r)
	}
}

// Tick runs the router's timer if it is due (now is not before Deadline): a master sends its
// advert; a backup whose master-down timer ran out becomes MASTER (or, in a sync group that
// holds it back, waits another master-down interval).
func (r *Router) Tick(now time.Time) []Action {
	r.begin()
	r.tick(now)
	return r.actions()
}

func (r *Router) tick(now time.Time) {
	if r.deadline.IsZero() || now.Before(r.deadline) {
		return
	}
	switch r.state {
	case StateMaster:
		r.send(r.eff)
		r.deadline = now.Add(r.cfg.Interval)
	case StateBackup:
		reason := ReasonMasterDown
		if r.prioZero {
			reason = ReasonPriorityZero
		} else if r.discarded {
			reason = ReasonPreempt
		}
		r.gotoMaster(now, reason)
	}
}

// Receive takes an advert that Parse accepted, from src, and returns what to do. An advert
// this router drops is counted and its error returned (the actions are then none):
// ErrVRID, ErrVersion, ErrAddrFamily (src not of the router's family), ErrAuthMismatch and
// ErrAuthFailure (version 2: not the configured PASS, or PASS when none is), ErrInterval
// (version 2: not the configured interval; keepalived drops these so that two
// configurations never run one VRID). An advert whose address list differs from the
// configured one is counted (addr_list_err) and used, as keepalived does. In INIT and FAULT
// adverts are ignored, uncounted, as keepalived ignores them.
//
// In BACKUP (RFC 5798 6.4.2 and keepalived): priority 0 sets the master-down timer to the
// skew time; an advert of priority at least ours, or any with NoPreempt, or any lower one
// during preempt_delay, is accepted: it restarts the master-down timer and (version 3)
// teaches the master's interval; a lower one (preempting) is discarded, so the timer runs
// out a master-down interval after the last advert accepted, and this router takes over.
//
// In MASTER (RFC 5798 6.4.3 and keepalived): priority 0 is answered with an advert at once;
// a higher priority, or an equal one from a higher address, makes this router BACKUP; a
// lower one is answered with an advert at once (keepalived), unless LowerPrioNoAdvert.
func (r *Router) Receive(now time.Time, src netip.Addr, a *Advert) ([]Action, error) {
	r.begin()
	err := r.receive(now, src.Unmap(), a)
	if err != nil {
		r.CountError(err)
	}
	return r.actions(), err
}

func (r *Router) receive(now time.Time, src netip.Addr, a *Advert) error {
	if r.state != StateBackup && r.state != StateMaster {
		return nil
	}
	switch {
	case a.VRID != r.cfg.VRID:
		return ErrVRID
	case a.Version != r.cfg.Version:
		return ErrVersion
	case !src.IsValid() || src.Is6() != r.v6:
		return ErrAddrFamily
	case a.Interval <= 0:
		return ErrInterval
	}
	if r.cfg.Version == 2 {
		want := uint8(AuthNone)
		if r.cfg.AuthPass != "" {
			want = AuthPass
		}
		if a.AuthType != want {
			return ErrAuthMismatch
		}
		if want == AuthPass && subtle.ConstantTimeCompare(a.AuthData[:], r.auth[:]) != 1 {
			return ErrAuthFailure
		}
		if a.Interval != r.cfg.Interval {
			return ErrInterval
		}
	}
	r.stats.AdvertRcvd++
	if a.Priority == 0 {
		r.stats.PriZeroRcvd++
	}
	if !sameAddrs(a.Addrs, r.cfg.Addrs) {
		r.stats.AddrListErr++
	}
	if r.state == StateBackup {
		r.receiveBackup(now, src, a)
	} else {
		r.receiveMaster(now, src, a)
	}
	return nil
}

func (r *Router) receiveBackup(now time.Time, src netip.Addr, a *Advert) {
	if a.Priority == 0 {
		r.prioZero = true
		r.deadline = now.Add(r.Skew())
		return
	}
	delaying := r.cfg.PreemptDelay > 0 && (r.preemptAt.IsZero() || now.Before(r.preemptAt))
	if !r.cfg.NoPreempt && a.Priority < r.eff && !delaying {
		r.discarded = true
		r.master, r.masterPrio = src, a.Priority
		return
	}
	if r.cfg.Version == 3 {
		r.masterInt = a.Interval
	}
	r.master, r.masterPrio = src, a.Priority
	r.prioZero, r.discarded = false, false
	r.want = StateBackup
	r.deadline = now.Add(r.MasterDown())
	if r.cfg.PreemptDelay > 0 {
		if a.Priority >= r.eff {
			r.preemptAt = time.Time{}
		} else if r.preemptAt.IsZero() {
			r.preemptAt = now.Add(r.cfg.PreemptDelay)
		}
	}
}

func (r *Router) receiveMaster(now time.Time, src netip.Addr, a *Advert) {
	if a.Priority == 0 {
		r.send(r.eff)
		r.deadline = now.Add(r.cfg.Interval)
		return
	}
	cmp := src.Compare(r.cfg.Primary)
	switch {
	case a.Priority > r.eff || (a.Priority == r.eff && cmp > 0):
		if r.cfg.Version == 3 {
			r.masterInt = a.Interval
		}
		r.master, r.masterPrio = src, a.Priority
		r.leaveMaster(now, StateBackup, ReasonHigherPriority)
	case a.Priority < r.eff || cmp < 0:
		if !r.cfg.LowerPrioNoAdvert {
			r.send(r.eff)
			r.deadline = now.Add(r.cfg.Interval)
		}
	default:
		// Our own advert, looped back: nothing to do.
	}
}

// sameAddrs reports whether got holds the configured addresses, in any order.
func sameAddrs(got, want []netip.Addr) bool {
	if len(got) != len(want) {
		return false
	}
	for _, a := range want {
		if !slices.Contains(got, a) {
			return false
		}
	}
	return true
}

// SetPriorityDelta sets the sum of the tracking weights (track_script, track_interface, ...)
// that changed the configured priority: the effective priority is Priority + delta, clamped
// to 1-254 as keepalived clamps it; an address owner's stays 255. Nothing is sent at once
// (keepalived sends nothing either): a master's next advert carries the new priority, and a
// preempting backup of higher priority discards it and takes over a master-down interval
// after the last advert it accepted. A backup's master-down timer moves by the change in its
// skew time.
func (r *Router) SetPriorityDelta(delta int) {
	r.delta = delta
	if r.cfg.Priority == 255 {
		return
	}
	p := min(max(int(r.cfg.Priority)+delta, 1), 254)
	if uint8(p) == r.eff {
		return
	}
	old := r.Skew()
	r.eff = uint8(p)
	if r.state == StateBackup && !r.deadline.IsZero() {
		r.deadline = r.deadline.Add(r.Skew() - old)
	}
}

// SetFault sets or clears the router's fault (interface down, a failed track script with no
// weight, ...). Into FAULT: a master sends a priority 0 advert (keepalived does, so that the
// backup takes over after its skew time) and releases the addresses; a FAULT router sends
// and hears nothing. Out of FAULT: BACKUP, with a fresh master-down timer (keepalived's
// leave-fault; an address owner too). In a sync group a member's fault puts every member in
// FAULT, and they leave it together once no member has a fault. Before Start it only
// records the fault, and Start then goes to FAULT.
func (r *Router) SetFault(now time.Time, fault bool) []Action {
	r.begin()
	if r.fault == fault {
		return nil
	}
	r.fault = fault
	if r.state == StateInit {
		return nil
	}
	if fault {
		r.enterFault(now, ReasonFault)
	} else if r.state == StateFault {
		if r.group != nil {
			r.group.leaveFault(now, r)
		} else {
			r.enterBackup(now, ReasonFaultCleared)
		}
	}
	return r.actions()
}

// Fault reports whether SetFault set a fault.
func (r *Router) Fault() bool { return r.fault }

// Shutdown stops the router (keepalived stopping): a master sends one advert of priority 0,
// so that backups take over after their skew time, and every state goes to INIT. In a sync
// group it stops the whole group. Start may start it again.
func (r *Router) Shutdown(now time.Time) []Action {
	r.begin()
	if r.group != nil {
		r.group.shutdown(now)
	} else {
		r.shutdown()
	}
	return r.actions()
}

func (r *Router) shutdown() {
	if r.state == StateInit {
		return
	}
	if r.state == StateMaster {
		r.send(0)
	}
	r.deadline, r.preemptAt = time.Time{}, time.Time{}
	r.want = StateInit
	r.transition(StateInit, ReasonShutdown)
}
