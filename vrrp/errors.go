package vrrp

import "errors"

// Kind classifies why an advertisement was dropped, by the keepalived counter that counts it
// (keepalived --json, keepalived-exporter). Parse returns the codec's kinds; Router.Receive
// the ones that need the virtual router's configuration.
type Kind uint8

const (
	KindNone Kind = iota
	// KindLength: shorter than a header, or not exactly header + addresses (+ v2 auth data).
	KindLength
	// KindTTL: sent to a multicast group with a TTL / hop limit other than 255.
	KindTTL
	// KindVersion: not 2 or 3, version 2 over IPv6, or not the router's version.
	KindVersion
	// KindType: not an advertisement (type 1).
	KindType
	// KindAuthType: a version 2 auth type that is not 0 (none), 1 (PASS) or 2 (AH).
	KindAuthType
	// KindChecksum: the checksum does not verify.
	KindChecksum
	// KindVRID: virtual router id 0, or not the router's.
	KindVRID
	// KindInterval: an advert interval of 0, or (version 2) not the router's.
	KindInterval
	// KindAddrList: the addresses are not of one family (source, destination, router).
	KindAddrList
	// KindAuthMismatch: a version 2 auth type that is not the router's.
	KindAuthMismatch
	// KindAuthFailure: a version 2 PASS that is not the router's.
	KindAuthFailure
)

// Counter returns the name of the keepalived counter that counts kind k. Three are the
// RFC MIB's (keepalived SNMP, not in --json): chk_err, vers_err, vrid_err.
func (k Kind) Counter() string {
	switch k {
	case KindLength:
		return "packet_len_err"
	case KindTTL:
		return "ip_ttl_err"
	case KindVersion:
		return "vers_err"
	case KindType:
		return "invalid_type_rcvd"
	case KindAuthType:
		return "invalid_authtype"
	case KindChecksum:
		return "chk_err"
	case KindVRID:
		return "vrid_err"
	case KindInterval:
		return "advert_interval_err"
	case KindAddrList:
		return "addr_list_err"
	case KindAuthMismatch:
		return "authtype_mismatch"
	case KindAuthFailure:
		return "auth_failure"
	}
	return ""
}

func (k Kind) String() string { return k.Counter() }

// Error is an error of this package: a Kind and what went wrong. The package returns only the
// values below (no allocation); compare with == or errors.Is, or read Kind with KindOf.
type Error struct {
	Kind Kind
	msg  string
}

func (e *Error) Error() string { return "vrrp: " + e.msg }

// The errors Parse, Marshal and Router.Receive return.
var (
	ErrLength       = &Error{KindLength, "bad length"}
	ErrShortBuffer  = &Error{KindLength, "buffer too small"}
	ErrTooManyAddrs = &Error{KindLength, "more than 255 addresses"}
	ErrTTL          = &Error{KindTTL, "TTL / hop limit is not 255"}
	ErrVersion      = &Error{KindVersion, "bad version"}
	ErrType         = &Error{KindType, "not an advertisement"}
	ErrAuthType     = &Error{KindAuthType, "invalid auth type"}
	ErrChecksum     = &Error{KindChecksum, "bad checksum"}
	ErrVRID         = &Error{KindVRID, "bad virtual router id"}
	ErrInterval     = &Error{KindInterval, "bad advert interval"}
	ErrAddrFamily   = &Error{KindAddrList, "address family mismatch"}
	ErrAuthMismatch = &Error{KindAuthMismatch, "auth type mismatch"}
	ErrAuthFailure  = &Error{KindAuthFailure, "wrong password"}
)

// KindOf returns the Kind of an error of this package, KindNone for any other error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindNone
}
