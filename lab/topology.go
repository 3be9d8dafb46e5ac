package lab

import (
	"net/netip"
	"time"

	"github.com/uvs-lb/uvs/conf"
	"github.com/uvs-lb/uvs/lab/wire"
)

// Topology is a checked topology file: what to build, what happens when, and what must hold.
// docs/lab.md describes the file; Load and Parse return a Topology.
type Topology struct {
	File     string        // the file's name, as errors and the report give it
	Name     string        // defaults to the file's base name without .toml
	Duration time.Duration // how long the clients run
	Bucket   time.Duration // the report's time resolution (the series, the picture)
	// Requires lists the features the topology needs that uvs may not have yet ("dr",
	// "health", "vrrp", "sync"); Run refuses a topology whose features are missing.
	Requires []string
	Nodes    []*Node // in file order
	Links    []*Link // in file order
	Events   []*Event
	Expect   []*Expectation

	src *reader // for the positions of reports about the file
}

// NodeKind is what a node is.
type NodeKind string

// The kinds of node.
const (
	KindAppliance NodeKind = "appliance" // a uvs, from its configuration
	KindHost      NodeKind = "host"      // a gVisor host running services: a real server
	KindClient    NodeKind = "client"    // a gVisor host running loads
	KindSwitch    NodeKind = "switch"    // a learning L2 switch
)

// Node is one [nodes.NAME] table.
type Node struct {
	Name string
	Kind NodeKind

	// Config is an appliance's configuration; ConfigFile the file it came from ("" when it
	// is written inline).
	Config     *conf.Config
	ConfigFile string

	Interfaces []Interface  // host and client
	Services   []*Service   // host
	Loads      []*Generator // client
	External   []*External  // switch: ports that leave the process

	// VIPs are the virtual addresses a host holds as a direct-routing or tunnelling real
	// server: it accepts and answers traffic for them, its services listen on them, but it
	// never answers ARP or neighbor solicitations for them nor announces them (Linux: the
	// VIP on lo, arp_ignore=1, arp_announce=2). Each is held on every interface that has an
	// address of its family.
	VIPs []netip.Addr
	// TunType is the tunnels a host terminates as a TUN real server ("" = none); TunPort
	// is the UDP port GUE arrives on.
	TunType TunType
	TunPort uint16

	key string
}

// Interface is one interface of a host or client: a port and the host's addresses on it.
type Interface struct {
	Name   string
	Addrs  []netip.Prefix
	MTU    int // 0: 1500
	Routes []Route
}

// Route sends Dst through Via; 0.0.0.0/0 and ::/0 are the default routes (gateway, gateway6).
type Route struct {
	Dst netip.Prefix
	Via netip.Addr
}

// TunType is the tunnels a TUN real server terminates: the appliance's tun_type of its
// real servers.
type TunType string

// The tunnels a host can terminate.
const (
	TunIPIP TunType = "ipip" // IP in IP: IPv4 or IPv6 inside IPv4 or IPv6 (protocol 4, 41)
	TunGUE  TunType = "gue"  // Generic UDP Encapsulation on TunPort
	TunBoth TunType = "both" // either
)

// IPIP and GUE report what t terminates.
func (t TunType) IPIP() bool { return t == TunIPIP || t == TunBoth }
func (t TunType) GUE() bool  { return t == TunGUE || t == TunBoth }

// ServiceType is what a host's service speaks.
type ServiceType string

// The services a host can run.
const (
	ServiceHTTP    ServiceType = "http"
	ServiceTCPEcho ServiceType = "tcp-echo"
	ServiceUDPEcho ServiceType = "udp-echo"
)

// Service is one service of a host.
type Service struct {
	Name    string // unique on its host; defaults to the type
	Type    ServiceType
	Listen  netip.AddrPort // an unspecified address listens on all of the host's addresses
	Body    string         // http: the answer ("" = the host's name)
	Status  int            // http: 0 = 200
	Latency time.Duration  // http: waited before answering
	Failing bool           // http: answers 500 from the start

	key string
}

// LoadType is what a client's load does.
type LoadType string

// The loads a client can run.
const (
	LoadHTTP     LoadType = "http"      // HTTP requests, open or closed loop
	LoadTCPLong  LoadType = "tcp-long"  // long-lived TCP connections with periodic traffic
	LoadUDPFlows LoadType = "udp-flows" // UDP flows
	LoadBulk     LoadType = "bulk"      // long TCP connections streaming through an echo: goodput
	LoadSYNFlood LoadType = "syn-flood" // spoofed TCP SYNs written below the client's stack
)

// Generator is one load of a client: a load generator.
type Generator struct {
	Name   string // unique on its client; defaults to the type
	Type   LoadType
	Target netip.AddrPort

	Rate        float64       // http: requests/s (0: closed loop); udp-flows: datagrams/s, all flows together; syn-flood: SYNs/s
	Concurrency int           // http
	KeepAlive   bool          // http
	Path        string        // http
	Conns       int           // tcp-long, bulk
	Interval    time.Duration // tcp-long
	Flows       int           // udp-flows
	Sources     netip.Prefix  // syn-flood: the spoofed source addresses
	BitRate     uint64        // bulk: payload bits/s, all connections together (0: as fast as TCP goes)
	Timeout     time.Duration

	// Start and Stop are when the load runs, from the start of the clients: Stop 0 is the
	// end of the run.
	Start, Stop time.Duration

	key string
}

// ExternalKind is how a switch port leaves the process.
type ExternalKind string

