package connsync

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"testing"

	"github.com/uvs-lb/uvs/packet"
)

// The golden vectors are built by hand from the kernel's struct layouts (see the package
// documentation), one comment per field, and checked in both directions: the Encoder must
// produce exactly these bytes from the Conns, and Decode must give back exactly the Conns.

func a4(s string) [16]byte {
	var a [16]byte
	packet.AddrTo(netip.MustParseAddr(s), &a)
	return a
}

func a6(s string) [16]byte { return netip.MustParseAddr(s).As16() }

// goldenV4 is one IPv4 TCP connection, direct routing, ESTABLISHED: what a kernel master
// sends for an ipvsadm -g real server.
var (
	goldenV4Conn = Conn{
		Family: packet.FamilyIPv4, Protocol: packet.ProtoTCP,
		Flags: FwdDRoute | FlagNoOutput, State: 1, // IP_VS_TCP_S_ESTABLISHED
		CPort: 40000, VPort: 80, DPort: 80,
		CAddr: a4("192.0.2.10"), VAddr: a4("198.51.100.1"), DAddr: a4("10.0.0.2"),
		Timeout: 900,
	}
	goldenV4 = []byte{
		// struct ip_vs_sync_mesg
		0x00,       // reserved: 0 (where version 0 has nr_conns)
		0x07,       // syncid 7
		0x00, 0x2c, // size 44 = 8 + 36
		0x01,       // nr_conns 1
		0x01,       // version 1 (SYNC_PROTO_VER)
		0x00, 0x00, // spare 0
		// struct ip_vs_sync_v4
		0x00,       // type 0: IPv4
		0x06,       // protocol TCP
		0x00, 0x24, // ver_size: version 0, size 36
		0x00, 0x00, 0x00, 0x83, // flags: IP_VS_CONN_F_DROUTE (3) | NOOUTPUT (0x80)
		0x00, 0x01, // state 1: IP_VS_TCP_S_ESTABLISHED
		0x9c, 0x40, // cport 40000
		0x00, 0x50, // vport 80
		0x00, 0x50, // dport 80
		0x00, 0x00, 0x00, 0x00, // fwmark 0
		0x00, 0x00, 0x03, 0x84, // timeout 900 s
		192, 0, 2, 10, // caddr 192.0.2.10
		198, 51, 100, 1, // vaddr 198.51.100.1
		10, 0, 0, 2, // daddr 10.0.0.2
	}
)

// goldenV6 is one IPv6 UDP connection, masquerading, not established (UDP never is).
var (
	goldenV6Conn = Conn{
		Family: packet.FamilyIPv6, Protocol: packet.ProtoUDP,
		Flags: FwdMasq | FlagInactive, State: 0, // IP_VS_UDP_S_NORMAL
		CPort: 53000, VPort: 53, DPort: 5353,
		CAddr: a6("2001:db8::10"), VAddr: a6("2001:db8::1"), DAddr: a6("2001:db8:1::2"),
		Timeout: 300,
	}
	goldenV6 = []byte{
		// struct ip_vs_sync_mesg
		0x00,       // reserved
		0x07,       // syncid 7
		0x00, 0x50, // size 80 = 8 + 72
		0x01,       // nr_conns 1
		0x01,       // version 1
		0x00, 0x00, // spare
		// struct ip_vs_sync_v6
		0x01,       // type: STYPE_F_INET6
		0x11,       // protocol UDP
		0x00, 0x48, // ver_size: version 0, size 72
		0x00, 0x00, 0x01, 0x00, // flags: IP_VS_CONN_F_MASQ (0) | INACTIVE (0x100)
		0x00, 0x00, // state 0: IP_VS_UDP_S_NORMAL
		0xcf, 0x08, // cport 53000
		0x00, 0x35, // vport 53
		0x14, 0xe9, // dport 5353
		0x00, 0x00, 0x00, 0x00, // fwmark 0
		0x00, 0x00, 0x01, 0x2c, // timeout 300 s
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, // caddr 2001:db8::10
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // vaddr 2001:db8::1
		0x20, 0x01, 0x0d, 0xb8, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, // daddr 2001:db8:1::2
	}
)

