package connsync

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/lb/conntab"
	"github.com/uvs-lb/uvs/packet"
)

func TestMethodMapping(t *testing.T) {
	for _, c := range []struct {
		m     lb.Method
		flags Flags
		local bool
	}{
		{lb.MethodNAT, FwdMasq, false},
		{lb.MethodFullNAT, FwdMasq, true},
		{lb.MethodDR, FwdDRoute | FlagNoOutput, false},
		{lb.MethodTUN, FwdTunnel | FlagNoOutput, false},
	} {
		f, err := FwdFlags(c.m)
		if err != nil || f != c.flags {
			t.Errorf("FwdFlags(%v) = %#x, %v", c.m, f, err)
		}
		r := Conn{Flags: f, HasLocal: c.local}
		if m, err := r.Method(); err != nil || m != c.m {
			t.Errorf("Method of %#x (local %v) = %v, %v", f, c.local, m, err)
		}
	}
	if _, err := FwdFlags(0); err != ErrMethod {
		t.Errorf("FwdFlags(0): %v", err)
	}
	for _, f := range []Flags{FwdLocalNode, FwdBypass, 5, 6, 7} {
		if _, err := (&Conn{Flags: f}).Method(); err != ErrMethod {
			t.Errorf("Method of %#x: %v", f, err)
		}
	}
	if _, err := (&Conn{Flags: FwdDRoute, HasLocal: true}).Method(); err != ErrMethod {
		t.Errorf("DR with a local endpoint: %v", err)
	}
}

// TestConntabRoundTrip: entries of every kind go to records and back unchanged (but for what
// the table fills itself: Self, Tmpl, Dest, Expires).
func TestConntabRoundTrip(t *testing.T) {
	entries := []struct {
		e       conntab.Conn
		timeout time.Duration
		fwmark  uint32
		want    Conn // the record's flags, state, fwmark, timeout
	}{
		{conntab.Conn{Family: packet.FamilyIPv4, Proto: packet.ProtoTCP, State: conntab.StateEstablished,
			Method: uint8(lb.MethodDR), Flags: conntab.FlagInputOnly,
			CPort: 40000, VPort: 80, DPort: 80, CAddr: a4("192.0.2.10"), VAddr: a4("198.51.100.1"), DAddr: a4("10.0.0.2")},
			15 * time.Minute, 0, goldenV4Conn},
		{conntab.Conn{Family: packet.FamilyIPv6, Proto: packet.ProtoUDP, State: conntab.StateUDP,
			Method: uint8(lb.MethodNAT), Flags: conntab.FlagInactive,
			CPort: 53000, VPort: 53, DPort: 5353, CAddr: a6("2001:db8::10"), VAddr: a6("2001:db8::1"), DAddr: a6("2001:db8:1::2")},
			5 * time.Minute, 0, goldenV6Conn},
		{conntab.Conn{Family: packet.FamilyIPv4, Proto: packet.ProtoTCP, State: conntab.StateTemplate,
			Method: uint8(lb.MethodNAT), Flags: conntab.FlagTemplate,
			VPort: 443, DPort: 443, CAddr: a4("192.0.2.0"), VAddr: a4("198.51.100.1"), DAddr: a4("10.0.0.3")},
			6 * time.Minute, 0, goldenTemplateConns[0]},
		{conntab.Conn{Family: packet.FamilyIPv4, Proto: 0, State: conntab.StateTemplate,
			Method: uint8(lb.MethodDR), Flags: conntab.FlagTemplate,
			CAddr: a4("192.0.2.0"), VAddr: a4("0.0.0.5"), DAddr: a4("10.0.0.4")},
			2 * time.Minute, 0, goldenTemplateConns[1]},
		{conntab.Conn{Family: packet.FamilyIPv4, Proto: packet.ProtoTCP, State: conntab.StateEstablished,
			Method: uint8(lb.MethodFullNAT), Flags: conntab.FlagFullNAT,
			CPort: 40002, VPort: 80, DPort: 8080, LPort: 61000,
			CAddr: a4("192.0.2.13"), VAddr: a4("198.51.100.1"), DAddr: a4("10.0.1.2"), LAddr: a4("10.0.1.1")},
			15 * time.Minute, 0, goldenFullNATConn},
		{conntab.Conn{Family: packet.FamilyIPv6, Proto: packet.ProtoTCP, State: conntab.StateSynRecv,
			Method: uint8(lb.MethodTUN), Flags: conntab.FlagInputOnly | conntab.FlagInactive,
			CPort: 1, VPort: 2, DPort: 3, CAddr: a6("2001:db8::10"), VAddr: a6("2001:db8::1"), DAddr: a6("2001:db8:1::2")},
			time.Minute + time.Millisecond, 42, Conn{
				Family: packet.FamilyIPv6, Protocol: packet.ProtoTCP, Flags: FwdTunnel | FlagNoOutput | FlagInactive, State: 3,
				CPort: 1, VPort: 2, DPort: 3, CAddr: a6("2001:db8::10"), VAddr: a6("2001:db8::1"), DAddr: a6("2001:db8:1::2"),
				Fwmark: 42, Timeout: 61, // rounded up
			}},
	}
	for i, c := range entries {
		var r Conn
		if err := r.FromConntab(&c.e, c.timeout, c.fwmark); err != nil {
			t.Fatalf("%d: FromConntab: %v", i, err)
		}
		if !reflect.DeepEqual(r, c.want) {
			t.Fatalf("%d: record\n%+v\nwant\n%+v", i, r, c.want)
		}
		var back conntab.Conn
		to, err := r.ToConntab(&back)
		if err != nil {
			t.Fatalf("%d: ToConntab: %v", i, err)
		}
		if back != c.e {
			t.Fatalf("%d: entry\n%+v\nwant\n%+v", i, back, c.e)
		}
		if want := time.Duration(c.want.Timeout) * time.Second; to != want {
			t.Fatalf("%d: timeout %v, want %v", i, to, want)
		}
	}
}

