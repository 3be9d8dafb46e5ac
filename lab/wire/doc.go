// Package wire is the cabling of a lab: links with impairments between two ports, a learning
// L2 switch, QEMU socket ports so virtual machines can join a topology, and pcap capture.
//
// A node (an appliance, a client host, a real server) owns one end of a port.Pipe per
// interface; the other end is handed to a Link, whose far side is in turn the node end of
// another pipe, or a switch port:
//
//	node eth0 ⇄ Pipe ⇄ Link(a, b) ⇄ Pipe ⇄ Switch port p1
//
// Everything here runs unprivileged in one process: no TAP devices, no namespaces. A QEMU
// VM joins by giving its -netdev socket to DialQEMUStream (QEMU listens, the lab dials and
// redials when the VM restarts) or ListenQEMUDatagram (one frame per UDP or unix datagram);
// the port.Port they return is cabled like any other.
//
// Links impair traffic per direction the way Linux netem does (delay, jitter, loss,
// duplication, reordering, corruption, rate), drawing from a seeded PCG per direction so
// that a run with the same seed and the same frame order drops, duplicates and corrupts the
// same frames. See Impairment for the exact semantics.
package wire