// goldenTemplates holds two persistence templates: one of a TCP service on port 443 (client
// network 192.0.2.0, cport 0), one of firewall-mark service 5 (protocol 0, the mark in vaddr,
// ports 0), as ip_vs_sched_persist makes them; templates carry INACTIVE from their real
// server's conn_flags and state IP_VS_CTPL_S_NONE.
var (
	goldenTemplateConns = []Conn{{
		Family: packet.FamilyIPv4, Protocol: packet.ProtoTCP,
		Flags: FlagTemplate | FlagInactive | FwdMasq, State: TemplateNone,
		CPort: 0, VPort: 443, DPort: 443,
		CAddr: a4("192.0.2.0"), VAddr: a4("198.51.100.1"), DAddr: a4("10.0.0.3"),
		Timeout: 360,
	}, {
		Family: packet.FamilyIPv4, Protocol: 0,
		Flags: FlagTemplate | FlagInactive | FwdDRoute | FlagNoOutput, State: TemplateNone,
		CAddr: a4("192.0.2.0"), VAddr: a4("0.0.0.5"), DAddr: a4("10.0.0.4"),
		Fwmark: 5, Timeout: 120,
	}}
	goldenTemplates = []byte{
		// struct ip_vs_sync_mesg
		0x00,       // reserved
		0x07,       // syncid 7
		0x00, 0x50, // size 80 = 8 + 36 + 36
		0x02,       // nr_conns 2
		0x01,       // version 1
		0x00, 0x00, // spare
		// record 1: struct ip_vs_sync_v4
		0x00,       // type IPv4
		0x06,       // protocol TCP
		0x00, 0x24, // ver_size: size 36
		0x00, 0x00, 0x11, 0x00, // flags: TEMPLATE (0x1000) | INACTIVE (0x100) | MASQ (0)
		0x00, 0x00, // state IP_VS_CTPL_S_NONE
		0x00, 0x00, // cport 0
		0x01, 0xbb, // vport 443
		0x01, 0xbb, // dport 443
		0x00, 0x00, 0x00, 0x00, // fwmark 0
		0x00, 0x00, 0x01, 0x68, // timeout 360 s (the persistence timeout)
		192, 0, 2, 0, // caddr: client network 192.0.2.0 (persistence netmask /24)
		198, 51, 100, 1, // vaddr
		10, 0, 0, 3, // daddr
		// record 2: struct ip_vs_sync_v4 (aligned already: 36 is a multiple of 4)
		0x00,       // type IPv4
		0x00,       // protocol 0 (IPPROTO_IP): firewall-mark template
		0x00, 0x24, // ver_size: size 36
		0x00, 0x00, 0x11, 0x83, // flags: TEMPLATE | INACTIVE | NOOUTPUT | DROUTE
		0x00, 0x00, // state IP_VS_CTPL_S_NONE
		0x00, 0x00, // cport 0
		0x00, 0x00, // vport 0
		0x00, 0x00, // dport 0
		0x00, 0x00, 0x00, 0x05, // fwmark 5
		0x00, 0x00, 0x00, 0x78, // timeout 120 s
		192, 0, 2, 0, // caddr: client network
		0, 0, 0, 5, // vaddr: the mark, htonl(5)
		10, 0, 0, 4, // daddr
	}
)

