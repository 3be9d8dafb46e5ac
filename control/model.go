// Package control is uvs's control API: HTTP + JSON over a unix socket (and optionally TCP
// with a bearer token), serving the appliance's state and taking runtime changes. `uvs adm`,
// the metrics and the status page are its clients; docs/api.md lists its endpoints.
package control

import (
	"net/netip"
	"time"
)

// The API's JSON model. Names follow ipvsadm and keepalived (what operators read in their
// output), not the engine's Go types, so that the model stays stable when the engine changes.

// Snapshot is the appliance's whole state at one moment: GET /v1/status. The metrics, the
// status page and most of `uvs adm` render it.
type Snapshot struct {
	Time     time.Time      `json:"time"`
	Build    Build          `json:"build"`
	Started  time.Time      `json:"started"`
	Services []Service      `json:"services"`
	VRRP     []VRRPInstance `json:"vrrp"`
	Sync     Sync           `json:"sync"`
	Timeouts Timeouts       `json:"timeouts"`
	Table    TableCounts    `json:"conn_table"`
	Health   HealthCounts   `json:"health"`
	// Drops counts dropped frames by reason (the engine's, the forwarders' and the port
	// loops' reasons: "no_service", "no_server", "ttl_exceeded", "no_route", "too_big", ...).
	Drops  map[string]uint64 `json:"drops"`
	Ports  []Port            `json:"ports"`
	Events []Event           `json:"events"` // the most recent last
}

// Build identifies the running binary.
type Build struct {
	Version   string `json:"version"`
	Revision  string `json:"revision,omitempty"`
	GoVersion string `json:"go_version"`
}

// ServiceKey names a virtual service as ipvsadm does: -t/-u ADDR:PORT, or -f MARK (with
// the family, -6 for IPv6).
type ServiceKey struct {
	Proto  string     `json:"proto,omitempty"` // "TCP", "UDP"; "" for a firewall-mark service
	Addr   netip.Addr `json:"addr,omitzero"`
	Port   uint16     `json:"port,omitempty"`
	FWMark uint32     `json:"fwmark,omitempty"`
	Family string     `json:"family,omitempty"` // "inet" or "inet6"; of a firewall-mark service
}

// ServiceSpec is what ipvsadm -A / -E set.
type ServiceSpec struct {
	ServiceKey
	Scheduler  string   `json:"scheduler"`             // rr, wrr, lc, wlc, ..., as ipvsadm -s
	SchedFlags []string `json:"sched_flags,omitempty"` // ipvsadm -b: sh-fallback, sh-port, mh-fallback, mh-port
	// Persistence is ipvsadm -p in seconds (0: not persistent), PersistMask -M as a prefix
	// length (0: a single address).
	Persistence uint32 `json:"persistence_timeout,omitempty"`
	PersistMask int    `json:"persistence_mask,omitempty"`
	OnePacket   bool   `json:"ops,omitempty"` // ipvsadm -o
}

// Service is one virtual service with its real servers and counters.
type Service struct {
	ServiceSpec
	// Name is keepalived's: "[10.0.0.1]:tcp:80", "FWM 80 IPv4".
	Name    string   `json:"name"`
	Stats   Stats    `json:"stats"`
	Rates   Rates    `json:"rates"`
	Servers []Server `json:"servers"`
	// Sorry is the sorry server; in Servers too while it is in use (no real server alive).
	Sorry *ServerSpec `json:"sorry_server,omitempty"`
	// Quorum is the health of the service as keepalived's quorum sees it: true while the
	// alive servers' weights reach the quorum (always true without checks).
	QuorumUp bool `json:"quorum_up"`
}

// ServerSpec is what ipvsadm -a / -e set.
type ServerSpec struct {
	Service ServiceKey `json:"service"`
	Addr    netip.Addr `json:"addr"`
	Port    uint16     `json:"port,omitempty"` // 0: the client's port (port-0 and fwmark services)
	// Method is ipvsadm's forwarding name: "Masq" (-m), "Route" (-g), "Tunnel" (-i), or
	// "FullNat" (uvs's full-NAT, as DPVS names it).
	Method string `json:"method"`
	Weight int32  `json:"weight"`
	Upper  uint32 `json:"u_threshold,omitempty"` // ipvsadm -x
	Lower  uint32 `json:"l_threshold,omitempty"` // ipvsadm -y
	// Tunnel options of a Tunnel server (ipvsadm --tun-type / --tun-port / --tun-nocsum,
	// --tun-csum, --tun-remcsum); TunType "" is ipip.
	TunType  string `json:"tun_type,omitempty"`
	TunPort  uint16 `json:"tun_port,omitempty"`
	TunFlags string `json:"tun_flags,omitempty"`
}

