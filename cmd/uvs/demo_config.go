package main

import (
	"fmt"
	"strings"
)

// demoConfig is the appliance of `uvs demo`, in uvs's own configuration format: the file an
// operator would give `uvs run -c`. Only the interfaces' kind says it runs in-process.
const demoConfig = `# uvs demo: the appliance of the scenario. On a real host the two interfaces would be
# afpacket ports (kind = "afpacket", the default); here they are in-process memory links.

[[interface]]
name = "eth0"                     # the clients' side
kind = "memory"
addresses = ["10.0.0.254/24"]

[[interface]]
name = "eth1"                     # the real servers' network; they route through .254
kind = "memory"
addresses = ["192.168.1.254/24"]

[[virtual_server]]                # ipvsadm -A -t 10.0.0.1:80 -s rr
address = "10.0.0.1:80"
protocol = "tcp"
lb_algo = "rr"
lb_kind = "NAT"

[[virtual_server.real_server]]    # ipvsadm -a -t 10.0.0.1:80 -r 192.168.1.20:8080 -m -w 1
address = "192.168.1.20:8080"     # rs1
weight = 1

[[virtual_server.real_server]]
address = "192.168.1.21:8080"     # rs2
weight = 1

[[virtual_server.real_server]]
address = "192.168.1.22:8080"     # rs3
weight = 1

[ipvs]
expire_nodest_conn = true         # a real server taken out drops its connections at once
`

// commentOutServer returns cfg with the [[virtual_server.real_server]] block of addr
// commented out, as an operator takes a server out of the file before a reload.
func commentOutServer(cfg, addr string) (string, error) {
	lines := strings.Split(cfg, "\n")
	at := -1
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), fmt.Sprintf("address = %q", addr)) {
			at = i
			break
		}
	}
	if at < 0 {
		return "", fmt.Errorf("demo config: no real server %s", addr)
	}
	first := at
	for first > 0 && strings.TrimSpace(lines[first]) != "[[virtual_server.real_server]]" {
		first--
	}
	last := at
	for last+1 < len(lines) && strings.TrimSpace(lines[last+1]) != "" {
		last++
	}
	for i := first; i <= last; i++ {
		lines[i] = "# " + lines[i]
	}
	return strings.Join(lines, "\n"), nil
}
