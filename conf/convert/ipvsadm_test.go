package convert

import (
	"strings"
	"testing"
)

func ipvs(t *testing.T, text string) *Result {
	t.Helper()
	res, err := IPVSadm("rules", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestIPVSadmCommands applies a script of commands in order, as ipvsadm -R does.
func TestIPVSadmCommands(t *testing.T) {
	res := ipvs(t, `
# a comment
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.0.1.20:8080 -m -w 3 -x 100 -y 50
-a -t 10.0.0.1:80 -r 10.0.1.21:8080 -m
-e -t 10.0.0.1:80 -r 10.0.1.21:8080 -m -w 0
-d -t 10.0.0.1:80 -r 10.0.1.20:8080
-a -t 10.0.0.1:80 -r 10.0.1.22:8080 -m
-E -t 10.0.0.1:80 -s sh -b sh-port,sh-fallback -p -M 255.255.255.0
-A -t 10.0.0.2:443 -s wlc
-D -t 10.0.0.2:443
-A -u [2001:db8::1]:domain -s rr -o
-a -u [2001:db8::1]:53 -r [fd00::53] -i --tun-type gue --tun-port 6080 --tun-csum
--set 3600 120 0
/sbin/ipvsadm --start-daemon master --mcast-interface eth1 --syncid 7
ipvsadm --start-daemon=backup --mcast-interface=eth1
-A -t server.example.com:80
-A -t 10.0.0.3:80 --pe sip
-L -n
-a -t 10.0.0.9:80 -r 10.0.1.30
-A -t 10.0.0.4:80 --bogus
echo hello
`)
	has(t, res, `address = "10.0.0.1:80"`, `lb_algo = "sh"`, `sched_flags = ["sh-port", "sh-fallback"]`,
		`persistence_timeout = 300`, `persistence_granularity = "255.255.255.0"`, `lb_kind = "NAT"`,
		`address = "10.0.1.21:8080"`, `weight = 0`, `address = "10.0.1.22:8080"`,
		`address = "[2001:db8::1]:53"`, `protocol = "udp"`, `ops = true`, `address = "fd00::53"`,
		`tun_type = "gue"`, `tun_port = 6080`, `tun_flags = "csum"`,
		"[ipvs.timeouts]", "tcp = 3600", "tcpfin = 120", "[sync]", `interface = "eth1"`, `role = "both"`, `id = 7`)
	hasNot(t, res, "10.0.1.20", "10.0.0.2:443", "udp = ")
	hasNote(t, res, `"server.example.com" is not an IP address`, "persistence engines", "-L -n: not supported (not a configuration command)",
		"no such service: ipvsadm refuses the server", "unknown option --bogus", "echo hello: not supported (not an ipvsadm command)")
	// The service has ops and scheduling options only; its server is TUN.
	accepts(t, res)
}

func TestIPVSadmFwmark(t *testing.T) {
	res := ipvs(t, "-A -f 80 -s wlc -p 30\n-a -f 80 -r 10.8.8.33:0 -m -w 1\n-A -f 6 -6\n-a -f 6 -6 -r [2001:db8::5]:0 -g\n")
	has(t, res, "fwmark = 80", `address = "10.8.8.33"`, `destination = "192.0.2.0/24"`, "fwmark = 6", `family = "ipv6"`, `destination = "2001:db8::/32"`)
	hasNote(t, res, "-A -f 80: not supported (the packets' firewall marks come from iptables rules")
	c := accepts(t, res)
	runAppliance(t, c)
}

func TestIPVSadmNotRules(t *testing.T) {
	if _, err := IPVSadm("x", []byte("hello world\nthis is not it\n")); err == nil || !strings.Contains(err.Error(), "no ipvsadm rule") {
		t.Errorf("got %v", err)
	}
	res, err := IPVSadm("empty", nil)
	if err != nil {
		t.Fatal(err)
	}
	accepts(t, res)
}
