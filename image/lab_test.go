package image

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/lab"
)

// The VM's configuration: a NAT director in front of the lab's two real servers, VRRP MASTER
// (priority 150) of the client-side VIP and of the servers' gateway address, its control
// API on the management NIC (QEMU's user network, which forwards a host port to it).
const vmConfig = `
[[interface]]
name = "eth0"
addresses = ["10.0.0.2/24"]

[[interface]]
name = "eth1"
addresses = ["192.168.1.2/24"]

[management]
device = "eth2"
addresses = ["10.0.2.15/24"]
gateway = "10.0.2.2"

[control]
listen = "10.0.2.15:9180"
token_file = "/mnt/config/token"

[[vrrp_sync_group]]
name = "VG1"
group = ["EXT", "INT"]

[[vrrp_instance]]
name = "EXT"
state = "MASTER"
interface = "eth0"
virtual_router_id = 50
priority = %[1]d
advert_int = 1
virtual_ipaddress = ["10.0.0.1"]

[[vrrp_instance]]
name = "INT"
state = "MASTER"
interface = "eth1"
virtual_router_id = 2
priority = %[1]d
advert_int = 1
virtual_ipaddress = ["192.168.1.1"]

[[virtual_server]]
address = "10.0.0.1:80"
lb_algo = "rr"
lb_kind = "NAT"
  [[virtual_server.real_server]]
  address = "192.168.1.21:80"
  [[virtual_server.real_server]]
  address = "192.168.1.22:80"
`

const token = "0123456789abcdef-uvs-image-test"

// labTopology is the lab around the VM: a client on the front switch, two real servers on
// the back one, the VM's two NICs on the switches' QEMU ports, and lb2, the in-process
// backup (VRRP priority 100), which is killed at once and comes back at 20 s: until then
// only the VM can carry the clients' requests.
const labTopology = `
name = "qemu-vm"
duration = "%[1]s"
bucket = "250ms"
requires = ["vrrp"]

[nodes.lb2]
kind = "appliance"
config = '''
%[2]s
'''

[nodes.front]
kind = "switch"
external = [{ name = "vm", kind = "qemu-dgram", local = "udp:127.0.0.1:%[3]d", remote = "udp:127.0.0.1:%[4]d" }]

[nodes.back]
kind = "switch"
external = [{ name = "vm", kind = "qemu-dgram", local = "udp:127.0.0.1:%[5]d", remote = "udp:127.0.0.1:%[6]d" }]

[nodes.c1]
kind = "client"
interface = [{ name = "eth0", addresses = ["10.0.0.11/24"], gateway = "10.0.0.1" }]
load = [{ type = "http", target = "10.0.0.1:80", rate = 20 }]

[nodes.rs1]
kind = "host"
interface = [{ name = "eth0", addresses = ["192.168.1.21/24"], gateway = "192.168.1.1" }]
service = [{ type = "http", port = 80 }]

[nodes.rs2]
kind = "host"
interface = [{ name = "eth0", addresses = ["192.168.1.22/24"], gateway = "192.168.1.1" }]
service = [{ type = "http", port = 80 }]

[[links]]
endpoints = ["lb2:eth0", "front:p1"]
[[links]]
endpoints = ["lb2:eth1", "back:p1"]
[[links]]
endpoints = ["c1:eth0", "front:p2"]
[[links]]
endpoints = ["rs1:eth0", "back:p2"]
[[links]]
endpoints = ["rs2:eth0", "back:p3"]

[[events]]
at = "0s"
action = "kill"
node = "lb2"
[[events]]
at = "20s"
action = "restart"
node = "lb2"
`

// lb2Config is vmConfig for the in-process backup: memory ports, its own addresses, priority
// 100, no management NIC nor TCP control API.
func lb2Config() string {
	c := fmt.Sprintf(vmConfig, 100)
	c = strings.Replace(c, `addresses = ["10.0.0.2/24"]`, "kind = \"memory\"\naddresses = [\"10.0.0.3/24\"]", 1)
	c = strings.Replace(c, `addresses = ["192.168.1.2/24"]`, "kind = \"memory\"\naddresses = [\"192.168.1.3/24\"]", 1)
	c = strings.ReplaceAll(c, `state = "MASTER"`, `state = "BACKUP"`)
	i, j := strings.Index(c, "[management]"), strings.Index(c, "[[vrrp_sync_group]]")
	return c[:i] + "[control]\nsocket = \"\"\n\n" + c[j:]
}

