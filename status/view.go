package status

import (
	"cmp"
	"fmt"
	"html/template"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/uvs-lb/uvs/control"
)

// view is what the template renders: the Snapshot, with what is derived from it (states,
// labels, sorted and reversed lists) worked out here, in Go, where it is tested, rather
// than in the template.
type view struct {
	Title          string
	RefreshMS      int64
	RefreshSeconds int64 // the <noscript> meta refresh's, which takes whole seconds
	RefreshText    string
	CSS            template.CSS
	JS             template.JS

	// Err is the Source's failure, and Snap nil then. Now is the snapshot's time, or the
	// server's clock without one.
	Err  string
	Now  time.Time
	Snap *control.Snapshot

	Uptime   string
	Summary  summary
	VRRP     []vrrpView
	Services []serviceView
	Events   []control.Event // the most recent first
	Drops    []drop
}

type summary struct {
	Services, QuorumLost int
	ServersUp, Servers   int
	VRRP                 string // "2 MASTER, 1 BACKUP"
}

type vrrpView struct {
	control.VRRPInstance
	Class string // the state's, for its colour
	VIPs  string
	Stats []counter // the non-zero ones, by name
}

type counter struct {
	Name  string
	Value uint64
}

type serviceView struct {
	control.Service
	Key     string // ipvsadm's name of it, "TCP 10.0.0.1:80": the page's data-service
	Line    string // ipvsadm -L's line: key, scheduler, persistence, flags
	Servers []serverView
	Up      int
	Sorry   string // the sorry server's address:port, "" without one
	// SorryInUse: the sorry server serves, no real server being alive.
	SorryInUse bool
}

type serverView struct {
	control.Server
	AddrPort string // "10.0.0.2:80", "[2001:db8::2]:80": the page's data-server
	State    string // "up" or "down", the checks' verdict: the page's data-state
	Notes    []string
	Method   string
	Checks   []checkView
	// LastCheck is the most recent of the checks', LastAgo how long before the snapshot.
	LastCheck time.Time
	LastAgo   string
	Reason    string
}

type checkView struct {
	control.Check
	Title string // its counters, for the tooltip
}

type drop struct {
	Reason string
	Count  uint64
}

func newView(s *control.Snapshot, err error, o Options, now time.Time) *view {
	v := &view{
		Title:          o.Title,
		RefreshMS:      o.Refresh.Milliseconds(),
		RefreshSeconds: int64((o.Refresh + time.Second - 1) / time.Second),
		RefreshText:    duration(o.Refresh),
		CSS:            template.CSS(styleCSS),
		JS:             template.JS(refreshJS),
		Now:            now,
		Snap:           s,
	}
	if err != nil {
		v.Snap, v.Err = nil, err.Error()
		return v
	}
	v.Now = s.Time
	if !s.Started.IsZero() && s.Time.After(s.Started) {
		v.Uptime = duration(s.Time.Sub(s.Started))
	}

	states := map[string]int{}
	for _, in := range s.VRRP {
		states[in.State]++
		vv := vrrpView{VRRPInstance: in, Class: vrrpClass(in.State), VIPs: joinAddrs(in.VIPs)}
		for k, n := range in.Stats {
			if n != 0 {
				vv.Stats = append(vv.Stats, counter{k, n})
			}
		}
		slices.SortFunc(vv.Stats, func(a, b counter) int { return strings.Compare(a.Name, b.Name) })
		v.VRRP = append(v.VRRP, vv)
	}
	var parts []string
	for _, st := range []string{"MASTER", "BACKUP", "FAULT", "INIT"} {
		if states[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", states[st], st))
			delete(states, st)
		}
	}
	for _, st := range sortedKeys(states) {
		parts = append(parts, fmt.Sprintf("%d %s", states[st], st))
	}
	v.Summary.VRRP = strings.Join(parts, ", ")

	for _, svc := range s.Services {
		sv := newService(svc, s.Time)
		v.Services = append(v.Services, sv)
		v.Summary.Services++
		if !svc.QuorumUp {
			v.Summary.QuorumLost++
		}
		for _, r := range sv.Servers {
			if r.Sorry {
				continue // not a real server of the service, only its stand-in
			}
			v.Summary.Servers++
			if r.State == "up" {
				v.Summary.ServersUp++
			}
		}
	}

	// The model lists events oldest first, as they happened; operators read the newest
	// first, as in a log viewer.
	v.Events = slices.Clone(s.Events)
	slices.Reverse(v.Events)

	for _, k := range sortedKeys(s.Drops) {
		v.Drops = append(v.Drops, drop{k, s.Drops[k]})
	}
	// The largest first: they are what an operator looks for.
	slices.SortStableFunc(v.Drops, func(a, b drop) int { return cmp.Compare(b.Count, a.Count) })
	return v
}

