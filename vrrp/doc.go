// Package vrrp is VRRP version 2 (RFC 3768) and version 3 (RFC 5798, RFC 9568) as keepalived
// speaks it: the advertisement codec (Marshal, Parse), a pure state machine per virtual
// router (Router: INIT, BACKUP, MASTER, FAULT) that takes adverts, timer expiries, faults and
// tracking changes with the time and returns what to do (Action), sync groups of routers
// (Group), and a small Driver that runs them on a Clock, sending through a Conn. It knows
// nothing of sockets or VIPs: the appliance sends and receives the adverts (Conn, Driver.Input)
// and carries out the transitions (own or release the virtual addresses, announce them, run
// notify scripts).
//
// # Timers
//
// Master_Down_Interval = 3 × Master_Adver_Interval + Skew_Time (3 is keepalived's
// down_timer_adverts). Skew_Time = (256 − priority) × Master_Adver_Interval / 256 in version 3,
// (256 − priority) / 256 s in version 2, at the effective priority (an owner's is 255). They
// are computed in nanoseconds (keepalived truncates to microseconds). With version 3 and
// 100 ms adverts a backup of priority 100 takes over 360.9375 ms after the master's last
// advert; 60.9375 ms after a priority 0 advert. A version 3 backup takes Master_Adver_Interval
// from the adverts it accepts and goes back to its own interval as master.
//
// # Where keepalived and the RFCs differ, this package does what keepalived does
//
//   - Preemption: a backup that preempts discards the lower-priority master's adverts and
//     takes over when its master-down timer runs out, a master-down interval after the last
//     advert it accepted (RFC 3768 6.4.2, keepalived), not at once. preempt_delay makes it
//     accept them for that long after the first one before it starts discarding them.
//   - A master that hears a lower-priority advert answers it with its own at once (keepalived's
//     default; lower_prio_no_advert, Config.LowerPrioNoAdvert, turns it off; the RFCs discard).
//   - Version 2 adverts with another interval are dropped and counted (advert_interval_err),
//     so that two configurations never share a VRID; keepalived drops them too but, since
//     1.2.17, forgets to count them. Version 3 adverts with another interval are accepted and
//     teach the master's interval (RFC 5798 6.4.2); keepalived only logs them.
//   - An advert whose address list differs from the configured one counts addr_list_err and
//     is used all the same.
//   - TTL / hop limit 255 is required of adverts to the multicast group only: keepalived
//     accepts any TTL from unicast peers (which may be routed). See Parse.
//   - "state MASTER" (Config.StartMaster) is a hint: a router below 255 starts as BACKUP and
//     waits a master-down interval, as keepalived 2.x does; the owner (255) starts as MASTER
//     whatever the state says (keepalived would start a "state BACKUP" owner as backup).
//     StartMaster clears nopreempt and preempt_delay, and the owner nopreempt, as keepalived.
//   - Entering FAULT from MASTER sends one priority 0 advert (keepalived does; it is
//     counted in pri_zero_sent here). Leaving FAULT is always to BACKUP with a fresh
//     master-down timer, for an owner too.
//   - Tracking (SetPriorityDelta) sends nothing at once; a backup's master-down timer moves by
//     the change of its skew time (keepalived moves it by the difference between the new
//     master-down interval and its stored down timer, which is the same thing except after a
//     priority 0 advert or a discarded one, when keepalived's timer jumps).
//   - A dropped advert never moves a master's advert timer (keepalived re-arms it on any
//     received packet, even one it drops).
//   - Sync groups follow keepalived's rules, including its preference for BACKUP: see Group.
//
// # Not done
//
// IPsec AH authentication (auth type 2 is counted as authtype_mismatch), keepalived's HMAC
// authentication extension, version 2 over IPv6, the version 3 unicast checksum of
// keepalived ≤ 1.3.6 (pseudo-header with the multicast group), two address owners backing off
// after two adverts (keepalived's "rogue" owner handling: here the tie-break by address
// decides), accept mode, checking unicast sources against unicast_peer (the appliance's
// receive path can), garp / notify timing (the appliance's).
package vrrp
