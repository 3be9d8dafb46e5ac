package conf

import (
	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/lb/conntab"
)

// maxConnections bounds [ipvs] size: 2^28 entries is already some 32 GB of table.
const maxConnections = 1 << 28

func defaultIPVS() IPVS { return IPVS{ConnReuseMode: 1} } // IPVS's default conn_reuse_mode

// ipvs reads the [ipvs] table.
func (p *parser) ipvs(v *IPVS, t *table) {
	v.ExpireNoDestConn, _ = t.Bool("expire_nodest_conn")
	v.ExpireQuiescentTemplate, _ = t.Bool("expire_quiescent_template")
	v.SloppyTCP, _ = t.Bool("sloppy_tcp")
	if n, ok := t.Integer("conn_reuse_mode", 0, 3); ok {
		v.ConnReuseMode = int(n)
	}
	if n, ok := t.Integer("size", 1, maxConnections); ok {
		v.Size = int(n)
	}
	// Flood defenses, IPVS's sysctls of the same names. amemthresh counts free entries of
	// the connection table (IPVS: free memory pages), and may not exceed the table.
	if n, ok := t.Integer("amemthresh", 1, maxConnections); ok {
		size := v.Size
		if size == 0 {
			size = conntab.DefaultCapacity
		}
		if int(n) > size {
			t.Errorf("amemthresh", "%d free entries is more than the table's size %d: the table would always be under pressure", n, size)
		} else {
			v.AMemThresh = int(n)
		}
	}
	for _, m := range []struct {
		key string
		to  *int
	}{{"drop_entry", &v.DropEntry}, {"drop_packet", &v.DropPacket}, {"secure_tcp", &v.SecureTCP}} {
		if n, ok := t.Integer(m.key, 0, 3); ok {
			*m.to = int(n)
		}
	}
	if n, ok := t.Integer("am_droprate", 1, 1<<30); ok {
		v.AMDropRate = int(n)
	}
	if tt, ok := t.Sub("timeouts"); ok {
		v.TCP, _ = tt.Seconds("tcp", maxTimeout)
		v.TCPFin, _ = tt.Seconds("tcpfin", maxTimeout)
		v.UDP, _ = tt.Seconds("udp", maxTimeout)
		tt.Done()
	}
	t.Done()
}

// log reads the [log] table.
func (p *parser) log(l *Log, t *table) {
	if s, ok := t.Str("level"); ok {
		switch s {
		case "debug", "info", "warn", "error":
			l.Level = s
		default:
			t.Errorf("level", "unknown level %q (debug, info, warn or error)", s)
		}
	}
	if s, ok := t.Str("format"); ok {
		switch s {
		case "console", "json":
			l.Format = s
		default:
			t.Errorf("format", "unknown format %q (console or json)", s)
		}
	}
	t.Done()
}

// Defense is the engine's flood-defense configuration: the table's size and [ipvs]'s
// amemthresh, drop_entry, drop_packet, am_droprate and secure_tcp.
func (c *Config) Defense() lb.Defense {
	v := &c.IPVS
	return lb.Defense{
		Size: c.Capacity(), Threshold: v.AMemThresh, DropRate: v.AMDropRate,
		DropEntry: lb.DefenseMode(v.DropEntry), DropPacket: lb.DefenseMode(v.DropPacket), SecureTCP: lb.DefenseMode(v.SecureTCP),
	}
}
