package conf

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/BurntSushi/toml"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/packet"
)

// corpusFile is one configuration of the round-trip corpus.
type corpusFile struct {
	name string
	src  []byte
	c    *Config
}

// exportCorpus gathers every configuration Parse accepts from the repository's TOML files:
// conf's own testdata (which must all parse), the examples, the lab's scenarios, whose
// appliances carry their configuration inline (a config string) or in a file of their own,
// and the fixtures of conf/testdata/export, written to give every key a value other than its
// default somewhere.
func exportCorpus(t *testing.T) []corpusFile {
	t.Helper()
	var out []corpusFile
	add := func(name string, src []byte) bool {
		c, err := Parse(name, src)
		if err != nil {
			return false
		}
		out = append(out, corpusFile{name, src, c})
		return true
	}
	for _, dir := range []string{"testdata", "../examples", "../lab/testdata"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".toml") {
				return err
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			ours := filepath.Dir(path) == "testdata" || filepath.Dir(path) == filepath.Join("testdata", "export")
			if add(path, src) {
				return nil
			}
			if ours {
				_, err := Parse(path, src)
				t.Errorf("%s does not parse:\n%v", path, err)
				return nil
			}
			// A lab scenario: its appliances' inline configurations.
			var doc map[string]any
			if _, err := toml.Decode(string(src), &doc); err != nil {
				return nil
			}
			var inline func(key string, v any)
			inline = func(key string, v any) {
				switch v := v.(type) {
				case map[string]any:
					for k, e := range v {
						if s, ok := e.(string); ok && k == "config" {
							add(path+":"+key+"."+k, []byte(s))
						} else {
							inline(key+"."+k, e)
						}
					}
				case []map[string]any:
					for i, e := range v {
						inline(fmt.Sprintf("%s[%d]", key, i), e)
					}
				case []any:
					for i, e := range v {
						inline(fmt.Sprintf("%s[%d]", key, i), e)
					}
				}
			}
			inline("", doc)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// roundTrip exports c, parses the text and compares. The unexported fields are compared too:
// they hold key paths (virtual_server[1].local_addresses[0]), not positions, and Export keeps
// every array in order, so a parsed Config and its export's agree on them exactly.
func roundTrip(t *testing.T, name string, c *Config) bool {
	t.Helper()
	text := Export(c)
	c2, err := Parse(name+".export", text)
	if err != nil {
		t.Errorf("%s: the export does not parse:\n%v\n%s", name, err, numbered(text))
		return false
	}
	if !reflect.DeepEqual(c, c2) {
		t.Errorf("%s: the export parses to another Config: %s\n%s", name, firstDiff(reflect.ValueOf(c), reflect.ValueOf(c2), "Config"), numbered(text))
		return false
	}
	if again := Export(c2); !bytes.Equal(again, text) {
		t.Errorf("%s: exporting the parsed export gives another text", name)
		return false
	}
	return true
}

func numbered(text []byte) string {
	var b strings.Builder
	for i, l := range strings.Split(string(text), "\n") {
		fmt.Fprintf(&b, "%4d  %s\n", i+1, l)
	}
	return b.String()
}

// firstDiff names the first field where a and b differ, with both values.
func firstDiff(a, b reflect.Value, path string) string {
	if a.Kind() != b.Kind() {
		return path + ": kinds differ"
	}
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return fmt.Sprintf("%s: nil %v, nil %v", path, a.IsNil(), b.IsNil())
			}
			return ""
		}
		return firstDiff(a.Elem(), b.Elem(), path)
	case reflect.Struct:
		if a.Type().PkgPath() == "net/netip" {
			break
		}
		for i := 0; i < a.NumField(); i++ {
			if d := firstDiff(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); d != "" {
				return d
			}
		}
		return ""
	case reflect.Slice, reflect.Array:
		if a.Kind() == reflect.Slice && (a.IsNil() != b.IsNil() || a.Len() != b.Len()) {
			return fmt.Sprintf("%s: len %d (nil %v), len %d (nil %v)", path, a.Len(), a.IsNil(), b.Len(), b.IsNil())
		}
		for i := 0; i < a.Len(); i++ {
			if d := firstDiff(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i)); d != "" {
				return d
			}
		}
		return ""
	}
	if !a.CanInterface() { // an unexported field: fmt prints it, and both print alike if equal
		if as, bs := fmt.Sprintf("%#v", a), fmt.Sprintf("%#v", b); as != bs {
			return fmt.Sprintf("%s: %s, then %s", path, as, bs)
		}
		return ""
	}
	if !reflect.DeepEqual(a.Interface(), b.Interface()) {
		return fmt.Sprintf("%s: %v, then %v", path, a, b)
	}
	return ""
}

