package adm

import (
	"fmt"
	"strings"
)

// The command line is scanned as ipvsadm's popt does: short options cluster ("-Ln"), a
// short option's argument may follow it in the same word ("-w3") or be the next word,
// long options are spelt in full (popt takes no abbreviations) with "--opt value" or
// "--opt=value", an optional argument ("-p [timeout]") is taken only when the next word does
// not start with '-', and words that are not options are kept, in order, as arguments
// (--set's three timeouts) wherever they appear; "--" ends the options.

// argKind is whether an option takes an argument.
type argKind uint8

const (
	argNone argKind = iota
	argRequired
	argOptional
)

// tag identifies what an option on the command line means.
type tag uint8

const (
	// The commands (ipvsadm's first option).
	tagAdd tag = iota + 1
	tagEdit
	tagDel
	tagClear
	tagList
	tagZero
	tagAddDest
	tagEditDest
	tagDelDest
	tagSet
	tagHelp
	tagVersion
	tagRestore
	tagSave
	tagStartDaemon
	tagStopDaemon
	// uvs's extensions.
	tagVRRP
	tagChecks
	tagReload
	tagConfig
	// The options.
	tagTCP
	tagUDP
	tagSCTP
	tagFwmark
	tagSched
	tagPersistent
	tagNetmask
	tagReal
	tagMasq
	tagIPIP
	tagGate
	tagFullNat // uvs's full-NAT forwarding: ipvsadm has no switch for it
	tagWeight
	tagUThreshold
	tagLThreshold
	tagNumeric
	tagConnection
	tagMcastIf
	tagSyncID
	tagTimeout
	tagDaemon
	tagStats
	tagRate
	tagThresholds
	tagPersistConn
	tagNoSort
	tagSort
	tagExact
	tagIPv6
	tagOps
	tagPE
	tagSchedFlags
	tagMcastGroup
	tagMcastPort
	tagMcastTTL
	tagSyncMaxLen
	tagTunInfo
	tagTunType
	tagTunPort
	tagTunNoCsum
	tagTunCsum
	tagTunRemCsum
)

// optSpec is one option as the command line spells it.
type optSpec struct {
	long  string
	short byte // 0: long only
	arg   argKind
	tag   tag
}

// options are ipvsadm 1.31's options, then uvs's. "list" has two short forms, -L and -l.
var options = [...]optSpec{
	{"add-service", 'A', argNone, tagAdd},
	{"edit-service", 'E', argNone, tagEdit},
	{"delete-service", 'D', argNone, tagDel},
	{"clear", 'C', argNone, tagClear},
	{"list", 'L', argNone, tagList},
	{"list", 'l', argNone, tagList},
	{"zero", 'Z', argNone, tagZero},
	{"add-server", 'a', argNone, tagAddDest},
	{"edit-server", 'e', argNone, tagEditDest},
	{"delete-server", 'd', argNone, tagDelDest},
	{"set", 0, argNone, tagSet},
	{"help", 'h', argNone, tagHelp},
	{"version", 'v', argNone, tagVersion},
	{"restore", 'R', argNone, tagRestore},
	{"save", 'S', argNone, tagSave},
	{"start-daemon", 0, argRequired, tagStartDaemon},
	{"stop-daemon", 0, argRequired, tagStopDaemon},
	{"tcp-service", 't', argRequired, tagTCP},
	{"udp-service", 'u', argRequired, tagUDP},
	{"sctp-service", 0, argRequired, tagSCTP},
	{"fwmark-service", 'f', argRequired, tagFwmark},
	{"scheduler", 's', argRequired, tagSched},
	{"persistent", 'p', argOptional, tagPersistent},
	{"netmask", 'M', argRequired, tagNetmask},
	{"real-server", 'r', argRequired, tagReal},
	{"masquerading", 'm', argNone, tagMasq},
	{"ipip", 'i', argNone, tagIPIP},
	{"gatewaying", 'g', argNone, tagGate},
	{"weight", 'w', argRequired, tagWeight},
	{"u-threshold", 'x', argRequired, tagUThreshold},
	{"l-threshold", 'y', argRequired, tagLThreshold},
	{"numeric", 'n', argNone, tagNumeric},
	{"connection", 'c', argNone, tagConnection},
	{"mcast-interface", 0, argRequired, tagMcastIf},
	{"syncid", 0, argRequired, tagSyncID},
	{"timeout", 0, argNone, tagTimeout},
	{"daemon", 0, argNone, tagDaemon},
	{"stats", 0, argNone, tagStats},
	{"rate", 0, argNone, tagRate},
	{"thresholds", 0, argNone, tagThresholds},
	{"persistent-conn", 0, argNone, tagPersistConn},
	{"nosort", 0, argNone, tagNoSort},
	{"sort", 0, argNone, tagSort},
	{"exact", 'X', argNone, tagExact},
	{"ipv6", '6', argNone, tagIPv6},
	{"ops", 'o', argNone, tagOps},
	{"pe", 0, argRequired, tagPE},
	{"sched-flags", 'b', argRequired, tagSchedFlags},
	{"mcast-group", 0, argRequired, tagMcastGroup},
	{"mcast-port", 0, argRequired, tagMcastPort},
	{"mcast-ttl", 0, argRequired, tagMcastTTL},
	{"sync-maxlen", 0, argRequired, tagSyncMaxLen},
	{"tun-info", 0, argNone, tagTunInfo},
	{"tun-type", 0, argRequired, tagTunType},
	{"tun-port", 0, argRequired, tagTunPort},
	{"tun-nocsum", 0, argNone, tagTunNoCsum},
	{"tun-csum", 0, argNone, tagTunCsum},
	{"tun-remcsum", 0, argNone, tagTunRemCsum},
	// uvs's extensions: long options that ipvsadm does not have.
	{"fullnat", 0, argNone, tagFullNat},
	{"vrrp", 0, argNone, tagVRRP},
	{"checks", 0, argNone, tagChecks},
	{"reload", 0, argNone, tagReload},
	{"config", 0, argNone, tagConfig},
}

