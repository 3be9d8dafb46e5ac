package conf

import (
	"net/netip"
	"time"
)

// VRRPInstance is one [[vrrp_instance]]: a virtual router, keepalived's vrrp_instance, with
// every default resolved. Package vrrp runs it; the appliance owns its VIPs while it is MASTER.
type VRRPInstance struct {
	Name      string
	Interface string // the [[interface]] its adverts go out of and come in on
	// State is the initial state, "MASTER" or "BACKUP" (keepalived's state): a MASTER
	// starts by advertising, a BACKUP by listening. Elections decide after that.
	State    string
	VRID     uint8 // virtual_router_id, 1-255
	Priority uint8 // 1-254, or 255 for the address owner (its VIPs are its own addresses)
	Version  uint8 // 2 (RFC 3768, IPv4 only) or 3 (RFC 5798)
	// Interval is advert_int: whole seconds for version 2, centiseconds for version 3.
	Interval     time.Duration
	Preempt      bool          // a higher priority takes over from a lower master (not nopreempt)
	PreemptDelay time.Duration // preempt_delay: how long after start-up a backup waits before preempting
	// AuthPass is the simple password of version 2's authentication (auth_type PASS), 1 to 8
	// bytes, sent zero-padded; "": none.
	AuthPass string
	// VIPs are the virtual addresses (virtual_ipaddress), advertised in this order, all of
	// the instance's family; VIPsExcluded (virtual_ipaddress_excluded) are owned with them
	// but not advertised, of any family.
	VIPs, VIPsExcluded []VIP
	// SrcIP is the adverts' source address (unicast_src_ip or mcast_src_ip): by default the
	// interface's first address of the family; for IPv6, its first link-local one.
	SrcIP netip.Addr
	// UnicastPeers, if any, are where adverts go, instead of the multicast Group.
	UnicastPeers []netip.Addr
	Group        netip.Addr // the multicast group (mcast_dst_ip, [vrrp]); invalid with unicast peers
	// Gratuitous ARP (IPv4) or unsolicited neighbour advertisements (IPv6) on becoming
	// MASTER: GARPRepeat of them at once and again GARPDelay later (0: no second set); and,
	// while MASTER, GARPRefreshRepeat of them every GARPRefresh (0: none).
	GARPDelay         time.Duration
	GARPRepeat        int
	GARPRefresh       time.Duration
	GARPRefreshRepeat int
	// UseVMAC makes the VIPs answer with the virtual router's MAC address, 00:00:5e:00:01:VRID
	// (IPv6: 00:00:5e:00:02:VRID), so that a takeover needs no ARP cache update.
	UseVMAC bool
	// DontTrackPrimary keeps the instance out of FAULT when its own interface goes down.
	DontTrackPrimary bool
	// What the instance tracks, with each weight resolved (a script's or file's own, unless
	// the reference overrides it). Weight 0: a failure puts the instance in FAULT; otherwise
	// the weight is added to (or, negative, subtracted from) the priority, within 1-254.
	TrackInterfaces, TrackScripts, TrackFiles []TrackRef
	// Notify commands, in Check.Command's syntax, run on entering MASTER, BACKUP or FAULT,
	// on stopping, and on any of these (Notify, with the arguments INSTANCE, the name, the
	// state and the priority appended, as keepalived does); "": none.
	NotifyMaster, NotifyBackup, NotifyFault, NotifyStop, Notify string
	// NotifyPriorityChanges writes priority changes to the notify FIFO too.
	NotifyPriorityChanges bool
	// SMTPAlert mails the instance's transitions (smtp_alert; default [alerts]
	// smtp_alert_vrrp). It is false when there is no [alerts] table.
	SMTPAlert bool
	// SyncGroup is the name of the vrrp_sync_group the instance belongs to; "": none.
	SyncGroup string

	key     string
	refKeys [3][]string // the keys of TrackInterfaces, TrackScripts, TrackFiles, in order
}

// VIP is a virtual address of a VRRP instance.
type VIP struct {
	// Prefix is the address with its prefix length as written (ip addr add's); a bare
	// address is a host prefix, /32 or /128.
	Prefix netip.Prefix
	// Interface is where the address is owned: the instance's interface, or the one its dev
	// names.
	Interface string
}

// TrackRef is one entry of a track_interface, track_script or track_file: what is tracked,
// by name, and its weight.
type TrackRef struct {
	Name    string
	Weight  int  // -253..253 (a file's: -254..254); 0: a failure means FAULT
	Reverse bool // invert: a script's success, a file's value, an interface up counts against
}

// VRRPScript is one [[vrrp_script]]: a command run every Interval whose exit status 0 means
// success, tracked by the instances and groups that name it in track_script.
type VRRPScript struct {
	Name     string
	Script   string        // the command, in Check.Command's syntax
	Interval time.Duration // default 1 s
	Timeout  time.Duration // the command's time limit; default the interval
	Weight   int           // the default weight of who tracks it, -253..253 (default 0)
	Reverse  bool          // the default reverse of who tracks it
	Rise     int           // consecutive successes to count as up (default 1)
	Fall     int           // consecutive failures to count as down (default 1)
	InitFail bool          // start as failed, not as up
	User     string        // run as this user; "": the appliance's default
	Group    string        // and group; "": the user's
}

