package adm

import (
	"bufio"
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/uvs-lb/uvs/control"
)

// ipvsVersion is the IPVS version ipvsadm reports; uvs implements that version's
// behaviour and speaks its formats.
const ipvsVersion = "1.2.1"

// format is how a listing is printed: ipvsadm's format flags.
type format uint16

const (
	fmtNumeric format = 1 << iota // accepted; uvs always prints numbers (see the package doc)
	fmtRule                       // -S: the table as ipvsadm command lines
	fmtStats
	fmtRate
	fmtThresholds
	fmtPersistConn
	fmtNoSort
	fmtExact
	fmtTunInfo
)

// listAll prints the whole table: ipvsadm -L, and -S with fmtRule.
func listAll(w *bufio.Writer, s *control.Snapshot, f format) {
	if f&fmtRule == 0 {
		fmt.Fprintf(w, "IP Virtual Server version %s (size=%d)\n", ipvsVersion, s.Table.Capacity)
	}
	svcs := slices.Clone(s.Services)
	if f&fmtNoSort == 0 {
		slices.SortStableFunc(svcs, func(a, b control.Service) int { return compareServices(&a, &b) })
	}
	printTitle(w, f)
	for i := range svcs {
		printService(w, &svcs[i], f)
	}
}

// listService prints one service: ipvsadm -L -t ADDR:PORT (no version line).
func listService(w *bufio.Writer, s *control.Snapshot, key control.ServiceKey, f format) error {
	sv := findService(s, key)
	if sv == nil {
		return listFailed("No such service")
	}
	printTitle(w, f)
	printService(w, sv, f)
	return nil
}

// compareServices orders services as ipvsadm sorts them: firewall marks after addresses
// (by mark), then by family, protocol, address and port. ipvsadm's comparison subtracts
// 32-bit values and so misorders addresses more than 2^31 apart; uvs sorts in true order.
func compareServices(a, b *control.Service) int {
	return cmp.Or(
		cmp.Compare(a.FWMark, b.FWMark),
		cmp.Compare(family(&a.ServiceKey), family(&b.ServiceKey)),
		cmp.Compare(protoNumber(a.Proto), protoNumber(b.Proto)),
		a.Addr.Compare(b.Addr),
		cmp.Compare(a.Port, b.Port),
	)
}

// compareServers orders real servers as ipvsadm does: by address, then port.
func compareServers(a, b *control.Server) int {
	return cmp.Or(a.Addr.Compare(b.Addr), cmp.Compare(a.Port, b.Port))
}

// family is 4 or 6: the family of a service.
func family(k *control.ServiceKey) int {
	if isV6(k) {
		return 6
	}
	return 4
}

func isV6(k *control.ServiceKey) bool {
	if k.FWMark != 0 {
		return k.Family == "inet6"
	}
	return k.Addr.IsValid() && !k.Addr.Is4()
}

// protoNumber is the IP protocol number IPVS sorts by.
func protoNumber(p string) int {
	switch strings.ToUpper(p) {
	case "TCP":
		return 6
	case "UDP":
		return 17
	case "SCTP":
		return 132
	}
	return 0
}

// sameService reports whether a names the service b.
func sameService(a, b *control.ServiceKey) bool {
	if a.FWMark != 0 || b.FWMark != 0 {
		return a.FWMark == b.FWMark && isV6(a) == isV6(b)
	}
	return strings.EqualFold(a.Proto, b.Proto) && a.Addr == b.Addr && a.Port == b.Port
}

func findService(s *control.Snapshot, key control.ServiceKey) *control.Service {
	for i := range s.Services {
		if sameService(&s.Services[i].ServiceKey, &key) {
			return &s.Services[i]
		}
	}
	return nil
}

func findServer(sv *control.Service, addr netip.Addr, port uint16) *control.Server {
	for i := range sv.Servers {
		if d := &sv.Servers[i]; d.Addr == addr && d.Port == port {
			return d
		}
	}
	return nil
}

// printTitle prints the column headers of a listing.
func printTitle(w *bufio.Writer, f format) {
	const svc = "Prot LocalAddress:Port"
	switch {
	case f&fmtStats != 0:
		fmt.Fprintf(w, "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n",
			svc, "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes")
	case f&fmtRate != 0:
		fmt.Fprintf(w, "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n",
			svc, "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS")
	case f&fmtThresholds != 0:
		fmt.Fprintf(w, "%-33s %-10s %-10s %-10s %-10s\n  -> RemoteAddress:Port\n",
			svc, "Uthreshold", "Lthreshold", "ActiveConn", "InActConn")
	case f&fmtPersistConn != 0:
		fmt.Fprintf(w, "%-33s %-9s %-11s %-10s %-10s\n  -> RemoteAddress:Port\n",
			svc, "Weight", "PersistConn", "ActiveConn", "InActConn")
	case f&fmtTunInfo != 0:
		w.WriteString("Prot LocalAddress:Port Scheduler Flags\n" +
			"  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n")
	case f&fmtRule == 0:
		w.WriteString("Prot LocalAddress:Port Scheduler Flags\n" +
			"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n")
	}
}

