package lab

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"testing"
	"time"
)

// TestQEMUPorts: a VM joins a lab through a switch's QEMU ports, in both of QEMU's socket
// forms. The test plays the VM's NIC: it asks for the appliance's MAC address (ARP) through
// each port and must get the answer back.
func TestQEMUPorts(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "vm.sock")
	stream, err := net.Listen("unix", sock) // QEMU's -netdev stream,server=on
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	vm, err := net.ListenPacket("udp", "127.0.0.1:0") // QEMU's -netdev dgram end
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	labSide, err := net.ListenPacket("udp", "127.0.0.1:0") // a free port for the lab's end
	if err != nil {
		t.Fatal(err)
	}
	labAddr := labSide.LocalAddr().String()
	labSide.Close()

	topo, err := Parse("qemu.toml", []byte(fmt.Sprintf(`
duration = "3s"
[nodes.lb1]
kind = "appliance"
config = '''
[[interface]]
name = "eth0"
kind = "memory"
addresses = ["10.0.0.254/24"]
'''
[nodes.front]
kind = "switch"
external = [
  { name = "vm1", kind = "qemu-stream", address = "unix:%s" },
  { name = "vm2", kind = "qemu-dgram", local = "udp:%s", remote = "udp:%s" },
]
[[links]]
endpoints = ["lb1:eth0", "front:lb1"]
`, sock, labAddr, vm.LocalAddr())))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), topo, Options{})
		done <- err
	}()

	conn, err := stream.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	req := arpRequest([6]byte{0x52, 0x54, 0, 0, 0, 1}, netip.MustParseAddr("10.0.0.77"), netip.MustParseAddr("10.0.0.254"))
	if _, err := conn.Write(binary.BigEndian.AppendUint32(nil, uint32(len(req)))); err == nil {
		_, err = conn.Write(req)
	}
	if err != nil {
		t.Fatal(err)
	}
	if !awaitARPReply(t, func() ([]byte, error) {
		var n [4]byte
		if _, err := io.ReadFull(conn, n[:]); err != nil {
			return nil, err
		}
		f := make([]byte, binary.BigEndian.Uint32(n[:]))
		_, err := io.ReadFull(conn, f)
		return f, err
	}, "10.0.0.77") {
		t.Error("no ARP reply through the stream port")
	}

	req = arpRequest([6]byte{0x52, 0x54, 0, 0, 0, 2}, netip.MustParseAddr("10.0.0.78"), netip.MustParseAddr("10.0.0.254"))
	dst, _ := net.ResolveUDPAddr("udp", labAddr)
	vm.SetDeadline(time.Now().Add(2 * time.Second))
	if !awaitARPReply(t, func() ([]byte, error) {
		vm.WriteTo(req, dst) // again each time: the lab may not listen yet
		b := make([]byte, 2048)
		n, _, err := vm.ReadFrom(b)
		return b[:n], err
	}, "10.0.0.78") {
		t.Error("no ARP reply through the datagram port")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// arpRequest builds a broadcast who-has for target from (mac, ip).
func arpRequest(mac [6]byte, ip, target netip.Addr) []byte {
	f := append(bytes.Repeat([]byte{0xff}, 6), mac[:]...)
	f = append(f, 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1)
	f = append(append(f, mac[:]...), ip.AsSlice()...)
	f = append(append(f, make([]byte, 6)...), target.AsSlice()...)
	return f
}

// awaitARPReply reads frames until an ARP reply for the address to (a string) comes, or
// read fails.
func awaitARPReply(t *testing.T, read func() ([]byte, error), to string) bool {
	t.Helper()
	for {
		f, err := read()
		if err != nil {
			t.Logf("read: %v", err)
			return false
		}
		if len(f) >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[21] == 2 {
			if target, _ := netip.AddrFromSlice(f[38:42]); target.String() == to {
				return true
			}
		}
	}
}
