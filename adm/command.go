package adm

import (
	"context"
	"math"
	"net/netip"
	"strings"

	"github.com/uvs-lb/uvs/control"
)

// opt is one of ipvsadm's option classes: what its command/option table checks and its
// messages name ("multiple 'weight' options specified"). The order is ipvsadm's: it decides
// which problem of a command line is reported first.
type opt uint8

const (
	optNumeric opt = iota
	optConnection
	optService
	optScheduler
	optPersistent
	optNetmask
	optServer
	optForward
	optWeight
	optUThreshold
	optLThreshold
	optMcast
	optTimeout
	optDaemon
	optStats
	optRate
	optThresholds
	optPersistConn
	optNoSort
	optSyncID
	optExact
	optOnePacket
	optPE
	optSchedFlags
	optMcastGroup
	optMcastPort
	optMcastTTL
	optSyncMaxLen
	optTunInfo
	optTunType
	optTunPort
	optTunNoCsum
	optTunCsum
	optTunRemCsum
	numOpts
)

// String is the option's name in ipvsadm's messages.
func (o opt) String() string {
	return [numOpts]string{
		"numeric", "connection", "service-address", "scheduler", "persistent", "netmask",
		"real-server", "forwarding-method", "weight", "u-threshold", "l-threshold",
		"mcast-interface", "timeout", "daemon", "stats", "rate", "thresholds",
		"persistent-conn", "nosort", "syncid", "exact", "ops", "pe", "sched-flags",
		"mcast-group", "mcast-port", "mcast-ttl", "sync-maxlen", "tun-info", "tun-type",
		"tun-port", "tun-nocsum", "tun-csum", "tun-remcsum",
	}[o]
}

// optSet is a set of opts.
type optSet uint64

// allOpts has every opt.
const allOpts optSet = 1<<numOpts - 1

func setOf(os ...opt) optSet {
	var s optSet
	for _, o := range os {
		s |= 1 << o
	}
	return s
}

func (s optSet) has(o opt) bool           { return s&(1<<o) != 0 }
func (s optSet) hasAny(os ...opt) bool    { return s&setOf(os...) != 0 }
func (s *optSet) add(o opt)               { *s |= 1 << o }
func (s optSet) with(os ...opt) optSet    { return s | setOf(os...) }
func (s optSet) without(os ...opt) optSet { return s &^ setOf(os...) }

// verb is the command.
type verb uint8

const (
	verbAdd verb = iota + 1
	verbEdit
	verbDel
	verbFlush
	verbList
	verbAddDest
	verbDelDest
	verbEditDest
	verbSet
	verbStartDaemon
	verbStopDaemon
	verbRestore
	verbSave
	verbZero
	verbHelp
	verbVersion
	verbVRRP
	verbChecks
	verbReload
	verbConfig
)

// String is the command's name in ipvsadm's messages.
func (v verb) String() string {
	switch v {
	case verbAdd:
		return "add-service"
	case verbEdit:
		return "edit-service"
	case verbDel:
		return "delete-service"
	case verbFlush:
		return "flush"
	case verbList:
		return "list"
	case verbAddDest:
		return "add-server"
	case verbDelDest:
		return "delete-server"
	case verbEditDest:
		return "edit-server"
	case verbSet:
		return "set"
	case verbStartDaemon:
		return "start-daemon"
	case verbStopDaemon:
		return "stop-daemon"
	case verbRestore:
		return "restore"
	case verbSave:
		return "save"
	case verbZero:
		return "zero"
	case verbHelp:
		return "help"
	case verbVersion:
		return "version"
	case verbVRRP:
		return "vrrp"
	case verbChecks:
		return "checks"
	case verbReload:
		return "reload"
	case verbConfig:
		return "config"
	}
	return "?"
}

// edits reports whether the command changes the table: those make up a restore.
func (v verb) edits() bool {
	switch v {
	case verbAdd, verbEdit, verbDel, verbFlush, verbAddDest, verbEditDest, verbDelDest, verbSet:
		return true
	}
	return false
}

// rule is which options a command takes: the required ones, the optional ones, and the
// exclusive ones (optional, but at most one of them); any other is illegal.
type rule struct {
	required, optional, exclusive optSet
}