// addrPort spells an address and port as ipvsadm -n: IPv6 in brackets.
func addrPort(a netip.Addr, port uint16) string {
	switch {
	case !a.IsValid():
		a = netip.IPv4Unspecified()
	case !a.Is4():
		return "[" + a.String() + "]:" + strconv.Itoa(int(port))
	}
	return a.String() + ":" + strconv.Itoa(int(port))
}

// serviceName is a service as a listing names it ("TCP  10.0.0.1:80", "FWM  1 IPv6") or as
// a rule does ("-t 10.0.0.1:80", "-f 1 -6").
func serviceName(sv *control.Service, f format) string {
	v6 := isV6(&sv.ServiceKey)
	if sv.FWMark != 0 {
		switch {
		case f&fmtRule != 0 && v6:
			return fmt.Sprintf("-f %d -6", sv.FWMark)
		case f&fmtRule != 0:
			return fmt.Sprintf("-f %d", sv.FWMark)
		case v6:
			return fmt.Sprintf("FWM  %d IPv6", sv.FWMark)
		}
		return fmt.Sprintf("FWM  %d", sv.FWMark)
	}
	name := addrPort(sv.Addr, sv.Port)
	proto := strings.ToUpper(sv.Proto)
	if f&fmtRule != 0 {
		switch proto {
		case "TCP":
			return "-t " + name
		case "UDP":
			return "-u " + name
		case "SCTP":
			return "--sctp-service " + name
		}
		return "--xxx-service " + name
	}
	switch proto {
	case "TCP", "UDP", "SCTP":
	default:
		proto = "?"
	}
	name = fmt.Sprintf("%-4s %s", proto, name)
	// ipvsadm cuts an IPv4 service's name to its column.
	if !v6 && len(name) > 33 {
		name = name[:33]
	}
	return name
}

// printLargeNum prints a counter in a 9-wide column as ipvsadm does: rounded down to
// K/M/G/T (powers of 1000) when it would not fit, or exactly with --exact.
func printLargeNum(w *bufio.Writer, n uint64, f format) {
	switch {
	case f&fmtExact != 0:
		s := strconv.FormatUint(n, 10)
		fmt.Fprintf(w, "%*s", max(9, len(s)+1), s)
	case n < 100_000_000:
		fmt.Fprintf(w, "%9d", n)
	case n < 1_000_000_000:
		fmt.Fprintf(w, "%8dK", n/1_000)
	case n < 100_000_000_000:
		fmt.Fprintf(w, "%8dM", n/1_000_000)
	case n < 100_000_000_000_000:
		fmt.Fprintf(w, "%8dG", n/1_000_000_000)
	default:
		fmt.Fprintf(w, "%8dT", n/1_000_000_000_000)
	}
}

// schedFlagsText is the service's scheduler flags as ipvsadm prints them, "" for none.
func schedFlagsText(sv *control.Service) (string, bool) {
	bits := schedFlagBits(sv.SchedFlags)
	if bits == 0 {
		return "", false
	}
	return strings.Join(schedFlagNames(sv.Scheduler, bits), ","), true
}

// maskText is the persistence granularity as ipvsadm prints it (a dotted mask for IPv4, a
// prefix length for IPv6), "" for a single address.
func maskText(sv *control.Service) string {
	m := sv.PersistMask
	if isV6(&sv.ServiceKey) {
		if m <= 0 || m >= 128 {
			return ""
		}
		return strconv.Itoa(m)
	}
	if m <= 0 || m >= 32 {
		return ""
	}
	bits := ^uint32(0) << (32 - m)
	return netip.AddrFrom4([4]byte{byte(bits >> 24), byte(bits >> 16), byte(bits >> 8), byte(bits)}).String()
}