// goldenSeq holds a NAT TCP connection whose payload was resized (FTP), with the sequence
// option, then a UDP connection after two bytes of padding.
var (
	goldenSeqConns = []Conn{{
		Family: packet.FamilyIPv4, Protocol: packet.ProtoTCP,
		Flags: FwdMasq | FlagInSeq | FlagOutSeq, State: 1,
		CPort: 40001, VPort: 21, DPort: 21,
		CAddr: a4("192.0.2.11"), VAddr: a4("198.51.100.1"), DAddr: a4("10.0.0.2"),
		Timeout: 900,
		HasSeq:  true,
		InSeq:   Seq{InitSeq: 0x11223344, Delta: 4, PreviousDelta: 0},
		OutSeq:  Seq{InitSeq: 0x55667788, Delta: 0xfffffffc, PreviousDelta: 0},
	}, {
		Family: packet.FamilyIPv4, Protocol: packet.ProtoUDP,
		Flags: FwdMasq | FlagInactive, State: 0,
		CPort: 53000, VPort: 53, DPort: 53,
		CAddr: a4("192.0.2.12"), VAddr: a4("198.51.100.2"), DAddr: a4("10.0.0.5"),
		Timeout: 300,
	}}
	goldenSeq = []byte{
		// struct ip_vs_sync_mesg
		0x00,       // reserved
		0x07,       // syncid 7
		0x00, 0x6c, // size 108 = 8 + 62 + 2 (padding) + 36
		0x02,       // nr_conns 2
		0x01,       // version 1
		0x00, 0x00, // spare
		// record 1: struct ip_vs_sync_v4
		0x00,       // type IPv4
		0x06,       // protocol TCP
		0x00, 0x3e, // ver_size: size 62 = 36 + 2 + 24
		0x00, 0x00, 0x06, 0x00, // flags: MASQ | OUT_SEQ (0x200) | IN_SEQ (0x400)
		0x00, 0x01, // state ESTABLISHED
		0x9c, 0x41, // cport 40001
		0x00, 0x15, // vport 21
		0x00, 0x15, // dport 21
		0x00, 0x00, 0x00, 0x00, // fwmark
		0x00, 0x00, 0x03, 0x84, // timeout 900 s
		192, 0, 2, 11, // caddr
		198, 51, 100, 1, // vaddr
		10, 0, 0, 2, // daddr
		// option: IPVS_OPT_SEQ_DATA
		0x01,                   // type 1
		0x18,                   // length 24: struct ip_vs_sync_conn_options
		0x11, 0x22, 0x33, 0x44, // in_seq.init_seq
		0x00, 0x00, 0x00, 0x04, // in_seq.delta 4
		0x00, 0x00, 0x00, 0x00, // in_seq.previous_delta
		0x55, 0x66, 0x77, 0x88, // out_seq.init_seq
		0xff, 0xff, 0xff, 0xfc, // out_seq.delta -4
		0x00, 0x00, 0x00, 0x00, // out_seq.previous_delta
		0x00, 0x00, // padding: record 2 starts 32-bit aligned (offset 72)
		// record 2: struct ip_vs_sync_v4
		0x00,       // type IPv4
		0x11,       // protocol UDP
		0x00, 0x24, // ver_size: size 36
		0x00, 0x00, 0x01, 0x00, // flags: MASQ | INACTIVE
		0x00, 0x00, // state NORMAL
		0xcf, 0x08, // cport 53000
		0x00, 0x35, // vport 53
		0x00, 0x35, // dport 53
		0x00, 0x00, 0x00, 0x00, // fwmark
		0x00, 0x00, 0x01, 0x2c, // timeout 300 s
		192, 0, 2, 12, // caddr
		198, 51, 100, 2, // vaddr
		10, 0, 0, 5, // daddr
	}
)

// goldenFullNAT is a uvs full-NAT connection: masquerading plus the uvs local endpoint option,
// which a kernel backup skips (type 0x75 has IPVS_OPT_F_PARAM).
var (
	goldenFullNATConn = Conn{
		Family: packet.FamilyIPv4, Protocol: packet.ProtoTCP,
		Flags: FwdMasq, State: 1,
		CPort: 40002, VPort: 80, DPort: 8080,
		CAddr: a4("192.0.2.13"), VAddr: a4("198.51.100.1"), DAddr: a4("10.0.1.2"),
		Timeout:  900,
		HasLocal: true, LPort: 61000, LAddr: a4("10.0.1.1"),
	}
	goldenFullNAT = []byte{
		// struct ip_vs_sync_mesg
		0x00,       // reserved
		0x07,       // syncid 7
		0x00, 0x34, // size 52 = 8 + 44
		0x01,       // nr_conns 1
		0x01,       // version 1
		0x00, 0x00, // spare
		// struct ip_vs_sync_v4
		0x00,       // type IPv4
		0x06,       // protocol TCP
		0x00, 0x2c, // ver_size: size 44 = 36 + 2 + 6
		0x00, 0x00, 0x00, 0x00, // flags: MASQ, established
		0x00, 0x01, // state ESTABLISHED
		0x9c, 0x42, // cport 40002
		0x00, 0x50, // vport 80
		0x1f, 0x90, // dport 8080
		0x00, 0x00, 0x00, 0x00, // fwmark
		0x00, 0x00, 0x03, 0x84, // timeout 900 s
		192, 0, 2, 13, // caddr
		198, 51, 100, 1, // vaddr
		10, 0, 1, 2, // daddr
		// option: uvs OptLocal
		0x75,       // type 0x75 = IPVS_OPT_F_PARAM (0x40) | 0x35: optional, unknown to the kernel
		0x06,       // length 6
		0xee, 0x48, // local port 61000
		10, 0, 1, 1, // local address 10.0.1.1
	}
)

