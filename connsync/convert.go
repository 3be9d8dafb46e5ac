package connsync

import (
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/lb/conntab"
	"github.com/uvs-lb/uvs/packet"
)

// ErrUnsupported means a record describes something uvs's connection table cannot hold: a
// connection without its client port yet (FlagNoCPort, made by the kernel's FTP helper), or a
// template keyed by persistence-engine data (uvs has no persistence engines).
var ErrUnsupported = errors.New("connsync: record uvs cannot represent")

// FwdFlags returns the IPVS forwarding bits for a uvs method, with FlagNoOutput where the
// kernel sets it (every method but masquerading: __ip_vs_update_dest):
//
//	lb.MethodNAT     → FwdMasq
//	lb.MethodFullNAT → FwdMasq (the local endpoint travels in OptLocal)
//	lb.MethodDR      → FwdDRoute | FlagNoOutput
//	lb.MethodTUN     → FwdTunnel | FlagNoOutput
//
// Anything else is ErrMethod.
func FwdFlags(m lb.Method) (Flags, error) {
	switch m {
	case lb.MethodNAT, lb.MethodFullNAT:
		return FwdMasq, nil
	case lb.MethodDR:
		return FwdDRoute | FlagNoOutput, nil
	case lb.MethodTUN:
		return FwdTunnel | FlagNoOutput, nil
	}
	return 0, ErrMethod
}

// Method returns the uvs method of the record: FwdMasq is lb.MethodNAT, or lb.MethodFullNAT
// when the record carries the uvs local endpoint; FwdDRoute is lb.MethodDR; FwdTunnel is
// lb.MethodTUN. FwdLocalNode, FwdBypass and the unused codes, and a local endpoint with any
// method but FwdMasq, are ErrMethod.
func (c *Conn) Method() (lb.Method, error) {
	f := c.Flags.Fwd()
	switch {
	case f == FwdMasq && c.HasLocal:
		return lb.MethodFullNAT, nil
	case c.HasLocal:
		return 0, ErrMethod
	case f == FwdMasq:
		return lb.MethodNAT, nil
	case f == FwdDRoute:
		return lb.MethodDR, nil
	case f == FwdTunnel:
		return lb.MethodTUN, nil
	}
	return 0, ErrMethod
}

// FromConntab fills c from a connection-table entry e (Method holding an lb.Method), for the
// master to send. timeout is the entry's full timeout in its state (a template's persistence
// timeout), sent in whole seconds rounded up; 0 lets the receiver use its own. fwmark is the
// firewall mark of the entry's service (0 for a service by address); for a template of a
// firewall-mark service (Proto 0) it defaults to the mark the template holds in VAddr.
//
// Flags are what the kernel's would be for the same entry: the method's (FwdFlags), plus
// FlagTemplate, FlagInactive (a template always has it, as the kernel's do) and
// FlagOnePacket. State: TCP's is the same number; UDP's and the other single-state protocols'
// is 0 (IP_VS_UDP_S_NORMAL), SCTP's SCTPEstablished (uvs keeps one state for SCTP), a
// template's TemplateNone. A full-NAT connection (FlagFullNAT) carries its local endpoint in
// OptLocal.
func (c *Conn) FromConntab(e *conntab.Conn, timeout time.Duration, fwmark uint32) error {
	if e.Family != packet.FamilyIPv4 && e.Family != packet.FamilyIPv6 {
		return ErrFamily
	}
	fwd, err := FwdFlags(lb.Method(e.Method))
	if err != nil {
		return err
	}
	*c = Conn{
		Family: e.Family, Protocol: e.Proto, Flags: fwd,
		CPort: e.CPort, VPort: e.VPort, DPort: e.DPort,
		CAddr: e.CAddr, VAddr: e.VAddr, DAddr: e.DAddr,
		Fwmark: fwmark, Timeout: seconds(timeout),
	}
	if e.Flags&conntab.FlagTemplate != 0 {
		c.Flags |= FlagTemplate | FlagInactive
		c.State = TemplateNone
		if fwmark == 0 && e.Proto == 0 {
			c.Fwmark = binary.BigEndian.Uint32(e.VAddr[:4])
		}
		return nil
	}
	if e.Flags&conntab.FlagInactive != 0 {
		c.Flags |= FlagInactive
	}
	if e.Flags&conntab.FlagOnePacket != 0 {
		c.Flags |= FlagOnePacket
	}
	switch e.Proto {
	case packet.ProtoTCP:
		if int(e.State) >= TCPStates {
			return ErrState
		}
		c.State = uint16(e.State)
	case packet.ProtoSCTP:
		c.State = SCTPEstablished
	}
	if e.Flags&conntab.FlagFullNAT != 0 {
		c.HasLocal, c.LAddr, c.LPort = true, e.LAddr, e.LPort
	}
	return nil
}

// seconds rounds d up to whole seconds, saturating.
func seconds(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	s := (d + time.Second - 1) / time.Second
	if s > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(s)
}

// ToConntab fills e from the record, for the backup to insert (conntab.Table.Insert with the
// returned timeout, 0 meaning the table's own for the state, as Insert takes it). e.Dest is
// left 0: the engine finds the real server from DAddr:DPort and the service. What it keeps:
// Method (an lb.Method, see Method), FlagTemplate, FlagInputOnly for DR and TUN connections,
// FlagFullNAT with LAddr:LPort, FlagInactive; State: TCP's number, StateUDP for every other
// protocol (uvs keeps one state for them), StateTemplate for templates. What it drops: the
// sequence option (uvs does no sequence adjustment), the firewall mark (in the record, for
// the caller to find the service), persistence-engine data of connections.
func (c *Conn) ToConntab(e *conntab.Conn) (timeout time.Duration, err error) {
	if c.Family != packet.FamilyIPv4 && c.Family != packet.FamilyIPv6 {
		return 0, ErrFamily
	}
	m, err := c.Method()
	if err != nil {
		return 0, err
	}
	if c.Flags&FlagNoCPort != 0 {
		return 0, ErrUnsupported
	}
	*e = conntab.Conn{
		Family: c.Family, Proto: c.Protocol, Method: uint8(m),
		CPort: c.CPort, VPort: c.VPort, DPort: c.DPort,
		CAddr: c.CAddr, VAddr: c.VAddr, DAddr: c.DAddr,
	}
	timeout = time.Duration(c.Timeout) * time.Second
	if c.Flags&FlagTemplate != 0 {
		if len(c.PEData) > 0 {
			return 0, ErrUnsupported
		}
		e.Flags, e.State = conntab.FlagTemplate, conntab.StateTemplate
		return timeout, nil
	}
	if m.InputOnly() {
		e.Flags |= conntab.FlagInputOnly
	}
	if m == lb.MethodFullNAT {
		e.Flags |= conntab.FlagFullNAT
		e.LAddr, e.LPort = c.LAddr, c.LPort
	}
	if c.Flags&FlagInactive != 0 {
		e.Flags |= conntab.FlagInactive
	}
	switch {
	case c.Protocol != packet.ProtoTCP:
		e.State = conntab.StateUDP
	case c.State < TCPStates:
		e.State = conntab.State(c.State)
	default:
		return 0, ErrState
	}
	return timeout, nil
}
