package vrrp

import (
	"net/netip"
	"time"
)

// State is a virtual router's state, named as keepalived names them.
type State uint8

const (
	StateInit State = iota
	StateBackup
	StateMaster
	StateFault
)

func (s State) String() string {
	switch s {
	case StateInit:
		return "INIT"
	case StateBackup:
		return "BACKUP"
	case StateMaster:
		return "MASTER"
	case StateFault:
		return "FAULT"
	}
	return "UNKNOWN"
}

// Protocol is VRRP's IP protocol number.
const Protocol = 112

// Default multicast groups (RFC 5798 5.1.1.2, 5.1.2.2).
var (
	GroupIPv4 = netip.MustParseAddr("224.0.0.18")
	GroupIPv6 = netip.MustParseAddr("ff02::12")
)

// Advert is one VRRP advertisement.
type Advert struct {
	Version  uint8 // 2 or 3
	VRID     uint8
	Priority uint8         // 0: the master is leaving; 255: the address owner
	Interval time.Duration // v2: whole seconds; v3: centiseconds
	// AuthType and AuthData are version 2's (RFC 3768 5.3.6): 0 none, 1 simple text
	// password (keepalived's PASS, 8 bytes, zero padded). Version 3 has none.
	AuthType uint8
	AuthData [8]byte
	Addrs    []netip.Addr // the virtual addresses, all of the advert's family
}

// Conn sends a virtual router's adverts: to the multicast group or its unicast peers, with
// TTL / hop limit 255, from its source address (IPv6: link-local).
type Conn interface {
	Send(a *Advert) error
}

// Clock is the time a Driver runs its routers on: the time package's (RealClock), or a fake
// that tests move by hand. Routers and Groups themselves read no clock: their methods take
// the time.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f once d has passed, in a goroutine of its own (or in the caller of a
	// fake clock's advance). f must not block.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc.
type Timer interface {
	// Stop prevents the call if it has not happened yet, and reports whether it did so.
	Stop() bool
}

// RealClock is the time package's clock.
type RealClock struct{}

// Now is time.Now.
func (RealClock) Now() time.Time { return time.Now() }

// AfterFunc is time.AfterFunc.
func (RealClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