// The kinds of external switch port.
const (
	ExternalQEMUStream ExternalKind = "qemu-stream" // QEMU -netdev stream,server=on: the lab connects
	ExternalQEMUDgram  ExternalKind = "qemu-dgram"  // QEMU -netdev dgram: datagrams both ways
	ExternalAFPacket   ExternalKind = "afpacket"    // a host interface (privileged)
	ExternalTap        ExternalKind = "tap"         // a TAP device (privileged)
)

// External is a switch port that is not a link inside the lab.
type External struct {
	Name   string
	Kind   ExternalKind
	Device string // afpacket, tap
	// Network and Address are a QEMU socket: "unix" or "tcp" for a stream, "udp" or
	// "unixgram" for datagrams (Address is then the remote end, Local our own).
	Network, Address, Local string

	key string
}

// Endpoint is one end of a link: a node and one of its ports.
type Endpoint struct{ Node, Port string }

func (e Endpoint) String() string { return e.Node + ":" + e.Port }

// Link is one [[links]] entry: a cable between two node ports, with impairments per
// direction.
type Link struct {
	Name       string // defaults to "A--B" of its endpoints
	A, B       Endpoint
	AtoB, BtoA wire.Impairment
	Seed       int64
	Queue      int // frames queued per direction; 0: the wire's default

	key string
}

// Action is what an event does.
type Action string

// The actions of the timeline.
const (
	ActLinkDown       Action = "link_down"       // the link loses carrier, both ends
	ActLinkUp         Action = "link_up"         // and gets it back
	ActPartition      Action = "partition"       // cut every link between groups of nodes
	ActHeal           Action = "heal"            // restore the links a partition cut
	ActKill           Action = "kill"            // stop a node: its links lose carrier
	ActRestart        Action = "restart"         // build a killed node again
	ActServiceStop    Action = "service_stop"    // close a service's listener and connections
	ActServiceStart   Action = "service_start"   // listen again
	ActServiceFail    Action = "service_fail"    // an HTTP service answers 500
	ActServiceRecover Action = "service_recover" // and answers normally again
	ActImpair         Action = "impair"          // replace a link's impairments
	ActReload         Action = "reload"          // an appliance loads a new configuration
	ActWeight         Action = "weight"          // change a real server's weight (a reload)
)

// Event is one [[events]] entry.
type Event struct {
	At     time.Duration
	Action Action

	Link       string     // link_down, link_up, impair: the link's name
	Groups     [][]string // partition
	Node       string     // kill, restart, service_*, reload, weight
	Service    string     // service_*
	AtoB, BtoA wire.Impairment

	Config     *conf.Config // reload
	ConfigFile string

	Server  netip.AddrPort // weight: the real server (port 0: whichever port)
	Virtual string         // weight: only in this virtual server ("" = every one it is in)
	Weight  int32

	By time.Duration // clock_jump: how far the appliance's clock jumps (negative: back)

	// Repeat is set on each event a repeated one (a flap, a reload or weight with a count)
	// was expanded into: see parse_fault.go.
	Repeat *Repeat

	key string
}

// Expectation is one [[expect]] entry: a bound on what the run saw. Bounds that are not set
// are zero with their Has flag false.
type Expectation struct {
	Client    string // "node" or "node/load"; "" with no other subject: every client
	Server    string // a host (real server)
	Appliance string
	VRRP      string // a vrrp_instance, by name, on every appliance that runs it

	MaxErrors, MinRequests, MaxDrops          uint64
	HasMaxErrors, HasMinRequests, HasMaxDrops bool
	MaxP99                                    time.Duration
	// Failover bounds the longest stretch of time in which clients saw errors.
	Failover    time.Duration
	HasFailover bool
	// MaxBroken and MaxReconnects bound the long-lived (tcp-long) connections that broke,
	// and that had to be made again: 0 and 0 say every one lived through the run.
	MaxBroken, MaxReconnects       uint64
	HasMaxBroken, HasMaxReconnects bool
	// Share bounds the fraction of all answered requests a server answered, in percent.
	Share    [2]float64
	HasShare bool
	// RemovedWithin bounds how long after its failure (the first event about the host) the
	// appliances' health checks took a server out; RestoredWithin how long after its repair
	// (its last event) they put it back. MaxRemovals bounds how often they took it out.
	RemovedWithin, RestoredWithin time.Duration
	HasRemoved, HasRestored       bool
	MaxRemovals                   uint64
	HasMaxRemovals                bool
	// TakeoverWithin bounds how long after each failure of a VRRP instance's MASTER (its
	// node killed, one of its links down, a partition cutting one) another appliance became
	// MASTER; Master names the appliance that must be its only MASTER at the end.
	TakeoverWithin time.Duration
	HasTakeover    bool
	Master         string
	// SplitAfterHeal bounds how long two appliances or more stayed MASTER of a VRRP
	// instance at once after each heal of the network (expect_fault.go).
	SplitAfterHeal time.Duration
	HasSplit       bool
	// MinGoodputRatio bounds a bulk load's goodput During (a window of the run: from, to)
	// over its goodput Before (expect_flood.go). MaxInTable bounds the most entries an
	// appliance's connection table held during the run.
	MinGoodputRatio float64
	HasGoodput      bool
	Before, During  [2]time.Duration
	MaxInTable      uint64
	HasMaxInTable   bool

	key string
}

// node returns the node called name, or nil.
func (t *Topology) node(name string) *Node {
	for _, n := range t.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// link returns the link called name, or the one with name as an endpoint, or nil.
func (t *Topology) link(name string) *Link {
	for _, l := range t.Links {
		if l.Name == name || l.A.String() == name || l.B.String() == name {
			return l
		}
	}
	return nil
}
