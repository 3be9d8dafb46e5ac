package adm

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/uvs-lb/uvs/control"
)

// keepalived dumps its state on SIGUSR1 (/tmp/keepalived.data: the VRRP instances, the
// virtual servers, the checkers) and its VRRP counters on SIGUSR2 (/tmp/keepalived.stats).
// uvs does the same from a Snapshot, in keepalived's layout ("------< VRRP Topology >------",
// "key = value" lines indented under each object), with uvs's fields where keepalived has
// others. `uvs adm --vrrp` and `--checks` print the VRRP and checkers parts.

// WriteDataDump writes the keepalived-like data dump of s (what keepalived writes to
// /tmp/keepalived.data on SIGUSR1): VRRP instances and sync groups, virtual servers with
// their real servers, health checkers. Write errors are w's to report (a file's Close).
func WriteDataDump(w io.Writer, s *control.Snapshot) {
	b := bufio.NewWriter(w)
	writeVRRP(b, s)
	writeLVS(b, s)
	writeCheckers(b, s)
	b.Flush()
}

// WriteStatsDump writes the keepalived-like counters of each VRRP instance of s (what
// keepalived writes to /tmp/keepalived.stats on SIGUSR2), in keepalived's layout; the
// counters uvs has beyond keepalived's follow under "Other Errors".
func WriteStatsDump(w io.Writer, s *control.Snapshot) {
	b := bufio.NewWriter(w)
	for i := range s.VRRP {
		v := &s.VRRP[i]
		st := func(name string) uint64 { return v.Stats[name] }
		fmt.Fprintf(b, "VRRP Instance: %s\n", v.Name)
		fmt.Fprintf(b, "  Advertisements:\n")
		fmt.Fprintf(b, "    Received: %d\n", st("advert_rcvd"))
		fmt.Fprintf(b, "    Sent: %d\n", st("advert_sent"))
		fmt.Fprintf(b, "  Became master: %d\n", st("become_master"))
		fmt.Fprintf(b, "  Released master: %d\n", st("release_master"))
		fmt.Fprintf(b, "  Packet Errors:\n")
		fmt.Fprintf(b, "    Length: %d\n", st("packet_len_err"))
		fmt.Fprintf(b, "    TTL: %d\n", st("ip_ttl_err"))
		fmt.Fprintf(b, "    Invalid Type: %d\n", st("invalid_type_rcvd"))
		fmt.Fprintf(b, "    Advertisement Interval: %d\n", st("advert_interval_err"))
		fmt.Fprintf(b, "    Address List: %d\n", st("addr_list_err"))
		fmt.Fprintf(b, "  Authentication Errors:\n")
		fmt.Fprintf(b, "    Invalid Type: %d\n", st("invalid_authtype"))
		fmt.Fprintf(b, "    Type Mismatch: %d\n", st("authtype_mismatch"))
		fmt.Fprintf(b, "    Failure: %d\n", st("auth_failure"))
		fmt.Fprintf(b, "  Priority Zero:\n")
		fmt.Fprintf(b, "    Received: %d\n", st("pri_zero_rcvd"))
		fmt.Fprintf(b, "    Sent: %d\n", st("pri_zero_sent"))
		if other := otherCounters(v.Stats); len(other) > 0 {
			fmt.Fprintf(b, "  Other Errors:\n")
			for _, name := range other {
				fmt.Fprintf(b, "    %s: %d\n", otherCounterLabel(name), v.Stats[name])
			}
		}
	}
	b.Flush()
}

// vrrpCounters are keepalived's per-instance counters, in the order vrrp.Stats.Visit
// gives them; keepaliveCounters the ones keepalived's stats file shows.
var (
	vrrpCounters = [...]string{
		"advert_rcvd", "advert_sent", "become_master", "release_master", "packet_len_err",
		"advert_interval_err", "ip_ttl_err", "invalid_type_rcvd", "addr_list_err",
		"invalid_authtype", "authtype_mismatch", "auth_failure", "pri_zero_rcvd",
		"pri_zero_sent", "chk_err", "vers_err", "vrid_err",
	}
	keepaliveCounters = vrrpCounters[:14]
)

