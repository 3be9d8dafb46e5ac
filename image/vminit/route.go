package vminit

import "net/netip"

var (
	netip4Default = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	netip6Default = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
)
