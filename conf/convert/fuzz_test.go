package convert

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/BurntSushi/toml"
)

// The importers read files an operator got from elsewhere: whatever they are given, they
// must not panic, and what they return must be TOML (a quoting slip would let a source's
// value inject TOML of its own). FuzzKeepalived, FuzzIPVSadm and FuzzLVSCF hold them to it;
// checkConverted says what a returned file must be.

func seedFiles(f *testing.F, pattern string) [][]byte {
	m, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil {
		f.Fatal(err)
	}
	var out [][]byte
	for _, p := range m {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// checkConverted: a returned file is TOML, and its notes are well formed.
func checkConverted(t *testing.T, res *Result, src []byte) {
	t.Helper()
	if res == nil {
		t.Fatalf("nil result without an error")
	}
	var v map[string]any
	if _, err := toml.Decode(string(res.TOML), &v); err != nil {
		t.Fatalf("the conversion is not TOML: %v\n--- source:\n%s\n--- TOML:\n%s", err, src, res.TOML)
	}
	for _, n := range res.Unsupported {
		if n.Line < 0 {
			t.Fatalf("bad note %+v", n)
		}
	}
}

func FuzzKeepalived(f *testing.F) {
	for _, b := range seedFiles(f, "*.conf") {
		f.Add(b, []byte(nil))
	}
	f.Add([]byte("include inc.conf\nvrrp_instance VI_1 {\n include inc.conf\n}\n"), []byte("virtual_ipaddress {\n 10.0.0.1/24 dev eth1 label eth1:0\n}\n"))
	f.Add([]byte("$X=1\n@a $X\n~SEQ(i,1,3) virtual_server 10.0.0.$i 80 { real_server 10.0.1.$i 80 { } }\n"), []byte(nil))
	f.Fuzz(func(t *testing.T, main, inc []byte) {
		fsys := fstest.MapFS{
			"etc/keepalived/keepalived.conf": {Data: main},
			"etc/keepalived/inc.conf":        {Data: inc},
		}
		res, err := KeepalivedFS(fsys, "etc/keepalived/keepalived.conf")
		if err != nil {
			if !strings.Contains(err.Error(), "keepalived.conf") && !strings.Contains(err.Error(), "inc.conf") {
				t.Fatalf("error %q does not say which file", err)
			}
			return
		}
		checkConverted(t, res, main)
	})
}

func FuzzIPVSadm(f *testing.F) {
	for _, b := range seedFiles(f, "*.ipvsadm") {
		f.Add(b)
	}
	f.Add([]byte("ipvsadm -A -t 10.0.0.1:80 -s wrr -p\nipvsadm -a -t 10.0.0.1:80 -r 10.0.1.1 -m -w 3\nipvsadm -E -f 1 -s mh -b mh-port\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := IPVSadm("rules", data)
		if err != nil {
			if !strings.Contains(err.Error(), "rules") {
				t.Fatalf("error %q does not say which file", err)
			}
			return
		}
		checkConverted(t, res, data)
	})
}

func FuzzLVSCF(f *testing.F) {
	for _, b := range seedFiles(f, "*.lvs.cf") {
		f.Add(b)
	}
	f.Add([]byte("primary = 10.0.0.1\nservice = lvs\nnetwork = nat\nnat_router = 192.168.1.254 eth1:1\nvirtual web {\n address = 10.0.0.100 eth0:1\n port = 80\n server a {\n  address = 192.168.1.2\n  weight = 1\n }\n}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := LVSCF("lvs.cf", data)
		if err != nil {
			if !strings.Contains(err.Error(), "lvs.cf") {
				t.Fatalf("error %q does not say which file", err)
			}
			return
		}
		checkConverted(t, res, data)
	})
}
