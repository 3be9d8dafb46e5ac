package lab

import (
	"context"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/uvs-lb/uvs/lab/wire"
)

// build makes and starts everything: the links (and their jacks), the switches, then the
// appliances, the hosts with their services, and the clients, each booted. On error the
// caller's close stops what was started.
func (r *runner) build(ctx context.Context) error {
	for _, l := range r.t.Links {
		if err := r.cable(l); err != nil {
			return err
		}
	}
	var boots []func(context.Context) error
	for _, n := range r.t.Nodes {
		switch n.Kind {
		case KindSwitch:
			jacks, macs := map[string]*jack{}, map[string]net.HardwareAddr{}
			for ep, j := range r.jacks {
				if ep.Node == n.Name {
					jacks[ep.Port], macs[ep.Port] = j, r.mac(0x0a)
				}
			}
			sn, err := newSwitchNode(ctx, n, jacks, macs)
			if err != nil {
				return err
			}
			r.switches = append(r.switches, sn)
		case KindAppliance:
			jacks, macs := map[string]*jack{}, map[string]net.HardwareAddr{}
			for _, ifc := range n.Config.Interfaces {
				if j := r.jacks[Endpoint{n.Name, ifc.Name}]; j != nil {
					jacks[ifc.Name], macs[ifc.Name] = j, r.mac(0x02)
				}
			}
			an := newApplianceNode(n, r.log, jacks, macs)
			r.appliances[n.Name] = an
			boots = append(boots, an.boot)
		case KindHost, KindClient:
			var jacks []*jack
			var macs []net.HardwareAddr
			for _, ifc := range n.Interfaces {
				jacks, macs = append(jacks, r.jacks[Endpoint{n.Name, ifc.Name}]), append(macs, r.mac(0x02))
			}
			hn := newHostNode(n, jacks, macs)
			r.hosts[n.Name] = hn
			for _, g := range n.Loads {
				r.loads = append(r.loads, &loadRun{node: hn, g: g})
			}
			boots = append(boots, hn.boot)
		}
	}
	for _, c := range r.cables {
		c.w.Start()
	}
	for _, s := range r.switches {
		s.sw.Start()
	}
	// In file order, which puts the appliances and servers first in most files; a client
	// that starts first only sees its first requests wait for ARP.
	for _, boot := range boots {
		if err := boot(ctx); err != nil {
			return err
		}
	}
	// The VRRP pairs elect their masters before the hosts knock: a real server's gateway may
	// be a virtual address.
	r.settleVRRP(ctx)
	r.knock(ctx, slices.Collect(maps.Values(r.hosts)))
	return nil
}

// cable makes the jacks of l's endpoints and the link between them, with its capture file.
func (r *runner) cable(l *Link) error {
	mtuA, mtuB := r.mtu(l.A), r.mtu(l.B)
	// A switch port takes the MTU of what is at the other end.
	if mtuA == 0 {
		mtuA = mtuB
	}
	if mtuB == 0 {
		mtuB = mtuA
	}
	ja := newJack(l.A.String(), r.mac(0x06), max(mtuA, 1500), l.Queue)
	jb := newJack(l.B.String(), r.mac(0x06), max(mtuB, 1500), l.Queue)
	r.jacks[l.A], r.jacks[l.B] = ja, jb
	c := &cable{l: l}
	cfg := wire.LinkConfig{Name: l.Name, AtoB: l.AtoB, BtoA: l.BtoA, Seed: l.Seed, QueueLimit: l.Queue}
	if r.o.PcapDir != "" {
		f, err := os.Create(filepath.Join(r.o.PcapDir, pcapName(l.Name)))
		if err != nil {
			ja.Close()
			jb.Close()
			return fmt.Errorf("link %s: %w", l.Name, err)
		}
		c.pcap, cfg.Pcap = f, f
	}
	c.w = wire.NewLink(ja, jb, cfg)
	r.cables = append(r.cables, c)
	return nil
}

// pcapName is the capture file of a link: its name with ':' (not portable in file names)
// as '_'.
func pcapName(link string) string { return strings.ReplaceAll(link, ":", "_") + ".pcap" }

// mtu is the MTU of an endpoint's port: its interface's, 0 for a switch port.
func (r *runner) mtu(ep Endpoint) int {
	n := r.t.node(ep.Node)
	switch n.Kind {
	case KindAppliance:
		for _, ifc := range n.Config.Interfaces {
			if ifc.Name == ep.Port {
				return ifc.MTU
			}
		}
	case KindHost, KindClient:
		for _, ifc := range n.Interfaces {
			if ifc.Name == ep.Port {
				return max(ifc.MTU, 1500)
			}
		}
	}
	return 0
}

// mac returns the next MAC address of the run: locally administered (prefix 0x02, 0x06 or
// 0x0a, to tell nodes, jacks and switch ports apart in a capture), unique, and the same from
// one run of a file to the next.
func (r *runner) mac(prefix byte) net.HardwareAddr {
	r.macs++
	n := r.macs
	return net.HardwareAddr{prefix, 0, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
}
