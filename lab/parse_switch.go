package lab

import (
	"strings"
)

// externals reads the [[nodes.NAME.external]] of a switch: ports that leave the process, to
// a QEMU virtual machine or a real interface.
func (r *reader) externals(t *table, n *Node) {
	for _, xt := range t.Subs("external") {
		x := &External{key: xt.Path()}
		if name, ok := xt.Str("name"); ok {
			if !validName(name) {
				xt.Errorf("name", "%q cannot name a port: %s", name, nameRule)
			}
			x.Name = name
		} else if !xt.Has("name") {
			xt.Errorf("name", "an external port needs a name")
		}
		kind, ok := xt.Str("kind")
		x.Kind = ExternalKind(kind)
		// Each kind takes its own keys; the others are refused by name.
		want := map[string]bool{}
		switch x.Kind {
		case ExternalQEMUStream:
			want["address"] = true
			x.Network, x.Address = r.socket(xt, "address", "unix", "tcp")
		case ExternalQEMUDgram:
			want["local"], want["remote"] = true, true
			x.Network, x.Local = r.socket(xt, "local", "udp", "unixgram")
			net2, remote := r.socket(xt, "remote", "udp", "unixgram")
			if x.Network != "" && net2 != "" && net2 != x.Network {
				xt.Errorf("remote", "is %s and local is %s: both ends are of one kind", net2, x.Network)
			}
			x.Address = remote
		case ExternalAFPacket, ExternalTap:
			want["device"] = true
			if d, ok := xt.Str("device"); ok && d != "" && len(d) <= 15 && !strings.ContainsAny(d, "/: \t") {
				x.Device = d
			} else if ok {
				xt.Errorf("device", "%q is not an interface name (at most 15 bytes, no '/', ':' or blanks)", d)
			} else if !xt.Has("device") {
				xt.Errorf("device", "a %s port needs the device it takes", kind)
			}
		default:
			if ok {
				xt.Errorf("kind", "unknown kind %q (qemu-stream, qemu-dgram, afpacket or tap)", kind)
			} else if !xt.Has("kind") {
				xt.Errorf("kind", "an external port needs a kind (qemu-stream, qemu-dgram, afpacket or tap)")
			}
			xt.Allow("address", "local", "remote", "device")
		}
		for _, k := range []string{"address", "local", "remote", "device"} {
			if x.Kind != "" && !want[k] && xt.Has(k) && ok {
				xt.Allow(k)
				xt.Errorf(k, "%s ports do not take %s", kind, k)
			}
		}
		xt.Done()
		n.External = append(n.External, x)
	}
}

// socket reads key as "network:address" with a network of those given: "unix:/tmp/vm.sock",
// "tcp:127.0.0.1:10001".
func (r *reader) socket(t *table, key string, networks ...string) (network, address string) {
	s, ok := t.Str(key)
	if !ok {
		if !t.Has(key) {
			t.Errorf(key, "is required: %s:ADDRESS", strings.Join(networks, ":ADDRESS or "))
		}
		return "", ""
	}
	network, address, found := strings.Cut(s, ":")
	for _, n := range networks {
		if found && network == n && address != "" {
			return network, address
		}
	}
	t.Errorf(key, "%q is not %s:ADDRESS", s, strings.Join(networks, ":ADDRESS or "))
	return "", ""
}
