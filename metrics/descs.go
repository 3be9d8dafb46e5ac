package metrics

import "github.com/prometheus/client_golang/prometheus"

// The label sets. backendLabels are node_exporter's IPVS collector's (collector/ipvs_linux.go,
// in that order), so that dashboards and alerts written for node_ipvs_* carry over with a
// change of prefix; serviceLabels are the virtual service's part of them. vrrpLabels are
// keepalived-exporter's common labels.
var (
	serviceLabels = []string{"local_address", "local_port", "proto", "local_mark"}
	backendLabels = []string{"local_address", "local_port", "remote_address", "remote_port", "proto", "local_mark"}
	checkLabels   = append(append([]string(nil), backendLabels...), "checker", "checker_index")
	vrrpLabels    = []string{"iname", "intf", "vrid"}
)

// vrrpCounter maps one of keepalived's per-instance counters (control.VRRPInstance.Stats,
// vrrp.Stats.Visit) to its metric.
type vrrpCounter struct {
	stat string // keepalived's name
	name string // the metric's
	help string
}

// vrrpCounters lists them in keepalived --json's order. The first fourteen are
// keepalived-exporter's keepalived_* counters with the uvs_ prefix instead; the last three
// are the VRRP MIB's (RFC 6527 vrrpv3Statistics), which keepalived-exporter does not export,
// under uvs_vrrp_.
var vrrpCounters = []vrrpCounter{
	{"advert_rcvd", "uvs_advertisements_received_total", "VRRP advertisements received that passed every check (keepalived's advert_rcvd)."},
	{"advert_sent", "uvs_advertisements_sent_total", "VRRP advertisements sent (keepalived's advert_sent)."},
	{"become_master", "uvs_become_master_total", "Transitions of the instance to MASTER (keepalived's become_master)."},
	{"release_master", "uvs_release_master_total", "Transitions of the instance from MASTER to BACKUP or FAULT (keepalived's release_master)."},
	{"packet_len_err", "uvs_packet_length_errors_total", "VRRP packets dropped for a bad length (keepalived's packet_len_err)."},
	{"advert_interval_err", "uvs_advertisements_interval_errors_total", "VRRPv2 advertisements with an interval other than the configured one (keepalived's advert_interval_err)."},
	{"ip_ttl_err", "uvs_ip_ttl_errors_total", "VRRP packets dropped for an IP TTL or hop limit other than 255 (keepalived's ip_ttl_err)."},
	{"invalid_type_rcvd", "uvs_invalid_type_received_total", "VRRP packets with an unknown type (keepalived's invalid_type_rcvd)."},
	{"addr_list_err", "uvs_address_list_errors_total", "VRRP advertisements whose address list is not the configured one (keepalived's addr_list_err)."},
	{"invalid_authtype", "uvs_authentication_invalid_total", "VRRP packets with an unknown authentication type (keepalived's invalid_authtype)."},
	{"authtype_mismatch", "uvs_authentication_mismatch_total", "VRRP packets with an authentication type other than the configured one (keepalived's authtype_mismatch)."},
	{"auth_failure", "uvs_authentication_failure_total", "VRRP packets that failed authentication (keepalived's auth_failure)."},
	{"pri_zero_rcvd", "uvs_priority_zero_received_total", "VRRP advertisements received with priority 0, a master resigning (keepalived's pri_zero_rcvd)."},
	{"pri_zero_sent", "uvs_priority_zero_sent_total", "VRRP advertisements sent with priority 0 on resigning (keepalived's pri_zero_sent)."},
	{"chk_err", "uvs_vrrp_checksum_errors_total", "VRRP packets dropped for a bad checksum (VRRP MIB vrrpv3StatisticsChecksumErrors)."},
	{"vers_err", "uvs_vrrp_version_errors_total", "VRRP packets dropped for an unknown or unconfigured version (VRRP MIB vrrpv3StatisticsVersionErrors)."},
	{"vrid_err", "uvs_vrrp_vrid_errors_total", "VRRP packets dropped for a VRID no instance has (VRRP MIB vrrpv3StatisticsVrIdErrors)."},
}

