//go:build linux

// Command pktgen is the UDP load of `make bench`: it sends small Ethernet/IPv4/UDP frames
// over many flows out of one interface with AF_PACKET and sendmmsg(2), flat out or paced to a
// fixed rate, for a bounded time. With -syn it is the SYN flood of the tcp-synflood load
// instead: TCP SYNs (with an MSS option) to -dst:-dport from random source addresses of
// -syn-src, random source ports (1024-65535), sequence numbers and IP IDs.
//
//	pktgen -i c0 -dmac 02:..:01 -dst 10.0.1.100 -flows 1024 -size 60 -rate 200000 -dur 5s
//	pktgen -i c0 -dmac 02:..:01 -dst 10.0.1.100 -dport 80 -syn -syn-src 198.18.0.0/15 -rate 300000
//
// Every UDP frame is built once, before the clock starts, with its checksums; the send loop
// only points sendmmsg at them, cycling over the flows (destinations interleaved). In SYN mode
// there are -batch frame buffers, and before each sendmmsg every one is rewritten in place
// with a fresh source, port and sequence number, its checksums updated from the sums of the
// fixed part (a few ns a frame, no allocation). The socket is transmit-only (protocol 0: it
// receives nothing) and bypasses the qdisc.
//
// A frame the next device refuses (a veth whose peer's backlog is full answers ENOBUFS) is
// counted as dropped and not sent again: the offered load stays what was asked for, as on a
// wire, instead of slowing down to what the receiver accepts. sendmmsg reports such a refusal
// by stopping early, so the count is close, not exact; the sender's interface counters
// (tx_packets + tx_dropped of a veth) are exact, and the harness reads those.
//
// It stops after -dur, or on SIGINT/SIGTERM, and prints one line:
//
//	pktgen: c0 udp|syn attempted=N sent=N dropped=N secs=S pps=N
//
// Needs CAP_NET_RAW in the interface's namespace. Standard library and golang.org/x/sys only.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pktgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ifname := fs.String("i", "", "interface to send on (required)")
	dmacS := fs.String("dmac", "", "destination MAC: the next hop's (required)")
	srcS := fs.String("src", "10.0.1.2", "source IPv4 address")
	dstS := fs.String("dst", "", "destination IPv4 addresses, comma separated (required)")
	sport := fs.Uint("sport", 10000, "first UDP source port")
	dport := fs.Uint("dport", 9000, "UDP destination port")
	nflows := fs.Int("flows", 1024, "source ports per destination")
	size := fs.Int("size", 60, "frame size in bytes, without FCS (42-1514)")
	batch := fs.Int("batch", 64, "frames per sendmmsg")
	rate := fs.Float64("rate", 0, "frames per second; 0 sends flat out")
	dur := fs.Duration("dur", 5*time.Second, "how long to send")
	sndbuf := fs.Int("sndbuf", 4<<20, "socket send buffer (SO_SNDBUFFORCE)")
	syn := fs.Bool("syn", false, "send spoofed TCP SYNs to -dst:-dport instead of UDP (-src, -sport and -flows are ignored)")
	synSrcS := fs.String("syn-src", "198.18.0.0/15", "with -syn: the prefix the random source addresses are drawn from")
	seed := fs.Uint64("seed", 0, "with -syn: the random generator's seed (0: from the clock)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "pktgen: "+format+"\n", a...)
		return 1
	}
	if *ifname == "" || *dmacS == "" || *dstS == "" || fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	if *nflows < 1 || *batch < 1 || *batch > 1024 || *dur <= 0 || *rate < 0 ||
		*sport+uint(*nflows) > 65536 || *dport > 65535 {
		return fail("need -flows >= 1, 1 <= -batch <= 1024, -dur > 0, -rate >= 0, ports within 1-65535")
	}
	dmac, err := net.ParseMAC(*dmacS)
	if err != nil {
		return fail("-dmac: %v", err)
	}
	src, err := netip.ParseAddr(*srcS)
	if err != nil || !src.Is4() {
		return fail("-src %q: not an IPv4 address", *srcS)
	}
	var dsts []netip.Addr
	for _, s := range strings.Split(*dstS, ",") {
		d, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil || !d.Is4() {
			return fail("-dst %q: not an IPv4 address", s)
		}
		dsts = append(dsts, d)
	}
	ifi, err := net.InterfaceByName(*ifname)
	if err != nil {
		return fail("%v", err)
	}

	spec := frameSpec{dmac: dmac, smac: ifi.HardwareAddr, size: *size, ttl: 64}
	var frames [][]byte
	var refill func() // rewrites every frame before a send (SYN mode)
	if *syn {
		pfx, err := netip.ParsePrefix(*synSrcS)
		if err != nil || !pfx.Addr().Is4() {
			return fail("-syn-src %q: not an IPv4 prefix", *synSrcS)
		}
		// frame i is a SYN to dsts[i % len(dsts)]; a send covers all of them once
		tps := make([]*synTemplate, len(dsts))
		for i, d := range dsts {
			if tps[i], err = newSYNTemplate(spec, pfx, d, uint16(*dport)); err != nil {
				return fail("-size %d: %v (a SYN frame has at least %d bytes)", *size, err, minSYN)
			}
		}
		n := max(*batch, len(dsts))
		frames = make([][]byte, n)
		for i := range frames {
			frames[i] = tps[i%len(tps)].frame()
		}
		seedv := *seed
		if seedv == 0 {
			seedv = uint64(time.Now().UnixNano())
		}
		r := rand.NewPCG(seedv, 0)
		refill = func() {
			for i, b := range frames {
				tps[i%len(tps)].fill(b, r)
			}
		}
		*batch = n
	} else {
		fl := flows(src, dsts, uint16(*sport), uint16(*dport), *nflows)
		frames = make([][]byte, len(fl))
		for i, f := range fl {
			if frames[i], err = buildFrame(spec, f); err != nil {
				return fail("-size %d: %v", *size, err)
			}
		}
	}

	runtime.LockOSThread()
	tx, err := openTx(ifi.Index, *sndbuf, frames)
	if err != nil {
		return fail("%s: %v", *ifname, err)
	}
	defer unix.Close(tx.fd)

	var stop atomic.Bool
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() { <-sig; stop.Store(true) }()

	start := time.Now()
	end := start.Add(*dur)
	var attempted uint64
	for !stop.Load() {
		now := time.Now()
		if !now.Before(end) {
			break
		}
		if *rate > 0 {
			// Pace by deadline: the batch after `attempted` frames is due at attempted/rate.
			// Sleep off long gaps, spin the last stretch (a timer wakes ~50 µs late).
			due := start.Add(time.Duration(float64(attempted) / *rate * float64(time.Second)))
			if wait := due.Sub(now); wait > 0 {
				if wait > 200*time.Microsecond {
					time.Sleep(wait - 100*time.Microsecond)
				}
				for time.Now().Before(due) {
				}
			}
		}
		if refill != nil {
			refill()
		}
		n, err := tx.send(*batch)
		attempted += uint64(n)
		if err != nil {
			fmt.Fprintf(stderr, "pktgen: sendmmsg: %v\n", err)
			break
		}
	}
	secs := time.Since(start).Seconds()
	mode := "udp"
	if *syn {
		mode = "syn"
	}
	fmt.Fprintf(stdout, "pktgen: %s %s attempted=%d sent=%d dropped=%d secs=%.3f pps=%.0f\n",
		*ifname, mode, attempted, tx.sent, tx.dropped, secs, float64(attempted)/secs)
	return 0
}

