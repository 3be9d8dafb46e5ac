package conf

import (
	"slices"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/lb/conntab"
)

// Engine compiles c into the engine's configuration. The result shares nothing with c, so
// the caller may change it (health checks set weights) without touching c.
func (c *Config) Engine() *lb.Config {
	cfg := &lb.Config{
		ExpireNoDestConn:        c.IPVS.ExpireNoDestConn,
		ExpireQuiescentTemplate: c.IPVS.ExpireQuiescentTemplate,
		ConnReuseMode:           c.IPVS.ConnReuseMode,
		SloppyTCP:               c.IPVS.SloppyTCP,
		Defense:                 c.Defense(),
	}
	for _, s := range c.Services {
		sc := s.ServiceConfig
		sc.Servers = slices.Clone(sc.Servers)
		sc.LocalAddrs = slices.Clone(sc.LocalAddrs)
		if sc.Sorry != nil {
			sorry := *sc.Sorry
			sc.Sorry = &sorry
		}
		cfg.Services = append(cfg.Services, sc)
	}
	for _, m := range c.Marks {
		r := m.MarkRule
		r.Ports = slices.Clone(r.Ports)
		cfg.Marks = append(cfg.Marks, r)
	}
	return cfg
}

// Timeouts returns IPVS's default timeouts with those of [ipvs.timeouts] applied, as
// ipvsadm --set applies them.
func (c *Config) Timeouts() conntab.Timeouts {
	t := conntab.DefaultTimeouts()
	t.Set(c.IPVS.TCP, c.IPVS.TCPFin, c.IPVS.UDP)
	return t
}

// Capacity is the connection table's capacity: [ipvs] size, or the engine's default.
func (c *Config) Capacity() int {
	if c.IPVS.Size > 0 {
		return c.IPVS.Size
	}
	return conntab.DefaultCapacity
}