// TestExportRoundTrip: every configuration of the corpus exports to a text that parses back
// to the same Config, and that text is a fixed point.
func TestExportRoundTrip(t *testing.T) {
	corpus := exportCorpus(t)
	if len(corpus) < 30 {
		t.Fatalf("only %d configurations found", len(corpus))
	}
	for _, f := range corpus {
		roundTrip(t, f.name, f.c)
	}
	t.Logf("%d configurations", len(corpus))
}

// TestExportRoundTripGenerated round-trips the configurations TestAcceptedMeansApplied
// generates: families, methods, marks, pools and schedulers mixed at random.
func TestExportRoundTripGenerated(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	n := 0
	for i := 0; i < 2000 && !t.Failed(); i++ {
		src := randomConfig(r)
		if c, err := Parse("gen.toml", []byte(src)); err == nil {
			n++
			if !roundTrip(t, "gen.toml", c) {
				t.Logf("source:\n%s", src)
			}
		}
	}
	if n < 100 {
		t.Errorf("only %d generated configurations accepted", n)
	}
}

// TestExportCoversEveryField makes the round trip complete: every field of Config, however
// deep (a check's URL's status range, a VRRP instance's tracked file's weight), must take two
// values or more across the corpus, so that some round-tripped configuration has it at a
// value other than its default. A field added to Config and forgotten by Export fails here
// until a fixture of testdata/export gives it a value, and then fails the round trip.
// Unexported fields (key paths) are Parse's own and left out.
func TestExportCoversEveryField(t *testing.T) {
	seen := make(map[string]map[string]bool)
	record := func(path string, v any) {
		if seen[path] == nil {
			seen[path] = make(map[string]bool)
		}
		seen[path][fmt.Sprintf("%#v", v)] = true
	}
	for _, f := range exportCorpus(t) {
		walkLeaves(reflect.ValueOf(*f.c), "Config", record)
	}
	var missing []string
	for _, path := range leafPaths(reflect.TypeOf(Config{}), "Config") {
		if n := len(seen[path]); n < 2 && !fixedByParse[path] {
			missing = append(missing, fmt.Sprintf("%s (%d value)", path, n))
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d fields never take a second value in the corpus; add a fixture to testdata/export:\n%s", len(missing), strings.Join(missing, "\n"))
	}
}

// fixedByParse are the fields no file can set: Parse refuses weight, uthreshold and
// lthreshold on a sorry server (keepalived does not take them), leaving 1, 0 and 0.
var fixedByParse = map[string]bool{
	"Config.Services[].ServiceConfig.Sorry.Weight": true,
	"Config.Services[].ServiceConfig.Sorry.Upper":  true,
	"Config.Services[].ServiceConfig.Sorry.Lower":  true,
}

// isLeaf tells the types compared as a whole: scalars, the net/netip values, byte strings
// and arrays ([2]uint16).
func isLeaf(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Struct:
		return t.PkgPath() == "net/netip"
	case reflect.Slice:
		return t.Elem().Kind() == reflect.Uint8
	case reflect.Pointer:
		return false
	}
	return true
}

// leafPaths lists the leaf fields of t: a slice contributes its length ("#len") and its
// elements' fields ("[]"), a pointer whether it is nil ("#nil") and its target's fields.
func leafPaths(t reflect.Type, path string) []string {
	switch {
	case isLeaf(t):
		return []string{path}
	case t.Kind() == reflect.Pointer:
		return append([]string{path + "#nil"}, leafPaths(t.Elem(), path)...)
	case t.Kind() == reflect.Slice:
		return append([]string{path + "#len"}, leafPaths(t.Elem(), path+"[]")...)
	}
	var out []string
	for i := 0; i < t.NumField(); i++ {
		if f := t.Field(i); f.IsExported() {
			out = append(out, leafPaths(f.Type, path+"."+f.Name)...)
		}
	}
	return out
}

