// Package convert translates the configurations of other load-balancing tools into uvs's
// TOML (package conf): keepalived.conf, ipvsadm's rules (ipvsadm -S output, or a script of
// ipvsadm commands) and Piranha's lvs.cf. It is what `uvs conf import` runs.
//
// A translation keeps the source's meaning, not its words. keepalived's quirks are applied
// as keepalived applies them, because the uvs file must do what the running keepalived did:
// a vrrp_instance with state MASTER and no priority is the address owner (priority 255);
// nopreempt is dropped where keepalived ignores it; a weighted tracker of a sync group member
// is zeroed or dropped as keepalived zeroes or drops it; a virtual_server without real
// servers is left out, as keepalived leaves it out; an unquoted notify script takes its next
// word as its user. Units are converted where they differ (ipvsadm's -p without a value is
// 300 seconds, keepalived's persistence_timeout without one 360; Piranha's timeout is both
// nanny's period and its connect timeout).
//
// What cannot be translated is never dropped silently: each directive uvs does not support
// (email alerts, strict mode, interface labels, regular expressions, ...) becomes a Note
// with its file and line, and the notes are also written at the top of the TOML.
//
// The sources do not say everything uvs needs. uvs takes its interfaces whole and must know
// its own addresses on them, which keepalived.conf only names (interface eth0) and ipvsadm
// does not mention at all. The translation derives them: the interfaces the VRRP instances,
// their dev options, tracked interfaces and the sync daemon name, each with an address on
// every network its virtual addresses, unicast peers and real servers need (a source
// address such as unicast_src_ip or lvs.cf's primary when the source gives one, otherwise
// a placeholder, the highest free host address of the network). Each such value carries a
// "# FILL IN" comment saying what it stands for, so that the file parses and runs as it
// is, and the operator knows what to check. Likewise for the firewall-mark rules a fwmark
// service needs ([[mark]]), which live in iptables, not in these files.
package convert