// txSocket sends prebuilt frames round robin: msgs[i] points at frames[i] for good, so a
// batch is a window of msgs and sending costs no per-frame setup.
type txSocket struct {
	fd      int
	frames  [][]byte // referenced by iov; kept alive here
	iov     []unix.Iovec
	msgs    []unix.Mmsghdr
	next    int
	sent    uint64
	dropped uint64
}

func openTx(ifindex, sndbuf int, frames [][]byte) (*txSocket, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("AF_PACKET socket (needs CAP_NET_RAW): %w", err)
	}
	// Best effort: a smaller buffer or the qdisc only lower the ceiling.
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, sndbuf)
	_ = unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1)
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: ifindex}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind: %w", err)
	}
	t := &txSocket{fd: fd, frames: frames, iov: make([]unix.Iovec, len(frames)), msgs: make([]unix.Mmsghdr, len(frames))}
	for i, f := range frames {
		t.iov[i].Base = &f[0]
		t.iov[i].SetLen(len(f))
		t.msgs[i].Hdr.Iov = &t.iov[i]
		t.msgs[i].Hdr.SetIovlen(1)
	}
	return t, nil
}

// send offers n frames and returns how many it offered (sent or dropped); an error other
// than a refused frame ends the run.
func (t *txSocket) send(n int) (int, error) {
	done := 0
	for done < n {
		k := min(n-done, len(t.msgs)-t.next)
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(t.fd), uintptr(unsafe.Pointer(&t.msgs[t.next])), uintptr(k), 0, 0, 0)
		adv := 0
		switch {
		case e == 0 && int(r) == k:
			adv = k
			t.sent += uint64(k)
		case e == 0:
			// Stopped early: frame r was refused (the kernel reports the error only when
			// nothing was sent). Count it dropped and go past it.
			adv = int(r) + 1
			t.sent += uint64(r)
			t.dropped++
		case errors.Is(e, unix.ENOBUFS), errors.Is(e, unix.EAGAIN):
			adv = 1
			t.dropped++
		case errors.Is(e, unix.EINTR):
			continue
		default:
			return done, e
		}
		done += adv
		t.next = (t.next + adv) % len(t.msgs)
	}
	return done, nil
}