// goldenV0 is a version 0 message (sync_version=0 on a kernel master, or a pre-2.6.39
// kernel): a DR connection, then a NAT connection with its sequence structures, which the
// master copies from memory in its own (here little-endian) byte order.
var (
	goldenV0Conns = []Conn{{
		Family: packet.FamilyIPv4, Protocol: packet.ProtoTCP,
		Flags: FwdDRoute | FlagNoOutput, State: 1,
		CPort: 40000, VPort: 80, DPort: 80,
		CAddr: a4("192.0.2.10"), VAddr: a4("198.51.100.1"), DAddr: a4("10.0.0.2"),
	}, {
		Family: packet.FamilyIPv4, Protocol: packet.ProtoTCP,
		Flags: FwdMasq | FlagInSeq | FlagOutSeq, State: 1,
		CPort: 40001, VPort: 21, DPort: 21,
		CAddr: a4("192.0.2.11"), VAddr: a4("198.51.100.1"), DAddr: a4("10.0.0.2"),
		HasSeq: true,
		InSeq:  Seq{InitSeq: 0x11223344, Delta: 4},
		OutSeq: Seq{InitSeq: 0x55667788, Delta: 0xfffffffc},
	}}
	goldenV0 = []byte{
		// struct ip_vs_sync_mesg_v0
		0x02,       // nr_conns 2
		0x03,       // syncid 3
		0x00, 0x4c, // size 76 = 4 + 24 + 48
		// record 1: struct ip_vs_sync_conn_v0
		0x00,       // reserved
		0x06,       // protocol TCP
		0x9c, 0x40, // cport 40000
		0x00, 0x50, // vport 80
		0x00, 0x50, // dport 80
		192, 0, 2, 10, // caddr
		198, 51, 100, 1, // vaddr
		10, 0, 0, 2, // daddr
		0x00, 0x83, // flags: DROUTE | NOOUTPUT
		0x00, 0x01, // state ESTABLISHED
		// record 2: struct ip_vs_sync_conn_v0 + struct ip_vs_sync_conn_options (FULL_CONN_SIZE)
		0x00,       // reserved
		0x06,       // protocol TCP
		0x9c, 0x41, // cport 40001
		0x00, 0x15, // vport 21
		0x00, 0x15, // dport 21
		192, 0, 2, 11, // caddr
		198, 51, 100, 1, // vaddr
		10, 0, 0, 2, // daddr
		0x06, 0x00, // flags: MASQ | IN_SEQ | OUT_SEQ: the options follow
		0x00, 0x01, // state ESTABLISHED
		0x44, 0x33, 0x22, 0x11, // in_seq.init_seq, host (little-endian) order
		0x04, 0x00, 0x00, 0x00, // in_seq.delta 4
		0x00, 0x00, 0x00, 0x00, // in_seq.previous_delta
		0x88, 0x77, 0x66, 0x55, // out_seq.init_seq
		0xfc, 0xff, 0xff, 0xff, // out_seq.delta -4
		0x00, 0x00, 0x00, 0x00, // out_seq.previous_delta
	}
)

