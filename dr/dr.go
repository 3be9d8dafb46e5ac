package dr

import (
	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/packet"
)

// Forwarder carries out direct-routing verdicts. It has no state and serves every port loop
// at once.
type Forwarder struct{}

// New returns a Forwarder.
func New() *Forwarder { return &Forwarder{} }

var _ lb.Forwarder = (*Forwarder)(nil)

// Forward accepts the frame buf[off:off+p.Len] for direct routing and leaves it as it is: the
// port loop sends it to the real server's MAC. It returns lb.DropForwarder for a verdict it
// cannot carry out: another method, a reply direction (direct routing never sees replies), or
// a family that is not the connection's.
func (f *Forwarder) Forward(buf []byte, off int, p *packet.Packet, v *lb.Verdict) (newOff, newLen int, reason lb.DropReason) {
	switch {
	case off < 0 || p.Len < 0 || off > len(buf)-p.Len,
		v.Method != lb.MethodDR,
		v.Dir != lb.DirIn,
		p.Key.Family != packet.FamilyIPv4 && p.Key.Family != packet.FamilyIPv6,
		p.Key.Family != v.Conn.Family,
		v.ICMPError != p.Has(packet.FlagICMPError):
		return off, p.Len, lb.DropForwarder
	}
	return off, p.Len, lb.DropNone
}
