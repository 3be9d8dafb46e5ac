package lab

import (
	"encoding/json"
	"time"

	"github.com/uvs-lb/uvs/lab/wire"
)

// Report is what a run saw: per client load, per real server, per appliance and per link,
// the timeline as it happened, the traffic over time, and the expectations judged. Text,
// JSON and SVG present it; JSON holds all of it (durations in nanoseconds).
type Report struct {
	Name     string        `json:"name"`
	File     string        `json:"file"`
	Duration time.Duration `json:"duration_ns"`
	Bucket   time.Duration `json:"bucket_ns"` // the width of each Series point
	// Setup is how long building and starting every node, link and switch took.
	Setup time.Duration `json:"setup_ns"`

	Clients    []ClientReport    `json:"clients"`
	Servers    []ServerReport    `json:"servers"`
	Appliances []ApplianceReport `json:"appliances"`
	Links      []LinkReport      `json:"links"`
	Events     []EventReport     `json:"events"`
	// Health lists the health transitions of the real servers on the appliances, in time
	// order: which server each appliance took out of a virtual server, or put back, when,
	// and why.
	Health []HealthTransition `json:"health,omitempty"`
	// VRRP lists the changes of state of the appliances' VRRP instances, in time order: who
	// became MASTER of which instance, who left it, when, and why.
	VRRP         []VRRPTransition    `json:"vrrp,omitempty"`
	Series       []SeriesPoint       `json:"series"` // all loads together, one point per bucket
	Expectations []ExpectationResult `json:"expectations"`
}

// ClientReport is one load of one client.
type ClientReport struct {
	Client   string   `json:"client"`
	Load     string   `json:"load"`
	Type     LoadType `json:"type"`
	Target   string   `json:"target"`
	Requests uint64   `json:"requests"` // requests (HTTP), exchanges (tcp-long), datagrams (udp-flows)
	Errors   uint64   `json:"errors"`
	// ErrorKinds counts errors by kind ("refused", "timeout", "status 500", ...).
	ErrorKinds map[string]uint64 `json:"error_kinds,omitempty"`
	// Latencies of the successful requests.
	P50 time.Duration `json:"p50_ns"`
	P90 time.Duration `json:"p90_ns"`
	P99 time.Duration `json:"p99_ns"`
	Max time.Duration `json:"max_ns"`
	// PerServer counts successful requests by the real server that answered.
	PerServer map[string]uint64 `json:"per_server,omitempty"`
	// Long-lived connections (tcp-long): Conns is the load's connections, Kept those that
	// ran on the one connection they made, which still worked at the end; Broken counts the
	// connections that failed once made (an exchange on them failed), Reconnects the
	// connections made again after one broke or could not be made. A failover that carries
	// the connections over keeps them all.
	Conns      uint64 `json:"conns,omitempty"`
	Kept       uint64 `json:"kept,omitempty"`
	Broken     uint64 `json:"broken,omitempty"`
	Reconnects uint64 `json:"reconnects,omitempty"`
	// Sent counts the SYNs a syn-flood load wrote; Bytes the bytes a bulk load read back
	// (its goodput), and the series have them per bucket, from the start of the clients.
	Sent        uint64   `json:"sent,omitempty"`
	Bytes       uint64   `json:"bytes,omitempty"`
	SentSeries  []uint64 `json:"sent_series,omitempty"`
	BytesSeries []uint64 `json:"bytes_series,omitempty"`
	// Start and Stop are when the load ran (its start and duration), from the start of the
	// clients.
	Start time.Duration `json:"start_ns"`
	Stop  time.Duration `json:"stop_ns"`
	// Failed says why the load could not run at all ("" when it ran).
	Failed string `json:"failed,omitempty"`
}

// Name is "client/load".
func (c *ClientReport) Name() string { return c.Client + "/" + c.Load }

// ServerReport is one real server: a host, or a name the clients saw answer (a VM).
type ServerReport struct {
	Name string `json:"name"`
	// Answered counts the requests the clients saw it answer, over every load.
	Answered uint64 `json:"answered"`
	// Share is Answered in percent of all answered requests.
	Share float64 `json:"share"`
	// Received counts the HTTP requests its HTTP services received, answered or not (its
	// own count; 0 for a server that is not a lab host).
	Received uint64 `json:"received"`
	// Decapsulated and TunnelDropped count the tunnel packets a TUN real server (a host with
	// tun_type) stripped, and refused (malformed, or not for one of its vips).
	Decapsulated  uint64 `json:"decapsulated,omitempty"`
	TunnelDropped uint64 `json:"tunnel_dropped,omitempty"`
}

