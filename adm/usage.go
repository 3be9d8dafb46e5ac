package adm

import (
	"bufio"
	"strings"
)

// version prints -v: the ipvsadm release whose command line and formats uvs adm speaks.
func version(w *bufio.Writer) {
	w.WriteString("ipvsadm v1.31 2019/12/24 (uvs adm, IPVS v" + ipvsVersion + " formats)\n")
}

// usage prints -h, laid out as ipvsadm's, with uvs's extensions and differences.
func usage(w *bufio.Writer) {
	version(w)
	w.WriteString(strings.ReplaceAll(usageText, "PROG", program))
}

const usageText = `Usage:
  PROG -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [-b sched-flags] [-o]
  PROG -D virtual-service
  PROG -C
  PROG -R
  PROG -S [-n]
  PROG -a|e virtual-service -r server-address [options]
  PROG -d virtual-service -r server-address
  PROG -L|l [virtual-service] [options]
  PROG -Z [virtual-service]
  PROG --set tcp tcpfin udp
  PROG --start-daemon {master|backup} [daemon-options]
  PROG --stop-daemon {master|backup}
  PROG --vrrp | --checks | --reload | --config
  PROG -h

Commands:
Either long or short options are allowed.
  --add-service     -A        add virtual service with options
  --edit-service    -E        edit virtual service with options
  --delete-service  -D        delete virtual service
  --clear           -C        clear the whole table
  --restore         -R        restore rules from stdin, applied as one batch
  --save            -S        save rules to stdout
  --add-server      -a        add real server with options
  --edit-server     -e        edit real server with options
  --delete-server   -d        delete real server
  --list            -L|-l     list the table
  --zero            -Z        zero counters in a service or all services
  --set tcp tcpfin udp        set connection timeout values (0 keeps a value)
  --start-daemon              start connection sync daemon
  --stop-daemon               stop connection sync daemon
  --help            -h        display this help message

uvs commands:
  --vrrp                      list the VRRP instances (as keepalived's data dump)
  --checks                    list the health checkers of the real servers
  --reload                    make the appliance reload its configuration file
  --config                    print the running configuration (TOML)

virtual-service:
  --tcp-service|-t  service-address   service-address is host[:port]
  --udp-service|-u  service-address   service-address is host[:port]
  --fwmark-service|-f fwmark          fwmark is an integer greater than zero

Options:
  --ipv6         -6                   fwmark entry uses IPv6
  --scheduler    -s scheduler         one of rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh|twos,
                                      the default scheduler is wlc.
  --persistent   -p [timeout]         persistent service (default timeout 300)
  --netmask      -M netmask           persistent granularity mask
  --real-server  -r server-address    server-address is host (and port)
  --gatewaying   -g                   gatewaying (direct routing) (default)
  --ipip         -i                   ipip encapsulation (tunneling)
  --masquerading -m                   masquerading (NAT)
  --fullnat                           full NAT (uvs: source NAT from the service's pool too)
  --tun-type      type                one of ipip|gue|gre,
                                      the default tunnel type is ipip.
  --tun-port      port                tunnel destination port
  --tun-nocsum                        tunnel encapsulation without checksum
  --tun-csum                          tunnel encapsulation with checksum
  --tun-remcsum                       tunnel encapsulation with remote checksum
  --weight       -w weight            capacity of real server
  --u-threshold  -x uthreshold        upper threshold of connections
  --l-threshold  -y lthreshold        lower threshold of connections
  --connection   -c                   output of current IPVS connections
  --timeout                           output of timeout (tcp tcpfin udp)
  --daemon                            output of daemon information
  --stats                             output of statistics information
  --rate                              output of rate information
  --exact        -X                   expand numbers (display exact values)
  --thresholds                        output of thresholds information
  --persistent-conn                   output of persistent connection info
  --tun-info                          output of tunnel information
  --nosort                            disable sorting output of service/server entries
  --sort                              does nothing, for backwards compatibility
  --ops          -o                   one-packet scheduling
  --numeric      -n                   numeric output (uvs always prints numbers)
  --sched-flags  -b flags             scheduler flags (comma-separated)
Daemon Options:
  --syncid sid                        syncid for connection sync
  --sync-maxlen length                max sync message length
  --mcast-interface interface         multicast interface for connection sync
  --mcast-group address               IPv4/IPv6 group
  --mcast-port port                   UDP port
  --mcast-ttl ttl                     multicast TTL
`
