package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/netstack/afpacket"
)

// TestRealInterface: a switch port on a real interface (AF_PACKET, root only) puts the
// kernel on the lab's network: curl in a network namespace, at the far end of a veth pair,
// reaches the VIP through the appliance and gets a lab server's answer.
func TestRealInterface(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: AF_PACKET on a veth pair in a network namespace")
	}
	for _, tool := range []string{"ip", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	t.Parallel()
	ns := fmt.Sprintf("uvslab%d", os.Getpid())
	outside, inside := fmt.Sprintf("uvl%da", os.Getpid()%100000), fmt.Sprintf("uvl%db", os.Getpid()%100000)
	sh := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	sh("ip", "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	sh("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
	t.Cleanup(func() { exec.Command("ip", "link", "del", outside).Run() })
	// The kernel's transmit offloads would leave the checksums of its segments to a NIC that
	// a veth does not have: turned off on this end here, and on the lab's end by the lab.
	if err := afpacket.DisableOffloads(inside); err != nil {
		t.Fatal(err)
	}
	sh("ip", "link", "set", inside, "netns", ns)
	sh("ip", "link", "set", outside, "up")
	sh("ip", "-n", ns, "addr", "add", "10.0.0.50/24", "dev", inside)
	sh("ip", "-n", ns, "link", "set", inside, "up")
	sh("ip", "-n", ns, "route", "add", "default", "via", "10.0.0.254")

	src, err := os.ReadFile("testdata/tiny.toml")
	if err != nil {
		t.Fatal(err)
	}
	// tiny.toml with a switch between the client and the appliance, and the veth on it.
	text := strings.Replace(string(src), `duration = "2s"`, `duration = "6s"`, 1)
	text = strings.Replace(text, `endpoints = ["c1:eth0", "lb1:eth0"]`, `endpoints = ["c1:eth0", "front:c1"]
[[links]]
endpoints = ["lb1:eth0", "front:lb1"]`, 1)
	text += fmt.Sprintf("\n[nodes.front]\nkind = \"switch\"\nexternal = [{ name = \"kernel\", kind = \"afpacket\", device = %q }]\n", outside)
	topo, err := Parse("realif.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan *Report)
	go func() {
		rep, err := Run(context.Background(), topo, Options{})
		if err != nil {
			t.Error(err)
		}
		done <- rep
	}()
	var answers []string
	for i := 0; i < 4; i++ {
		time.Sleep(time.Second)
		out, err := exec.Command("ip", "netns", "exec", ns, "curl", "-sS", "-m", "2", "http://10.0.0.1/").CombinedOutput()
		if err != nil {
			t.Errorf("curl from the kernel: %v: %s", err, out)
			continue
		}
		answers = append(answers, strings.TrimSpace(string(out)))
	}
	rep := <-done
	if len(answers) == 0 {
		t.Fatal("the kernel got no answer")
	}
	for _, a := range answers {
		if a != "rs1" && a != "rs2" {
			t.Errorf("the kernel got %q, want a lab server's name", a)
		}
	}
	var received uint64
	for _, s := range rep.Servers {
		received += s.Received
	}
	c := client(t, rep, "c1/http")
	if answered := c.Requests - c.Errors + uint64(len(answers)); received < answered {
		t.Errorf("the servers received %d requests, fewer than the %d the lab client and the kernel got answers to", received, answered)
	}
}