// printService prints a service and its real servers.
func printService(w *bufio.Writer, sv *control.Service, f format) {
	name := serviceName(sv, f)
	switch {
	case f&fmtRule != 0:
		fmt.Fprintf(w, "-A %s -s %s", name, sv.Scheduler)
		if sv.Persistence != 0 {
			fmt.Fprintf(w, " -p %d", sv.Persistence)
			if m := maskText(sv); m != "" {
				fmt.Fprintf(w, " -M %s", m)
			}
		}
		if sv.OnePacket {
			w.WriteString(" -o")
		}
		if flags, ok := schedFlagsText(sv); ok {
			fmt.Fprintf(w, " -b %s", flags)
		}
	case f&fmtStats != 0:
		fmt.Fprintf(w, "%-33s", name)
		st := &sv.Stats
		for _, n := range [...]uint64{st.Conns, st.InPkts, st.OutPkts, st.InBytes, st.OutBytes} {
			printLargeNum(w, n, f)
		}
	case f&fmtRate != 0:
		fmt.Fprintf(w, "%-33s", name)
		r := &sv.Rates
		for _, n := range [...]uint64{r.CPS, r.InPPS, r.OutPPS, r.InBPS, r.OutBPS} {
			printLargeNum(w, n, f)
		}
	default:
		fmt.Fprintf(w, "%s %s", name, sv.Scheduler)
		if flags, ok := schedFlagsText(sv); ok {
			fmt.Fprintf(w, " (%s)", flags)
		}
		if sv.Persistence != 0 {
			fmt.Fprintf(w, " persistent %d", sv.Persistence)
			if m := maskText(sv); m != "" {
				fmt.Fprintf(w, " mask %s", m)
			}
		}
		if sv.OnePacket {
			w.WriteString(" ops")
		}
	}
	w.WriteString("\n")

	for _, d := range tableServers(sv, f) {
		printServer(w, name, d, f)
	}
}

// tableServers are the real servers IPVS would hold: those in the scheduling table (a
// server that failed its checks without inhibit_on_failure is out of it, as keepalived
// would have deleted it), sorted unless --nosort.
func tableServers(sv *control.Service, f format) []*control.Server {
	var ds []*control.Server
	for i := range sv.Servers {
		if sv.Servers[i].InTable {
			ds = append(ds, &sv.Servers[i])
		}
	}
	if f&fmtNoSort == 0 {
		slices.SortStableFunc(ds, compareServers)
	}
	return ds
}

// forwardName is the Forward column: ipvsadm's words, and uvs's FullNat.
func forwardName(method string) string {
	switch method {
	case "Masq", "Route", "Tunnel", "Local", "FullNat":
		return method
	case "":
		return "Route"
	}
	return method
}

// forwardSwitch is the option that selects a method on ipvsadm's command line.
func forwardSwitch(method string) string {
	switch method {
	case "Masq":
		return "-m"
	case "Tunnel":
		return "-i"
	case "FullNat":
		return "--fullnat"
	}
	// Route, and Local (IPVS's name for a real server on the director itself).
	return "-g"
}

// tunFlagText and tunFlagOption spell a tunnel's checksum choice as ipvsadm's --tun-info
// and -S do.
func tunFlagText(flags string) string {
	switch flags {
	case "csum":
		return "+c"
	case "remcsum":
		return "r+c"
	}
	return "-c"
}

func tunFlagOption(flags string) string {
	switch flags {
	case "csum":
		return "--tun-csum"
	case "remcsum":
		return "--tun-remcsum"
	}
	return "--tun-nocsum"
}

// tunType is a tunnel server's encapsulation: the model's "" is ipip.
func tunType(d *control.Server) string {
	if d.TunType == "" {
		return "ipip"
	}
	return d.TunType
}

// tunInfo is the TunnelInfo column.
func tunInfo(d *control.Server) string {
	if d.Method != "Tunnel" {
		return "n/a"
	}
	switch t := tunType(d); t {
	case "ipip":
		return t
	case "gue":
		return fmt.Sprintf("gue:%d:%s", d.TunPort, tunFlagText(d.TunFlags))
	case "gre":
		return "gre:" + tunFlagText(d.TunFlags)
	}
	return "n/a"
}

