package connsync

import (
	"encoding/binary"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uvs-lb/uvs/packet/packettest"
)

// writePcap writes the messages as UDP datagrams from 10.0.0.1 to 224.0.0.81:8848, one frame
// each, in a classic pcap file.
func writePcap(t *testing.T, path string, msgs [][]byte) {
	le := binary.LittleEndian
	var b []byte
	b = le.AppendUint32(b, 0xa1b2c3d4) // magic: microsecond timestamps
	b = le.AppendUint16(b, 2)          // version 2.4
	b = le.AppendUint16(b, 4)
	b = le.AppendUint32(b, 0)     // thiszone
	b = le.AppendUint32(b, 0)     // sigfigs
	b = le.AppendUint32(b, 65535) // snaplen
	b = le.AppendUint32(b, 1)     // LINKTYPE_ETHERNET
	for i, m := range msgs {
		f := packettest.Frame{
			SrcMAC: [6]byte{2, 0, 0, 0, 0, 1}, DstMAC: [6]byte{1, 0, 0x5e, 0, 0, 0x51},
			Src:   netip.MustParseAddrPort("10.0.0.1:34567"),
			Dst:   netip.AddrPortFrom(netip.AddrFrom4(Group), Port),
			Proto: 17, TTL: 1, Payload: m,
		}.Build()
		b = le.AppendUint32(b, uint32(i+1)) // seconds
		b = le.AppendUint32(b, 0)
		b = le.AppendUint32(b, uint32(len(f)))
		b = le.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTshark has Wireshark's IPVS dissector read our messages. Its version 1 support reads
// each record's fixed part only and then steps over 36 or 72 bytes, not the record's size:
// records with options are fine last in a message (as here) but would throw it off before
// others; and it reads version 0 sequence structures big-endian, where the kernel writes them
// in host order. Those are its limits, not the messages'.
func TestTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed: the messages are checked against the golden bytes only")
	}
	e, _ := NewEncoder(7, 1472, nil)
	for _, c := range []*Conn{&goldenV4Conn, &goldenV6Conn, &goldenTemplateConns[0], &goldenTemplateConns[1], &goldenFullNATConn} {
		e.Add(c)
	}
	v1 := append([]byte(nil), e.Flush()...)
	e.Add(&goldenSeqConns[1])
	e.Add(&goldenSeqConns[0])
	seq := append([]byte(nil), e.Flush()...)
	path := filepath.Join(t.TempDir(), "sync.pcap")
	writePcap(t, path, [][]byte{v1, seq, goldenV0})

	fields := []string{"ipvs.syncid", "ipvs.conncount", "ipvs.version", "ipvs.type", "ipvs.proto",
		"ipvs.size.v1", "ipvs.flags.v1", "ipvs.state", "ipvs.cport", "ipvs.vport", "ipvs.dport",
		"ipvs.fwmark", "ipvs.timeout", "ipvs.caddr", "ipvs.vaddr", "ipvs.daddr",
		"ipvs.caddr6", "ipvs.vaddr6", "ipvs.daddr6", "ipvs.flags"}
	args := []string{"-r", path, "-d", "udp.port==8848,ipvs", "-T", "fields", "-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=,"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out, err := exec.Command(tshark, args...).Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 {
		t.Fatalf("tshark printed %d lines:\n%s", len(lines), out)
	}
	want := []map[string]string{{
		"ipvs.syncid": "7", "ipvs.conncount": "5", "ipvs.version": "1",
		"ipvs.type":     "0,1,0,0,0",
		"ipvs.proto":    "0x06,0x11,0x06,0x00,0x06",
		"ipvs.size.v1":  "36,72,36,36,44",
		"ipvs.flags.v1": "0x00000083,0x00000100,0x00001100,0x00001183,0x00000000",
		"ipvs.state":    "0x0001,0x0000,0x0000,0x0000,0x0001",
		"ipvs.cport":    "40000,53000,0,0,40002",
		"ipvs.vport":    "80,53,443,0,80",
		"ipvs.dport":    "80,5353,443,0,8080",
		"ipvs.fwmark":   "0x00000000,0x00000000,0x00000000,0x00000005,0x00000000",
		"ipvs.timeout":  "900,300,360,120,900",
		"ipvs.caddr":    "192.0.2.10,192.0.2.0,192.0.2.0,192.0.2.13",
		"ipvs.vaddr":    "198.51.100.1,198.51.100.1,0.0.0.5,198.51.100.1",
		"ipvs.daddr":    "10.0.0.2,10.0.0.3,10.0.0.4,10.0.1.2",
		"ipvs.caddr6":   "2001:db8::10", "ipvs.vaddr6": "2001:db8::1", "ipvs.daddr6": "2001:db8:1::2",
	}, {
		"ipvs.syncid": "7", "ipvs.conncount": "2", "ipvs.version": "1",
		"ipvs.proto":    "0x11,0x06",
		"ipvs.size.v1":  "36,62",
		"ipvs.flags.v1": "0x00000100,0x00000600",
		"ipvs.cport":    "53000,40001",
		"ipvs.caddr":    "192.0.2.12,192.0.2.11",
		"ipvs.daddr":    "10.0.0.5,10.0.0.2",
	}, {
		"ipvs.syncid": "3", "ipvs.conncount": "2", "ipvs.version": "",
		"ipvs.proto": "0x06,0x06",
		"ipvs.flags": "0x0083,0x0600",
		"ipvs.state": "0x0001,0x0001",
		"ipvs.cport": "40000,40001",
		"ipvs.vport": "80,21",
		"ipvs.caddr": "192.0.2.10,192.0.2.11",
		"ipvs.vaddr": "198.51.100.1,198.51.100.1",
		"ipvs.daddr": "10.0.0.2,10.0.0.2",
	}}
	for i, line := range lines {
		got := strings.Split(line, "|")
		if len(got) != len(fields) {
			t.Fatalf("line %d: %q", i, line)
		}
		for j, f := range fields {
			w, ok := want[i][f]
			if ok && got[j] != w {
				t.Errorf("message %d: %s = %q, want %q", i, f, got[j], w)
			}
		}
	}
	if t.Failed() {
		t.Logf("tshark output:\n%s", out)
	}
}