// Server is one real server of a service, live.
type Server struct {
	ServerSpec
	// Weight (in ServerSpec) is the configured one; CurrentWeight is what the scheduler
	// uses now (0 while a health check holds it down with inhibit_on_failure).
	CurrentWeight int32 `json:"current_weight"`
	ActiveConns   int32 `json:"active_conns"`
	InactConns    int32 `json:"inact_conns"`
	PersistConns  int32 `json:"persist_conns"`
	Stats         Stats `json:"stats"`
	Rates         Rates `json:"rates"`
	// InTable is false while the server is out of the scheduling table (failed its checks
	// without inhibit_on_failure); it is still listed so operators see it.
	InTable bool `json:"in_table"`
	Sorry   bool `json:"sorry,omitempty"` // it is the service's sorry server, in use
	// Alive is the checks' verdict (true when it has none); Checks its checkers.
	Alive  bool    `json:"alive"`
	Checks []Check `json:"checks,omitempty"`
}

// Check is one health checker of a real server.
type Check struct {
	Kind       string    `json:"kind"` // TCP_CHECK, HTTP_GET, SSL_GET, UDP_CHECK, DNS_CHECK, PING_CHECK, MISC_CHECK, FILE_CHECK
	Up         bool      `json:"up"`
	LastCheck  time.Time `json:"last_check,omitzero"`
	LastReason string    `json:"last_reason,omitempty"`
	Checks     uint64    `json:"checks"`
	Failed     uint64    `json:"failed"`
	Ups        uint64    `json:"ups"`
	Downs      uint64    `json:"downs"`
}

// Stats are IPVS's cumulative counters (ipvsadm --stats).
type Stats struct {
	Conns    uint64 `json:"conns"`
	InPkts   uint64 `json:"inpkts"`
	OutPkts  uint64 `json:"outpkts"`
	InBytes  uint64 `json:"inbytes"`
	OutBytes uint64 `json:"outbytes"`
}

// Rates are IPVS's estimator's per-second averages (ipvsadm --rate).
type Rates struct {
	CPS    uint64 `json:"cps"`
	InPPS  uint64 `json:"inpps"`
	OutPPS uint64 `json:"outpps"`
	InBPS  uint64 `json:"inbps"`
	OutBPS uint64 `json:"outbps"`
}

// Conn is one entry of the connection table (ipvsadm -Lc).
type Conn struct {
	Proto   string         `json:"proto"`  // "TCP", "UDP"
	Expire  time.Duration  `json:"expire"` // time left
	State   string         `json:"state"`  // ipvsadm's names: ESTABLISHED, SYN_RECV, FIN_WAIT, NONE (templates, UDP: UDP), ...
	Client  netip.AddrPort `json:"client"`
	Virtual netip.AddrPort `json:"virtual"` // a template of a firewall-mark service: the mark as the address's low bytes, as IPVS
	Dest    netip.AddrPort `json:"dest"`
	Local   netip.AddrPort `json:"local,omitzero"` // full-NAT: the appliance's source toward the server
	FWMark  uint32         `json:"fwmark,omitempty"`
	// Template is a persistence template (ipvsadm -Lc shows it with state NONE).
	Template bool `json:"template,omitempty"`
}

// Timeouts are ipvsadm --set / -L --timeout, in seconds.
type Timeouts struct {
	TCP    uint32 `json:"tcp"`
	TCPFin uint32 `json:"tcpfin"`
	UDP    uint32 `json:"udp"`
}

// TableCounts are the connection table's totals.
type TableCounts struct {
	Current   int    `json:"current"`
	Templates int    `json:"templates"`
	Capacity  int    `json:"capacity"`
	Inserted  uint64 `json:"inserted"`
	Expired   uint64 `json:"expired"`
	Refused   uint64 `json:"refused_full"`
	// Evicted counts half-open entries drop_entry evicted.
	Evicted uint64 `json:"evicted"`
	// The flood defenses ([ipvs] drop_entry, drop_packet, secure_tcp) as they stand now:
	// Pressure is true while fewer than amemthresh entries are free; DropRate is
	// drop_packet's 1-in-N (0: off).
	Pressure  bool `json:"pressure"`
	DropEntry bool `json:"drop_entry"`
	DropRate  int  `json:"drop_rate"`
	SecureTCP bool `json:"secure_tcp"`
	// The engine's time, which the table's expiries run on (lb.Engine.ClockState):
	// ClockJumps counts the jumps of its clock it absorbed (forward past the step or back),
	// ClockOffset is its time minus the clock's reading, in seconds (negative after jumps
	// forward).
	ClockJumps  uint64  `json:"clock_jumps"`
	ClockOffset float64 `json:"clock_offset"`
}

// HealthCounts count health transitions since start.
type HealthCounts struct {
	ServersDown    uint64 `json:"servers_down"`
	ServersUp      uint64 `json:"servers_up"`
	QuorumLost     uint64 `json:"quorum_lost"`
	QuorumGained   uint64 `json:"quorum_gained"`
	Scripts        uint64 `json:"scripts"`
	ScriptFailures uint64 `json:"script_failures"`
}

