package conf

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

const syncBase = `
[[interface]]
name = "eth0"
kind = "memory"
addresses = ["10.0.0.2/24"]

[[vrrp_instance]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 51
virtual_ipaddress = ["10.0.0.100"]
`

func TestSyncKeys(t *testing.T) {
	c, err := Parse("sync.toml", []byte(syncBase+`
[sync]
interface = "eth0"
vrrp_instance = "VI_1"
id = 7
ttl = 2
sync_refresh_period = 30
auth_key = "hex:00112233445566778899aabbccddeeff"
`))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Sync
	if !s.Enabled || s.Interface != "eth0" || s.VRRPInstance != "VI_1" || s.Role != "" || s.SyncID != 7 || s.TTL != 2 ||
		s.Group != netip.MustParseAddrPort("224.0.0.81:8848") || s.Threshold != 3 || s.Period != 50 ||
		s.RefreshPeriod != 30*time.Second || len(s.AuthKey) != 16 {
		t.Errorf("sync %+v", s)
	}
	c, err = Parse("sync.toml", []byte(syncBase))
	if err != nil || c.Sync.Enabled {
		t.Errorf("no [sync]: %+v, %v", c.Sync, err)
	}
}

func TestSyncErrors(t *testing.T) {
	for name, body := range map[string]string{
		"interface":      "[sync]\ninterface = \"eth9\"\n",
		"missing":        "[sync]\nid = 1\n",
		"vrrp_instance":  "[sync]\ninterface = \"eth0\"\nvrrp_instance = \"VI_9\"\n",
		"role":           "[sync]\ninterface = \"eth0\"\nrole = \"leader\"\n",
		"both":           "[sync]\ninterface = \"eth0\"\nvrrp_instance = \"VI_1\"\nrole = \"master\"\n",
		"group":          "[sync]\ninterface = \"eth0\"\ngroup = \"10.0.0.1\"\n",
		"family":         "[sync]\ninterface = \"eth0\"\ngroup = \"ff02::81\"\n",
		"threshold":      "[sync]\ninterface = \"eth0\"\nsync_threshold = 60\n",
		"short key":      "[sync]\ninterface = \"eth0\"\nauth_key = \"short\"\n",
		"keepalived key": "lvs_sync_daemon = \"eth0 VI_1\"\n",
	} {
		_, err := Parse("sync.toml", []byte(syncBase+body))
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if !strings.Contains(err.Error(), "sync") {
			t.Errorf("%s: %v", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
}
