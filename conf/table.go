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
	p.Reader = &tomlpos.Reader{
		Pos:  tomlpos.Locate(src),
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
	case "delay_loop", "inhibit_on_failure", "connect_timeout", "connect_port", "retry",
		"nb_get_retry", "delay_before_retry", "notify_up", "notify_down", "TCP_CHECK",
		"HTTP_GET", "SSL_GET", "MISC_CHECK", "DNS_CHECK", "UDP_CHECK", "SMTP_CHECK",
		"BFD_CHECK", "PING_CHECK", "alpha", "omega", "quorum", "hysteresis", "virtualhost",
		"sorry_server_inhibit", "ha_suspend":
		return "health checks are not configurable yet"
	}
	return ""
}