// walkLeaves calls record with the value of every leaf of v, under leafPaths' names.
func walkLeaves(v reflect.Value, path string, record func(string, any)) {
	t := v.Type()
	switch {
	case isLeaf(t):
		record(path, v.Interface())
	case t.Kind() == reflect.Pointer:
		record(path+"#nil", v.IsNil())
		if !v.IsNil() {
			walkLeaves(v.Elem(), path, record)
		}
	case t.Kind() == reflect.Slice:
		record(path+"#len", min(v.Len(), 3)) // empty, one, two, more (a sync group has two or more)
		for i := 0; i < v.Len(); i++ {
			walkLeaves(v.Index(i), path+"[]", record)
		}
	default:
		for i := 0; i < t.NumField(); i++ {
			if t.Field(i).IsExported() {
				walkLeaves(v.Field(i), path+"."+t.Field(i).Name, record)
			}
		}
	}
}

var updateExport = flag.Bool("update-export", false, "rewrite testdata/export/*.golden from Export's output")

// TestExportGolden keeps the text Export writes for the fixtures in testdata/export/*.golden,
// so that a change of layout, order or spelling shows in review. Rewrite them with
// go test ./conf/ -run TestExportGolden -update-export.
func TestExportGolden(t *testing.T) {
	fixtures, _ := filepath.Glob(filepath.Join("testdata", "export", "*.toml"))
	if len(fixtures) == 0 {
		t.Fatal("no fixtures")
	}
	for _, name := range fixtures {
		c, err := Load(name)
		if err != nil {
			t.Fatal(err)
		}
		got := Export(c)
		golden := strings.TrimSuffix(name, ".toml") + ".golden"
		if *updateExport {
			if err := os.WriteFile(golden, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: Export differs from %s (-update-export rewrites it):\n%s", name, golden, numbered(got))
		}
	}
}

// TestQuote: every string, control characters, quotes, backslashes and any Unicode
// included, is read back by the TOML parser as it was.
func TestQuote(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	alphabet := []rune("a \"\\\b\t\n\f\r\x00\x01\x1f\x7f\u0080\u00e9\u2028\u202e\U0001F600'#=[]{}$")
	cases := []string{"", `\u0041`, `\`, `"""`, "'''", "a\r\nb"}
	for i := 0; i < 2000; i++ {
		var b strings.Builder
		for n := r.IntN(12); n > 0; n-- {
			if r.IntN(4) == 0 {
				b.WriteRune(rune(r.IntN(0x110000)))
			} else {
				b.WriteRune(alphabet[r.IntN(len(alphabet))])
			}
		}
		if s := b.String(); utf8.ValidString(s) {
			cases = append(cases, s)
		}
	}
	for _, s := range cases {
		var doc struct{ K string }
		if _, err := toml.Decode("K = "+quote(s), &doc); err != nil {
			t.Fatalf("%q quoted as %s: %v", s, quote(s), err)
		}
		if doc.K != s {
			t.Fatalf("%q quoted as %s reads %q", s, quote(s), doc.K)
		}
	}
}

// TestSeconds: a duration written by seconds is read back by keepalived's timers (to the
// microsecond) as it was.
func TestSeconds(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0", time.Second: "1", 90 * time.Second: "90", 1500 * time.Millisecond: "1.5",
		time.Microsecond: "0.000001", 31 * 86400 * time.Second: "2678400", -2 * time.Second: "-2",
		-time.Millisecond: "-0.001", 1: "0.000000001",
	} {
		if got := seconds(d); got != want {
			t.Errorf("seconds(%v) = %s, want %s", d, got, want)
		}
	}
	r := rand.New(rand.NewPCG(9, 10))
	for i := 0; i < 2000; i++ {
		d := time.Duration(1+r.Int64N(31*86400*1e6)) * time.Microsecond
		c := mustParse(t, "[[vrrp_script]]\nname = \"s\"\nscript = \"true\"\ninterval = "+seconds(d)+"\n")
		if got := c.VRRPScripts[0].Interval; got != d {
			t.Fatalf("interval = %s reads %v, want %v", seconds(d), got, d)
		}
	}
}

// TestExportZero: Export writes anything, even a Config no file gives, and Recheck then names
// the keys a file could not hold.
func TestExportZero(t *testing.T) {
	c := &Config{Services: []Service{{ServiceConfig: lb.ServiceConfig{
		Proto: packet.ProtoTCP, VIP: netip.MustParseAddr("10.0.0.1"), Port: 80,
		Servers: []lb.ServerConfig{{Addr: netip.MustParseAddr("10.0.0.20"), Weight: -1}},
	}}}}
	_, err := Recheck("zero.toml", c)
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Recheck: %v", err)
	}
	var keys []string
	for _, e := range errs {
		keys = append(keys, e.Key)
	}
	for _, k := range []string{"log.level", "vrrp.version", "virtual_server[0].delay_loop", "virtual_server[0].quorum", "virtual_server[0].real_server[0].weight"} {
		if !slices.Contains(keys, k) {
			t.Errorf("no error about %s in\n%v", k, err)
		}
	}
}

// FuzzExport: whatever Parse accepts, Export writes so that Parse reads it back the same.
func FuzzExport(f *testing.F) {
	for _, dir := range []string{"testdata", filepath.Join("testdata", "export")} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.toml"))
		for _, name := range files {
			data, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if c, err := Parse("f.toml", data); err == nil {
			roundTrip(t, "f.toml", c)
		}
	})
}

// TestExportRoundTripHealth round-trips generated health checking: the keys a virtual server,
// a real server and a checker may all set, at random on each level and on every kind of
// checker, which is where Export has to work out what each level inherits.
func TestExportRoundTripHealth(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	accepted := 0
	for i := 0; i < 1500 && !t.Failed(); i++ {
		src := randomHealthConfig(r)
		c, err := Parse("health.toml", []byte(src))
		if err != nil {
			continue
		}
		accepted++
		if !roundTrip(t, "health.toml", c) {
			t.Logf("source:\n%s", src)
		}
	}
	t.Logf("%d of 1500 accepted", accepted)
	if accepted < 500 {
		t.Errorf("only %d of the generated configurations accepted", accepted)
	}
}

func randomHealthConfig(r *rand.Rand) string {
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	var b strings.Builder
	timing := func(kind CheckKind) {
		for _, kv := range [][2]string{
			{"delay_loop", pick("3", "0.5", "60")}, {"connect_timeout", pick("2", "5", "7.5")},
			{"retry", pick("0", "1", "3")}, {"delay_before_retry", pick("0", "1", "3", "1.5")},
			{"warmup", pick("0", "4", "60")}, {"rise", pick("1", "2")}, {"fall", pick("1", "3")},
			{"alpha", pick("true", "false")}, {"virtualhost", pick(`"a.example.com"`, `"b.example.com:8080"`)},
		} {
			if kind != "" && !slices.Contains(checkKeys[kv[0]], kind) || r.IntN(4) != 0 {
				continue
			}
			fmt.Fprintf(&b, "%s = %s\n", kv[0], kv[1])
		}
	}
	b.WriteString("[[interface]]\nname = \"eth0\"\naddresses = [\"10.0.0.2/24\", \"192.168.1.2/24\"]\n")
	for s := r.IntN(2) + 1; s > 0; s-- {
		fmt.Fprintf(&b, "[[virtual_server]]\naddress = \"10.0.0.%d:80\"\n", s)
		timing("")
		if r.IntN(4) == 0 {
			b.WriteString("inhibit_on_failure = true\n")
		}
		for i, n := 0, r.IntN(3)+1; i < n; i++ {
			fmt.Fprintf(&b, "[[virtual_server.real_server]]\naddress = \"192.168.1.%d\"\n", 20+i)
			timing("")
			if r.IntN(4) == 0 {
				b.WriteString("inhibit_on_failure = " + pick("true", "false") + "\n")
			}
			for k := r.IntN(4); k > 0; k-- {
				kind := CheckKinds[r.IntN(len(CheckKinds))]
				fmt.Fprintf(&b, "[[virtual_server.real_server.%s]]\n", kind)
				timing(kind)
				switch kind {
				case CheckMisc:
					b.WriteString("misc_path = \"/bin/true\"\n")
					if r.IntN(2) == 0 {
						b.WriteString("misc_timeout = " + pick("1", "60", "2.5") + "\n")
					}
				case CheckFile:
					b.WriteString("file = \"/run/w\"\n")
				case CheckSSL:
					b.WriteString(pick("", "enable_sni = true\n", "sni_name = \"sni.example.com\"\n"))
				case CheckDNS:
					b.WriteString(pick("", "type = \"A\"\n", "name = \"example.com\"\n"))
				case CheckTCP, CheckUDP:
					b.WriteString(pick("", "connect_port = 8080\n", "connect_ip = \"10.0.0.9\"\n"))
				}
				if kind == CheckHTTP || kind == CheckSSL {
					for u := r.IntN(2) + 1; u > 0; u-- {
						fmt.Fprintf(&b, "[[virtual_server.real_server.%s.url]]\npath = \"/%d\"\n%s", kind, u,
							pick("", "virtualhost = \"u.example.com\"\n", "status_code = [200, \"300-399\"]\n"))
					}
				}
			}
		}
	}
	return b.String()
}
