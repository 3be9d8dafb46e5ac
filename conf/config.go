package conf

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/uvs-lb/uvs/lb"
)

// Config is a checked configuration.
type Config struct {
	Interfaces []Interface
	Services   []Service
	Marks      []Mark
	IPVS       IPVS
	Log        Log

	// VRRP: [vrrp], [[vrrp_instance]], [[vrrp_script]], [[vrrp_track_file]] and
	// [[vrrp_sync_group]], keepalived's VRRP configuration.
	VRRP           VRRPGlobals
	VRRPInstances  []VRRPInstance
	VRRPScripts    []VRRPScript
	VRRPTrackFiles []VRRPTrackFile
	VRRPSyncGroups []VRRPSyncGroup

	// Sync is [sync]: IPVS connection synchronisation (keepalived's lvs_sync_daemon).
	Sync Sync

	// Control is [control], the control API's listeners; Metrics is [metrics], the
	// Prometheus exposition and the status page.
	Control Control
	Metrics Metrics

	// Alerts is [alerts], keepalived's e-mail alerts (its global_defs notification_email,
	// smtp_server, router_id, ...).
	Alerts Alerts
	// Management is [management]: the NIC the VM image's /init leaves to the kernel, with
	// its addresses, for the control API and metrics listeners.
	Management Management
	// Run is [run]: the user uvs runs as after opening its ports, and script security.
	Run Run
}

// Interface is one [[interface]]: a port and the appliance's own addresses on it.
type Interface struct {
	Name   string
	Kind   Kind
	Device string // host interface (afpacket) or tap name; "" for memory ports
	// Addresses are the appliance's own addresses, each with its on-link prefix.
	Addresses   []netip.Prefix
	MTU         int
	Gateway     netip.Addr // IPv4 default route via this interface; invalid: none
	Gateway6    netip.Addr // IPv6 default route
	Routes      []Route
	Promiscuous bool
	// VnetHdr makes an afpacket or tap port exchange virtio-net headers, so it sees GSO
	// super-frames and partial checksums instead of needing the offloads turned off.
	VnetHdr bool
	// SYNRing gives an afpacket port a second receive ring for TCP connection openings, served
	// after established traffic, so a SYN flood overflows its own ring (afpacket.Config.SYNRing).
	SYNRing bool

	key string // "interface[i]", for messages
}

// Kind is the type of port an interface uses.
type Kind string

// The kinds of port.
const (
	KindAFPacket Kind = "afpacket" // a host interface through AF_PACKET
	KindTap      Kind = "tap"      // a TAP device uvs creates or attaches to
	KindMemory   Kind = "memory"   // an in-process port (labs, tests)
)

// Route is a static route: Via is the next hop; invalid Via means the prefix is on-link.
type Route struct {
	Prefix netip.Prefix
	Via    netip.Addr
}

// Service is one [[virtual_server]], in the engine's own terms, with its health checking.
type Service struct {
	lb.ServiceConfig
	Health ServiceHealth
	// ServerHealth is the health checking of each of Servers, in the same order. The sorry
	// server is not checked, as in keepalived.
	ServerHealth []ServerHealth
	// SMTPAlert mails the service's real server and quorum transitions (smtp_alert; default
	// [alerts] smtp_alert_checker). It is false when there is no [alerts] table.
	SMTPAlert bool

	key    string   // "virtual_server[i]", for messages
	locals []string // the key of each of LocalAddrs
}

// Mark is one [[mark]] classifier rule.
type Mark struct {
	lb.MarkRule

	key string
}

// IPVS is the [ipvs] table: the sysctls and ipvsadm --set of IPVS.
type IPVS struct {
	ExpireNoDestConn        bool
	ExpireQuiescentTemplate bool
	ConnReuseMode           int
	SloppyTCP               bool
	// Size is the connection table's capacity (connections and templates); 0 means
	// conntab.DefaultCapacity.
	Size int
	// Timeouts of ipvsadm --set; 0 leaves IPVS's default.
	TCP, TCPFin, UDP time.Duration
	// Flood defenses (conf/ipvs.go, docs/config.md): amemthresh in free entries (0: size/8),
	// the modes 0-3 of drop_entry, drop_packet and secure_tcp, and am_droprate (0: 10).
	AMemThresh, AMDropRate           int
	DropEntry, DropPacket, SecureTCP int
}

