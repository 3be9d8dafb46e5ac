package conf

import (
	"encoding/hex"
	"net/netip"
	"strings"
	"time"
)

// Sync is the [sync] table: IPVS connection synchronisation, keepalived's lvs_sync_daemon
// (ipvsadm --start-daemon): the master multicasts its connections, the backup installs them,
// so that a failover keeps established flows.
type Sync struct {
	Enabled   bool   // a [sync] table is present
	Interface string // the [[interface]] the messages go out of and come in on
	// VRRPInstance, when set, makes the role follow that instance: MASTER sends, BACKUP
	// (and FAULT) receives, as keepalived's lvs_sync_daemon does.
	VRRPInstance string
	// Role is "master", "backup" or "both" when no VRRPInstance decides it (default "both":
	// send and receive, for master-master pairs).
	Role   string
	SyncID uint8          // id: 0-255; a receiver with 0 takes any
	Group  netip.AddrPort // group and port: default 224.0.0.81:8848
	TTL    uint8          // default 1, as the kernel's
	MaxLen int            // maxlen: the message size limit; 0: from the interface's MTU
	// Threshold and Period are sysctl sync_threshold and sync_period (3 and 50): a
	// connection is sent again when its inbound packet count modulo Period is Threshold.
	Threshold, Period int
	// RefreshPeriod is sync_refresh_period: established connections are sent again this
	// often (0: only by the threshold rule).
	RefreshPeriod time.Duration
	// AuthKey, when set, signs every message with HMAC-SHA256 and refuses unsigned ones
	// (between uvs peers only: a kernel ignores signed messages). At least 16 bytes.
	AuthKey []byte

	key string
}

// IPVS's sync defaults (ip_vs_ctl.c, ip_vs_sync.c).
var defaultSyncGroup = netip.MustParseAddrPort("224.0.0.81:8848")

const (
	defaultSyncThreshold = 3
	defaultSyncPeriod    = 50
	minSyncKey           = 16
)

// sync reads the [sync] table.
func (p *parser) sync(c *Config, t *table) {
	s := &c.Sync
	*s = Sync{Enabled: true, Group: defaultSyncGroup, TTL: 1, Threshold: defaultSyncThreshold, Period: defaultSyncPeriod,
		Role: "both", key: t.Path()}
	if v, ok := t.Str("interface"); ok {
		if !slicesHasIface(c, v) {
			t.Errorf("interface", "no [[interface]] is named %q", v)
		} else {
			s.Interface = v
		}
	} else if !t.Has("interface") {
		t.Errorf("interface", "missing: the interface sync messages use")
	}
	if v, ok := t.Str("vrrp_instance"); ok {
		found := false
		for _, in := range c.VRRPInstances {
			found = found || in.Name == v
		}
		if !found {
			t.Errorf("vrrp_instance", "no [[vrrp_instance]] is named %q", v)
		} else {
			s.VRRPInstance = v
		}
	}
	if v, ok := t.Str("role"); ok {
		switch v {
		case "master", "backup", "both":
			if t.Has("vrrp_instance") {
				t.Errorf("role", "the role follows vrrp_instance; set one or the other")
			}
			s.Role = v
		default:
			t.Errorf("role", "unknown role %q (master, backup or both)", v)
		}
	}
	if s.VRRPInstance != "" {
		s.Role = ""
	}
	if n, ok := t.Integer("id", 0, 255); ok {
		s.SyncID = uint8(n)
	}
	addr := defaultSyncGroup.Addr()
	if v, ok := t.Str("group"); ok {
		if a, err := netip.ParseAddr(v); err != nil || !a.IsMulticast() {
			t.Errorf("group", "%q is not a multicast address", v)
		} else {
			addr = a
		}
	}
	port := defaultSyncGroup.Port()
	if n, ok := t.Integer("port", 1, 65535); ok {
		port = uint16(n)
	}
	s.Group = netip.AddrPortFrom(addr, port)
	if n, ok := t.Integer("ttl", 1, 255); ok {
		s.TTL = uint8(n)
	}
	if n, ok := t.Integer("maxlen", 64, 65507); ok {
		s.MaxLen = int(n)
	}
	if n, ok := t.Integer("sync_threshold", 0, 254); ok {
		s.Threshold = int(n)
	}
	if n, ok := t.Integer("sync_period", 0, 256); ok { // uvs counts packets in a byte
		s.Period = int(n)
	}
	if s.Period > 0 && s.Threshold >= s.Period {
		t.Errorf("sync_threshold", "%d is not below sync_period %d (the kernel refuses it too)", s.Threshold, s.Period)
	}
	if d, ok := t.Seconds("sync_refresh_period", maxTimeout); ok {
		s.RefreshPeriod = d
	}
	if v, ok := t.Str("auth_key"); ok {
		key := []byte(v)
		if h, found := strings.CutPrefix(v, "hex:"); found {
			b, err := hex.DecodeString(h)
			if err != nil {
				t.Errorf("auth_key", "hex: %v", err)
				key = nil
			} else {
				key = b
			}
		}
		if key != nil && len(key) < minSyncKey {
			t.Errorf("auth_key", "%d bytes; at least %d are needed", len(key), minSyncKey)
		} else {
			s.AuthKey = key
		}
	}
	if s.Interface != "" && !ifaceHasFamily(c, s.Interface, addr.Is4()) {
		t.Errorf("group", "interface %s has no %s address to send from", s.Interface, ipName(addr))
	}
	t.Done()
}

func slicesHasIface(c *Config, name string) bool {
	for _, ifc := range c.Interfaces {
		if ifc.Name == name {
			return true
		}
	}
	return false
}

// ifaceHasFamily reports whether interface name has an address of the family (IPv4 when v4).
func ifaceHasFamily(c *Config, name string, v4 bool) bool {
	for _, ifc := range c.Interfaces {
		if ifc.Name != name {
			continue
		}
		for _, pf := range ifc.Addresses {
			if pf.Addr().Is4() == v4 {
				return true
			}
		}
	}
	return false
}
