package conf

// maxConnections bounds [ipvs] size: 2^28 entries is already some 32 GB of table.
const maxConnections = 1 << 28

func defaultIPVS() IPVS { return IPVS{ConnReuseMode: 1} } // IPVS's default conn_reuse_mode

// ipvs reads the [ipvs] table.
func (p *parser) ipvs(v *IPVS, t *table) {
	v.ExpireNoDestConn, _ = t.boolean("expire_nodest_conn")
	v.ExpireQuiescentTemplate, _ = t.boolean("expire_quiescent_template")
	v.SloppyTCP, _ = t.boolean("sloppy_tcp")
	if n, ok := t.integer("conn_reuse_mode", 0, 3); ok {
		v.ConnReuseMode = int(n)
	}
	if n, ok := t.integer("size", 1, maxConnections); ok {
		v.Size = int(n)
	}
	if tt, ok := t.sub("timeouts"); ok {
		v.TCP, _ = tt.seconds("tcp", maxTimeout)
		v.TCPFin, _ = tt.seconds("tcpfin", maxTimeout)
		v.UDP, _ = tt.seconds("udp", maxTimeout)
		tt.done()
	}
	t.done()
}

// log reads the [log] table.
func (p *parser) log(l *Log, t *table) {
	if s, ok := t.str("level"); ok {
		switch s {
		case "debug", "info", "warn", "error":
			l.Level = s
		default:
			t.errorf("level", "unknown level %q (debug, info, warn or error)", s)
		}
	}
	if s, ok := t.str("format"); ok {
		switch s {
		case "console", "json":
			l.Format = s
		default:
			t.errorf("format", "unknown format %q (console or json)", s)
		}
	}
	t.done()
}
