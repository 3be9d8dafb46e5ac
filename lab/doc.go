// Package lab runs whole uvs topologies in one unprivileged process: appliances (the real
// appliance package, on in-memory ports), real servers and clients (gVisor hosts running the
// programs of lab/apps), learning switches, and links with netem-like impairments
// (lab/wire), with a timeline of faults, expectations, and a report as text, JSON and SVG.
//
// A topology is a TOML file (docs/lab.md): Load or Parse read it strictly, every error with
// its file:line:col as conf reports them, and check it whole (endpoints, addresses, events
// against the state of the topology at their time, expectations). Run builds it, plays it
// for its duration and returns the Report; `uvs lab run` is its command.
//
// How the pieces are cabled: every node port is one end of a port.Pipe; the other end is
// plugged into a jack, which a wire.Link holds for the whole run. A killed node closes its
// pipes and a restarted one plugs new ones into the same jacks, so links, their counters and
// captures, and the switch ports beyond them outlive the node.
//
// A host with vips is a direct-routing or tunnelling real server: its gVisor host holds them
// as netstack.NICConfig.Hidden (accepted, never resolved nor announced), and with tun_type
// its NICs' ingress hook is a tunnel.Decapsulator, which turns the appliance's IPIP or GUE
// packets back into the client's before the stack sees them.
package lab
