package lab

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/uvs-lb/uvs/lab/wire"
	"github.com/uvs-lb/uvs/netstack/afpacket"
	"github.com/uvs-lb/uvs/netstack/port"
	"github.com/uvs-lb/uvs/netstack/tap"
)

// qemuDialTimeout bounds how long the lab waits for a QEMU VM's stream socket at start.
const qemuDialTimeout = 30 * time.Second

// switchNode runs a switch: a port per link that reaches it, each a pipe into the link's
// jack, and its external ports.
type switchNode struct {
	n  *Node
	sw *wire.Switch
}

// newSwitchNode builds the switch with its cabled ports (jacks by port name) and opens its
// external ports. It starts nothing.
func newSwitchNode(ctx context.Context, n *Node, jacks map[string]*jack, macs map[string]net.HardwareAddr) (*switchNode, error) {
	sw := wire.NewSwitch(n.Name)
	for _, name := range sortedKeys(jacks) {
		sw.AddPort(name, jacks[name].connect(port.MemConfig{Name: name, MAC: macs[name]}))
	}
	for _, x := range n.External {
		p, err := openExternal(ctx, x)
		if err != nil {
			sw.Close()
			return nil, fmt.Errorf("%s: external port %s: %w", n.Name, x.Name, err)
		}
		sw.AddPort(x.Name, p)
	}
	return &switchNode{n: n, sw: sw}, nil
}

// openExternal opens a port that leaves the process. Real interfaces need privileges
// (CAP_NET_RAW for AF_PACKET, /dev/net/tun for TAP); QEMU sockets do not.
func openExternal(ctx context.Context, x *External) (port.Port, error) {
	switch x.Kind {
	case ExternalQEMUStream:
		ctx, cancel := context.WithTimeout(ctx, qemuDialTimeout)
		defer cancel()
		return wire.DialQEMUStream(ctx, x.Network, x.Address)
	case ExternalQEMUDgram:
		return wire.ListenQEMUDatagram(x.Network, x.Local, x.Address)
	// Without virtio-net headers: the lab's hosts take frames of their MTU, not GSO
	// super-frames, so an AF_PACKET interface has its offloads turned off, as uvs run does.
	case ExternalAFPacket:
		if err := afpacket.DisableOffloads(x.Device); err != nil {
			return nil, err
		}
		return afpacket.Open(afpacket.Config{Name: x.Device, Promisc: true})
	case ExternalTap:
		return tap.Open(tap.Config{Name: x.Device})
	}
	return nil, fmt.Errorf("unknown kind %q", x.Kind)
}
