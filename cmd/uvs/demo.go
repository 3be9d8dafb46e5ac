package main

import (
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/packet"
	"github.com/uvs-lb/uvs/packet/packettest"
)

// demoClock is the scenario's simulated time.
type demoClock struct{ now int64 }

func (c *demoClock) Now() int64 { return c.now }

// flow is one simulated client connection.
type flow struct {
	client  netip.AddrPort
	real    netip.AddrPort
	left    int // data segments still to send
	closing bool
}

// runDemo drives the engine with simulated clients: a NAT service 10.0.0.1:80 (wlc) over three
// real servers; at 1/3 of the run rs2 leaves the service (as a failed health check removes it,
// with expire_nodest_conn), at 2/3 it comes back. Every frame goes through Worker.Process as a
// port loop would hand it over; the report counts what the engine decided.
func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dur := fs.Duration("duration", 30*time.Second, "simulated run time")
	rate := fs.Int("rate", 200, "new connections per simulated second")
	seed := fs.Uint64("seed", 1, "random seed")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	vip := netip.MustParseAddr("10.0.0.1")
	servers := []netip.Addr{netip.MustParseAddr("192.168.1.20"), netip.MustParseAddr("192.168.1.21"), netip.MustParseAddr("192.168.1.22")}
	cfg := func(up []netip.Addr) *lb.Config {
		s := lb.ServiceConfig{Proto: packet.ProtoTCP, VIP: vip, Port: 80, Scheduler: "wlc"}
		for _, a := range up {
			s.Servers = append(s.Servers, lb.ServerConfig{Addr: a, Port: 8080, Weight: 1})
		}
		return &lb.Config{Services: []lb.ServiceConfig{s}, ExpireNoDestConn: true, ConnReuseMode: 1}
	}
	clock := &demoClock{}
	e := lb.New(lb.Options{Clock: clock})
	if err := e.Apply(cfg(servers)); err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return 1
	}
	w := e.NewWorker()
	rng := rand.New(rand.NewPCG(*seed, 0))

	const step = 100 * time.Millisecond
	steps := int(*dur / step)
	windows := 6
	perWindow := make([]map[netip.Addr]int, windows)
	for i := range perWindow {
		perWindow[i] = map[netip.Addr]int{}
	}
	var (
		flows          []*flow
		frames         [][]byte
		owners         []*flow
		pkts           = make([]packet.Packet, 0)
		out            = make([]lb.Verdict, 0)
		clientSeq      int
		events         []string
		reset, done    int
		forwarded      int
		rejected, drop int
	)
	vp := netip.AddrPortFrom(vip, 80)
	frame := func(src, dst netip.AddrPort, flags uint8) []byte {
		return packettest.Frame{Src: src, Dst: dst, Proto: packet.ProtoTCP, TCPFlags: flags, Payload: []byte("GET / HTTP/1.1\r\n\r\n")}.Build()
	}
	for s := 0; s < steps; s++ {
		clock.now = int64(s) * int64(step)
		switch s {
		case steps / 3:
			if err := e.Apply(cfg([]netip.Addr{servers[0], servers[2]})); err != nil {
				fmt.Fprintln(stderr, "demo:", err)
				return 1
			}
			events = append(events, fmt.Sprintf("%5.1fs  rs2 %v fails: removed from the service (expire_nodest_conn=1)", time.Duration(clock.now).Seconds(), servers[1]))
		case 2 * steps / 3:
			if err := e.Apply(cfg(servers)); err != nil {
				fmt.Fprintln(stderr, "demo:", err)
				return 1
			}
			events = append(events, fmt.Sprintf("%5.1fs  rs2 %v recovers: back in the service", time.Duration(clock.now).Seconds(), servers[1]))
		}
		frames, owners = frames[:0], owners[:0]
		// New clients: a SYN each.
		for i := 0; i < *rate/10; i++ {
			clientSeq++
			c := netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, 0, byte(113 + clientSeq/60000), byte(clientSeq % 250)}), uint16(1024+clientSeq%60000))
			f := &flow{client: c, left: 2 + rng.IntN(40)}
			flows = append(flows, f)
			frames, owners = append(frames, frame(c, vp, packet.TCPSyn)), append(owners, f)
		}
		// Established clients send data, then close.
		for _, f := range flows {
			if !f.real.IsValid() || f.closing {
				continue
			}
			flags := packet.TCPAck | packet.TCPPsh
			if f.left--; f.left <= 0 {
				flags, f.closing = packet.TCPFin|packet.TCPAck, true
			}
			frames, owners = append(frames, frame(f.client, vp, flags)), append(owners, f)
			// The server's answer comes back through the appliance (NAT).
			frames, owners = append(frames, frame(f.real, f.client, packet.TCPAck|packet.TCPPsh)), append(owners, nil)
		}
		if cap(pkts) < len(frames) {
			pkts, out = make([]packet.Packet, len(frames)), make([]lb.Verdict, len(frames))
		}
		pkts, out = pkts[:len(frames)], out[:len(frames)]
		w.Process(frames, pkts, out, clock.now)
		for i, v := range out {
			f := owners[i]
			switch v.Action {
			case lb.ActForward:
				forwarded++
				if f != nil && !f.real.IsValid() {
					f.real = netip.AddrPortFrom(packet.AddrFrom(v.Conn.Family, &v.Conn.DAddr), v.Conn.DPort)
					perWindow[s*windows/steps][f.real.Addr()]++
				}
			case lb.ActReject:
				rejected++
			case lb.ActDrop:
				drop++
				if f != nil && f.real.IsValid() && !f.closing {
					f.closing = true // the client sees its connection die
					reset++
				}
			}
		}
		live := flows[:0]
		for _, f := range flows {
			if f.closing {
				done++
				continue
			}
			live = append(live, f)
		}
		flows = live
		e.Maintain(clock.now)
	}

	fmt.Fprintf(stdout, "uvs demo: the lb engine on simulated traffic (%v, %d new connections/s, seed %d)\n", *dur, *rate, *seed)
	fmt.Fprintln(stdout, "service TCP 10.0.0.1:80 wlc, NAT -> rs1 192.168.1.20, rs2 192.168.1.21, rs3 192.168.1.22 :8080")
	fmt.Fprintln(stdout, "(engine only: frames are built in memory and verdicts counted; ports, netstack and lab come next)")
	fmt.Fprintln(stdout, "\nevents:")
	for _, ev := range events {
		fmt.Fprintln(stdout, "  "+ev)
	}
	fmt.Fprintln(stdout, "\nnew connections per real server, by sixth of the run:")
	tw := tabwriter.NewWriter(stdout, 2, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "window\t")
	for i := range servers {
		fmt.Fprintf(tw, "rs%d\t", i+1)
	}
	fmt.Fprintln(tw)
	for wdx, m := range perWindow {
		fmt.Fprintf(tw, "%.0f-%.0fs\t", dur.Seconds()*float64(wdx)/float64(windows), dur.Seconds()*float64(wdx+1)/float64(windows))
		for _, a := range servers {
			fmt.Fprintf(tw, "%d\t", m[a])
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	st := w.Stats()
	fmt.Fprintf(stdout, "\nverdicts: %d forwarded, %d new connections, %d rejected, %d dropped (no_dest %d, table_full %d)\n",
		forwarded, st.NewConns, rejected, drop, st.Drops[lb.DropNoDest], st.Drops[lb.DropTableFull])
	fmt.Fprintf(stdout, "clients: %d connections finished, %d cut when their server failed\n", done, reset)
	fmt.Fprintln(stdout, "\nipvsadm -Ln --stats style view at the end:")
	tw = tabwriter.NewWriter(stdout, 2, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Prot LocalAddress:Port\tConns\tInPkts\tOutPkts\tInBytes\tOutBytes\tActiveConn\tInActConn")
	t := e.Table()
	for _, svc := range t.Services() {
		s := svc.Counters().Snapshot()
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t\t\n", svc.Config(), s.Conns, s.InPkts, s.OutPkts, s.InBytes, s.OutBytes)
		ds := append([]*lb.Dest(nil), svc.Dests()...)
		sort.Slice(ds, func(i, j int) bool { return ds[i].Addr.Less(ds[j].Addr) })
		for _, d := range ds {
			c := d.Counters().Snapshot()
			fmt.Fprintf(tw, "  -> %s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", netip.AddrPortFrom(d.Addr, d.Port), c.Conns, c.InPkts, c.OutPkts, c.InBytes, c.OutBytes,
				d.Counts().Active.Load(), d.Counts().Inactive.Load())
		}
	}
	tw.Flush()
	fmt.Fprintf(stdout, "\nconnection table: %d entries\n", e.Conns().Len())
	return 0
}