func newService(svc control.Service, now time.Time) serviceView {
	sv := serviceView{Service: svc, Key: serviceKey(svc.ServiceKey), Line: ipvsadmLine(svc.ServiceSpec)}
	for _, r := range svc.Servers {
		rv := newServer(r, now)
		if rv.State == "up" && !r.Sorry {
			sv.Up++
		}
		if r.Sorry {
			sv.SorryInUse = true
		}
		sv.Servers = append(sv.Servers, rv)
	}
	if svc.Sorry != nil {
		sv.Sorry = addrPort(svc.Sorry.Addr, svc.Sorry.Port)
	}
	return sv
}

func newServer(r control.Server, now time.Time) serverView {
	rv := serverView{Server: r, AddrPort: addrPort(r.Addr, r.Port), State: "down", Method: method(r.ServerSpec)}
	if r.Alive {
		rv.State = "up"
	}
	switch {
	case r.Sorry:
		rv.Notes = append(rv.Notes, "sorry server")
	case !r.InTable:
		rv.Notes = append(rv.Notes, "out of table")
	case !r.Alive && r.CurrentWeight == 0:
		// inhibit_on_failure keeps a failed server in the table with weight 0, so that
		// its connections live on; say so, since the table alone looks healthy.
		rv.Notes = append(rv.Notes, "inhibited")
	case r.CurrentWeight == 0:
		rv.Notes = append(rv.Notes, "quiescent")
	default:
		rv.Notes = append(rv.Notes, "in table")
	}
	if r.Upper != 0 || r.Lower != 0 {
		rv.Notes = append(rv.Notes, fmt.Sprintf("thresholds %d–%d", r.Lower, r.Upper))
	}

	var latest *control.Check
	var down []string
	for i := range r.Checks {
		c := &r.Checks[i]
		rv.Checks = append(rv.Checks, checkView{Check: *c, Title: fmt.Sprintf(
			"%s %s: %d checks, %d failed, %d ups, %d downs", c.Kind, upDown(c.Up), c.Checks, c.Failed, c.Ups, c.Downs)})
		if latest == nil || c.LastCheck.After(latest.LastCheck) {
			latest = c
		}
		if !c.Up && c.LastReason != "" {
			down = append(down, c.Kind+": "+c.LastReason)
		}
	}
	if latest != nil && !latest.LastCheck.IsZero() {
		rv.LastCheck = latest.LastCheck
		rv.LastAgo = ago(now.Sub(latest.LastCheck))
	}
	// Why a server is down matters more than what the latest passing check said.
	if len(down) > 0 {
		rv.Reason = strings.Join(down, "; ")
	} else if latest != nil {
		rv.Reason = latest.LastReason
	}
	return rv
}

// serviceKey is ipvsadm's name of a service: "TCP 10.0.0.1:80", "UDP [2001:db8::1]:53",
// "FWM 80", "FWM 80 IPv6".
func serviceKey(k control.ServiceKey) string {
	if k.FWMark != 0 || k.Proto == "" {
		s := "FWM " + strconv.FormatUint(uint64(k.FWMark), 10)
		if k.Family == "inet6" {
			s += " IPv6"
		}
		return s
	}
	return k.Proto + " " + addrPort(k.Addr, k.Port)
}