// ApplianceReport is one appliance, over all its incarnations.
type ApplianceReport struct {
	Name string `json:"name"`
	// Conns counts connections scheduled to a real or sorry server.
	Conns uint64 `json:"conns"`
	// InTable is what its connection table held at the end, connections in every state
	// and persistence templates (0 if it was down); PeakInTable the most it held during
	// the run (read every 10 ms), and PeakSeries the most in each bucket. Capacity is the
	// table's bound at the end ([ipvs] size).
	InTable     int   `json:"in_table"`
	PeakInTable int   `json:"peak_in_table"`
	PeakSeries  []int `json:"peak_series,omitempty"`
	Capacity    int   `json:"capacity,omitempty"`
	// Evicted counts the half-open entries drop_entry evicted, RefusedFull the new
	// connections a full table refused, over its incarnations.
	Evicted     uint64 `json:"evicted,omitempty"`
	RefusedFull uint64 `json:"refused_full,omitempty"`
	// InPackets and OutPackets count its connections' packets by direction, as ipvsadm
	// --stats does: from the clients, and the replies it carried back to them (none with DR
	// and TUN, whose real servers answer the clients directly).
	InPackets  uint64            `json:"in_packets"`
	OutPackets uint64            `json:"out_packets"`
	Forwarded  uint64            `json:"forwarded"` // frames forwarded
	Passed     uint64            `json:"passed"`    // frames handed to its own host stack
	Dropped    uint64            `json:"dropped"`   // frames dropped
	Drops      map[string]uint64 `json:"drops,omitempty"`
	// HealthChecks and HealthFailed count its health checks (an attempt and its retries)
	// and those that failed, over its incarnations.
	HealthChecks uint64 `json:"health_checks,omitempty"`
	HealthFailed uint64 `json:"health_failed,omitempty"`
	// Checked lists the real servers it checks, as its last incarnation saw them at the end.
	Checked []CheckedReport `json:"checked,omitempty"`
	// VRRP lists its VRRP instances: their state at the start and at the end, and their
	// counters over its incarnations.
	VRRP []VRRPInstanceReport `json:"vrrp,omitempty"`
	// Sync is its connection sync daemon ([sync]) over its incarnations; nil without one.
	Sync *SyncReport `json:"sync,omitempty"`
}

// SyncReport is an appliance's connection sync, its counters summed over its incarnations.
type SyncReport struct {
	// Role is the daemon's at the end: "master" (sends), "backup" (receives), "both", or
	// "DOWN" when the appliance was killed.
	Role string `json:"role"`
	// Sent: messages and the connections (and templates) in them; Received likewise, from
	// the other appliances while a backup. Installed counts the received connections put in
	// its table (or refreshed), InstallFailed those it refused (no such service or real
	// server here, a full-NAT local address not in its pool, ...).
	MessagesSent  uint64 `json:"messages_sent"`
	ConnsSent     uint64 `json:"conns_sent"`
	MessagesRecv  uint64 `json:"messages_received"`
	ConnsRecv     uint64 `json:"conns_received"`
	Installed     uint64 `json:"installed"`
	InstallFailed uint64 `json:"install_failed"`
	BadMessages   uint64 `json:"bad_messages,omitempty"`
	SendFailures  uint64 `json:"send_failures,omitempty"`
	Bulk          uint64 `json:"bulk,omitempty"` // whole-table sends, on becoming master
	// The engine's side: records its workers queued for sending, and lost to a full queue.
	Queued     uint64 `json:"queued"`
	QueueDrops uint64 `json:"queue_drops,omitempty"`
}

// VRRPInstanceReport is one VRRP instance of an appliance.
type VRRPInstanceReport struct {
	Instance  string `json:"instance"`
	VRID      uint8  `json:"vrid"`
	Interface string `json:"interface"`
	SyncGroup string `json:"sync_group,omitempty"`
	Version   uint8  `json:"version"`
	// AdvertInt is advert_int; MasterDown the master-down interval its backup waits for
	// (3 × the master's advert interval + the skew time), at the end.
	AdvertInt  time.Duration `json:"advert_int_ns"`
	MasterDown time.Duration `json:"master_down_ns"`
	Priority   uint8         `json:"priority"` // effective, at the end (or when last seen)
	// Start is its state when the clients started, End at the end: MASTER, BACKUP, FAULT,
	// INIT, or DOWN when the appliance was killed.
	Start         string `json:"start"`
	StartPriority uint8  `json:"start_priority"`
	End           string `json:"end"`
	// Master is the master it heard last ("lb2 10.0.0.3"), itself when MASTER.
	Master string `json:"master,omitempty"`
	// Counters over every incarnation, named as keepalived names them.
	BecomeMaster  uint64 `json:"become_master"`
	ReleaseMaster uint64 `json:"release_master"`
	AdvertRcvd    uint64 `json:"advert_rcvd"`
	AdvertSent    uint64 `json:"advert_sent"`
	PriZeroRcvd   uint64 `json:"pri_zero_rcvd"`
	PriZeroSent   uint64 `json:"pri_zero_sent"`
}

