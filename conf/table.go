package conf

import (
	"strings"

	"github.com/uvs-lb/uvs/conf/tomlpos"
)

// parser is what every step of reading one file shares: its name, the strict reader of its
// tables (which knows the positions of its keys) and the errors found so far. Reading never
// stops at an error, so one run reports them all.
type parser struct {
	*tomlpos.Reader
	file string
	errs Errors
}

func newParser(file string, src []byte) *parser {
	p := &parser{file: file}
	pos := tomlpos.Locate(src)
	// Locate records the elements of an array of tables ([[a.b]]: "a[0].b[0]") but not the
	// array itself; an error about the array (an unknown [[a.b]]) belongs at its first header.
	var arrays []string
	for k := range pos.Keys {
		if base, ok := strings.CutSuffix(k, "[0]"); ok {
			if _, has := pos.Keys[base]; !has {
				arrays = append(arrays, base)
			}
		}
	}
	for _, base := range arrays {
		pos.Keys[base] = pos.Keys[base+"[0]"]
	}
	p.Reader = &tomlpos.Reader{
		Pos:  pos,
		Hint: hint,
		Report: func(key string, pos Pos, msg string) {
			p.errs = append(p.errs, &Error{File: p.file, Line: pos.Line, Col: pos.Col, Key: key, Msg: msg})
		},
	}
	return p
}

// table reads one TOML table strictly: see tomlpos.Table.
type table = tomlpos.Table

// item is one element of an array value, with its path for messages.
type item = tomlpos.Item

// failed reports whether an error was recorded about key or anything under it. Checks that
// build on a value skip themselves when it failed, so that one mistake gives one error.
func (p *parser) failed(key string) bool {
	for _, e := range p.errs {
		if e.Key == key || strings.HasPrefix(e.Key, key+".") || strings.HasPrefix(e.Key, key+"[") {
			return true
		}
	}
	return false
}

// hint helps with an unknown key that is a keepalived or ipvsadm name: what it is called here.
func hint(k string) string {
	switch k {
	case "lvs_sched", "scheduler":
		return "the scheduler is lb_algo"
	case "lvs_method", "method", "forwarding":
		return "the forwarding method is lb_kind"
	case "persistent", "persistence":
		return "persistence is persistence_timeout"
	case "nb_get_retry":
		return "nb_get_retry, deprecated in keepalived, is retry"
	case "TCP_CHECK", "HTTP_GET", "SSL_GET", "UDP_CHECK", "DNS_CHECK", "PING_CHECK", "MISC_CHECK",
		"FILE_CHECK":
		return "checkers are written in lower case: " + strings.ToLower(k)
	case "SMTP_CHECK", "smtp_check", "BFD_CHECK", "bfd_check":
		return strings.ToUpper(k) + " is not supported"
	case "track_file":
		return "a file_check names its file itself: file; VRRP tracks a [[vrrp_track_file]], named in a vrrp_instance's track_file"
	case "inter", "interval":
		return "the interval between checks is delay_loop; between VRRP adverts, advert_int"
	case "http_protocol", "fast_recovery", "regex", "regex_no_match", "regex_options",
		"regex_stack", "regex_min_offset", "regex_max_offset", "tls_compliant",
		"log_all_failures", "bind_if", "min_reply_length", "max_reply_length",
		"snmp_name", "ha_suspend", "helo_name":
		return "keepalived's " + k + " is not supported"
	case "vrrp_version", "vrrp_mcast_group4", "vrrp_mcast_group6", "vrrp_garp_master_delay",
		"vrrp_garp_master_repeat", "vrrp_garp_master_refresh", "vrrp_garp_master_refresh_repeat",
		"vrrp_garp_interval", "vrrp_gna_interval", "vrrp_notify_fifo", "vrrp_notify_fifo_script",
		"vrrp_notify_priority_changes":
		return "keepalived's global_defs " + k + " is " + strings.TrimPrefix(k, "vrrp_") + " in [vrrp]"
	case "smtp_alert":
		return "smtp_alert is a key of the [[virtual_server]] (for its real servers), of a [[vrrp_instance]] and of a [[vrrp_sync_group]]"
	case "global_defs":
		return "keepalived's global_defs for VRRP are the [vrrp] table, without the vrrp_ prefix (vrrp_version is [vrrp] version); its mail keys (notification_email, smtp_server, router_id, ...) are [alerts]"
	case "advertise_interval", "advert_interval", "advertisement_interval", "advert":
		return "the advertisement interval is advert_int"
	case "vrid", "virtual_router":
		return "the VRID is virtual_router_id"
	case "preempt":
		return "preemption is the default; nopreempt = true turns it off"
	case "auth_type", "auth_pass":
		return `it belongs in authentication = { auth_type = "PASS", auth_pass = "..." }`
	case "vip", "vips", "virtual_ip", "virtual_ips", "virtual_address", "virtual_addresses":
		return "the virtual addresses are virtual_ipaddress"
	case "mcast_dst_address", "mcast_group", "multicast_group":
		return "an instance's multicast group is mcast_dst_ip; the default of all is [vrrp] mcast_group4 or mcast_group6"
	case "native_ipv6":
		return "an instance is IPv6 when its virtual_ipaddress are"
	case "vrrp_strict", "strict_mode", "accept", "no_accept", "vrrp_skip_check_adv_addr",
		"skip_check_adv_addr", "vrrp_check_unicast_src", "check_unicast_src", "unicast_ttl",
		"track_src_ip", "garp_lower_prio_delay", "garp_lower_prio_repeat",
		"vrrp_garp_lower_prio_delay", "vrrp_garp_lower_prio_repeat", "lower_prio_no_advert",
		"vrrp_lower_prio_no_advert", "higher_prio_send_advert", "vrrp_higher_prio_send_advert",
		"down_timer_adverts", "promote_secondaries", "kernel_rx_buf_size", "vmac_xmit_base",
		"use_vmac_addr", "use_ipvlan", "vrf", "linkbeat_use_polling", "linkbeat_interfaces",
		"auth_hmac", "notify_deleted", "notify_master_rx_lower_pri", "unicast_fault_no_peer",
		"owner_ignore_adverts", "v3_checksum_as_v2", "old_unicast_checksum", "garp_extra_if",
		"timer_expired_backup", "no_virtual_ipaddress", "virtual_routes", "virtual_rules",
		"static_ipaddress", "static_routes", "static_rules", "garp_group", "track_group",
		"track_process", "vrrp_track_process", "track_bfd", "lvs_sync_daemon_interface",
		"script_user", "enable_script_security":
		return "keepalived's " + k + " is not supported"
	case "lvs_sync_daemon", "sync_daemon", "start_daemon":
		return "connection sync is the [sync] table (interface, vrrp_instance, id, maxlen, port, ttl, group)"
	case "global_tracking":
		return "keepalived's global_tracking, deprecated, is the sync group's own track_interface, track_script and track_file"
	case "digest", "status_code":
		return "it belongs in a url of an http_get or ssl_get ([[virtual_server.real_server.http_get.url]])"
	case "url", "enable_sni", "sni_name", "payload", "require_reply", "misc_path", "misc_timeout",
		"misc_dynamic", "connect_ip", "connect_port", "bindto", "bind_port":
		return "it belongs in a checker, like [[virtual_server.real_server." + string(checkKeys[k][0]) + "]]"
	}
	return ""
}