func lookupLong(name string) *optSpec {
	for i := range options {
		if options[i].long == name {
			return &options[i]
		}
	}
	return nil
}

func lookupShort(c byte) *optSpec {
	for i := range options {
		if options[i].short == c {
			return &options[i]
		}
	}
	return nil
}

// item is one option found on the command line.
type item struct {
	spec   *optSpec
	name   string // as written: "-w", "--weight"
	arg    string
	hasArg bool
}

// scanError is what popt reports for a word it cannot take: ipvsadm prints it as
// "NAME: WHAT" (or only the try-help line when it happens on the command itself).
type scanError struct {
	name, what string
}

func (e *scanError) Error() string { return fmt.Sprintf("%s: %s", e.name, e.what) }

// scanner walks a command line.
type scanner struct {
	args    []string
	next    int    // the next word
	cluster string // short options left in the current word
	rest    bool   // after "--": words are arguments only
	// leftovers are the words that are not options, in order.
	leftovers []string
}

func newScanner(args []string) *scanner { return &scanner{args: args} }

// option returns the next option, nil at the end.
func (s *scanner) option() (*item, error) {
	for s.cluster == "" {
		if s.next >= len(s.args) {
			return nil, nil
		}
		w := s.args[s.next]
		s.next++
		switch {
		case s.rest || w == "-" || !strings.HasPrefix(w, "-"):
			s.leftovers = append(s.leftovers, w)
		case w == "--":
			s.rest = true
		case strings.HasPrefix(w, "--"):
			return s.long(w)
		default:
			s.cluster = w[1:]
		}
	}
	c := s.cluster[0]
	s.cluster = s.cluster[1:]
	it := &item{name: "-" + string(c), spec: lookupShort(c)}
	if it.spec == nil {
		s.cluster = ""
		return nil, &scanError{it.name, "unknown option"}
	}
	if it.spec.arg == argNone {
		return it, nil
	}
	// The rest of the word is the argument ("-w3", "-p360").
	if s.cluster != "" {
		it.arg, it.hasArg, s.cluster = s.cluster, true, ""
		return it, nil
	}
	return it, s.argument(it)
}

// long scans "--name" or "--name=value".
func (s *scanner) long(w string) (*item, error) {
	name, val, eq := strings.Cut(w[2:], "=")
	it := &item{name: "--" + name, spec: lookupLong(name)}
	if it.spec == nil {
		return nil, &scanError{w, "unknown option"}
	}
	switch {
	case it.spec.arg == argNone && eq:
		return nil, &scanError{w, "option does not take an argument"}
	case it.spec.arg == argNone:
		return it, nil
	case eq:
		it.arg, it.hasArg = val, true
		return it, nil
	}
	return it, s.argument(it)
}

// argument takes the next word as its argument when the option has one.
func (s *scanner) argument(it *item) error {
	if s.next < len(s.args) {
		w := s.args[s.next]
		if it.spec.arg == argOptional && strings.HasPrefix(w, "-") {
			return nil
		}
		it.arg, it.hasArg = w, true
		s.next++
		return nil
	}
	if it.spec.arg == argOptional {
		return nil
	}
	return &scanError{it.name, "missing argument"}
}

// arguments returns what is left of the command line that is not an option, once every
// option has been scanned.
func (s *scanner) arguments() []string { return s.leftovers }
