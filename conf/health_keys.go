package conf

import (
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/uvs-lb/uvs/internal/cmdline"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Bounds of the integer health keys. keepalived takes any unsigned number; these are far past
// any sensible value and keep arithmetic on them safe.
const (
	maxRetry    = 1000
	maxRiseFall = 1000
	maxQuorum   = math.MaxUint32
	maxPayload  = 65507 // the largest UDP payload over IPv4
)

// opt is a value as written at one level (virtual server, real server, checker), if it was.
type opt[T any] struct {
	v  T
	ok bool
}

func some[T any](v T, ok bool) opt[T] { return opt[T]{v, ok} }

// pick returns the first of os that is set, else def: a checker's value, else its real
// server's, else its virtual server's, else keepalived's default.
func pick[T any](def T, os ...opt[T]) T {
	for _, o := range os {
		if o.ok {
			return o.v
		}
	}
	return def
}

// healthKeys are the keys a virtual server, a real server and a checker may all set, each
// level's unset ones coming from the level above.
type healthKeys struct {
	delayLoop, connectTimeout, delayBeforeRetry, warmup opt[time.Duration]
	retry, rise, fall                                   opt[int]
	alpha                                               opt[bool]
	virtualhost                                         opt[string]
}

// serverHealthKeys are the health keys of a real server's table, checkers included: a sorry
// server has none of them.
var serverHealthKeys = []string{"inhibit_on_failure", "notify_up", "notify_down", "alpha",
	"delay_loop", "connect_timeout", "retry", "delay_before_retry", "warmup", "rise", "fall",
	"virtualhost"}

// timingKeys reads the keys of healthKeys from a virtual or real server's table.
func (p *parser) timingKeys(t *table) healthKeys {
	var h healthKeys
	h.delayLoop = some(p.timer(t, "delay_loop", false))
	h.connectTimeout = some(p.timer(t, "connect_timeout", false))
	h.delayBeforeRetry = some(p.timer(t, "delay_before_retry", true))
	h.warmup = some(p.timer(t, "warmup", true))
	h.retry = someInt(t.Integer("retry", 0, maxRetry))
	h.rise = someInt(t.Integer("rise", 1, maxRiseFall))
	h.fall = someInt(t.Integer("fall", 1, maxRiseFall))
	h.alpha = some(t.Bool("alpha"))
	h.virtualhost = some(p.virtualHost(t, "virtualhost"))
	return h
}

func someInt(n int64, ok bool) opt[int] { return opt[int]{int(n), ok} }

// serviceHealth reads a virtual server's health keys: its quorum, its notifications, and the
// defaults of its real servers' checks (keys, inhibit).
func (p *parser) serviceHealth(t *table) (h ServiceHealth, keys healthKeys, inhibit opt[bool]) {
	h.Quorum = 1
	keys = p.timingKeys(t)
	inhibit = some(t.Bool("inhibit_on_failure"))
	h.Alpha = keys.alpha.v
	h.DelayLoop = pick(defaultDelayLoop, keys.delayLoop)
	h.Omega, _ = t.Bool("omega")
	h.SorryInhibit, _ = t.Bool("sorry_server_inhibit")
	h.QuorumUp, _ = p.command(t, "quorum_up")
	h.QuorumDown, _ = p.command(t, "quorum_down")
	quorum, hasQuorum := t.Integer("quorum", 1, maxQuorum)
	hyst, hasHyst := t.Integer("hysteresis", 0, maxQuorum)
	if hasQuorum {
		h.Quorum = quorum
	}
	switch {
	case !hasHyst:
	case t.Has("quorum") && !hasQuorum: // a bad quorum, reported already
	case hyst >= h.Quorum:
		// keepalived would lose quorum only when no server is left, which is not what a
		// hysteresis is for.
		q := fmt.Sprint(h.Quorum)
		if !hasQuorum {
			q += ", the default"
		}
		t.Errorf("hysteresis", "must be below quorum (%s): quorum is lost below quorum - hysteresis", q)
	default:
		h.Hysteresis = hyst
	}
	if h.SorryInhibit && !t.Has("sorry_server") {
		t.Errorf("sorry_server_inhibit", "applies to a sorry server, and this virtual server has none")
	}
	return h, keys, inhibit
}

// checkQuorum refuses an explicit quorum that the real servers' weights cannot reach, unless a
// check sets weights itself (misc_dynamic, a file_check with a weight).
func (p *parser) checkQuorum(t *table, s *Service, allPlaced bool) {
	if !allPlaced || !t.Has("quorum") && !t.Has("hysteresis") || p.failed(t.Key("quorum")) || p.failed(t.Key("hysteresis")) {
		return
	}
	var total int64
	for i, sv := range s.Servers {
		total += int64(sv.Weight)
		for _, ck := range s.ServerHealth[i].Checks {
			if ck.Kind == CheckMisc && ck.Dynamic || ck.Kind == CheckFile && ck.Weight != 0 {
				return
			}
		}
	}
	h := s.Health
	if need := h.Quorum + h.Hysteresis; need > total {
		what := fmt.Sprint(h.Quorum)
		if h.Hysteresis > 0 {
			what = fmt.Sprintf("%d + hysteresis %d", h.Quorum, h.Hysteresis)
		}
		key := "quorum"
		if !t.Has("quorum") {
			key = "hysteresis"
		}
		t.Errorf(key, "%s is more than the total weight %d of the real servers: the service could never gain quorum", what, total)
	}
}

// serverDraft is a real server's health as written, before the service places the server.
type serverDraft struct {
	keys                 healthKeys
	inhibit              opt[bool]
	notifyUp, notifyDown string
	checks               []checkDraft
}

// checkDraft is a checker as written.
type checkDraft struct {
	Check
	key       string
	keys      healthKeys
	ip        netip.Addr // connect_ip; invalid: unset or bad
	port      uint16     // connect_port; 0: unset
	bind      netip.Addr // bindto
	bindPort  uint16
	urls      []urlDraft
	enableSNI opt[bool]
	sniName   string
	timeout   opt[time.Duration] // misc_timeout
}

type urlDraft struct {
	URL
	key   string
	vhost opt[string]
}

// serverHealth reads the health keys and checkers of a real server's table, or refuses them
// on a sorry server, which keepalived never checks.
func (p *parser) serverHealth(t *table, sorry bool) serverDraft {
	var d serverDraft
	if sorry {
		for _, k := range append(slices.Clone(serverHealthKeys), kindNames()...) {
			if t.Has(k) {
				t.Allow(k)
				t.Errorf(k, "does not apply to a sorry server: it is not health-checked (as in keepalived)")
			}
		}
		return d
	}
	d.keys = p.timingKeys(t)
	d.inhibit = some(t.Bool("inhibit_on_failure"))
	d.notifyUp, _ = p.command(t, "notify_up")
	d.notifyDown, _ = p.command(t, "notify_down")
	for _, kind := range CheckKinds {
		for _, ct := range t.Subs(string(kind)) {
			d.checks = append(d.checks, p.checker(kind, ct))
		}
	}
	return d
}

func kindNames() []string {
	s := make([]string, len(CheckKinds))
	for i, k := range CheckKinds {
		s[i] = string(k)
	}
	return s
}

// The kinds each checker key applies to.
var (
	connectKinds = []CheckKind{CheckTCP, CheckHTTP, CheckSSL, CheckUDP, CheckDNS, CheckPing}
	portKinds    = []CheckKind{CheckTCP, CheckHTTP, CheckSSL, CheckUDP, CheckDNS}
	timedKinds   = []CheckKind{CheckTCP, CheckHTTP, CheckSSL, CheckUDP, CheckDNS, CheckPing, CheckMisc}
	webKinds     = []CheckKind{CheckHTTP, CheckSSL}
	checkKeys    = map[string][]CheckKind{
		"connect_ip": connectKinds, "bindto": connectKinds, "connect_timeout": connectKinds,
		"connect_port": portKinds, "bind_port": portKinds,
		"delay_loop": timedKinds, "retry": timedKinds, "delay_before_retry": timedKinds,
		"warmup": timedKinds, "rise": timedKinds, "fall": timedKinds, "alpha": timedKinds,
		"url": webKinds, "virtualhost": webKinds,
		"enable_sni": {CheckSSL}, "sni_name": {CheckSSL}, "verify": {CheckSSL}, "ca": {CheckSSL},
		"payload": {CheckUDP}, "require_reply": {CheckUDP},
		"type": {CheckDNS}, "name": {CheckDNS},
		"misc_path": {CheckMisc}, "misc_timeout": {CheckMisc}, "misc_dynamic": {CheckMisc},
		"user": {CheckMisc}, "group": {CheckMisc},
		"file": {CheckFile}, "weight": {CheckFile}, "reverse": {CheckFile},
	}
)

// notFor says why checker key k does not apply to kind.
func notFor(k string, kind CheckKind) string {
	kinds := checkKeys[k]
	if len(kinds) <= 2 {
		names := make([]string, len(kinds))
		for i, k := range kinds {
			names[i] = string(k)
		}
		return fmt.Sprintf("applies to %s only; this is a %s", strings.Join(names, " and "), kind)
	}
	why := ""
	switch {
	case kind == CheckPing:
		why = "an ICMP echo has no ports"
	case kind == CheckMisc && k == "connect_timeout":
		why = "its time limit is misc_timeout"
	case kind == CheckMisc:
		why = "the command makes its own connections"
	case kind == CheckFile && slices.Equal(kinds, timedKinds):
		why = "the file is read whenever it changes, as keepalived does"
	case kind == CheckFile:
		why = "it reads a local file"
	}
	return fmt.Sprintf("does not apply to a %s: %s", kind, why)
}

// checker reads one checker table of the given kind. Keys of other kinds are refused with
// what they apply to; the values of those that apply are checked, but not yet against the
// server (placeCheck does that).
func (p *parser) checker(kind CheckKind, t *table) checkDraft {
	cd := checkDraft{key: t.Path()}
	cd.Kind = kind
	use := func(k string) bool {
		if slices.Contains(checkKeys[k], kind) {
			return true
		}
		if t.Has(k) {
			t.Allow(k)
			t.Errorf(k, "%s", notFor(k, kind))
		}
		return false
	}
	if use("connect_ip") {
		if s, ok := t.Str("connect_ip"); ok {
			cd.ip, _ = p.addr(t.Key("connect_ip"), s)
		}
	}
	if use("connect_port") {
		if n, ok := t.Integer("connect_port", 1, 65535); ok {
			cd.port = uint16(n)
		}
	}
	if use("bindto") {
		if s, ok := t.Str("bindto"); ok {
			cd.bind, _ = p.addr(t.Key("bindto"), s)
		}
	}
	if use("bind_port") {
		if n, ok := t.Integer("bind_port", 1, 65535); ok {
			cd.bindPort = uint16(n)
		}
	}
	if use("connect_timeout") {
		cd.keys.connectTimeout = some(p.timer(t, "connect_timeout", false))
	}
	if use("delay_loop") {
		cd.keys.delayLoop = some(p.timer(t, "delay_loop", false))
	}
	if use("delay_before_retry") {
		cd.keys.delayBeforeRetry = some(p.timer(t, "delay_before_retry", true))
	}
	if use("warmup") {
		cd.keys.warmup = some(p.timer(t, "warmup", true))
	}
	if use("retry") {
		cd.keys.retry = someInt(t.Integer("retry", 0, maxRetry))
	}
	if use("rise") {
		cd.keys.rise = someInt(t.Integer("rise", 1, maxRiseFall))
	}
	if use("fall") {
		cd.keys.fall = someInt(t.Integer("fall", 1, maxRiseFall))
	}
	if use("alpha") {
		cd.keys.alpha = some(t.Bool("alpha"))
	}

	if use("url") {
		for _, ut := range t.Subs("url") {
			cd.urls = append(cd.urls, p.url(ut))
		}
		if !t.Has("url") {
			t.Errorf("url", "missing: an %s needs at least one url ([[%s.url]])", kind, headerPath(t.Path()))
		} else if v, ok := t.M["url"].([]any); ok && len(v) == 0 {
			t.Errorf("url", "must list at least one url")
		}
	}
	if use("virtualhost") {
		cd.keys.virtualhost = some(p.virtualHost(t, "virtualhost"))
	}
	if use("enable_sni") {
		cd.enableSNI = some(t.Bool("enable_sni"))
	}
	if use("sni_name") {
		if s, ok := t.Str("sni_name"); ok {
			if isHostName(s) && !isIP(s) {
				cd.sniName = s
				if cd.enableSNI.ok && !cd.enableSNI.v {
					t.Errorf("enable_sni", "is false, but sni_name sends a server name")
				}
			} else {
				t.Errorf("sni_name", "%q is not a host name (like www.example.com)", s)
			}
		}
	}
	if use("verify") {
		cd.Verify, _ = t.Bool("verify")
	}
	if use("ca") {
		if s, ok := t.Str("ca"); ok {
			switch {
			case !strings.HasPrefix(s, "/") || strings.ContainsRune(s, 0):
				t.Errorf("ca", "%q is not an absolute path", s)
			case !cd.Verify:
				t.Errorf("ca", "has no use without verify = true")
			default:
				cd.CA = s
			}
		}
	}

	if use("payload") {
		if s, ok := t.Str("payload"); ok {
			if b, err := payload(s); err != nil {
				t.Errorf("payload", "%v", err)
			} else {
				cd.Payload = b
			}
		}
	}
	if use("require_reply") {
		switch v, _ := t.Get("require_reply"); v := v.(type) {
		case nil:
		case bool:
			cd.RequireReply = v
		case string:
			if b, err := payload(v); err != nil {
				t.Errorf("require_reply", "%v", err)
			} else {
				cd.RequireReply, cd.Reply = true, b
			}
		default:
			p.TypeError(t.Key("require_reply"), "a boolean, or the bytes the reply begins with", v)
		}
	}

	if use("type") {
		cd.DNSType = defaultDNSType
		if s, ok := t.Str("type"); ok {
			if typ := strings.ToUpper(s); slices.Contains(dnsTypes, typ) {
				cd.DNSType = typ
			} else {
				t.Errorf("type", "unknown DNS query type %q (%s)", s, strings.Join(dnsTypes, ", "))
			}
		}
	}
	if use("name") {
		cd.DNSName = defaultDNSName
		if s, ok := t.Str("name"); ok {
			if isHostName(s) {
				cd.DNSName = s
			} else {
				t.Errorf("name", "%q is not a domain name (like example.com, or . for the root)", s)
			}
		}
	}

	if use("misc_path") {
		cd.Command, _ = p.command(t, "misc_path")
		if !t.Has("misc_path") {
			t.Errorf("misc_path", "missing: a misc_check needs the command to run")
		}
	}
	if use("misc_timeout") {
		cd.timeout = some(p.timer(t, "misc_timeout", false))
	}
	if use("misc_dynamic") {
		cd.Dynamic, _ = t.Bool("misc_dynamic")
	}
	if use("user") {
		cd.User = p.user(t)
	}
	if use("group") {
		cd.Group = p.group(t)
	}

	if use("file") {
		if s, ok := t.Str("file"); ok {
			if strings.HasPrefix(s, "/") && !strings.ContainsRune(s, 0) {
				cd.File = s
			} else {
				t.Errorf("file", "%q is not an absolute path", s)
			}
		}
		if !t.Has("file") {
			t.Errorf("file", "missing: a file_check needs the file to read")
		}
	}
	if use("weight") {
		cd.Weight = 1 // keepalived's track_file weight
		if n, ok := t.Integer("weight", -math.MaxInt32, math.MaxInt32); ok {
			cd.Weight = int32(n)
		}
	}
	if use("reverse") {
		cd.Reverse, _ = t.Bool("reverse")
	}
	t.Done()
	return cd
}

// user reads user: the user a command runs as ("": unset or bad).
func (p *parser) user(t *table) string {
	s, ok := t.Str("user")
	switch {
	case !ok:
	case strings.ContainsAny(s, " \t"):
		t.Errorf("user", "%q: one user name; the group is written group = %q", s, s[strings.LastIndexAny(s, " \t")+1:])
	case !isSysName(s):
		t.Errorf("user", "%q is not a user name", s)
	default:
		return s
	}
	return ""
}

// group reads group: the group a command runs as, with its user ("": unset or bad).
func (p *parser) group(t *table) string {
	s, ok := t.Str("group")
	switch {
	case !ok:
	case !isSysName(s):
		t.Errorf("group", "%q is not a group name", s)
	case !t.Has("user"):
		t.Errorf("group", "needs user: the command runs as a user and, optionally, a group")
	default:
		return s
	}
	return ""
}

// dnsTypes are the query types of keepalived's DNS_CHECK.
var dnsTypes = []string{"A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA"}

// url reads one [[...http_get.url]].
func (p *parser) url(t *table) urlDraft {
	u := urlDraft{key: t.Path()}
	u.Status = []StatusRange{{200, 299}} // keepalived's default
	if s, ok := t.Str("path"); ok {
		switch {
		case strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://"):
			t.Errorf("path", "%q is a URL; write its path here, and its host as virtualhost", s)
		case !strings.HasPrefix(s, "/") || strings.ContainsFunc(s, isBlankOrControl) || strings.Contains(s, "#"):
			t.Errorf("path", "%q is not a URL path (it starts with /, like /health, and has no blanks or fragment)", s)
		default:
			u.Path = s
		}
	}
	if !t.Has("path") {
		t.Errorf("path", "missing: a url needs a path")
	}
	if s, ok := t.Str("digest"); ok {
		if isHex(s) && len(s) == 32 {
			u.Digest = strings.ToLower(s)
		} else {
			t.Errorf("digest", "%q is not an MD5 digest: 32 hexadecimal digits, as genhash or md5sum print", s)
		}
	}
	if v, ok := t.Get("status_code"); ok {
		if st, ok := p.statusCodes(t.Key("status_code"), v); ok {
			u.Status = st
		}
	}
	u.vhost = some(p.virtualHost(t, "virtualhost"))
	t.Done()
	return u
}

// statusCodes reads status_code: a code, a "lo-hi" range, or an array of them.
func (p *parser) statusCodes(key string, v any) ([]StatusRange, bool) {
	if a, ok := v.([]any); ok {
		if len(a) == 0 {
			p.Errorf(key, "must list at least one status code")
			return nil, false
		}
		var rs []StatusRange
		good := true
		for i, e := range a {
			r, ok := p.statusRange(fmt.Sprintf("%s[%d]", key, i), e)
			rs = append(rs, r)
			good = good && ok
		}
		return rs, good
	}
	r, ok := p.statusRange(key, v)
	return []StatusRange{r}, ok
}

func (p *parser) statusRange(key string, v any) (StatusRange, bool) {
	const lo, hi = 100, 599 // keepalived's HTTP_STATUS_CODE_MIN and _MAX
	switch v := v.(type) {
	case int64:
		n, ok := p.Integer(key, v, lo, hi)
		return StatusRange{int(n), int(n)}, ok
	case string:
		a, b, isRange := strings.Cut(v, "-")
		a, b = strings.TrimSpace(a), strings.TrimSpace(b)
		if !isRange {
			b = a
		}
		l, err1 := strconv.Atoi(a)
		h, err2 := strconv.Atoi(b)
		switch {
		case err1 != nil || err2 != nil || !isDigits(a) || !isDigits(b):
			p.Errorf(key, "%q is not a status code or range (like 200 or \"200-299\")", v)
		case l < lo || l > hi || h < lo || h > hi:
			p.Errorf(key, "%q: status codes are between %d and %d", v, lo, hi)
		case l > h:
			p.Errorf(key, "range %d-%d is reversed", l, h)
		default:
			return StatusRange{l, h}, true
		}
		return StatusRange{}, false
	}
	p.TypeError(key, "a status code or a \"lo-hi\" range", v)
	return StatusRange{}, false
}

// timer reads k, a keepalived <TIMER>: a number of seconds, integer or decimal ("delay_loop =
// 6", "delay_loop = 0.5"), to the microsecond, up to 31 days. zero allows 0.
func (p *parser) timer(t *table, k string, zero bool) (time.Duration, bool) {
	f, ok := p.seconds(t, k)
	if !ok {
		return 0, false
	}
	lo := "0.000001"
	if zero {
		lo = "0"
	}
	us := math.Round(f * 1e6)
	if math.IsNaN(f) || f > maxTimeout || us < 0 || us == 0 && !zero {
		n := fmt.Sprint(f) // Inf, NaN
		if !math.IsInf(f, 0) && !math.IsNaN(f) {
			n = strconv.FormatFloat(f, 'f', -1, 64)
		}
		t.Errorf(k, "must be between %s and %d seconds, not %s", lo, maxTimeout, n)
		return 0, false
	}
	return time.Duration(us) * time.Microsecond, true
}

// seconds reads k, a number of seconds, integer or decimal; a duration string ("5s") is refused
// with the number to write.
func (p *parser) seconds(t *table, k string) (float64, bool) {
	v, ok := t.Get(k)
	if !ok {
		return 0, false
	}
	switch v := v.(type) {
	case int64:
		return float64(v), true
	case float64:
		return v, true
	case string:
		if d, err := time.ParseDuration(v); err == nil {
			t.Errorf(k, "must be a number of seconds, not a string: %s = %v", k, d.Seconds())
		} else {
			p.TypeError(t.Key(k), "a number of seconds", v)
		}
		return 0, false
	}
	p.TypeError(t.Key(k), "a number of seconds", v)
	return 0, false
}

// command reads k, a command line run without a shell (Check.Command says how it splits into
// words), or an array of the program and its arguments, which it quotes into one.
func (p *parser) command(t *table, k string) (string, bool) {
	v, ok := t.Get(k)
	if !ok {
		return "", false
	}
	key := t.Key(k)
	switch v := v.(type) {
	case string:
		if _, err := splitCommand(v); err != nil {
			p.Errorf(key, "%v", err)
			return "", false
		}
		return v, true
	case []any:
		items, _ := t.StrList(k)
		if len(v) == 0 {
			p.Errorf(key, "is empty: the program to run, then its arguments")
			return "", false
		}
		if len(items) != len(v) {
			return "", false // reported
		}
		args := make([]string, len(items))
		for i, it := range items {
			args[i] = quoteArg(it.V.(string))
		}
		if args[0] == "''" {
			p.Errorf(items[0].Key, "is empty: the program to run")
			return "", false
		}
		return strings.Join(args, " "), true
	}
	p.TypeError(key, "a command line or an array of the program and its arguments", v)
	return "", false
}

// quoteArg quotes a word of a command line, if it needs it.
func quoteArg(a string) string {
	if a != "" && !strings.ContainsFunc(a, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./_-", r))
	}) {
		return a
	}
	return "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
}

