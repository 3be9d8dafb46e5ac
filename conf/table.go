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
		return "a file_check names its file itself: file"
	case "inter", "interval":
		return "the interval between checks is delay_loop"
	case "http_protocol", "fast_recovery", "regex", "regex_no_match", "regex_options",
		"regex_stack", "regex_min_offset", "regex_max_offset", "tls_compliant",
		"log_all_failures", "bind_if", "min_reply_length", "max_reply_length", "smtp_alert",
		"snmp_name", "ha_suspend", "helo_name":
		return "keepalived's " + k + " is not supported"
	case "digest", "status_code":
		return "it belongs in a url of an http_get or ssl_get ([[virtual_server.real_server.http_get.url]])"
	case "url", "enable_sni", "sni_name", "payload", "require_reply", "misc_path", "misc_timeout",
		"misc_dynamic", "connect_ip", "connect_port", "bindto", "bind_port":
		return "it belongs in a checker, like [[virtual_server.real_server." + string(checkKeys[k][0]) + "]]"
	}
	return ""
}
