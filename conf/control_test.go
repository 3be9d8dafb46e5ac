package conf

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestControlAndMetricsKeys(t *testing.T) {
	base := "[[interface]]\nname = \"eth0\"\nkind = \"memory\"\naddresses = [\"10.0.0.2/24\"]\n"
	c, err := Parse("t.toml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if c.Control.Socket != DefaultControlSocket || c.Control.Listen.IsValid() || c.Metrics.Listen.IsValid() {
		t.Errorf("defaults: %+v %+v", c.Control, c.Metrics)
	}
	c, err = Parse("t.toml", []byte(base+"[control]\nsocket = \"/tmp/x.sock\"\nlisten = \"127.0.0.1:9180\"\ntoken_file = \"/etc/uvs/token\"\n[metrics]\nlisten = \"0.0.0.0:9182\"\nrefresh = \"2s\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Control{Socket: "/tmp/x.sock", Listen: netip.MustParseAddrPort("127.0.0.1:9180"), TokenFile: "/etc/uvs/token"}
	if c.Control != want {
		t.Errorf("control = %+v, want %+v", c.Control, want)
	}
	if c.Metrics != (Metrics{Listen: netip.MustParseAddrPort("0.0.0.0:9182"), StatusPage: true, Refresh: 2 * time.Second}) {
		t.Errorf("metrics = %+v", c.Metrics)
	}
	for in, msg := range map[string]string{
		"[control]\nlisten = \"127.0.0.1:9180\"\n": "t.toml:6:1: control.listen: the TCP listener needs a token_file",
		"[control]\nsocket = \"uvs.sock\"\n":       "t.toml:6:1: control.socket: the socket path must be absolute",
		"[metrics]\nrefresh = \"2s\"\n":            "metrics.listen: missing",
		"[metrics]\nlisten = \"9182\"\n":           "t.toml:6:1: metrics.listen: want ADDRESS:PORT",
	} {
		_, err := Parse("t.toml", []byte(base+in))
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: got %v, want %q", in, err, msg)
		}
	}
}