// splitCommand splits a command line as Check.Command describes (cmdline.Split, which health
// runs them with), and refuses the characters a shell would have given a meaning (| & ; < > `)
// unquoted: without a shell, they would reach the program as words.
func splitCommand(s string) ([]string, error) {
	args, shell, err := cmdline.Split(s)
	switch {
	case errors.Is(err, cmdline.ErrEmpty):
		return nil, fmt.Errorf("is empty: the program to run, then its arguments")
	case err != nil:
		return nil, fmt.Errorf("%q %v", s, err)
	case shell != 0:
		return nil, fmt.Errorf("%q has shell syntax (%c), but commands run without a shell; quote it, or run /bin/sh -c '...'", s, shell)
	}
	return args, nil
}

// payload reads udp_check's payload: "0x" then hexadecimal digits (blanks between them are
// ignored), or else the string's own bytes.
func payload(s string) ([]byte, error) {
	var b []byte
	if h, ok := strings.CutPrefix(s, "0x"); ok {
		h = strings.Join(strings.Fields(h), "")
		if !isHex(h) || len(h)%2 != 0 || h == "" {
			return nil, fmt.Errorf("%q is not hexadecimal bytes after 0x (two digits a byte, like \"0x 00 01 ff\")", s)
		}
		b, _ = hex.DecodeString(h)
	} else {
		b = []byte(s)
	}
	switch {
	case len(b) == 0:
		return nil, fmt.Errorf("is empty; leave payload out to send random bytes, as keepalived")
	case len(b) > maxPayload:
		return nil, fmt.Errorf("is %d bytes; a UDP datagram carries at most %d", len(b), maxPayload)
	}
	return b, nil
}