// printServer prints one real server of the service named svc.
func printServer(w *bufio.Writer, svc string, d *control.Server, f format) {
	name := addrPort(d.Addr, d.Port)
	if f&fmtRule == 0 && d.Addr.Is4() && len(name) > 28 {
		name = name[:28]
	}
	// The weight IPVS holds: what the scheduler uses now (0 while inhibited by a check).
	weight := d.CurrentWeight
	// ipvsadm prints the connection counts unsigned.
	active, inact, persist := uint32(d.ActiveConns), uint32(d.InactConns), uint32(d.PersistConns)
	switch {
	case f&fmtRule != 0:
		// As ipvsadm's, a rule leaves thresholds out: -S saves what ipvsadm saves.
		fmt.Fprintf(w, "-a %s -r %s %s -w %d", svc, name, forwardSwitch(d.Method), weight)
		if d.Method == "Tunnel" {
			switch t := tunType(d); t {
			case "ipip":
				w.WriteString(" --tun-type ipip")
			case "gue":
				fmt.Fprintf(w, " --tun-type gue --tun-port %d %s", d.TunPort, tunFlagOption(d.TunFlags))
			case "gre":
				fmt.Fprintf(w, " --tun-type gre %s", tunFlagOption(d.TunFlags))
			}
		}
		w.WriteString("\n")
	case f&fmtStats != 0:
		fmt.Fprintf(w, "  -> %-28s", name)
		st := &d.Stats
		for _, n := range [...]uint64{st.Conns, st.InPkts, st.OutPkts, st.InBytes, st.OutBytes} {
			printLargeNum(w, n, f)
		}
		w.WriteString("\n")
	case f&fmtRate != 0:
		// ipvsadm prints a server's connection and packet rates in plain 8-wide columns.
		r := &d.Rates
		fmt.Fprintf(w, "  -> %-28s %8d %8d %8d", name, r.CPS, r.InPPS, r.OutPPS)
		printLargeNum(w, r.InBPS, f)
		printLargeNum(w, r.OutBPS, f)
		w.WriteString("\n")
	case f&fmtThresholds != 0:
		fmt.Fprintf(w, "  -> %-28s %-10d %-10d %-10d %-10d\n", name, d.Upper, d.Lower, active, inact)
	case f&fmtPersistConn != 0:
		fmt.Fprintf(w, "  -> %-28s %-9d %-11d %-10d %-10d\n", name, weight, persist, active, inact)
	case f&fmtTunInfo != 0:
		fmt.Fprintf(w, "  -> %-28s %-7s %-13s %-6d %-10d %-10d\n",
			name, forwardName(d.Method), tunInfo(d), weight, active, inact)
	default:
		fmt.Fprintf(w, "  -> %-28s %-7s %-6d %-10d %-10d\n", name, forwardName(d.Method), weight, active, inact)
	}
}

// listConns prints the connection table: ipvsadm -Lc, the kernel's /proc/net/ip_vs_conn
// in ipvsadm's columns.
func listConns(w *bufio.Writer, conns []control.Conn, f format) {
	w.WriteString("IPVS connection entries\n")
	if f&fmtPersistConn != 0 {
		fmt.Fprintf(w, "pro expire %-11s %-18s %-18s %-18s %-16s %s\n",
			"state", "source", "virtual", "destination", "pe name", "pe_data")
	} else {
		fmt.Fprintf(w, "pro expire %-11s %-18s %-18s %s\n", "state", "source", "virtual", "destination")
	}
	// uvs has no persistence engines, so no entry has pe data: every row has the short form
	// (as ipvsadm prints entries without it even under --persistent-conn).
	for i := range conns {
		c := &conns[i]
		proto := strings.ToUpper(c.Proto)
		if proto == "" {
			proto = "IP" // a firewall-mark template: IPVS's protocol 0
		}
		secs := max(int64(c.Expire/time.Second), 0)
		expire := fmt.Sprintf("%02d:%02d", secs/60, secs%60)
		fmt.Fprintf(w, "%-3s %-6s %-11s %-18s %-18s %s\n", proto, expire, c.State,
			addrPort(c.Client.Addr(), c.Client.Port()),
			addrPort(c.Virtual.Addr(), c.Virtual.Port()),
			addrPort(c.Dest.Addr(), c.Dest.Port()))
	}
}

// listTimeout prints ipvsadm -L --timeout.
func listTimeout(w *bufio.Writer, s *control.Snapshot) {
	t := &s.Timeouts
	fmt.Fprintf(w, "Timeout (tcp tcpfin udp): %d %d %d\n", t.TCP, t.TCPFin, t.UDP)
}

// syncRoles reports which roles of the sync daemon run.
func syncRoles(s *control.Sync) (master, backup bool) {
	if !s.Enabled {
		return false, false
	}
	switch s.Role {
	case "master+backup", "both":
		return true, true
	case "master":
		return true, false
	case "backup":
		return false, true
	}
	return false, false
}

// listDaemon prints ipvsadm -L --daemon: a line per running role.
func listDaemon(w *bufio.Writer, s *control.Snapshot) {
	sy := &s.Sync
	master, backup := syncRoles(sy)
	for _, role := range [...]struct {
		name string
		on   bool
	}{{"master", master}, {"backup", backup}} {
		if !role.on {
			continue
		}
		fmt.Fprintf(w, "%s sync daemon (mcast=%s, syncid=%d", role.name, sy.Interface, sy.SyncID)
		if group, port, ok := splitGroup(sy.Group); ok {
			fmt.Fprintf(w, ", group=%s", group)
			if port != 0 {
				fmt.Fprintf(w, ", port=%d", port)
			}
		}
		w.WriteString(")\n")
	}
}

// splitGroup splits the model's "224.0.0.81:8848" (or "[ff02::12]:8848", or an address
// alone) into address and port.
func splitGroup(g string) (netip.Addr, uint16, bool) {
	if g == "" {
		return netip.Addr{}, 0, false
	}
	if ap, err := netip.ParseAddrPort(g); err == nil {
		return ap.Addr(), ap.Port(), true
	}
	if a, err := netip.ParseAddr(g); err == nil {
		return a, 0, true
	}
	return netip.Addr{}, 0, false
}