// rules are ipvsadm's legal combinations of commands and options.
func rules(v verb) rule {
	tunnel := setOf(optTunType, optTunPort, optTunNoCsum, optTunCsum, optTunRemCsum)
	switch v {
	case verbAdd, verbEdit:
		return rule{required: setOf(optService),
			optional: setOf(optScheduler, optPersistent, optNetmask, optOnePacket, optPE, optSchedFlags)}
	case verbDel:
		return rule{required: setOf(optService)}
	case verbList:
		return rule{
			optional: setOf(optNumeric, optStats, optRate, optThresholds, optPersistConn,
				optNoSort, optSyncID, optExact, optTunInfo),
			exclusive: setOf(optConnection, optService, optTimeout, optDaemon)}
	case verbAddDest, verbEditDest:
		return rule{required: setOf(optService, optServer),
			optional: tunnel.with(optForward, optWeight, optUThreshold, optLThreshold)}
	case verbDelDest:
		return rule{required: setOf(optService, optServer)}
	case verbStartDaemon:
		return rule{optional: setOf(optMcast, optSyncID, optMcastGroup, optMcastPort, optMcastTTL, optSyncMaxLen)}
	case verbStopDaemon:
		return rule{optional: setOf(optSyncID)}
	case verbSave, verbVRRP, verbChecks:
		return rule{optional: setOf(optNumeric)}
	case verbZero:
		return rule{optional: setOf(optService)}
	}
	// flush, set, restore, reload, config take no option.
	return rule{}
}

// tunnelRules are ipvsadm's legal combinations of tunnel types and tunnel options.
func tunnelRules(tunType string) rule {
	switch tunType {
	case "gue":
		return rule{required: setOf(optTunPort), exclusive: setOf(optTunNoCsum, optTunCsum, optTunRemCsum)}
	case "gre":
		return rule{exclusive: setOf(optTunNoCsum, optTunCsum)}
	}
	return rule{}
}

// check checks the options given against r, as ipvsadm does: in the options' order, the
// first missing, illegal or conflicting one is reported; what names the subject of the
// message ("the 'add-service' command", "the 'gue' tunnel type").
func (r rule) check(given, among optSet, what string) error {
	first, n := opt(0), 0
	for o := opt(0); o < numOpts; o++ {
		if !among.has(o) {
			continue
		}
		if !given.has(o) {
			if r.required.has(o) {
				return fail("You need to supply the '%s' option for %s", o, what)
			}
			continue
		}
		if r.exclusive.has(o) {
			if n++; n == 1 {
				first = o
				continue
			}
			return fail("The option '%s' conflicts with the '%s' option in %s", o, first, what)
		}
		if !r.required.has(o) && !r.optional.has(o) {
			return fail("Illegal '%s' option with %s", o, what)
		}
	}
	return nil
}

// Limits of values, as ipvsadm's.
const (
	maxTimeout     = 86400 * 31 // 31 days
	defaultPersist = 300        // -p without a timeout
	defaultSched   = "wlc"
	maxSyncLen     = 65535 - 20 - 8
)

// command is one parsed command line.
type command struct {
	verb   verb
	opts   optSet
	format format

	// The virtual service: -t/-u/--sctp-service ADDR[:PORT] or -f MARK [-6].
	proto  string // "TCP", "UDP", "SCTP"; "" for a firewall mark
	addr   netip.Addr
	port   uint16
	fwmark uint32
	v6     bool // the service's family is IPv6 (its address, or -6 after -f)

	sched         string
	persist       uint32 // -p seconds; 0: not persistent
	mask          int    // -M as a prefix length; 0: a single address
	onePacket     bool
	pe            string
	schedFlagsArg string
	schedFlags    []string

	// The real server: -r ADDR[:PORT] and its settings.
	rAddr    netip.Addr
	rPort    uint16
	rHasPort bool
	method   string // "Route" unless -m, -i or --fullnat
	weight   int32
	upper    uint32
	lower    uint32
	tunType  string // "ipip", "gue", "gre"
	tunPort  uint16
	tunFlags string // "nocsum", "csum", "remcsum"; "" when none is given

	timeouts control.Timeouts
	daemon   control.SyncDaemon
}