// VRRPTrackFile is one [[vrrp_track_file]]: a file holding a number, read whenever it
// changes. With Weight 0, a non-zero number is a failure; otherwise the number times the
// weight is added to the priority of who tracks it (below -253: FAULT).
type VRRPTrackFile struct {
	Name    string
	File    string // an absolute path
	Weight  int    // -254..254, default 1
	Reverse bool
	// Init creates the file with InitValue at start-up when it does not exist, or always
	// with InitOverwrite (keepalived's init_file [VALUE] [overwrite]).
	Init          bool
	InitValue     int
	InitOverwrite bool
}

// VRRPSyncGroup is one [[vrrp_sync_group]]: instances that change state together, so that a
// router is MASTER (or BACKUP) on all of them at once: the public and the private side of a
// NAT router, say.
type VRRPSyncGroup struct {
	Name      string
	Instances []string // at least two, each in no other group
	// TrackInterfaces, TrackScripts and TrackFiles apply to every instance of the group.
	TrackInterfaces, TrackScripts, TrackFiles []TrackRef
	// TrackingWeight (sync_group_tracking_weight) lets its members and the group track with
	// weights; without it, only weight 0 (FAULT on failure) is accepted, as keepalived
	// ignores the others.
	TrackingWeight bool
	// Notify commands for the group's transitions; Notify gets GROUP, the name, the state
	// and the priority appended.
	NotifyMaster, NotifyBackup, NotifyFault, NotifyStop, Notify string
	NotifyPriorityChanges                                       bool
	// SMTPAlert mails the group's transitions, as an instance's.
	SMTPAlert bool

	key     string
	refKeys [3][]string
}

// VRRPGlobals is the [vrrp] table: keepalived's global_defs for VRRP, the defaults of every
// instance.
type VRRPGlobals struct {
	Version uint8      // vrrp_version: of IPv4 instances that set none (IPv6 is always 3); default 2
	Group4  netip.Addr // vrrp_mcast_group4, default 224.0.0.18
	Group6  netip.Addr // vrrp_mcast_group6, default ff02::12
	// The gratuitous ARP defaults of VRRPInstance.
	GARPDelay         time.Duration
	GARPRepeat        int
	GARPRefresh       time.Duration
	GARPRefreshRepeat int
	// GARPInterval and GNAInterval space out gratuitous ARPs and unsolicited neighbour
	// advertisements sent on one interface (0: back to back).
	GARPInterval, GNAInterval time.Duration
	// NotifyFIFO is a named pipe to which every transition is written as a line, as
	// keepalived writes it: INSTANCE "VI_1" MASTER 100, GROUP "VG1" BACKUP 0; "": none.
	NotifyFIFO string
	// NotifyFIFOScript is run at start-up with NotifyFIFO as its last argument, to read it.
	NotifyFIFOScript      string
	NotifyPriorityChanges bool // the default of the instances' NotifyPriorityChanges
}

// Defaults of keepalived's VRRP (vrrp.h, vrrp_track.h, global_data.c).
const (
	defaultPriority          = 100
	defaultVRRPVersion       = 2
	defaultAdvertInt         = time.Second
	defaultGARPDelay         = 5 * time.Second
	defaultGARPRepeat        = 5
	defaultGARPRefreshRepeat = 1
	defaultScriptInterval    = time.Second
	ownerPriority            = 255
	maxTrackWeight           = 253  // a tracked interface's or script's weight
	maxFileWeight            = 254  // a tracked file's
	maxPreemptDelay          = 1000 // seconds (keepalived's TIMER_MAX_SEC)
	maxGARPRepeat            = 1000
	maxVRRPAddrs             = 255 // an advert's address count is 8 bits
)

// The multicast groups of VRRP (RFC 5798 5.1.1.2, 5.1.2.2); package vrrp has them too, but
// conf cannot import it.
var (
	vrrpGroup4 = netip.MustParseAddr("224.0.0.18")
	vrrpGroup6 = netip.MustParseAddr("ff02::12")
)

func defaultVRRPGlobals() VRRPGlobals {
	return VRRPGlobals{
		Version:           defaultVRRPVersion,
		Group4:            vrrpGroup4,
		Group6:            vrrpGroup6,
		GARPDelay:         defaultGARPDelay,
		GARPRepeat:        defaultGARPRepeat,
		GARPRefreshRepeat: defaultGARPRefreshRepeat,
	}
}

// VRRPInstanceOf returns the VRRP instance whose MASTER state decides whether the appliance
// owns a: the instance that has a among its virtual addresses (advertised or excluded). It
// returns nil for an address that is owned always: one that no instance has (a virtual
// server's without VRRP), or an interface's own (an address owner's virtual addresses).
func (c *Config) VRRPInstanceOf(a netip.Addr) *VRRPInstance {
	if _, own := c.ownerOf(a); own {
		return nil
	}
	for i := range c.VRRPInstances {
		v := &c.VRRPInstances[i]
		for _, l := range [][]VIP{v.VIPs, v.VIPsExcluded} {
			for _, vip := range l {
				if vip.Prefix.Addr() == a {
					return v
				}
			}
		}
	}
	return nil
}
