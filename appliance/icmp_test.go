package appliance

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/packet"
)

// ICMP errors translated end to end. A datagram from the client to a UDP service whose real
// server has no socket on the port makes the server's own gVisor stack answer ICMP port
// unreachable, to the client (NAT) or to the appliance's local address (full-NAT). The
// appliance must give that error the VIP as its source and put the VIP:port the client sent
// to back in the quoted header, with every checksum right: only then does the client's
// stack match the error to its connected UDP socket, which gVisor reports on the next read
// as "connection was refused" (ECONNREFUSED). A wrong quote, address or checksum and the
// error is dropped silently, and the client only times out.
func TestICMPErrorFromRealServerReachesClient(t *testing.T) {
	cases := []struct {
		name      string
		lab       func(*testing.T) *lab
		client    string // the client's address
		vip       string // the service, on which nothing listens at the servers
		serverTo  string // where a server sends its error: the client (NAT) or the local address
		typ, code uint8  // port unreachable in the family's ICMP
	}{
		{"NAT IPv4", dualStackLab, "10.0.0.2", "10.0.0.1:54", "10.0.0.2", 3, 3},
		{"NAT IPv6", dualStackLab, "2001:db8:1::2", "[2001:db8:1::1]:54", "2001:db8:1::2", 1, 4},
		{"full-NAT IPv4", func(t *testing.T) *lab { return fullNATLab(t, fullNATConfig) }, "10.0.0.2", "10.0.0.1:54", "192.168.1.100", 3, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := tc.lab(t)
			vip := netip.MustParseAddrPort(tc.vip)
			c := l.udpConn(t, tc.vip)
			local := netip.MustParseAddrPort(c.LocalAddr().String())
			if local.Addr() != netip.MustParseAddr(tc.client) {
				t.Fatalf("the client's socket is bound to %s, want %s", local, tc.client)
			}

			err := refused(t, c)
			t.Logf("the client's socket: %v", err)

			// What the client received: port unreachable from the VIP, quoting its own datagram
			// to the VIP:port (the addresses gVisor matched the socket by).
			var fromVIP *icmpSeen
			for _, e := range l.cliSniff.errors() {
				t.Logf("client: %v", e)
				if !e.out && e.typ == tc.typ && e.code == tc.code {
					fromVIP = &e
				}
			}
			switch {
			case fromVIP == nil:
				t.Fatalf("the client received no ICMP port unreachable")
			case fromVIP.src != vip.Addr() || fromVIP.dst != local.Addr():
				t.Errorf("the error came %s → %s, want from the VIP %s to the client %s", fromVIP.src, fromVIP.dst, vip.Addr(), local.Addr())
			case fromVIP.qProto != packet.ProtoUDP || fromVIP.qSrc != local || fromVIP.qDst != vip:
				t.Errorf("the error quotes %d %s → %s, want UDP %s → %s", fromVIP.qProto, fromVIP.qSrc, fromVIP.qDst, local, vip)
			case !fromVIP.csumOK:
				t.Errorf("the error the client received has a bad checksum: %v", fromVIP)
			}

			// What the real server sent: an error of its own, from its address to the client (or
			// the local address), quoting the datagram as the server got it, to its port 5300.
			var sent []icmpSeen
			for name, sn := range l.rsSniff {
				for _, e := range sn.errors() {
					if e.out {
						t.Logf("%s: %v", name, e)
						sent = append(sent, e)
					}
				}
			}
			if len(sent) == 0 {
				t.Fatal("no real server sent an ICMP error: the client's error did not come from one")
			}
			for _, e := range sent {
				if e.typ != tc.typ || e.code != tc.code || e.dst != netip.MustParseAddr(tc.serverTo) ||
					e.qDst.Port() != 5300 || e.qSrc.Addr() != netip.MustParseAddr(tc.serverTo) {
					t.Errorf("a real server sent %v; want port unreachable to %s quoting a datagram from it to port 5300", e, tc.serverTo)
				}
				if e.src != e.qDst.Addr() || e.src == vip.Addr() {
					t.Errorf("a real server sent %v; want it from its own address, which the datagram was sent to", e)
				}
			}
		})
	}
}

// refused sends datagrams on c until the socket reports "connection was refused", and returns
// that error. gVisor keeps the error on the socket and the next read or write returns it (and
// clears it), as Linux does with a connected UDP socket; but gonet does not wake a read that
// is already blocked (it waits for readable events only): hence short read deadlines, and a
// resend after a few (the first datagram may be lost while the appliance resolves the server).
func refused(t *testing.T, c net.Conn) error {
	t.Helper()
	buf := make([]byte, 1500)
	deadline := time.Now().Add(labWait)
	for time.Now().Before(deadline) {
		if _, err := c.Write([]byte("anyone there?")); err != nil {
			if strings.Contains(err.Error(), "connection was refused") {
				return err // an error of an earlier datagram, held by the socket
			}
			t.Fatalf("udp write: %v", err)
		}
		for i := 0; i < 3; i++ {
			c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			n, err := c.Read(buf)
			var ne net.Error
			switch {
			case err == nil:
				t.Fatalf("an answer came from a port nothing listens on: %q", buf[:n])
			case errors.As(err, &ne) && ne.Timeout():
				continue
			case strings.Contains(err.Error(), "connection was refused"):
				return err
			default:
				t.Fatalf("udp read: %v, want connection refused", err)
			}
		}
	}
	t.Fatal("the client's socket never saw connection refused: the ICMP error did not reach it translated")
	return nil
}
