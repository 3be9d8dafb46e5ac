package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestRunDRWithLinuxPeers is the privileged end-to-end test of direct routing (lb_kind = "DR"):
// a Linux client, `uvs run` on an AF_PACKET veth and two nginx real servers on one L2 segment
// (a Linux bridge, segTopo). The real servers hold the VIP on lo with arp_ignore=1 and
// arp_announce=2, as the LVS-DR howtos set them up; uvs answers ARP for the VIP, rewrites
// only the MAC addresses of the client's frames and sends them on to a real server, which
// answers the client itself. curl through the VIP gets both servers in rr order, every
// request succeeding; dumpcap, on the bridge's side of uvs's veth and on the client, shows
// that the requests went through uvs (to both servers' MACs, addressed to the VIP) and that
// the replies did not: none crossed uvs's veth, and every one the client received came from
// the VIP with a real server's MAC as source. Needs root, iproute2, nginx, curl and tshark
// (make deps installs them).
func TestRunDRWithLinuxPeers(t *testing.T) {
	needRoot(t, "network namespaces, AF_PACKET", "ip", "nginx", "curl", "dumpcap", "tshark")
	start := time.Now()
	const vip = "10.77.3.100"
	dir := t.TempDir()
	bin := buildUVS(t, dir)
	n := newSegTopo(t)
	for i, r := range n.rs {
		n.holdVIP(r, vip)
		startNginxOn(t, dir, r, i+1, 80)
	}
	cliMAC, lbMAC := n.mac(n.cli, "eth0"), n.mac(n.lb, "l0")
	rsMAC := map[string]string{n.mac(n.rs[0], "eth0"): "rs1", n.mac(n.rs[1], "eth0"): "rs2"}

	// Everything to or from port 80 that crosses uvs's veth (seen from the bridge, so frames
	// uvs sends count as well as frames it receives), and everything the client sees.
	atLB := startCapture(t, dir, n.sw, "p-lb", "tcp port 80")
	atCli := startCapture(t, dir, n.cli, "eth0", "tcp port 80")

	cfgPath := filepath.Join(dir, "uvs.toml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`
[[interface]]
name = "eth0"
device = "l0"
addresses = ["10.77.3.254/24"]

[[virtual_server]]
address = "%s:80"
protocol = "tcp"
lb_algo = "rr"
lb_kind = "DR"
  [[virtual_server.real_server]]
  address = "10.77.3.11"
  [[virtual_server.real_server]]
  address = "10.77.3.12"

[log]
format = "json"
`, vip)), 0o644)
	uvs := startUVS(t, dir, "ip", "netns", "exec", n.lb, bin, "run", "-c", cfgPath)

	curl := func() (string, error) { return curlIn(n.cli, "http://"+vip+"/") }
	waitFor(t, uvs, 20*time.Second, curl)
	checkRR(t, 6, curl) // every request answered, by rs1 and rs2 in turn
	if err := uvs.running(); err != nil {
		t.Fatal(err)
	}
	settle(atLB, atCli)

	// uvs's veth: the client's requests to the VIP came in, and went out again, unchanged but
	// for the MACs, to both real servers; no reply from the VIP crossed it.
	var in, out, replies int
	outTo := map[string]int{}
	for _, f := range atLB.read() {
		switch {
		case f.ipSrc == vip && f.sport == 80:
			replies++
		case f.ipDst == vip && f.dport == 80 && f.ethSrc == cliMAC && f.ethDst == lbMAC:
			in++
		case f.ipDst == vip && f.dport == 80 && f.ethSrc == lbMAC:
			out++
			if f.ipSrc != "10.77.3.2" || rsMAC[f.ethDst] == "" {
				t.Errorf("uvs sent %s → %s (MAC %s → %s), want the client's frame to a real server's MAC", f.ipSrc, f.ipDst, f.ethSrc, f.ethDst)
			}
			outTo[rsMAC[f.ethDst]]++
		}
	}
	t.Logf("on uvs's veth: %d frames client → VIP:80 in, %d out to the real servers (%v), %d VIP:80 → client", in, out, outTo, replies)
	if in == 0 || outTo["rs1"] == 0 || outTo["rs2"] == 0 {
		t.Errorf("uvs did not carry the requests to both real servers: %d in, out %v", in, outTo)
	}
	if replies != 0 {
		t.Errorf("%d frames from VIP:80 to the client crossed uvs's veth: the replies must go straight to the client", replies)
	}

	// The client: its replies came from the VIP, sent by the real servers themselves.
	from := map[string]int{}
	for _, f := range atCli.read() {
		if f.ipSrc == vip && f.sport == 80 && f.ipDst == "10.77.3.2" {
			who := rsMAC[f.ethSrc]
			if who == "" {
				who = f.ethSrc
				if f.ethSrc == lbMAC {
					who = "uvs"
				}
			}
			from[who]++
		}
	}
	t.Logf("at the client: frames from VIP:80 by sender %v", from)
	if from["rs1"] == 0 || from["rs2"] == 0 || len(from) != 2 {
		t.Errorf("the client's replies from VIP:80 came from %v, want from the two real servers' MACs only", from)
	}
	if err := uvs.stop(); err != nil {
		t.Errorf("uvs stop: %v", err)
	}
	t.Logf("took %v", time.Since(start).Round(time.Millisecond))
}