// ipvsadmLine is the rest of ipvsadm -L's line of a service after its key: the scheduler
// and its flags, persistence with its mask, one-packet scheduling.
func ipvsadmLine(s control.ServiceSpec) string {
	b := strings.Builder{}
	b.WriteString(serviceKey(s.ServiceKey))
	b.WriteString(" " + s.Scheduler)
	if len(s.SchedFlags) > 0 {
		b.WriteString(" (" + strings.Join(s.SchedFlags, ",") + ")")
	}
	if s.Persistence > 0 {
		fmt.Fprintf(&b, " persistent %d", s.Persistence)
		v6 := s.Addr.Is6() || s.Family == "inet6"
		switch {
		case s.PersistMask <= 0: // a single address, which ipvsadm does not print
		case v6 && s.PersistMask < 128:
			fmt.Fprintf(&b, " mask %d", s.PersistMask)
		case !v6 && s.PersistMask < 32:
			m := ^uint32(0) << (32 - s.PersistMask)
			fmt.Fprintf(&b, " mask %s", netip.AddrFrom4([4]byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}))
		}
	}
	if s.OnePacket {
		b.WriteString(" ops")
	}
	return b.String()
}

// method is the forwarding method with what a tunnel adds: "Tunnel gue:6080 nocsum".
func method(s control.ServerSpec) string {
	m := s.Method
	if m != "Tunnel" {
		return m
	}
	if s.TunType != "" {
		m += " " + s.TunType
		if s.TunPort != 0 {
			m += ":" + strconv.Itoa(int(s.TunPort))
		}
	}
	if s.TunFlags != "" {
		m += " " + s.TunFlags
	}
	return m
}

func addrPort(a netip.Addr, port uint16) string {
	if !a.IsValid() {
		return "-:" + strconv.Itoa(int(port))
	}
	return netip.AddrPortFrom(a, port).String()
}

func joinAddrs(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

func vrrpClass(state string) string {
	switch state {
	case "MASTER", "BACKUP", "FAULT", "INIT":
		return strings.ToLower(state)
	}
	return "other"
}

// stateClass colours a state word of any kind (a server's, an instance's, an event's):
// good, bad, or neither.
func stateClass(state string) string {
	switch strings.ToUpper(state) {
	case "UP", "MASTER", "ALIVE", "GAINED", "OK":
		return "good"
	case "DOWN", "FAULT", "LOST", "FAILED", "ERROR":
		return "bad"
	case "BACKUP":
		return "backup"
	}
	return "neutral"
}

func upDown(up bool) string {
	if up {
		return "up"
	}
	return "down"
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// duration is d to the two largest units, as people read an uptime: "3d 4h", "5m 12s",
// "800ms".
func duration(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	units := []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}}
	var parts []string
	for _, u := range units {
		if d >= u.d || len(parts) > 0 {
			parts = append(parts, strconv.FormatInt(int64(d/u.d), 10)+u.name)
			d %= u.d
		}
		if len(parts) == 2 {
			break
		}
	}
	if len(parts) == 2 && strings.HasPrefix(parts[1], "0") {
		parts = parts[:1]
	}
	return strings.Join(parts, " ")
}

// ago is how long before the snapshot something was: "3s ago", "just now" (the clocks of
// the checker and the snapshot may differ by a little either way).
func ago(d time.Duration) string {
	if d < time.Second {
		return "just now"
	}
	return duration(d) + " ago"
}

// si is a count with an SI prefix, exact below 10000: "9999", "12.3k", "4.5M".
func si(n uint64) string {
	if n < 10000 {
		return strconv.FormatUint(n, 10)
	}
	f := float64(n)
	for _, p := range []string{"k", "M", "G", "T", "P"} {
		f /= 1000
		// The bounds are those of the rounded figure: 999.7k shows as 1.0M, not 1000k.
		switch {
		case f < 99.95:
			return strconv.FormatFloat(f, 'f', 1, 64) + p
		case f < 999.5:
			return strconv.FormatFloat(f, 'f', 0, 64) + p
		}
	}
	return strconv.FormatFloat(f/1000, 'f', 1, 64) + "E" // uint64 tops out at 18.4E
}

var funcs = template.FuncMap{
	"si":    si,
	"bytes": func(n uint64) string { return si(n) + "B" },
	"dur":   duration,
	"state": stateClass,
	// stamp is an event's or check's time, to the second; full the snapshot's, with its
	// zone; iso the machine-readable form for <time datetime>.
	"stamp": func(t time.Time) string { return t.Format("Jan 02 15:04:05") },
	"full":  func(t time.Time) string { return t.Format("2006-01-02 15:04:05 MST") },
	"iso":   func(t time.Time) string { return t.Format(time.RFC3339Nano) },
}
