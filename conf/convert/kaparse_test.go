package convert

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/uvs-lb/uvs/internal/cmdline"
)

func TestDecomment(t *testing.T) {
	for _, c := range []struct {
		in, want string
		cont     bool
	}{
		{"   priority 100   # comment", "priority 100", false},
		{"! a comment line", "", false},
		{`misc_path "/bin/check # not a comment"  ! but this is`, `misc_path "/bin/check # not a comment"`, false},
		{`auth_pass pass\#word`, "auth_pass pass#word", false},
		{`$DEF=a \`, "$DEF=a", true},
	} {
		got, cont := decomment(c.in)
		if got != c.want || cont != c.cont {
			t.Errorf("decomment(%q) = %q, %v; want %q, %v", c.in, got, cont, c.want, c.cont)
		}
	}
}

func TestSplitBraces(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"real_server 10.0.0.1 80 { weight 1 }", []string{"real_server 10.0.0.1 80", "{", "weight 1", "}"}},
		{"}}", []string{"}", "}"}},
		{`notify "/bin/x {a}" {`, []string{`notify "/bin/x {a}"`, "{"}},
		{"group{A B}", []string{"group", "{", "A B", "}"}},
	} {
		if got := splitBraces(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("splitBraces(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestKaWords(t *testing.T) {
	words, ok := kaWords(`misc_path "/usr/bin/check --port 80"  user`)
	if !ok || !reflect.DeepEqual(words, []string{"misc_path", "/usr/bin/check --port 80", "user"}) {
		t.Errorf("got %q, %v", words, ok)
	}
	if words, ok := kaWords(`script "unterminated`); ok || !reflect.DeepEqual(words, []string{"script"}) {
		t.Errorf("an unmatched quote: got %q, %v", words, ok)
	}
}

// TestKaScript checks that scripts split as keepalived splits them, and that the command line
// written splits back into the same words in uvs (internal/cmdline).
func TestKaScript(t *testing.T) {
	for _, c := range []struct {
		line       string
		args, rest []string
	}{
		{`notify_master "/etc/keepalived/notify.sh master"`, []string{"/etc/keepalived/notify.sh", "master"}, nil},
		{`notify_master /etc/keepalived/notify.sh master`, []string{"/etc/keepalived/notify.sh"}, []string{"master"}},
		{`notify "/bin/n ' spaces\\x20f\x69le ' '\"s p\"'" root grp`, []string{"/bin/n", " spaces\\x20file ", `"s p"`}, []string{"root", "grp"}},
		{`script "killall -0 haproxy"`, []string{"killall", "-0", "haproxy"}, nil},
	} {
		words, _ := kaWords(c.line)
		n := &kaNode{kaLine: kaLine{words: words, raw: c.line}}
		args, rest, err := kaScript(n)
		if err != nil || !reflect.DeepEqual(args, c.args) || len(rest) != len(c.rest) || len(rest) > 0 && !reflect.DeepEqual(rest, c.rest) {
			t.Errorf("kaScript(%s) = %q, %q, %v; want %q, %q", c.line, args, rest, err, c.args, c.rest)
			continue
		}
		back, shell, err := cmdline.Split(quoteArgs(args))
		if err != nil || shell != 0 || !reflect.DeepEqual(back, args) {
			t.Errorf("%q splits back into %q (%c, %v)", quoteArgs(args), back, shell, err)
		}
	}
}

func TestKaHex(t *testing.T) {
	b, wild, err := kaHex("Ab12f 3 456 546443123", false)
	if err != nil || hexPayload(b) != "0x ab 12 0f 03 45 06 54 64 43 12 03" || wild != -1 {
		t.Errorf("got %s, %d, %v", hexPayload(b), wild, err)
	}
	b, wild, err = kaHex("00 01 X2 ff", true)
	if err != nil || wild != 2 || len(b) != 4 {
		t.Errorf("wildcards: got %x, %d, %v", b, wild, err)
	}
	if _, _, err := kaHex("0g", false); err == nil {
		t.Error("0g is not hexadecimal")
	}
}

func TestKaTimer(t *testing.T) {
	for in, want := range map[string]int64{"3": 3e6, "0.5": 5e5, ".25": 25e4, "2.71828": 2718280, "1.0000005": 1000001} {
		if got, ok := kaTimer(in); !ok || got != want {
			t.Errorf("kaTimer(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "-1", "1s", "1.2.3"} {
		if _, ok := kaTimer(in); ok {
			t.Errorf("kaTimer(%q) accepted", in)
		}
	}
}

func TestExpandRange(t *testing.T) {
	for in, want := range map[string]int{"192.168.200.1-10": 10, "192.168.200.250-192.168.201.10": 17, "192.168.202.8/29": 8, "2001:db8::1-a": 10, "10.0.0.1": 1} {
		if got, ok := expandRange(in); !ok || len(got) != want {
			t.Errorf("expandRange(%q): %d addresses (%v), want %d", in, len(got), ok, want)
		}
	}
	if _, ok := expandRange("10.0.0.9-1"); ok {
		t.Error("a reversed range is accepted")
	}
}

// TestIncludes reads a configuration split over files: a glob relative to the including
// file, a brace expression, an absolute path, a nested include relative to its own file.
func TestIncludes(t *testing.T) {
	fsys := fstest.MapFS{
		"etc/keepalived/keepalived.conf": {Data: []byte("include conf.d/*.conf\ninclude {a,b}.inc\ninclude /etc/keepalived/abs.inc\ninclude nothing/*.conf\n")},
		"etc/keepalived/conf.d/1-vrrp.conf": {Data: []byte(`vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    include ../vips.inc
}
`)},
		"etc/keepalived/conf.d/2-other.conf": {Data: []byte("bogus_keyword\n")},
		"etc/keepalived/vips.inc":            {Data: []byte("virtual_ipaddress {\n 10.0.0.1\n}\n")},
		"etc/keepalived/a.inc":               {Data: []byte("vrrp_script a {\n script /bin/true\n}\n")},
		"etc/keepalived/b.inc":               {Data: []byte("vrrp_script b {\n script /bin/true\n}\n")},
		"etc/keepalived/abs.inc":             {Data: []byte("vrrp_script c {\n script /bin/true\n}\n")},
	}
	res, err := KeepalivedFS(fsys, "etc/keepalived/keepalived.conf")
	if err != nil {
		t.Fatal(err)
	}
	s := string(res.TOML)
	for _, want := range []string{`virtual_ipaddress = ["10.0.0.1"]`, `name = "a"`, `name = "b"`, `name = "c"`} {
		if !strings.Contains(s, want) {
			t.Errorf("no %s in\n%s", want, s)
		}
	}
	wantNotes := []string{
		"etc/keepalived/keepalived.conf:4: include nothing/*.conf: not supported (no file matches it)",
		"etc/keepalived/conf.d/2-other.conf:1: bogus_keyword: not supported (unknown keyword: keepalived ignores it)",
	}
	var got []string
	for _, n := range res.Unsupported {
		got = append(got, n.String())
	}
	if !reflect.DeepEqual(got, wantNotes) {
		t.Errorf("notes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantNotes, "\n"))
	}
	accepts(t, res)

	fsys["etc/keepalived/loop.conf"] = &fstest.MapFile{Data: []byte("include loop.conf\n")}
	if _, err := KeepalivedFS(fsys, "etc/keepalived/loop.conf"); err == nil {
		t.Error("an include loop is accepted")
	}
	if _, err := KeepalivedFS(fsys, "etc/keepalived/missing.conf"); err == nil {
		t.Error("a missing file is accepted")
	}
}

// TestKeepalivedFromDisk reads through the file system, relative includes and notes named
// as the caller named the file.
func TestKeepalivedFromDisk(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "conf.d"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "keepalived.conf"), []byte("include conf.d/*.conf\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "conf.d", "vs.conf"), []byte("virtual_server 10.0.0.1 80 {\n  ha_suspend\n  real_server 10.0.0.20 80 {\n  }\n}\n"), 0o644))
	res, err := Keepalived(filepath.Join(dir, "keepalived.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Unsupported) != 1 || res.Unsupported[0].File != filepath.Join(dir, "conf.d", "vs.conf") || res.Unsupported[0].Line != 2 {
		t.Errorf("notes: %v", res.Unsupported)
	}
	accepts(t, res)
}

// TestDefinitions covers keepalived's parameters and conditional lines.
func TestDefinitions(t *testing.T) {
	res := ka(t, `
$IF=eth0
$VIPS= \
  10.0.0.1 \
  10.0.0.2
vrrp_instance VI_1 {
    interface $IF
    state MASTER
    virtual_router_id 7
    @lb2 priority 50
    @^lb2 priority 150
    virtual_ipaddress {
        $VIPS
        $UNDEFINED
    }
}
~SEQ(ID,1,3) vrrp_script s$ID { script /bin/true }
`)
	has(t, res, `interface = "eth0"`, `priority = 150`, `virtual_ipaddress = ["10.0.0.1", "10.0.0.2"]`)
	hasNote(t, res, `@lb2 priority 50: not supported (for the keepalived started with -i lb2 only`,
		`$UNDEFINED: not supported (not an IP address`, `~SEQ(ID,1,3)`)
	accepts(t, res)
}