// goldenPE is decode-only: what a kernel master with the SIP persistence engine sends (a
// template with PE data and name), a record with an unknown optional option (skipped over),
// one with an unknown mandatory option (record skipped) and an ICMP one (no IPVS protocol:
// record skipped).
var (
	goldenPEConns = []Conn{{
		Family: packet.FamilyIPv4, Protocol: packet.ProtoUDP,
		Flags: FlagTemplate | FlagInactive | FwdMasq, State: TemplateNone,
		VPort: 5060, DPort: 5060,
		CAddr: a4("192.0.2.20"), VAddr: a4("198.51.100.3"), DAddr: a4("10.0.0.6"),
		Timeout: 60,
		PEData:  []byte("abc"),
		PEName:  []byte("sip"),
	}, {
		Family: packet.FamilyIPv4, Protocol: packet.ProtoUDP,
		Flags: FwdMasq | FlagInactive,
		CPort: 5060, VPort: 5060, DPort: 5060,
		CAddr: a4("192.0.2.20"), VAddr: a4("198.51.100.3"), DAddr: a4("10.0.0.6"),
		Timeout: 300,
	}}
	goldenPE = []byte{
		// struct ip_vs_sync_mesg
		0x00,       // reserved
		0x07,       // syncid 7
		0x00, 0xac, // size 172 = 8 + 46 + 2 + 40 + 40 + 36
		0x04,       // nr_conns 4
		0x01,       // version 1
		0x00, 0x00, // spare
		// record 1: SIP template
		0x00,       // type IPv4
		0x11,       // protocol UDP
		0x00, 0x2e, // ver_size: size 46 = 36 + 5 + 5
		0x00, 0x00, 0x11, 0x00, // flags: TEMPLATE | INACTIVE | MASQ
		0x00, 0x00, // state IP_VS_CTPL_S_NONE
		0x00, 0x00, // cport 0
		0x13, 0xc4, // vport 5060
		0x13, 0xc4, // dport 5060
		0x00, 0x00, 0x00, 0x00, // fwmark
		0x00, 0x00, 0x00, 0x3c, // timeout 60 s
		192, 0, 2, 20, // caddr
		198, 51, 100, 3, // vaddr
		10, 0, 0, 6, // daddr
		0x02, 0x03, 'a', 'b', 'c', // IPVS_OPT_PE_DATA, length 3, the Call-ID
		0x03, 0x03, 's', 'i', 'p', // IPVS_OPT_PE_NAME, length 3, "sip"
		0x00, 0x00, // padding to offset 56
		// record 2: UDP connection with an unknown optional option
		0x00,       // type IPv4
		0x11,       // protocol UDP
		0x00, 0x28, // ver_size: size 40
		0x00, 0x00, 0x01, 0x00, // flags: MASQ | INACTIVE
		0x00, 0x00, // state NORMAL
		0x13, 0xc4, // cport 5060
		0x13, 0xc4, // vport 5060
		0x13, 0xc4, // dport 5060
		0x00, 0x00, 0x00, 0x00, // fwmark
		0x00, 0x00, 0x01, 0x2c, // timeout 300 s
		192, 0, 2, 20, // caddr
		198, 51, 100, 3, // vaddr
		10, 0, 0, 6, // daddr
		0x48, 0x02, 0xaa, 0xbb, // option type 0x48 (IPVS_OPT_F_PARAM | 8), length 2: skipped
		// record 3: UDP connection with an unknown mandatory option: skipped
		0x00,       // type IPv4
		0x11,       // protocol UDP
		0x00, 0x28, // ver_size: size 40
		0x00, 0x00, 0x01, 0x00, // flags
		0x00, 0x00, // state
		0x13, 0xc5, // cport 5061
		0x13, 0xc4, // vport
		0x13, 0xc4, // dport
		0x00, 0x00, 0x00, 0x00, // fwmark
		0x00, 0x00, 0x01, 0x2c, // timeout
		192, 0, 2, 21, // caddr
		198, 51, 100, 3, // vaddr
		10, 0, 0, 6, // daddr
		0x08, 0x02, 0xaa, 0xbb, // option type 8 (no IPVS_OPT_F_PARAM), length 2: record dropped
		// record 4: ICMP connection: no IPVS protocol, skipped
		0x00,       // type IPv4
		0x01,       // protocol ICMP
		0x00, 0x24, // ver_size: size 36
		0x00, 0x00, 0x01, 0x00, // flags
		0x00, 0x00, // state
		0x00, 0x00, // cport
		0x00, 0x00, // vport
		0x00, 0x00, // dport
		0x00, 0x00, 0x00, 0x00, // fwmark
		0x00, 0x00, 0x00, 0x00, // timeout
		192, 0, 2, 22, // caddr
		198, 51, 100, 3, // vaddr
		10, 0, 0, 6, // daddr
	}
)

type golden struct {
	name  string
	bytes []byte
	conns []Conn
}

// encodable are the vectors the Encoder must reproduce byte for byte.
var encodable = []golden{
	{"ipv4", goldenV4, []Conn{goldenV4Conn}},
	{"ipv6", goldenV6, []Conn{goldenV6Conn}},
	{"templates", goldenTemplates, goldenTemplateConns},
	{"seq", goldenSeq, goldenSeqConns},
	{"fullnat", goldenFullNAT, []Conn{goldenFullNATConn}},
}

