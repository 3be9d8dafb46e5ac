package lab

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPcapPerLink: --pcap writes one classic pcap per link, named after it, that tshark
// reads and dissects: ARP, and HTTP through the appliance. Without tshark the files are
// still checked by hand. (tshark needs no privileges to read files; it is installed on the
// privileged CI machines.)
func TestPcapPerLink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rep := run(t, "testdata/tiny.toml", Options{PcapDir: dir})
	for _, l := range rep.Links {
		f := filepath.Join(dir, pcapName(l.Name))
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("link %s: %v", l.Name, err)
		}
		if n := pcapRecords(t, f, data); uint64(n) < l.AtoB.Frames+l.BtoA.Frames { // frames go on entering until the links close
			t.Errorf("%s: %d records, the link counted %d frames", f, n, l.AtoB.Frames+l.BtoA.Frames)
		}
	}
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed: the pcaps were only checked by hand")
	}
	protocols := func(file string) string {
		out, err := exec.Command(tshark, "-r", filepath.Join(dir, file), "-T", "fields", "-e", "frame.protocols").CombinedOutput()
		if err != nil {
			t.Fatalf("tshark -r %s: %v\n%s", file, err, out)
		}
		return string(out)
	}
	client := protocols(pcapName("c1:eth0--lb1:eth0"))
	for _, want := range []string{"eth:ethertype:arp", "eth:ethertype:ip:tcp:http"} {
		if !strings.Contains(client, want) {
			t.Errorf("tshark found no %s on the client's link:\n%.2000s", want, client)
		}
	}
	if servers := protocols(pcapName("lb1:eth1--sw:p0")); !strings.Contains(servers, "eth:ethertype:ip:tcp:http") {
		t.Errorf("tshark found no HTTP between the appliance and the servers:\n%.2000s", servers)
	}
}

// pcapRecords checks a classic pcap's global header (Ethernet) and counts its records.
func pcapRecords(t *testing.T, name string, data []byte) int {
	t.Helper()
	if len(data) < 24 {
		t.Fatalf("%s: %d bytes, no pcap header", name, len(data))
	}
	var order binary.ByteOrder
	switch binary.LittleEndian.Uint32(data) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		order = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		order = binary.BigEndian
	default:
		t.Fatalf("%s: magic %x is not pcap's", name, data[:4])
	}
	if lt := order.Uint32(data[20:]); lt != 1 {
		t.Fatalf("%s: link type %d, want 1 (Ethernet)", name, lt)
	}
	n := 0
	for off := 24; off < len(data); n++ {
		if off+16 > len(data) {
			t.Fatalf("%s: record %d is cut short", name, n)
		}
		off += 16 + int(order.Uint32(data[off+8:]))
	}
	return n
}