// Log is the [log] table.
type Log struct {
	Level  string // debug, info, warn, error
	Format string // console, json
}

// Load reads and checks the configuration file at path. A configuration error is an Errors;
// other errors (the file cannot be read) are returned as they are.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse reads and checks a configuration; name is the file name errors carry. On error it
// returns an Errors with every problem found.
//
// BurntSushi/toml checks the syntax and decodes the document into a generic tree, which conf
// then reads key by key (with conf/tomlpos). Decoding straight into structs would stop at the first
// value of the wrong type, and toml v1.6 exposes no key positions (MetaData keeps them
// private, and per key name rather than per array element), so tomlpos.Locate finds them.
func Parse(name string, data []byte) (*Config, error) {
	var root map[string]any
	if _, err := toml.Decode(string(data), &root); err != nil {
		return nil, Errors{syntaxError(name, data, err)}
	}
	p := newParser(name, data)
	c := p.config(p.Table("", root))
	if len(p.errs) > 0 {
		p.errs.sort()
		return nil, p.errs
	}
	return c, nil
}

// config reads the document. Interfaces come first whatever their place in the file: the
// services' checks (on-link real servers, routes) need them.
func (p *parser) config(t *table) *Config {
	c := &Config{}
	for _, it := range t.Subs("interface") {
		p.iface(c, it)
	}
	p.checkGateways(c)
	p.run(c, t)
	p.alerts(c, t) // before the services and instances, whose smtp_alert defaults it holds
	if mt, ok := t.Sub("management"); ok {
		p.management(c, mt)
	}
	for _, st := range t.Subs("virtual_server") {
		p.service(c, st)
	}
	for _, mt := range t.Subs("mark") {
		p.mark(c, mt)
	}
	p.checkServices(c)
	p.checkMarks(c)
	c.IPVS = defaultIPVS()
	if it, ok := t.Sub("ipvs"); ok {
		p.ipvs(&c.IPVS, it)
	}
	c.Log = Log{Level: "info", Format: "console"}
	if lt, ok := t.Sub("log"); ok {
		p.log(&c.Log, lt)
	}
	p.vrrp(c, t)
	if st, ok := t.Sub("sync"); ok {
		p.sync(c, st)
	}
	c.Control = Control{Socket: DefaultControlSocket}
	if ct, ok := t.Sub("control"); ok {
		p.control(c, ct)
	}
	if mt, ok := t.Sub("metrics"); ok {
		p.metrics(c, mt)
	}
	t.Done()
	return c
}

// syntaxError converts the TOML parser's error; its position is the offending character.
func syntaxError(name string, data []byte, err error) *Error {
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		return &Error{File: name, Msg: err.Error()}
	}
	// toml v1.6 derives Line and Col from the byte offset Start, but takes an error at the
	// first byte of a line for the end of the line before (a duplicate key is reported at
	// the end of the previous line); Start itself is right.
	pos := Pos{Line: pe.Position.Line, Col: pe.Position.Col}
	if off := pe.Position.Start; off > 0 && off <= len(data) {
		pos.Line = 1 + bytes.Count(data[:off], []byte("\n"))
		pos.Col = off - bytes.LastIndexByte(data[:off], '\n')
	}
	// The parser's messages are sentences ("Key 'a' has already been defined."); ours are not.
	msg := strings.TrimSuffix(pe.Message, ".")
	if len(msg) > 1 && isUpper(msg[0]) && !isUpper(msg[1]) { // but keep "TOML ..."
		msg = strings.ToLower(msg[:1]) + msg[1:]
	}
	return &Error{File: name, Line: pos.Line, Col: pos.Col, Key: pe.LastKey, Msg: "syntax error: " + msg}
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