// virtualHost reads a virtualhost: the Host header's value, a host name with an optional port.
func (p *parser) virtualHost(t *table, k string) (string, bool) {
	s, ok := t.Str(k)
	if !ok {
		return "", false
	}
	if s == "" || len(s) > 255 || strings.ContainsFunc(s, isBlankOrControl) || strings.ContainsAny(s, "/?#@") {
		t.Errorf(k, "%q is not a host name (like www.example.com or www.example.com:8080)", s)
		return "", false
	}
	return s, true
}

// hostOf is the host part of a virtualhost: what TLS sends as SNI.
func hostOf(vhost string) string {
	if h, _, err := splitHostPort(vhost); err == nil {
		return h
	}
	return vhost
}

func splitHostPort(s string) (host, port string, err error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 || strings.Count(s, ":") > 1 && !strings.HasPrefix(s, "[") {
		return "", "", fmt.Errorf("no port")
	}
	host, port = s[:i], s[i+1:]
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if !isDigits(port) {
		return "", "", fmt.Errorf("bad port")
	}
	return host, port, nil
}

// isHostName reports whether s is a domain name: dot-separated labels of letters, digits,
// hyphens and underscores, at most 63 bytes each and 253 in all; "." is the root.
func isHostName(s string) bool {
	if s == "." {
		return true
	}
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for l := range strings.SplitSeq(s, ".") {
		if l == "" || len(l) > 63 {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// isSysName reports whether s can be a user or group name (or a numeric id), as useradd takes
// them.
func isSysName(s string) bool {
	if s == "" || len(s) > 32 || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isBlankOrControl(r rune) bool { return r <= ' ' || r == 0x7f }

// defaultRetry is keepalived's retry for a kind of check when neither the checker, its real
// server nor its virtual server sets one.
func defaultRetry(k CheckKind) int {
	switch k {
	case CheckDNS:
		return 3
	case CheckMisc:
		return 0
	}
	return 1
}

// defaultDelayBeforeRetry is keepalived's delay_before_retry for a kind of check.
func defaultDelayBeforeRetry(k CheckKind, delayLoop time.Duration) time.Duration {
	switch k {
	case CheckHTTP, CheckSSL:
		return 3 * time.Second
	case CheckDNS:
		return delayLoop
	}
	return time.Second
}

// placeHealth resolves the health of server d, placed in service s with its final address and
// port: each check's target, source and timing, over the server's keys, the service's (svc,
// inhibit) and keepalived's defaults.
func (p *parser) placeHealth(c *Config, s *Service, d *draft, svc healthKeys, inhibit opt[bool]) ServerHealth {
	h := &d.health
	sh := ServerHealth{
		InhibitOnFailure: pick(false, h.inhibit, inhibit),
		NotifyUp:         h.notifyUp,
		NotifyDown:       h.notifyDown,
	}
	for i := range h.checks {
		if ck, ok := p.placeCheck(c, s, d, &h.checks[i], svc); ok {
			sh.Checks = append(sh.Checks, ck)
		}
	}
	return sh
}

// placeCheck resolves one check of server d.
func (p *parser) placeCheck(c *Config, s *Service, d *draft, cd *checkDraft, svc healthKeys) (Check, bool) {
	ck := cd.Check
	k, rs := &cd.keys, &d.health.keys
	ok := !p.failed(cd.key)
	delayLoop := pick(defaultDelayLoop, k.delayLoop, rs.delayLoop, svc.delayLoop)
	tm := CheckTiming{
		DelayLoop:      delayLoop,
		ConnectTimeout: pick(defaultConnectTimeout, k.connectTimeout, rs.connectTimeout, svc.connectTimeout),
		Rise:           1,
		Fall:           1,
		Alpha:          pick(false, k.alpha, rs.alpha, svc.alpha),
	}
	if ck.Kind != CheckFile { // the file is read when it changes: no retries, no warmup
		tm.Retry = pick(defaultRetry(ck.Kind), k.retry, rs.retry, svc.retry)
		tm.DelayBeforeRetry = pick(defaultDelayBeforeRetry(ck.Kind, delayLoop), k.delayBeforeRetry, rs.delayBeforeRetry, svc.delayBeforeRetry)
		tm.Warmup = pick(delayLoop, k.warmup, rs.warmup, svc.warmup)
		tm.Rise = pick(1, k.rise, rs.rise, svc.rise)
		tm.Fall = pick(1, k.fall, rs.fall, svc.fall)
	}
	if ck.Kind == CheckMisc {
		ck.Timeout = pick(delayLoop, cd.timeout)
		tm.ConnectTimeout = ck.Timeout
	}
	ck.Timing = tm

	if slices.Contains(connectKinds, ck.Kind) {
		ok = p.placeTarget(c, s, d, cd, &ck) && ok
	}
	ck.VirtualHost = pick("", k.virtualhost, rs.virtualhost, svc.virtualhost)
	switch {
	case cd.sniName != "":
		ck.SNI = cd.sniName
	case cd.enableSNI.v:
		ck.SNI = hostOf(ck.VirtualHost)
	}
	noHost := ""
	for _, u := range cd.urls {
		url := u.URL
		url.VirtualHost = pick(ck.VirtualHost, u.vhost)
		url.SNI = ck.SNI
		if cd.sniName == "" && cd.enableSNI.v {
			url.SNI = hostOf(url.VirtualHost)
			if url.SNI == "" && noHost == "" {
				noHost = u.key[strings.LastIndexByte(u.key, '.')+1:]
			}
		}
		ck.URLs = append(ck.URLs, url)
	}
	if noHost != "" {
		p.Errorf(cd.key+".enable_sni", "sends the virtualhost as the server name, and none applies to %s (set virtualhost or sni_name)", noHost)
		ok = false
	}
	return ck, ok
}

// placeTarget gives a check its target and source: connect_ip and connect_port over the
// server's address and port, bindto and bind_port.
func (p *parser) placeTarget(c *Config, s *Service, d *draft, cd *checkDraft, ck *Check) bool {
	ok := true
	addr, port := d.Addr, d.Port
	if cd.ip.IsValid() {
		addr = cd.ip
		key := cd.key + ".connect_ip"
		if o, own := c.ownerOf(addr); own {
			p.Errorf(key, "%s is this appliance's own address (interface %s)", addr, o.Name)
			ok = false
		} else if !p.failed("interface") && !c.routable(addr) {
			p.Errorf(key, "no route to %s (%s; no [[interface.route]] covers it and no %s gateway is set)", addr, c.networks(addr.Is4()), ipName(addr))
			ok = false
		}
	}
	if cd.port != 0 {
		port = cd.port
	}
	switch {
	case ck.Kind == CheckPing:
		port = 0
	case port == 0 && !p.failed(cd.key+".connect_port"):
		what := "a port-0 service"
		if s.Mark != 0 {
			what = "a fwmark service"
		}
		p.Errorf(cd.key+".connect_port", "missing: the real server has no port (%s), so its %s needs connect_port", what, ck.Kind)
		ok = false
	}
	ck.Connect = netip.AddrPortFrom(addr, port)

	if cd.bind.IsValid() {
		key := cd.key + ".bindto"
		b := cd.bind
		switch {
		case b.Is4() != addr.Is4():
			p.Errorf(key, "%s is %s; the check connects to %s, %s", b, ipName(b), addr, ipName(addr))
			ok = false
		case p.failed("interface"):
		default:
			if _, own := c.ownerOf(b); !own {
				p.Errorf(key, "%s is not an address of this appliance (%s)", b, c.addresses(b.Is4()))
				ok = false
			}
		}
	}
	ck.Bind = netip.AddrPortFrom(cd.bind, cd.bindPort)
	return ok
}

// addresses lists the appliance's own addresses of one family, for messages.
func (c *Config) addresses(v4 bool) string {
	var s []string
	for _, ifc := range c.Interfaces {
		for _, pf := range ifc.Addresses {
			if pf.Addr().Is4() == v4 {
				s = append(s, pf.Addr().String()+" on "+ifc.Name)
			}
		}
	}
	if len(s) == 0 {
		if v4 {
			return "it has no IPv4 address"
		}
		return "it has no IPv6 address"
	}
	return "its addresses: " + strings.Join(s, ", ")
}

// headerPath is the name of the table at path as a header writes it, without element indices:
// "virtual_server[0].real_server[1].http_get[0]" → "virtual_server.real_server.http_get".
func headerPath(path string) string {
	var b strings.Builder
	depth := 0
	for _, r := range path {
		switch {
		case r == '[':
			depth++
		case r == ']':
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}