// parseCommand parses one command line, from the command line itself or (restoring) from
// a line of -R's input.
func parseCommand(ctx context.Context, args []string, restoring bool) (*command, error) {
	sc := newScanner(args)
	first, err := sc.option()
	if err != nil || first == nil {
		return nil, tryHelp()
	}
	// ipvsadm's defaults: weight 1, direct routing, an ipip tunnel.
	c := &command{weight: 1, method: "Route", tunType: "ipip"}
	switch first.spec.tag {
	case tagAdd:
		c.verb = verbAdd
	case tagEdit:
		c.verb = verbEdit
	case tagDel:
		c.verb = verbDel
	case tagClear:
		c.verb = verbFlush
	case tagList:
		c.verb = verbList
	case tagZero:
		c.verb = verbZero
	case tagAddDest:
		c.verb = verbAddDest
	case tagEditDest:
		c.verb = verbEditDest
	case tagDelDest:
		c.verb = verbDelDest
	case tagSet:
		c.verb = verbSet
	case tagRestore:
		c.verb = verbRestore
	case tagSave:
		c.verb = verbSave
	case tagStartDaemon:
		c.verb = verbStartDaemon
		if first.arg != "master" && first.arg != "backup" {
			return nil, fail("illegal start-daemon parameter specified")
		}
		c.daemon.State = first.arg
	case tagStopDaemon:
		c.verb = verbStopDaemon
		if first.arg != "master" && first.arg != "backup" {
			return nil, fail("illegal start_daemon specified")
		}
		c.daemon.State = first.arg
	case tagHelp:
		// ipvsadm answers -h and -v at once, whatever follows.
		return &command{verb: verbHelp}, nil
	case tagVersion:
		return &command{verb: verbVersion}, nil
	case tagVRRP:
		c.verb = verbVRRP
	case tagChecks:
		c.verb = verbChecks
	case tagReload:
		c.verb = verbReload
	case tagConfig:
		c.verb = verbConfig
	default:
		return nil, tryHelp()
	}
	for {
		it, err := sc.option()
		if err != nil {
			return nil, failed(err.Error())
		}
		if it == nil {
			break
		}
		if err := c.option(ctx, it); err != nil {
			return nil, err
		}
	}
	rest := sc.arguments()
	if c.verb == verbSet {
		if len(rest) < 3 {
			return nil, fail("--set option requires 3 timeout values")
		}
		for i, p := range []*uint32{&c.timeouts.TCP, &c.timeouts.TCPFin, &c.timeouts.UDP} {
			if *p, err = parseTimeout(rest[i], 0, maxTimeout); err != nil {
				return nil, err
			}
		}
		rest = rest[3:]
	}
	if len(rest) > 0 {
		return nil, fail("unexpected argument %s", rest[0])
	}
	if c.schedFlagsArg != "" {
		if c.schedFlags, err = parseSchedFlags(c.sched, c.schedFlagsArg); err != nil {
			return nil, err
		}
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	if c.verb == verbRestore && restoring {
		// A restore within a restore would read its own input.
		return nil, tryHelp()
	}
	return c, nil
}

// setOpt records an option class, refusing it twice.
func (c *command) setOpt(o opt) error {
	if c.opts.has(o) {
		return fail("multiple '%s' options specified", o)
	}
	c.opts.add(o)
	return nil
}

// option takes one option after the command.
func (c *command) option(ctx context.Context, it *item) error {
	o, ok := optOf(it.spec.tag)
	if ok {
		if err := c.setOpt(o); err != nil {
			return err
		}
	}
	var err error
	switch it.spec.tag {
	case tagTCP, tagUDP, tagSCTP:
		c.proto = "TCP"
		switch it.spec.tag {
		case tagUDP:
			c.proto = "UDP"
		case tagSCTP:
			c.proto = "SCTP"
		}
		a, port, _, ok := parseAddrPort(ctx, it.arg, c.proto)
		if !ok {
			return fail("illegal virtual server address[:port] specified")
		}
		c.addr, c.port, c.v6 = a, port, !a.Is4()
		if c.v6 {
			c.mask = 0 // ipvsadm resets the granularity to /128
		}
	case tagFwmark:
		c.proto, c.v6 = "", false
		if c.fwmark, err = parseFwmark(it.arg); err != nil {
			return err
		}
	case tagSched:
		c.sched = it.arg
	case tagPersistent:
		c.persist = defaultPersist
		if it.hasArg {
			c.persist, err = parseTimeout(it.arg, 1, maxTimeout)
		}
	case tagNetmask:
		// As ipvsadm, the family is the service's as far as the command line has told it.
		if c.mask, err = parseNetmask(it.arg, c.v6); err != nil {
			return err
		}
	case tagReal:
		proto := c.proto
		if proto == "" {
			proto = "TCP"
		}
		a, port, hasPort, ok := parseAddrPort(ctx, it.arg, proto)
		if !ok {
			return fail("illegal real server address[:port] specified")
		}
		c.rAddr, c.rPort, c.rHasPort = a, port, hasPort
	case tagMasq:
		c.method = "Masq"
	case tagIPIP:
		c.method = "Tunnel"
	case tagGate:
		c.method = "Route"
	case tagFullNat:
		c.method = "FullNat"
	case tagWeight:
		n, ok := parseNumber(it.arg, 0, 65535)
		if !ok {
			return fail("illegal weight specified")
		}
		c.weight = int32(n)
	case tagUThreshold:
		n, ok := parseNumber(it.arg, 0, math.MaxInt32)
		if !ok {
			return fail("illegal u_threshold specified")
		}
		c.upper = uint32(n)
	case tagLThreshold:
		n, ok := parseNumber(it.arg, 0, math.MaxInt32)
		if !ok {
			return fail("illegal l_threshold specified")
		}
		c.lower = uint32(n)
	case tagNumeric:
		c.format |= fmtNumeric
	case tagMcastIf:
		c.daemon.McastInterface = it.arg
	case tagSyncID:
		n, ok := parseNumber(it.arg, 0, 255)
		if !ok {
			return fail("illegal syncid specified")
		}
		c.daemon.SyncID = uint8(n)
	case tagStats:
		c.format |= fmtStats
	case tagRate:
		c.format |= fmtRate
	case tagThresholds:
		c.format |= fmtThresholds
	case tagPersistConn:
		c.format |= fmtPersistConn
	case tagNoSort:
		c.format |= fmtNoSort
	case tagExact:
		c.format |= fmtExact
	case tagTunInfo:
		c.format |= fmtTunInfo
	case tagSort, tagConnection, tagTimeout, tagDaemon:
		// --sort is the default (a no-op kept for old scripts); the others only select.
	case tagIPv6:
		// ipvsadm takes -6 only after -f: an address says its family by itself.
		if c.fwmark == 0 {
			return fail("-6 used before -f\n")
		}
		c.v6, c.mask = true, 0
	case tagOps:
		c.onePacket = true
	case tagPE:
		c.pe = it.arg
	case tagSchedFlags:
		c.schedFlagsArg = it.arg
	case tagMcastGroup:
		if err := checkMcastGroup(it.arg); err != nil {
			return err
		}
		c.daemon.McastGroup = it.arg
	case tagMcastPort:
		n, ok := parseNumber(it.arg, 1, 65535)
		if !ok {
			return fail("illegal mcast-port specified")
		}
		c.daemon.McastPort = uint16(n)
	case tagMcastTTL:
		n, ok := parseNumber(it.arg, 1, 255)
		if !ok {
			return fail("illegal mcast-ttl specified")
		}
		c.daemon.McastTTL = uint8(n)
	case tagSyncMaxLen:
		n, ok := parseNumber(it.arg, 1, maxSyncLen)
		if !ok {
			return fail("illegal sync-maxlen specified")
		}
		c.daemon.SyncMaxLen = int(n)
	case tagTunType:
		switch it.arg {
		case "ipip", "gue", "gre":
			c.tunType = it.arg
		default:
			return fail("illegal tunnel type specified")
		}
	case tagTunPort:
		n, ok := parseNumber(it.arg, 1, 65535)
		if !ok {
			return fail("illegal tunnel port specified")
		}
		c.tunPort = uint16(n)
	case tagTunNoCsum:
		c.tunFlags = "nocsum"
	case tagTunCsum:
		c.tunFlags = "csum"
	case tagTunRemCsum:
		c.tunFlags = "remcsum"
	default:
		// A second command, -h or -v after the command: ipvsadm does not know them there.
		return fail("invalid option `%s'", it.name)
	}
	return err
}

// optOf maps an option to its class.
func optOf(t tag) (opt, bool) {
	switch t {
	case tagTCP, tagUDP, tagSCTP, tagFwmark:
		return optService, true
	case tagSched:
		return optScheduler, true
	case tagPersistent:
		return optPersistent, true
	case tagNetmask:
		return optNetmask, true
	case tagReal:
		return optServer, true
	case tagMasq, tagIPIP, tagGate, tagFullNat:
		return optForward, true
	case tagWeight:
		return optWeight, true
	case tagUThreshold:
		return optUThreshold, true
	case tagLThreshold:
		return optLThreshold, true
	case tagNumeric:
		return optNumeric, true
	case tagConnection:
		return optConnection, true
	case tagMcastIf:
		return optMcast, true
	case tagSyncID:
		return optSyncID, true
	case tagTimeout:
		return optTimeout, true
	case tagDaemon:
		return optDaemon, true
	case tagStats:
		return optStats, true
	case tagRate:
		return optRate, true
	case tagThresholds:
		return optThresholds, true
	case tagPersistConn:
		return optPersistConn, true
	case tagNoSort:
		return optNoSort, true
	case tagExact:
		return optExact, true
	case tagOps:
		return optOnePacket, true
	case tagPE:
		return optPE, true
	case tagSchedFlags:
		return optSchedFlags, true
	case tagMcastGroup:
		return optMcastGroup, true
	case tagMcastPort:
		return optMcastPort, true
	case tagMcastTTL:
		return optMcastTTL, true
	case tagSyncMaxLen:
		return optSyncMaxLen, true
	case tagTunInfo:
		return optTunInfo, true
	case tagTunType:
		return optTunType, true
	case tagTunPort:
		return optTunPort, true
	case tagTunNoCsum:
		return optTunNoCsum, true
	case tagTunCsum:
		return optTunCsum, true
	case tagTunRemCsum:
		return optTunRemCsum, true
	}
	return 0, false
}

// check applies ipvsadm's checks of a whole command line.
func (c *command) check() error {
	if err := rules(c.verb).check(c.opts, allOpts, "the '"+c.verb.String()+"' command"); err != nil {
		return err
	}
	switch c.verb {
	case verbAdd, verbEdit:
		// A port-0 service takes every port: only persistence makes that meaningful.
		if c.fwmark == 0 && c.port == 0 && c.persist == 0 {
			return fail("Zero port specified for non-persistent service")
		}
		if c.onePacket && c.fwmark == 0 && c.proto != "UDP" {
			return fail("One-Packet Scheduling is only for UDP virtual services")
		}
		if c.sched == "" {
			c.sched = defaultSched
		}
	case verbList:
		if c.opts.hasAny(optConnection, optTimeout, optDaemon) && c.opts.hasAny(optStats, optRate, optThresholds) ||
			c.opts.hasAny(optTimeout, optDaemon) && c.opts.has(optPersistConn) {
			return fail("options conflicts in the list command")
		}
	}
	if !c.opts.has(optServer) {
		return nil
	}
	// Without a port, the real server's is the service's.
	if !c.rHasPort {
		c.rPort = c.port
	}
	if c.verb != verbAddDest && c.verb != verbEditDest {
		return nil
	}
	// Direct routing and tunnels cannot change the port (fwmark services have none).
	if c.fwmark == 0 && (c.method == "Tunnel" || c.method == "Route") {
		c.rPort = c.port
	}
	if !c.rAddr.Is4() != c.v6 && c.method != "Tunnel" {
		return fail("Different address family is allowed only for tunneling servers")
	}
	tunOpts := setOf(optTunType, optTunPort, optTunNoCsum, optTunCsum, optTunRemCsum)
	if c.opts&tunOpts != 0 && c.method != "Tunnel" {
		return fail("Tunnel options conflict with forward method")
	}
	return tunnelRules(c.tunType).check(c.opts, tunOpts.without(optTunType), "the '"+c.tunType+"' tunnel type")
}

// key is the service the command names.
func (c *command) key() control.ServiceKey {
	if c.fwmark != 0 {
		family := "inet"
		if c.v6 {
			family = "inet6"
		}
		return control.ServiceKey{FWMark: c.fwmark, Family: family}
	}
	return control.ServiceKey{Proto: c.proto, Addr: c.addr, Port: c.port}
}

// serviceSpec is what -A and -E set: the whole service, as ipvsadm sends it (an -E without
// -s sets wlc, without -p ends persistence).
func (c *command) serviceSpec() control.ServiceSpec {
	s := control.ServiceSpec{
		ServiceKey: c.key(),
		Scheduler:  c.sched,
		SchedFlags: c.schedFlags,
		OnePacket:  c.onePacket,
	}
	if c.persist != 0 {
		s.Persistence, s.PersistMask = c.persist, c.mask
	}
	return s
}

// serverSpec is what -a and -e set: the whole real server, as ipvsadm sends it (an -e
// without -w sets weight 1, without -m/-i direct routing).
func (c *command) serverSpec() control.ServerSpec {
	s := control.ServerSpec{
		Service: c.key(),
		Addr:    c.rAddr,
		Port:    c.rPort,
		Method:  c.method,
		Weight:  c.weight,
		Upper:   c.upper,
		Lower:   c.lower,
	}
	if c.method == "Tunnel" && c.tunType != "ipip" {
		// ipip is the model's "" (and has no options); GUE and GRE always carry their
		// checksum choice, without checksums unless told, as the kernel's default.
		s.TunType, s.TunFlags = c.tunType, c.tunFlags
		if s.TunFlags == "" {
			s.TunFlags = "nocsum"
		}
		if c.tunType == "gue" {
			s.TunPort = c.tunPort
		}
	}
	return s
}

// edit is the change an edit command asks for.
func (c *command) edit() (control.Edit, error) {
	if c.proto == "SCTP" {
		// uvs balances TCP and UDP; ipvsadm says this when the kernel lacks a protocol.
		return control.Edit{}, failed("Protocol not available")
	}
	switch c.verb {
	case verbAdd, verbEdit:
		if c.pe != "" {
			// uvs has no persistence engines (ipvsadm --pe sip); the kernel's words.
			return control.Edit{}, failed("Scheduler or persistence engine not found")
		}
		s := c.serviceSpec()
		op := control.OpAddService
		if c.verb == verbEdit {
			op = control.OpEditService
		}
		return control.Edit{Op: op, Service: &s}, nil
	case verbDel:
		return control.Edit{Op: control.OpDeleteService, Service: &control.ServiceSpec{ServiceKey: c.key()}}, nil
	case verbAddDest, verbEditDest:
		s := c.serverSpec()
		op := control.OpAddServer
		if c.verb == verbEditDest {
			op = control.OpEditServer
		}
		return control.Edit{Op: op, Server: &s}, nil
	case verbDelDest:
		return control.Edit{Op: control.OpDeleteServer,
			Server: &control.ServerSpec{Service: c.key(), Addr: c.rAddr, Port: c.rPort}}, nil
	case verbFlush:
		return control.Edit{Op: control.OpClear}, nil
	case verbSet:
		t := c.timeouts
		return control.Edit{Op: control.OpSetTimeouts, Timeouts: &t}, nil
	}
	return control.Edit{}, fail("the '%s' command does not edit the table", c.verb)
}

// words splits a line of -R's input as ipvsadm does: on blanks, skipping the word
// "ipvsadm" (so that saved command lines restore too); a word starting with '#' starts a
// comment.
func words(line string) []string {
	var ws []string
	for _, w := range strings.Fields(line) {
		if strings.HasPrefix(w, "#") {
			break
		}
		if w != "ipvsadm" {
			ws = append(ws, w)
		}
	}
	return ws
}
