package conf

import (
	"math"
	"strings"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/packet"
)

// mark reads one [[mark]] rule: what `iptables -t mangle -A PREROUTING ... -j MARK
// --set-mark` would say, for uvs's own classifier.
func (p *parser) mark(c *Config, t *table) {
	m := Mark{key: t.Path()}
	mark, hasMark := t.Integer("mark", 1, math.MaxUint32)
	proto, hasProto := t.Str("protocol")
	src, hasSrc := t.Str("source")
	dst, hasDst := t.Str("destination")
	ports, hasPorts := t.List("ports")
	t.Done()

	if !t.Has("mark") {
		t.Errorf("mark", "missing: a rule needs the mark it sets")
	} else if hasMark {
		m.Mark = uint32(mark)
	}
	if hasProto {
		switch strings.ToLower(proto) {
		case "tcp":
			m.Proto = packet.ProtoTCP
		case "udp":
			m.Proto = packet.ProtoUDP
		default:
			t.Errorf("protocol", "unknown protocol %q (tcp or udp; leave it out for any)", proto)
		}
	}
	if hasSrc {
		m.Src, _ = p.canonicalPrefix(t.Key("source"), src, true)
	}
	if hasDst {
		m.Dst, _ = p.canonicalPrefix(t.Key("destination"), dst, true)
	}
	if m.Src.IsValid() && m.Dst.IsValid() && m.Src.Addr().Is4() != m.Dst.Addr().Is4() {
		t.Errorf("destination", "%s and the source %s are of different families: no packet matches", m.Dst, m.Src)
	}
	if hasPorts && !t.Has("protocol") {
		t.Errorf("ports", "ports need a protocol (tcp or udp), as iptables --dport needs -p")
	}
	for _, it := range ports {
		switch v := it.V.(type) {
		case int64:
			if n, ok := p.Integer(it.Key, v, 1, 65535); ok {
				m.Ports = append(m.Ports, lb.PortRange{Lo: uint16(n), Hi: uint16(n)})
			}
		case string:
			if r, err := portRange(v); err != nil {
				p.Errorf(it.Key, "%v", err)
			} else {
				m.Ports = append(m.Ports, r)
			}
		default:
			p.TypeError(it.Key, `a port or a range ("10000-20000")`, v)
		}
	}
	c.Marks = append(c.Marks, m)
}

// ruleFamily is the family of the packets a rule can match; 0 if it matches both.
func ruleFamily(m *Mark) packet.Family {
	switch {
	case m.Dst.IsValid():
		return familyOf(m.Dst.Addr())
	case m.Src.IsValid():
		return familyOf(m.Src.Addr())
	}
	return 0
}

// checkMarks ties rules and fwmark services together, since with no iptables a mark nobody
// sets, or sets for nobody, is a mistake.
func (p *parser) checkMarks(c *Config) {
	for i := range c.Services {
		s := &c.Services[i]
		if s.Mark == 0 || s.Family == 0 {
			continue
		}
		found := false
		for j := range c.Marks {
			f := ruleFamily(&c.Marks[j])
			found = found || c.Marks[j].Mark == s.Mark && (f == 0 || f == s.Family)
		}
		if !found {
			p.Errorf(s.key+".fwmark", "no [[mark]] rule sets mark %d on %s packets", s.Mark, familyName(s.Family))
		}
	}
	for j := range c.Marks {
		r := &c.Marks[j]
		if r.Mark == 0 {
			continue
		}
		f := ruleFamily(r)
		used, other := false, false
		for i := range c.Services {
			s := &c.Services[i]
			if s.Mark == r.Mark {
				used = used || f == 0 || f == s.Family
				other = true
			}
		}
		switch {
		case used:
		case other:
			p.Errorf(r.key+".mark", "the rule matches %s packets, but the fwmark %d virtual server is not %s", familyName(f), r.Mark, familyName(f))
		default:
			p.Errorf(r.key+".mark", "no virtual_server has fwmark %d", r.Mark)
		}
	}
}