// ipvsCounters are IPVS's five cumulative counters, in control.Stats's order; each appears
// as a global, a per-service and a per-backend metric. The global names are node_exporter's
// node_ipvs_*; the others insert service_ or backend_ in them.
var ipvsCounters = [5]struct{ suffix, help string }{
	{"connections_total", "connections scheduled"},
	{"incoming_packets_total", "packets from the clients"},
	{"outgoing_packets_total", "packets toward the clients"},
	{"incoming_bytes_total", "bytes from the clients, IP headers included"},
	{"outgoing_bytes_total", "bytes toward the clients, IP headers included"},
}

// descs are the collector's metric descriptions, made once per collector.
type descs struct {
	all []*prometheus.Desc // every one, for Describe

	up, scrapeErrors, started *prometheus.Desc

	ipvsTotal, ipvsService, ipvsBackend [5]*prometheus.Desc

	backendActive, backendInactive, backendPersistent, backendWeight *prometheus.Desc

	serviceInfo, serviceQuorumUp, serviceSorry *prometheus.Desc
	timeout                                    *prometheus.Desc

	serverInfo, serverInTable, serverWeight, serverUp *prometheus.Desc

	checkUp, checks, checkFailures, checkTransitions, checkLast *prometheus.Desc

	healthServerTransitions, healthQuorumTransitions, healthScripts, healthScriptFailures *prometheus.Desc

	vrrpState, vrrpPriority, vrrpVIP *prometheus.Desc
	vrrpCounters                     map[string]*prometheus.Desc // by keepalived's counter name

	syncRunning *prometheus.Desc
	sync        [9]*prometheus.Desc // in syncCounters' order

	tableEntries, tableTemplates, tableCapacity, tableInserted, tableExpired, tableRefused *prometheus.Desc
	tableEvicted, defensePressure, defenseOn, defenseDropRate                              *prometheus.Desc
	clockJumps, clockOffset                                                                *prometheus.Desc

	drops *prometheus.Desc

	port [len(portCounters)]*prometheus.Desc // in portCounters' order
}

// syncCounters are the sync daemon's counters (control.Sync), in the order collectSync
// reads them.
var syncCounters = [9]struct{ name, help string }{
	{"uvs_sync_messages_sent_total", "Connection-sync messages sent by the master sync daemon."},
	{"uvs_sync_connections_sent_total", "Connections carried in the sync messages sent."},
	{"uvs_sync_messages_received_total", "Connection-sync messages received by the backup sync daemon."},
	{"uvs_sync_connections_received_total", "Connections carried in the sync messages received."},
	{"uvs_sync_connections_installed_total", "Received connections installed in the connection table."},
	{"uvs_sync_install_failures_total", "Received connections that could not be installed in the connection table."},
	{"uvs_sync_bad_messages_total", "Sync messages received that did not decode (malformed, another sync ID, failed verification)."},
	{"uvs_sync_send_failures_total", "Sync messages the master could not send."},
	{"uvs_sync_bulk_sends_total", "Sends of the whole connection table (on a resync request or sync_refresh_period)."},
}

// portCounters are a port's counters (control.Port), in the order collectPorts reads them.
var portCounters = [...]struct{ name, help string }{
	{"uvs_port_receive_frames_total", "Frames read from the port."},
	{"uvs_port_receive_errors_total", "Failed reads on the port."},
	{"uvs_port_receive_dropped_frames_total", "Frames the port dropped before uvs could read them (a full receive ring or queue: uvs fell behind)."},
	{"uvs_port_receive_syn_dropped_frames_total", "TCP connection openings the port dropped at its full SYN ring, before uvs could read them (also in uvs_port_receive_dropped_frames_total): a SYN flood shed."},
	{"uvs_port_forwarded_frames_total", "Frames received on the port and sent on (out of whichever port)."},
	{"uvs_port_passed_frames_total", "Frames received on the port and handed to the host's stack."},
	{"uvs_port_rejected_frames_total", "Frames received on the port and answered with an ICMP error instead."},
	{"uvs_port_dropped_frames_total", "Frames received on the port and dropped (the reasons are in uvs_dropped_packets_total)."},
	{"uvs_port_transmit_frames_total", "Frames uvs sent out of the port (forwarded frames and ICMP errors; not the host's own)."},
	{"uvs_port_transmit_dropped_frames_total", "Frames the port refused to send (queue full, write error)."},
}