func TestGoldenEncode(t *testing.T) {
	for _, g := range encodable {
		t.Run(g.name, func(t *testing.T) {
			e, err := NewEncoder(7, MaxLen(1500, false), nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := range g.conns {
				if full, err := e.Add(&g.conns[i]); err != nil || full != nil {
					t.Fatalf("Add: %v, %x", err, full)
				}
			}
			got := e.Flush()
			if !bytes.Equal(got, g.bytes) {
				t.Fatalf("encoded\n%x\nwant\n%x", got, g.bytes)
			}
			if e.Flush() != nil {
				t.Fatal("second Flush returned a message")
			}
		})
	}
}

func TestGoldenDecode(t *testing.T) {
	all := append(append([]golden{}, encodable...), golden{"v0", goldenV0, goldenV0Conns})
	for _, g := range all {
		t.Run(g.name, func(t *testing.T) {
			var m Message
			if err := Decode(g.bytes, 0, &m); err != nil {
				t.Fatal(err)
			}
			wantVer, wantID := uint8(1), uint8(7)
			if g.name == "v0" {
				wantVer, wantID = 0, 3
			}
			if m.Version != wantVer || m.SyncID != wantID || m.Skipped != 0 {
				t.Fatalf("version %d sync ID %d skipped %d", m.Version, m.SyncID, m.Skipped)
			}
			if !reflect.DeepEqual(m.Conns, g.conns) {
				t.Fatalf("decoded\n%+v\nwant\n%+v", m.Conns, g.conns)
			}
		})
	}
}

func TestGoldenPE(t *testing.T) {
	var m Message
	if err := Decode(goldenPE, 7, &m); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.Conns, goldenPEConns) {
		t.Fatalf("decoded\n%+v\nwant\n%+v", m.Conns, goldenPEConns)
	}
	if m.Skipped != 2 || m.SkipErr != ErrMandatoryOption {
		t.Fatalf("skipped %d (%v), want 2 (unknown mandatory option first)", m.Skipped, m.SkipErr)
	}
	// Re-encoded, the template keeps its PE options (in the kernel's order) and the skipped
	// option is gone: record 1 is byte for byte the same.
	e, _ := NewEncoder(7, 1472, nil)
	e.Add(&m.Conns[0])
	got := e.Flush()
	if !bytes.Equal(got[8:], goldenPE[8:8+46]) {
		t.Fatalf("re-encoded\n%x\nwant\n%x", got[8:], goldenPE[8:8+46])
	}
}

