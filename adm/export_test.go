package adm

import "net"

// SetResolver replaces the resolver of host and service names; it returns the previous one.
func SetResolver(r *net.Resolver) *net.Resolver {
	old := resolver
	resolver = r
	return old
}