func TestConntabSCTP(t *testing.T) {
	e := conntab.Conn{Family: packet.FamilyIPv4, Proto: packet.ProtoSCTP, State: conntab.StateUDP, Method: uint8(lb.MethodNAT)}
	var r Conn
	if err := r.FromConntab(&e, 0, 0); err != nil || r.State != SCTPEstablished || r.Timeout != 0 {
		t.Fatalf("%+v, %v", r, err)
	}
	var back conntab.Conn
	if _, err := r.ToConntab(&back); err != nil || back.State != conntab.StateUDP {
		t.Fatalf("%+v, %v", back, err)
	}
}

func TestConntabErrors(t *testing.T) {
	var r Conn
	for _, c := range []struct {
		e   conntab.Conn
		err error
	}{
		{conntab.Conn{Family: packet.FamilyNone, Method: uint8(lb.MethodNAT)}, ErrFamily},
		{conntab.Conn{Family: packet.FamilyIPv4, Method: 0}, ErrMethod},
		{conntab.Conn{Family: packet.FamilyIPv4, Method: uint8(lb.MethodNAT), Proto: packet.ProtoTCP, State: conntab.StateUDP}, ErrState},
	} {
		if err := r.FromConntab(&c.e, 0, 0); !errors.Is(err, c.err) {
			t.Errorf("FromConntab(%+v): %v, want %v", c.e, err, c.err)
		}
	}
	var e conntab.Conn
	for _, c := range []struct {
		r   Conn
		err error
	}{
		{Conn{Family: packet.FamilyNone}, ErrFamily},
		{Conn{Family: packet.FamilyIPv4, Flags: FwdLocalNode}, ErrMethod},
		{Conn{Family: packet.FamilyIPv4, Flags: FlagNoCPort}, ErrUnsupported},
		{Conn{Family: packet.FamilyIPv4, Flags: FlagTemplate, PEData: []byte("x"), PEName: []byte("sip")}, ErrUnsupported},
		{Conn{Family: packet.FamilyIPv4, Protocol: packet.ProtoTCP, State: TCPStates}, ErrState},
	} {
		if _, err := c.r.ToConntab(&e); !errors.Is(err, c.err) {
			t.Errorf("ToConntab(%+v): %v, want %v", c.r, err, c.err)
		}
	}
	// A connection carrying PE data converts: its key is its addresses.
	var m Message
	Decode(goldenPE, 0, &m)
	pe := m.Conns[0]
	pe.Flags &^= FlagTemplate
	if _, err := pe.ToConntab(&e); err != nil {
		t.Errorf("PE connection: %v", err)
	}
}
