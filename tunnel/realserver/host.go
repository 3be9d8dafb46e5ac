package realserver

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
)

// SetupCommands returns the host setup a TUN real server needs that Start does not do: each
// VIP on lo, and, when there are IPv4 VIPs, ARP kept quiet about them (arp_ignore=1: answer
// ARP only for addresses of the interface asked on; arp_announce=2: never use a VIP as the
// source of an ARP request), so that the balancer alone draws the VIPs' traffic. IPv6 needs no
// equivalent: neighbor discovery does not answer for an address held on another interface.
func SetupCommands(vips []netip.Addr) []string {
	var cmds []string
	v4 := false
	for _, a := range vips {
		a = a.Unmap()
		cmds = append(cmds, fmt.Sprintf("ip addr add %s dev lo", netip.PrefixFrom(a, a.BitLen())))
		v4 = v4 || a.Is4()
	}
	if v4 {
		cmds = append(cmds,
			"sysctl -w net.ipv4.conf.all.arp_ignore=1",
			"sysctl -w net.ipv4.conf.all.arp_announce=2")
	}
	return cmds
}

// host is what CheckHost looks at, replaceable in tests.
type host struct {
	sysctl  func(key string) (string, error) // key with slashes, under /proc/sys
	ifaces  func() ([]string, error)         // interfaces with IPv4 configuration
	loAddrs func() ([]netip.Addr, error)     // addresses on lo
}

func liveHost() host {
	return host{
		sysctl: func(key string) (string, error) {
			b, err := os.ReadFile("/proc/sys/" + key)
			return strings.TrimSpace(string(b)), err
		},
		ifaces: func() ([]string, error) {
			ents, err := os.ReadDir("/proc/sys/net/ipv4/conf")
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			return names, err
		},
		loAddrs: func() ([]netip.Addr, error) {
			ifi, err := net.InterfaceByName("lo")
			if err != nil {
				return nil, err
			}
			addrs, err := ifi.Addrs()
			var out []netip.Addr
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok {
					if ip, ok := netip.AddrFromSlice(n.IP); ok {
						out = append(out, ip.Unmap())
					}
				}
			}
			return out, err
		},
	}
}

// CheckHost checks the setup SetupCommands describes in the calling thread's network
// namespace and returns what is missing, one sentence each, with the command that fixes it.
// device is the TUN device's name, left out of the ARP checks (it has no ARP).
func CheckHost(vips []netip.Addr, device string) []string {
	return liveHost().check(vips, device)
}

func (h host) check(vips []netip.Addr, device string) []string {
	var warn []string
	have := map[netip.Addr]bool{}
	lo, err := h.loAddrs()
	if err != nil {
		warn = append(warn, fmt.Sprintf("cannot list the addresses of lo: %v", err))
	}
	for _, a := range lo {
		have[a] = true
	}
	v4 := false
	for _, a := range vips {
		a = a.Unmap()
		v4 = v4 || a.Is4()
		if err == nil && !have[a] {
			warn = append(warn, fmt.Sprintf("VIP %s is not on lo, so the kernel will not accept packets for it: ip addr add %s dev lo",
				a, netip.PrefixFrom(a, a.BitLen())))
		}
	}
	if !v4 {
		return warn
	}
	// The kernel uses max(all, interface) for both.
	for _, c := range []struct {
		key  string
		want int
		why  string
	}{
		{"arp_ignore", 1, "this host answers ARP for the VIPs and draws their traffic away from the balancer"},
		{"arp_announce", 2, "this host may use a VIP as the source of its ARP requests, and peers then map the VIP to this host"},
	} {
		all, err := h.num("net/ipv4/conf/all/" + c.key)
		if err != nil {
			warn = append(warn, fmt.Sprintf("cannot read net.ipv4.conf.all.%s: %v", c.key, err))
			continue
		}
		if all >= c.want {
			continue
		}
		names, _ := h.ifaces()
		var low []string
		for _, n := range names {
			if n == "all" || n == "default" || n == "lo" || n == device {
				continue
			}
			if v, err := h.num("net/ipv4/conf/" + n + "/" + c.key); err == nil && v < c.want {
				low = append(low, fmt.Sprintf("%s=%d", n, v))
			}
		}
		if len(low) == 0 {
			continue
		}
		sort.Strings(low)
		warn = append(warn, fmt.Sprintf("net.ipv4.conf.all.%s is %d (%s): %s: sysctl -w net.ipv4.conf.all.%s=%d",
			c.key, all, strings.Join(low, " "), c.why, c.key, c.want))
	}
	return warn
}

func (h host) num(key string) (int, error) {
	s, err := h.sysctl(key)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(s)
}