// VRRPInstance is one vrrp_instance, as keepalived's data dump shows it.
type VRRPInstance struct {
	Name      string        `json:"name"`
	Interface string        `json:"interface"`
	VRID      uint8         `json:"vrid"`
	State     string        `json:"state"` // INIT, BACKUP, MASTER, FAULT
	Priority  uint8         `json:"priority"`
	SyncGroup string        `json:"sync_group,omitempty"`
	Version   uint8         `json:"version"`
	Interval  time.Duration `json:"advert_int"`
	// Master is the current master's address (own address in MASTER), MasterPriority its
	// advertised priority, MasterDown the master-down interval a backup waits.
	Master         netip.Addr    `json:"master,omitzero"`
	MasterPriority uint8         `json:"master_priority"`
	MasterDown     time.Duration `json:"master_down"`
	Preempt        bool          `json:"preempt"`
	Fault          bool          `json:"fault"`
	VIPs           []netip.Addr  `json:"vips"` // the addresses held now (empty unless MASTER)
	// Stats are keepalived's per-instance counters by keepalived's names (advert_rcvd,
	// become_master, auth_failure, ...; vrrp.Stats.Visit).
	Stats map[string]uint64 `json:"stats"`
}

// Sync is the connection-sync daemon (ipvsadm -L --daemon).
type Sync struct {
	Enabled   bool   `json:"enabled"`
	Role      string `json:"role"` // "master", "backup", "both" (send and receive), "none"
	Interface string `json:"mcast_interface,omitempty"`
	SyncID    uint8  `json:"syncid"`
	Group     string `json:"group,omitempty"` // "224.0.0.81:8848"
	// Counters of the daemon.
	MessagesSent  uint64 `json:"messages_sent"`
	ConnsSent     uint64 `json:"conns_sent"`
	MessagesRecv  uint64 `json:"messages_recv"`
	ConnsRecv     uint64 `json:"conns_recv"`
	Installed     uint64 `json:"installed"`
	InstallFailed uint64 `json:"install_failed"`
	BadMessages   uint64 `json:"bad_messages"`
	SendFailures  uint64 `json:"send_failures"`
	Bulk          uint64 `json:"bulk_sends"`
}

// Port is one interface's counters.
type Port struct {
	Name      string `json:"name"`
	RxFrames  uint64 `json:"rx_frames"`
	RxErrors  uint64 `json:"rx_errors"`
	RxDropped uint64 `json:"rx_dropped"` // dropped before uvs read them: a full receive ring or queue
	// RxSYNDropped is the part of RxDropped that were TCP SYNs dropped at a full SYN ring.
	RxSYNDropped uint64 `json:"rx_syn_dropped"`
	Forwarded    uint64 `json:"forwarded"`
	Passed       uint64 `json:"passed"`
	Rejected     uint64 `json:"rejected"`
	Dropped      uint64 `json:"dropped"`
	TxFrames     uint64 `json:"tx_frames"`
	TxDropped    uint64 `json:"tx_dropped"`
}

// Event is one transition the appliance went through: a VRRP state change, a real server
// going down or up, a quorum change, a reload.
type Event struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`    // "vrrp", "server", "quorum", "config", "sync"
	Subject string    `json:"subject"` // the instance, "[10.0.0.1]:tcp:80 / [192.168.1.22]:tcp:8080", ...
	State   string    `json:"state"`   // the new state: MASTER, BACKUP, FAULT, UP, DOWN, ...
	Message string    `json:"message"` // keepalived's words for it
}

// Edit is one change to the running configuration (POST /v1/edit takes a list, applied
// together or not at all). Op is one of the Op* constants.
type Edit struct {
	Op       string       `json:"op"`
	Service  *ServiceSpec `json:"service,omitempty"`
	Server   *ServerSpec  `json:"server,omitempty"`
	Timeouts *Timeouts    `json:"timeouts,omitempty"`
}

// The edits, ipvsadm's verbs.
const (
	OpAddService    = "add-service"    // -A
	OpEditService   = "edit-service"   // -E
	OpDeleteService = "delete-service" // -D (Service's key only)
	OpAddServer     = "add-server"     // -a
	OpEditServer    = "edit-server"    // -e
	OpDeleteServer  = "delete-server"  // -d (Server's service, address and port only)
	OpClear         = "clear"          // -C
	OpSetTimeouts   = "set-timeouts"   // --set (0 keeps a value)
)

// SyncDaemon is ipvsadm --start-daemon / --stop-daemon.
type SyncDaemon struct {
	State          string `json:"state"` // "master" or "backup"
	McastInterface string `json:"mcast_interface,omitempty"`
	SyncID         uint8  `json:"syncid,omitempty"`
	SyncMaxLen     int    `json:"sync_maxlen,omitempty"`
	McastGroup     string `json:"mcast_group,omitempty"`
	McastPort      uint16 `json:"mcast_port,omitempty"`
	McastTTL       uint8  `json:"mcast_ttl,omitempty"`
}

// Error is the body of every failed request.
type Error struct {
	Error string `json:"error"`
}
