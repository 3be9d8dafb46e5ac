package conf

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