// counterNames orders a counter map: the known counters first, then any other by name.
func counterNames(m map[string]uint64) []string {
	var names []string
	for _, n := range vrrpCounters {
		if _, ok := m[n]; ok {
			names = append(names, n)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(vrrpCounters[:], n) {
			names = append(names, n)
		}
	}
	return names
}

// otherCounters are the counters of m that keepalived's stats file has no line for.
func otherCounters(m map[string]uint64) []string {
	var names []string
	for _, n := range counterNames(m) {
		if !slices.Contains(keepaliveCounters, n) {
			names = append(names, n)
		}
	}
	return names
}

func otherCounterLabel(name string) string {
	switch name {
	case "chk_err":
		return "Checksum"
	case "vers_err":
		return "Version"
	case "vrid_err":
		return "VRID"
	}
	return name
}

// writeVRRP writes the VRRP part of the data dump: `uvs adm --vrrp`.
func writeVRRP(w *bufio.Writer, s *control.Snapshot) {
	w.WriteString("------< VRRP Topology >------\n")
	var groups []string
	members := map[string][]*control.VRRPInstance{}
	for i := range s.VRRP {
		v := &s.VRRP[i]
		version := v.Version
		if version == 0 {
			version = 2
		}
		fmt.Fprintf(w, " VRRP Instance = %s\n", v.Name)
		fmt.Fprintf(w, "   VRRP Version = %d\n", version)
		fmt.Fprintf(w, "   State = %s\n", v.State)
		fmt.Fprintf(w, "   Listening device = %s\n", v.Interface)
		fmt.Fprintf(w, "   Virtual Router ID = %d\n", v.VRID)
		fmt.Fprintf(w, "   Priority = %d\n", v.Priority)
		// keepalived gives VRRPv2's interval in seconds, VRRPv3's in milliseconds.
		if version == 2 {
			fmt.Fprintf(w, "   Advert interval = %s sec\n", strconv.FormatFloat(v.Interval.Seconds(), 'f', -1, 64))
		} else {
			fmt.Fprintf(w, "   Advert interval = %d milli-sec\n", v.Interval.Milliseconds())
		}
		fmt.Fprintf(w, "   Preempt = %s\n", enabled(v.Preempt))
		if v.Master.IsValid() {
			fmt.Fprintf(w, "   Master router = %s\n", v.Master)
			fmt.Fprintf(w, "   Master priority = %d\n", v.MasterPriority)
		}
		fmt.Fprintf(w, "   Master down interval = %d milli-sec\n", v.MasterDown.Milliseconds())
		if v.Fault {
			fmt.Fprintf(w, "   Fault = yes\n")
		}
		if v.SyncGroup != "" {
			fmt.Fprintf(w, "   Sync group = %s\n", v.SyncGroup)
			if _, ok := members[v.SyncGroup]; !ok {
				groups = append(groups, v.SyncGroup)
			}
			members[v.SyncGroup] = append(members[v.SyncGroup], v)
		}
		fmt.Fprintf(w, "   Virtual IP held = %d\n", len(v.VIPs))
		for _, a := range v.VIPs {
			fmt.Fprintf(w, "     %s\n", a)
		}
		if len(v.Stats) > 0 {
			w.WriteString("   Statistics:\n")
			for _, n := range counterNames(v.Stats) {
				fmt.Fprintf(w, "     %s = %d\n", n, v.Stats[n])
			}
		}
	}
	if len(groups) == 0 {
		return
	}
	w.WriteString("------< VRRP Sync groups >------\n")
	for _, g := range groups {
		fmt.Fprintf(w, " VRRP Sync Group = %s, %s\n", g, groupState(members[g]))
		for _, v := range members[g] {
			fmt.Fprintf(w, "   monitor = %s\n", v.Name)
		}
	}
}

// groupState is a sync group's state: its members move together, so it is the first
// member's, unless one of them is in FAULT, which holds the whole group there.
func groupState(vs []*control.VRRPInstance) string {
	for _, v := range vs {
		if v.State == "FAULT" {
			return "FAULT"
		}
	}
	return vs[0].State
}

func enabled(b bool) string {
	if b {
		return "enabled"
	}
	return "disabled"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// lvsMethod is keepalived's name of a forwarding method (its lb_kind).
func lvsMethod(m string) string {
	switch m {
	case "Masq":
		return "NAT"
	case "Route", "":
		return "DR"
	case "Tunnel":
		return "TUN"
	case "FullNat":
		return "FNAT"
	case "Local":
		return "LOCAL"
	}
	return m
}

// vsName is keepalived's name of a virtual server.
func vsName(sv *control.Service) string {
	if sv.Name != "" {
		return sv.Name
	}
	if sv.FWMark != 0 {
		fam := "IPv4"
		if isV6(&sv.ServiceKey) {
			fam = "IPv6"
		}
		return fmt.Sprintf("FWM %d %s", sv.FWMark, fam)
	}
	return fmt.Sprintf("[%s]:%s:%d", sv.Addr, strings.ToLower(sv.Proto), sv.Port)
}

// rsName is keepalived's name of a real server of sv.
func rsName(sv *control.Service, addr fmt.Stringer, port uint16) string {
	if sv.FWMark != 0 || sv.Proto == "" {
		return fmt.Sprintf("[%s]:%d", addr, port)
	}
	return fmt.Sprintf("[%s]:%s:%d", addr, strings.ToLower(sv.Proto), port)
}

// writeLVS writes the virtual servers part of the data dump.
func writeLVS(w *bufio.Writer, s *control.Snapshot) {
	w.WriteString("------< LVS Topology >------\n")
	fmt.Fprintf(w, " System is compiled with LVS v%s\n", ipvsVersion)
	for i := range s.Services {
		sv := &s.Services[i]
		w.WriteString(" ------< Virtual server >------\n")
		if sv.FWMark != 0 {
			fmt.Fprintf(w, " VS FWMARK = %d\n", sv.FWMark)
		} else {
			fmt.Fprintf(w, " VS VIP = %s, VPORT = %d\n", sv.Addr, sv.Port)
		}
		fmt.Fprintf(w, "   Name = %s\n", vsName(sv))
		fam := "inet"
		if isV6(&sv.ServiceKey) {
			fam = "inet6"
		}
		fmt.Fprintf(w, "   Address family = %s\n", fam)
		fmt.Fprintf(w, "   lb_algo = %s\n", sv.Scheduler)
		if flags, ok := schedFlagsText(sv); ok {
			fmt.Fprintf(w, "   sched flags = %s\n", flags)
		}
		if sv.OnePacket {
			w.WriteString("   One packet scheduling = enabled\n")
		}
		if sv.Persistence != 0 {
			fmt.Fprintf(w, "   persistence timeout = %d\n", sv.Persistence)
			if m := maskText(sv); m != "" {
				fmt.Fprintf(w, "   persistence granularity = %s\n", m)
			}
		}
		proto := sv.Proto
		if proto == "" {
			proto = "none"
		}
		fmt.Fprintf(w, "   protocol = %s\n", proto)
		fmt.Fprintf(w, "   quorum is %s\n", upDown(sv.QuorumUp))
		if ss := sv.Sorry; ss != nil {
			fmt.Fprintf(w, "   sorry server = %s\n", rsName(sv, ss.Addr, ss.Port))
			fmt.Fprintf(w, "   sorry server forwarding method = %s\n", lvsMethod(ss.Method))
		}
		st := &sv.Stats
		fmt.Fprintf(w, "   stats: conns = %d, inpkts = %d, outpkts = %d, inbytes = %d, outbytes = %d\n",
			st.Conns, st.InPkts, st.OutPkts, st.InBytes, st.OutBytes)
		for j := range sv.Servers {
			d := &sv.Servers[j]
			w.WriteString("   ------< Real server >------\n")
			fmt.Fprintf(w, "   RIP = %s, RPORT = %d, WEIGHT = %d\n", d.Addr, d.Port, d.Weight)
			fmt.Fprintf(w, "    forwarding method = %s\n", lvsMethod(d.Method))
			if d.Method == "Tunnel" {
				fmt.Fprintf(w, "    tunnel = %s\n", tunInfo(d))
			}
			if d.Upper != 0 || d.Lower != 0 {
				fmt.Fprintf(w, "    thresholds: upper = %d, lower = %d\n", d.Upper, d.Lower)
			}
			fmt.Fprintf(w, "    current weight = %d\n", d.CurrentWeight)
			fmt.Fprintf(w, "    alive = %s, in table = %s", yesNo(d.Alive), yesNo(d.InTable))
			if d.Sorry {
				w.WriteString(", sorry server in use")
			}
			w.WriteString("\n")
			fmt.Fprintf(w, "    connections: active = %d, inactive = %d, persistent = %d\n",
				d.ActiveConns, d.InactConns, d.PersistConns)
			st := &d.Stats
			fmt.Fprintf(w, "    stats: conns = %d, inpkts = %d, outpkts = %d, inbytes = %d, outbytes = %d\n",
				st.Conns, st.InPkts, st.OutPkts, st.InBytes, st.OutBytes)
		}
	}
}

func upDown(b bool) string {
	if b {
		return "UP"
	}
	return "DOWN"
}

// writeCheckers writes the health checkers part of the data dump: `uvs adm --checks`.
// Real servers without checkers (always alive) are left out, as keepalived lists checkers.
func writeCheckers(w *bufio.Writer, s *control.Snapshot) {
	w.WriteString("------< Health checkers >------\n")
	for i := range s.Services {
		sv := &s.Services[i]
		for j := range sv.Servers {
			d := &sv.Servers[j]
			if len(d.Checks) == 0 {
				continue
			}
			fmt.Fprintf(w, " %s of %s\n", rsName(sv, d.Addr, d.Port), vsName(sv))
			fmt.Fprintf(w, "   Alive = %s, in table = %s, weight = %d\n", yesNo(d.Alive), yesNo(d.InTable), d.CurrentWeight)
			for k := range d.Checks {
				ck := &d.Checks[k]
				fmt.Fprintf(w, "   Keepalive method = %s\n", ck.Kind)
				fmt.Fprintf(w, "     Status = %s\n", upDown(ck.Up))
				fmt.Fprintf(w, "     Last check = %s\n", lastCheck(s.Time, ck.LastCheck))
				if ck.LastReason != "" {
					fmt.Fprintf(w, "     Last reason = %s\n", ck.LastReason)
				}
				fmt.Fprintf(w, "     Checks = %d, failed = %d, ups = %d, downs = %d\n",
					ck.Checks, ck.Failed, ck.Ups, ck.Downs)
			}
		}
	}
}

// lastCheck is when a check last ran, and how long before the snapshot.
func lastCheck(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	s := t.Format(time.RFC3339)
	if !now.IsZero() && !now.Before(t) {
		s += " (" + now.Sub(t).Round(time.Millisecond).String() + " ago)"
	}
	return s
}