// TestQEMULab boots the image under QEMU (TCG) with its NICs on a lab's switches: the lab's
// client reaches the lab's real servers through the VM's VIP while the VM is the only
// director, its control API answers on the management NIC, and when the VM is powered off
// (the ACPI power button) the lab's in-process backup takes the VIPs over and the client's
// requests flow again.
func TestQEMULab(t *testing.T) {
	needQEMU(t)
	if missing := MissingTools(DefaultEFIStub); len(missing) > 0 {
		t.Skipf("the config disk is made with mtools: missing %v", missing)
	}
	began := time.Now()
	img := buildImage(t, true, "")
	t.Logf("uvs and the image built in %v", time.Since(began).Round(time.Millisecond))

	// The config disk: a FAT file system with uvs.toml and the control API's token.
	dir := t.TempDir()
	cfgFile, tokFile, disk := filepath.Join(dir, "uvs.toml"), filepath.Join(dir, "token"), filepath.Join(dir, "config.img")
	if err := os.WriteFile(cfgFile, []byte(fmt.Sprintf(vmConfig, 150)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tokFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFAT(context.Background(), disk, 34<<20, 1, time.Unix(1767225600, 0), map[string]string{"uvs.toml": cfgFile, "token": tokFile}); err != nil {
		t.Fatal(err)
	}

	labFront, vmFront, labBack, vmBack, api := freeUDP(t), freeUDP(t), freeUDP(t), freeUDP(t), freeTCP(t)
	const duration = 36 * time.Second
	topo, err := lab.Parse("qemu-vm.toml", []byte(fmt.Sprintf(labTopology, duration, lb2Config(), labFront, vmFront, labBack, vmBack)))
	if err != nil {
		t.Fatal(err)
	}
	dgram := func(id string, local, remote int) []string {
		return []string{"-netdev", fmt.Sprintf("dgram,id=%s,local.type=inet,local.host=127.0.0.1,local.port=%d,remote.type=inet,remote.host=127.0.0.1,remote.port=%d", id, local, remote),
			"-device", "virtio-net-pci,romfile=,netdev=" + id}
	}
	args := []string{"-kernel", filepath.Join(img, FileKernel), "-initrd", filepath.Join(img, FileInitramfs),
		"-append", "console=ttyS0 quiet panic=-1",
		"-drive", "file=" + disk + ",format=raw,if=virtio,readonly=on"}
	args = append(args, dgram("front", vmFront, labFront)...)
	args = append(args, dgram("back", vmBack, labBack)...)
	args = append(args, "-netdev", fmt.Sprintf("user,id=mgmt,restrict=on,hostfwd=tcp:127.0.0.1:%d-10.0.2.15:9180", api),
		"-device", "virtio-net-pci,romfile=,netdev=mgmt")

	var labLog strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), duration+30*time.Second)
	defer cancel()
	v := startVM(t, args...)
	type result struct {
		r   *lab.Report
		err error
	}
	done := make(chan result, 1)
	labStart := time.Now()
	go func() {
		r, err := lab.Run(ctx, topo, lab.Options{Log: &syncWriter{b: &labLog}})
		done <- result{r, err}
	}()
	defer func() {
		if t.Failed() {
			t.Logf("lab log:\n%s", labLog.String())
		}
	}()

	ready := v.await("network ready", 60*time.Second)
	t.Logf("VM: %s (%v after QEMU started)", ready, time.Since(v.start).Round(time.Millisecond))
	v.await("MASTER", 30*time.Second)

	// The control API on the management NIC, with the token from the config disk.
	var status string
	for deadline := time.Now().Add(10 * time.Second); ; {
		code, body, err := httpTo("GET", fmt.Sprintf("http://127.0.0.1:%d/v1/status", api), token)
		if err == nil && code == 200 {
			status = body
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("control API through the management NIC: %d %v %.200s", code, err, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(status, "10.0.0.1") {
		t.Errorf("the VM's status does not show its virtual server: %.300s", status)
	}
	if code, body, err := httpTo("GET", fmt.Sprintf("http://127.0.0.1:%d/v1/status", api), "wrong-token-0123456789"); err != nil || code != 401 {
		t.Errorf("a wrong token got %d %v %.100s, want 401", code, err, body)
	}
	if code, body, err := httpTo("POST", fmt.Sprintf("http://127.0.0.1:%d/v1/reload", api), token); err != nil || code/100 != 2 {
		t.Errorf("reload through the API: %d %v %.200s", code, err, body)
	}

	// Power the VM off at 26 s of the lab's run (lb2 came back as BACKUP at 20 s).
	powerOff := labStart.Add(26 * time.Second)
	time.Sleep(time.Until(powerOff))
	if err := v.qmpCommand("system_powerdown"); err != nil {
		t.Fatalf("system_powerdown: %v", err)
	}
	if !v.exited(30 * time.Second) {
		t.Fatalf("the VM did not power off within 30 s of the power button")
	}
	t.Logf("VM powered off %v after the power button", time.Since(powerOff).Round(time.Millisecond))
	for _, want := range []string{"by=\"power button\"", "stopped", "halting"} {
		if !strings.Contains(v.console(), want) {
			t.Errorf("the console does not say %q", want)
		}
	}

	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	r := res.r
	offset := labStart.Sub(v.start)
	var first time.Duration = -1
	var vmOnly, afterFailover, errs uint64
	for _, p := range r.Series {
		var n uint64
		for _, c := range p.PerServer {
			n += c
		}
		if n > 0 && first < 0 {
			first = p.Start
		}
		switch {
		case p.Start < 20*time.Second:
			vmOnly += n
		case p.Start >= duration-6*time.Second:
			afterFailover += n
		}
		errs += p.Errors
	}
	if first < 0 {
		t.Fatal("no request was answered")
	}
	t.Logf("boot to the first forwarded request: %v (QEMU start to the end of the first %v bucket with an answer; the lab set up in %v)",
		(offset + r.Setup + first + r.Bucket).Round(time.Millisecond), r.Bucket, r.Setup.Round(time.Millisecond))
	t.Logf("answered while the VM was the only director: %d; in the last 6 s, through lb2: %d; errors in all: %d", vmOnly, afterFailover, errs)
	if vmOnly == 0 {
		t.Error("nothing was answered through the VM")
	}
	if afterFailover == 0 {
		t.Error("nothing was answered after the VM powered off")
	}
	// The lab's clock starts after its setup: the power button in its time.
	pressed := powerOff.Sub(labStart) - r.Setup
	took := time.Duration(-1)
	for _, tr := range r.VRRP {
		t.Logf("VRRP %v %s %s %s→%s %s", tr.At.Round(time.Millisecond), tr.Appliance, tr.Instance, tr.From, tr.To, tr.Reason)
		if tr.Appliance == "lb2" && tr.To == "MASTER" && tr.At > 20*time.Second && took < 0 {
			took = tr.At - pressed
		}
	}
	switch {
	case took < 0:
		t.Error("lb2 did not become MASTER after the VM powered off")
	case took < -time.Second || took > 5*time.Second:
		t.Errorf("lb2 became MASTER %v after the power button, want within 5 s of it", took)
	default:
		t.Logf("lb2 became MASTER %v after the power button (lab time %v)", took.Round(time.Millisecond), pressed.Round(time.Millisecond))
	}
	for _, a := range r.Appliances {
		for _, in := range a.VRRP {
			t.Logf("%s %s: end %s, priority-0 adverts received %d", a.Name, in.Instance, in.End, in.PriZeroRcvd)
		}
	}
	for _, s := range r.Servers {
		t.Logf("server %s answered %d", s.Name, s.Answered)
	}
	if os.Getenv("UVS_TEST_CONSOLE") != "" {
		t.Logf("serial console:\n%s", v.console())
	}
	t.Logf("test took %v", time.Since(began).Round(time.Millisecond))
}