// VRRPTransition is a change of state of one VRRP instance of an appliance.
type VRRPTransition struct {
	// At is when the lab saw it (within 5 ms), from the start of the clients.
	At        time.Duration `json:"at_ns"`
	Appliance string        `json:"appliance"`
	Instance  string        `json:"instance"`
	VRID      uint8         `json:"vrid"`
	// From and To are MASTER, BACKUP, FAULT, INIT, or DOWN: the appliance killed, or not
	// yet restarted.
	From string `json:"from"`
	To   string `json:"to"`
	// Reason says why: "master down" (no advert for the master-down interval), "master
	// sent priority 0", "preempt: lb2 had priority 99", "higher priority advert: lb1,
	// priority 100", "sync group VG1" (another member moved it), "fault", "fault cleared",
	// "killed", "restarted".
	Reason   string `json:"reason,omitempty"`
	Priority uint8  `json:"priority"` // its effective priority then
}

// CheckedReport is one real server an appliance checks, at the end of the run.
type CheckedReport struct {
	VirtualServer string `json:"virtual_server"`   // "10.0.0.1:80", "UDP 10.0.0.1:53", "FWM 80"
	Server        string `json:"server,omitempty"` // the host with its address ("" if none)
	Address       string `json:"address"`          // "192.168.1.22:8080"
	Alive         bool   `json:"alive"`
	Checks        uint64 `json:"checks"` // by this incarnation: checks completed, and failed
	Failed        uint64 `json:"failed"`
}

// HealthTransition is a real server taken out of a virtual server by an appliance's health
// checks, or put back.
type HealthTransition struct {
	// At is when the check that decided ended, from the start of the clients.
	At            time.Duration `json:"at_ns"`
	Appliance     string        `json:"appliance"`
	VirtualServer string        `json:"virtual_server"`
	Server        string        `json:"server,omitempty"` // the host with its address ("" if none)
	Address       string        `json:"address"`
	Up            bool          `json:"up"`
	// Check is the checker that decided ("HTTP_GET", "TCP_CHECK", ...; "" for an appliance
	// that restarted), Reason why it failed ("connection refused", "timeout", "HTTP status
	// 500 on /", ...) or "succeeded".
	Check  string `json:"check,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// LinkReport is one link's frame counts per direction.
type LinkReport struct {
	Name string        `json:"name"`
	A    string        `json:"a"`
	B    string        `json:"b"`
	AtoB wire.DirStats `json:"a_to_b"`
	BtoA wire.DirStats `json:"b_to_a"`
	// ARingDropped and BRingDropped count the frames the link delivered to the node at A
	// (B) that its port dropped, its receive queue full: what the node did not read in time.
	ARingDropped uint64 `json:"a_ring_dropped,omitempty"`
	BRingDropped uint64 `json:"b_ring_dropped,omitempty"`
}

// EventReport is one event of the timeline as it ran.
type EventReport struct {
	At      time.Duration `json:"at_ns"`
	Action  Action        `json:"action"`
	Subject string        `json:"subject"`
	// Error says why the event did not take effect ("" when it did): a reload the
	// appliance refused, a node that would not restart.
	Error string `json:"error,omitempty"`
	// Repeat names the repeated event (a flap, reloads with a count) this one is the Nth of
	// N of.
	Repeat string `json:"repeat,omitempty"`
	Nth    int    `json:"nth,omitempty"`
	N      int    `json:"n,omitempty"`
}

// SeriesPoint is one bucket of the run: answered requests by server, and errors.
type SeriesPoint struct {
	Start     time.Duration     `json:"start_ns"`
	PerServer map[string]uint64 `json:"per_server,omitempty"`
	Errors    uint64            `json:"errors"`
}

// ExpectationResult is one bound of an [[expect]] entry, judged.
type ExpectationResult struct {
	// Key is the bound's place in the file ("expect[2].share"), and File, Line and Col its
	// position.
	Key  string `json:"key"`
	File string `json:"file"`
	Line int    `json:"line"`
	Col  int    `json:"col"`
	// Subject is what it is about ("c1", "rs2", "all clients"), What the quantity.
	Subject string `json:"subject"`
	What    string `json:"what"`
	Got     string `json:"got"`
	Want    string `json:"want"`
	Pass    bool   `json:"pass"`
}

// Failed returns the expectations that failed.
func (r *Report) Failed() []ExpectationResult {
	var out []ExpectationResult
	for _, x := range r.Expectations {
		if !x.Pass {
			out = append(out, x)
		}
	}
	return out
}

// JSON returns the report as indented JSON.
func (r *Report) JSON() ([]byte, error) {
	return json.MarshalIndent(r, "", "  ")
}