func newDescs() *descs {
	d := &descs{vrrpCounters: make(map[string]*prometheus.Desc, len(vrrpCounters))}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		x := prometheus.NewDesc(name, help, labels, nil)
		d.all = append(d.all, x)
		return x
	}

	d.up = desc("uvs_up", "Whether the last scrape could read the appliance's state (1) or not (0).")
	d.scrapeErrors = desc("uvs_scrape_errors_total", "Scrapes that could not read the appliance's state.")
	d.started = desc("uvs_start_time_seconds", "When the appliance started, in seconds since the Unix epoch.")

	for i, c := range ipvsCounters {
		d.ipvsTotal[i] = desc("uvs_ipvs_"+c.suffix, "IPVS: all virtual services' "+c.help+".")
		d.ipvsService[i] = desc("uvs_ipvs_service_"+c.suffix, "IPVS: the virtual service's "+c.help+".", serviceLabels...)
		d.ipvsBackend[i] = desc("uvs_ipvs_backend_"+c.suffix, "IPVS: the real server's "+c.help+", in this virtual service.", backendLabels...)
	}
	d.backendActive = desc("uvs_ipvs_backend_connections_active", "IPVS: the real server's active connections (ipvsadm ActiveConn).", backendLabels...)
	d.backendInactive = desc("uvs_ipvs_backend_connections_inactive", "IPVS: the real server's inactive connections (ipvsadm InActConn).", backendLabels...)
	d.backendPersistent = desc("uvs_ipvs_backend_connections_persistent", "IPVS: the real server's persistence templates (ipvsadm --persistent-conn PersistConn).", backendLabels...)
	d.backendWeight = desc("uvs_ipvs_backend_weight", "IPVS: the real server's current weight, what the scheduler uses (0 while a check holds it down with inhibit_on_failure).", backendLabels...)

	d.serviceInfo = desc("uvs_ipvs_service_info", "A configured virtual service, with keepalived's name for it and its scheduler; always 1.", append(append([]string(nil), serviceLabels...), "name", "scheduler")...)
	d.serviceQuorumUp = desc("uvs_ipvs_service_quorum_up", "Whether the virtual service's alive real servers reach its quorum (1) or not (0); 1 without checks.", serviceLabels...)
	d.serviceSorry = desc("uvs_ipvs_service_sorry_server_active", "Whether the virtual service's sorry server is in use (1) or not (0).", serviceLabels...)
	d.timeout = desc("uvs_ipvs_timeout_seconds", "IPVS's connection timeouts (ipvsadm --set): tcp, tcpfin, udp.", "timeout")

	d.serverInfo = desc("uvs_real_server_info", "A real server of a virtual service, with its forwarding method (Masq, Route, Tunnel, FullNat); always 1.", append(append([]string(nil), backendLabels...), "method")...)
	d.serverInTable = desc("uvs_real_server_in_table", "Whether the real server is in the scheduling table (1) or out of it after failing its checks (0).", backendLabels...)
	d.serverWeight = desc("uvs_real_server_configured_weight", "The real server's configured weight (uvs_ipvs_backend_weight is the one in use).", backendLabels...)
	d.serverUp = desc("uvs_real_server_up", "Whether the real server's health checks find it alive (1) or not (0); 1 without checks.", backendLabels...)

	d.checkUp = desc("uvs_health_check_up", "Whether the health checker finds the real server up (1) or down (0).", checkLabels...)
	d.checks = desc("uvs_health_checks_total", "Health checks the checker ran.", checkLabels...)
	d.checkFailures = desc("uvs_health_check_failures_total", "Health checks of the checker that failed.", checkLabels...)
	d.checkTransitions = desc("uvs_health_check_transitions_total", "Transitions of the checker's verdict, to up or to down.", append(append([]string(nil), checkLabels...), "to")...)
	d.checkLast = desc("uvs_health_check_last_run_timestamp_seconds", "When the checker last ran, in seconds since the Unix epoch.", checkLabels...)

	d.healthServerTransitions = desc("uvs_health_server_transitions_total", "Transitions of whole real servers, to up or to down (keepalived's notify_up / notify_down).", "to")
	d.healthQuorumTransitions = desc("uvs_health_quorum_transitions_total", "Transitions of virtual services' quorums, gained or lost.", "to")
	d.healthScripts = desc("uvs_health_scripts_total", "Notify and quorum scripts run.")
	d.healthScriptFailures = desc("uvs_health_script_failures_total", "Notify and quorum scripts that failed.")

	d.vrrpState = desc("uvs_vrrp_state", "The VRRP instance's state: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT (keepalived-exporter's encoding), -1 unknown.", vrrpLabels...)
	d.vrrpPriority = desc("uvs_vrrp_priority", "The VRRP instance's own priority.", vrrpLabels...)
	d.vrrpVIP = desc("uvs_vrrp_vip", "A virtual address the VRRP instance holds now (only while MASTER); always 1.", append(append([]string(nil), vrrpLabels...), "ip_address")...)
	for _, c := range vrrpCounters {
		d.vrrpCounters[c.stat] = desc(c.name, c.help, vrrpLabels...)
	}

	d.syncRunning = desc("uvs_sync_daemon_running", "Whether the connection-sync daemon runs in the mode (master, backup) (1) or not (0).", "mode")
	for i, c := range syncCounters {
		d.sync[i] = desc(c.name, c.help)
	}

	d.tableEntries = desc("uvs_connection_table_entries", "Entries in the connection table, persistence templates included.")
	d.tableTemplates = desc("uvs_connection_table_templates", "Persistence templates in the connection table.")
	d.tableCapacity = desc("uvs_connection_table_capacity", "The connection table's capacity, in entries.")
	d.tableInserted = desc("uvs_connection_table_insertions_total", "Entries inserted in the connection table (connections and templates).")
	d.tableExpired = desc("uvs_connection_table_expirations_total", "Entries removed from the connection table by their timeout.")
	d.tableRefused = desc("uvs_connection_table_full_refusals_total", "Insertions refused because the connection table was full.")
	d.tableEvicted = desc("uvs_connection_table_evictions_total", "Half-open entries evicted by the drop_entry defense.")
	d.defensePressure = desc("uvs_defense_pressure", "1 while fewer connection-table entries are free than [ipvs] amemthresh.")
	d.defenseOn = desc("uvs_defense_active", "1 while a flood defense is on (IPVS's drop_entry, drop_packet, secure_tcp).", "defense")
	d.defenseDropRate = desc("uvs_defense_drop_packet_rate", "drop_packet drops one new-connection packet in this many (0: off).")
	d.clockJumps = desc("uvs_engine_clock_jumps_total", "Jumps of the engine's clock (forward past its step, or back) absorbed so that connections keep their timeouts.")
	d.clockOffset = desc("uvs_engine_clock_offset_seconds", "The engine's time minus its clock's reading: the jumps it absorbed (negative after jumps forward).")

	d.drops = desc("uvs_dropped_packets_total", "Frames dropped, by reason (icmp_suppressed counts ICMP errors not sent instead).", "reason")

	for i, c := range portCounters {
		d.port[i] = desc(c.name, c.help, "device")
	}
	return d
}
