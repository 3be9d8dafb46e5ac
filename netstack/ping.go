package netstack

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// PingEvery is how often Ping sends an echo request while none is answered.
const PingEvery = time.Second

// pingPayload follows the 8 bytes of the echo header in every request Ping sends.
var pingPayload = []byte("uvs health check")

// Ping sends ICMP (IPv4) or ICMPv6 echo requests from laddr to raddr, one every PingEvery,
// until one of them is answered (nil) or ctx ends (an error wrapping ctx.Err()). A zero or
// unspecified laddr lets the host's routes choose the source address; otherwise it must be
// one of the host's addresses, of raddr's family. It uses a ping socket of the host's stack
// (gVisor's ICMP endpoint, as Linux's SOCK_DGRAM/IPPROTO_ICMP): the stack sets the echo
// identifier and delivers only the replies to it. An unroutable raddr fails at once.
func (h *Host) Ping(ctx context.Context, laddr, raddr netip.Addr) error {
	laddr, raddr = laddr.Unmap(), raddr.Unmap()
	fail := func(err error) error {
		op := &net.OpError{Op: "ping", Net: "ip", Err: err}
		if raddr.IsValid() {
			op.Addr = &net.IPAddr{IP: raddr.AsSlice(), Zone: raddr.Zone()}
		}
		if laddr.IsValid() && !laddr.IsUnspecified() {
			op.Source = &net.IPAddr{IP: laddr.AsSlice(), Zone: laddr.Zone()}
		}
		return op
	}
	if !raddr.IsValid() {
		return fail(errors.New("netstack: no destination address"))
	}
	bind := laddr.IsValid() && !laddr.IsUnspecified()
	if bind && laddr.Is4() != raddr.Is4() {
		return fail(fmt.Errorf("netstack: source %s and destination %s are of different families", laddr, raddr))
	}
	s, err := h.liveStack()
	if err != nil {
		return fail(err)
	}
	proto, echo, reply := icmp.ProtocolNumber4, uint8(header.ICMPv4Echo), uint8(header.ICMPv4EchoReply)
	if raddr.Is6() {
		proto, echo, reply = icmp.ProtocolNumber6, uint8(header.ICMPv6EchoRequest), uint8(header.ICMPv6EchoReply)
	}
	var wq waiter.Queue
	ep, terr := s.NewEndpoint(proto, protocolOf(raddr), &wq)
	if terr != nil {
		return fail(errnoOf(terr))
	}
	defer ep.Close()
	if bind {
		if terr := ep.Bind(tcpip.FullAddress{Addr: toTCPIP(laddr)}); terr != nil {
			return fail(errnoOf(terr))
		}
	}
	if terr := ep.Connect(tcpip.FullAddress{Addr: toTCPIP(raddr)}); terr != nil {
		return fail(errnoOf(terr))
	}
	entry, readable := waiter.NewChannelEntry(waiter.ReadableEvents)
	wq.EventRegister(&entry)
	defer wq.EventUnregister(&entry)

	// An echo request: the stack fills in the identifier and the checksum. The sequence
	// number counts the requests, and a reply to any of them will do.
	req := make([]byte, 8+len(pingPayload))
	req[0] = echo
	copy(req[8:], pingPayload)
	buf := make([]byte, 8+len(pingPayload)+64)
	var seq uint16
	send := func() {
		seq++
		binary.BigEndian.PutUint16(req[6:], seq)
		// A request the stack cannot send now (no buffer, neighbor not resolved yet) is
		// lost as a datagram is; the next one follows in PingEvery.
		ep.Write(bytes.NewReader(req), tcpip.WriteOptions{})
	}
	tick := time.NewTicker(PingEvery)
	defer tick.Stop()
	send()
	for {
		for {
			w := tcpip.SliceWriter(buf)
			res, terr := ep.Read(&w, tcpip.ReadOptions{})
			if _, empty := terr.(*tcpip.ErrWouldBlock); empty {
				break
			}
			if terr != nil {
				return fail(errnoOf(terr))
			}
			if m := buf[:res.Count]; len(m) >= 8 && m[0] == reply {
				if n := binary.BigEndian.Uint16(m[6:]); n >= 1 && n <= seq {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fail(fmt.Errorf("netstack: no echo reply to %d requests: %w", seq, ctx.Err()))
		case <-tick.C:
			send()
		case <-readable:
		}
	}
}
