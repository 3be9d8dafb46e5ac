package appliance

import (
	"fmt"

	"github.com/uvs-lb/uvs/conf"
	"github.com/uvs-lb/uvs/netstack/afpacket"
	"github.com/uvs-lb/uvs/netstack/port"
	"github.com/uvs-lb/uvs/netstack/tap"
)

// OpenPort opens the real port of an afpacket or tap interface. An afpacket port without
// virtio-net headers gets the link's offloads turned off, since it would otherwise receive
// GSO super-frames with partial checksums it cannot describe.
func OpenPort(ifc *conf.Interface) (port.Port, error) {
	switch ifc.Kind {
	case conf.KindAFPacket:
		if !ifc.VnetHdr {
			if err := afpacket.DisableOffloads(ifc.Device); err != nil {
				return nil, fmt.Errorf("vnet_hdr is off and the offloads of %s could not be turned off: %w", ifc.Device, err)
			}
		}
		return afpacket.Open(afpacket.Config{Name: ifc.Device, VNetHdr: ifc.VnetHdr, Promisc: ifc.Promiscuous, SYNRing: ifc.SYNRing})
	case conf.KindTap:
		return tap.Open(tap.Config{Name: ifc.Device, VNetHdr: ifc.VnetHdr})
	}
	return nil, fmt.Errorf("kind %q has no port to open", ifc.Kind)
}

// Warnings lists, for each afpacket interface of c, what would make the kernel and uvs both
// answer on it (an address the kernel holds there): a port owns its interface whole.
func Warnings(c *conf.Config) []string {
	var out []string
	for _, ifc := range c.Interfaces {
		if ifc.Kind != conf.KindAFPacket {
			continue
		}
		if w, err := afpacket.Warning(ifc.Device); err != nil {
			out = append(out, fmt.Sprintf("%s: %v", ifc.Device, err))
		} else if w != "" {
			out = append(out, w)
		}
	}
	return out
}