// TestDecodeChecks mutates the golden vectors into each case the kernel's receiver checks.
func TestDecodeChecks(t *testing.T) {
	type mut func(b []byte) []byte
	set := func(off int, v ...byte) mut {
		return func(b []byte) []byte { copy(b[off:], v); return b }
	}
	resize := func(f mut) mut { // apply f, then fix the size field to the new length
		return func(b []byte) []byte {
			b = f(b)
			b[2], b[3] = byte(len(b)>>8), byte(len(b))
			return b
		}
	}
	cases := []struct {
		name    string
		base    []byte
		syncID  uint8
		mut     mut
		err     error
		conns   int
		version uint8
		skipped int
	}{
		{"short", goldenV4, 0, func(b []byte) []byte { return b[:3] }, ErrShort, 0, 0, 0},
		{"size too big", goldenV4, 0, set(3, 0x2d), ErrSize, 0, 0, 0},
		{"size too small", goldenV4, 0, set(3, 0x2b), ErrSize, 0, 0, 0},
		{"other sync ID", goldenV4, 8, nil, ErrSyncID, 0, 0, 0},
		{"own sync ID", goldenV4, 7, nil, nil, 1, 1, 0},
		{"any sync ID", goldenV0, 0, nil, nil, 2, 0, 0},
		{"version 2 is v0", goldenV4, 0, set(5, 2), nil, 0, 0, 0},
		{"spare set is v0", goldenV4, 0, set(6, 0, 1), nil, 0, 0, 0},
		{"signed", goldenV4, 0, set(6, 0x55, 0x41), ErrSigned, 0, 0, 0},
		{"trailing bytes ignored", goldenV4, 0, resize(func(b []byte) []byte { return append(b, 1, 2, 3) }), nil, 1, 1, 0},
		{"nr_conns past the end", goldenSeq, 0, set(4, 3), ErrTruncated, 2, 1, 0},
		{"record size past the end", goldenV4, 0, set(11, 0x28), ErrTruncated, 0, 1, 0},
		{"record version", goldenV4, 0, set(10, 0x10), ErrRecordVersion, 0, 1, 0},
		{"record type 2", goldenV4, 0, set(8, 2), ErrRecordType, 0, 1, 0},
		{"record type 3 is IPv6, too short", goldenV4, 0, set(8, 3), ErrRecordSize, 0, 1, 0},
		{"record shorter than fixed", goldenV4, 0, set(11, 0x20), ErrRecordSize, 0, 1, 0},
		{"option header cut", goldenSeq, 0, set(11, 0x25), ErrOption, 0, 1, 0},
		{"option past the record", goldenSeq, 0, set(11, 0x30), ErrOption, 0, 1, 0},
		{"option length 0", goldenSeq, 0, set(45, 0), ErrOption, 0, 1, 0},
		{"seq option length 20", goldenSeq, 0, set(45, 20), ErrSeqOption, 0, 1, 0},
		{"seq option 0x41", goldenSeq, 0, set(44, 0x41), nil, 2, 1, 0},
		{"unknown optional option", goldenSeq, 0, set(44, 0x4f), nil, 2, 1, 0},
		{"unknown mandatory option", goldenSeq, 0, set(44, 0x0f), nil, 1, 1, 1},
		{"local option bad length", goldenFullNAT, 0, set(45, 4, 0, 0, 0, 0, 0x75, 0), ErrLocalOption, 0, 1, 0},
		{"local option twice", goldenFullNAT, 0, resize(func(b []byte) []byte {
			b = append(b, goldenFullNAT[44:52]...)
			b[11] += 8
			return b
		}), ErrLocalOption, 0, 1, 0},
		{"0x35 is mandatory", goldenFullNAT, 0, set(44, 0x35), nil, 0, 1, 1},
		{"TCP state 11", goldenV4, 0, set(17, 11), nil, 0, 1, 1},
		{"template takes any state", goldenTemplates, 0, set(17, 7), nil, 2, 1, 0},
		{"SCTP state 13", goldenV4, 0, set(9, 132, 0x00, 0x24, 0, 0, 0, 0x83, 0, 13), nil, 1, 1, 0},
		{"SCTP state 14", goldenV4, 0, set(9, 132, 0x00, 0x24, 0, 0, 0, 0x83, 0, 14), nil, 0, 1, 1},
		{"ESP", goldenV4, 0, set(9, 50, 0x00, 0x24, 0, 0, 0, 0x83, 0, 0), nil, 1, 1, 0},
		{"PE data without name", goldenPE, 0, set(49, 0x48), nil, 1, 1, 3},
		{"PE name too long", goldenPE, 0, resize(func(b []byte) []byte {
			// record 4 (ICMP) gets a 17-byte PE name option.
			b[136+3] = 36 + 19
			return append(b, append([]byte{3, 17}, bytes.Repeat([]byte{'x'}, 17)...)...)
		}), ErrPEOption, 2, 1, 1},
		{"v0 record past the end", goldenV0, 0, set(0, 3), ErrTruncated, 2, 0, 0},
		{"v0 options past the end", goldenV0, 0, resize(func(b []byte) []byte { return b[:len(b)-1] }), ErrTruncated, 1, 0, 0},
		{"v0 unknown protocol", goldenV0, 0, set(5, 1), nil, 1, 0, 1},
		{"v0 bad state", goldenV0, 0, set(27, 11), nil, 1, 0, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := append([]byte(nil), c.base...)
			if c.mut != nil {
				b = c.mut(b)
			}
			var m Message
			err := Decode(b, c.syncID, &m)
			if !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, c.err)
			}
			if len(m.Conns) != c.conns || m.Skipped != c.skipped {
				t.Fatalf("%d conns, %d skipped (%v); want %d, %d", len(m.Conns), m.Skipped, m.SkipErr, c.conns, c.skipped)
			}
			if c.err != ErrShort && c.err != ErrSize && c.err != ErrSyncID && m.Version != c.version {
				t.Fatalf("version %d, want %d", m.Version, c.version)
			}
			var re *Error
			if errors.As(err, &re) && re.Record < 0 {
				t.Fatalf("bad record index in %v", re)
			}
		})
	}
}

func TestMaxLen(t *testing.T) {
	for _, c := range []struct {
		mtu  int
		v6   bool
		want int
	}{{1500, false, 1472}, {1500, true, 1452}, {9000, false, 8972}, {65535, true, 65487}} {
		if got := MaxLen(c.mtu, c.v6); got != c.want {
			t.Errorf("MaxLen(%d, %v) = %d, want %d", c.mtu, c.v6, got, c.want)
		}
	}
}
