// Package afpacket is the AF_PACKET port of uvs: raw Ethernet frames in and out of an existing
// Linux interface, in batches, through a memory-mapped receive ring (TPACKET_V2 by default, or
// TPACKET_V3) and sendmmsg(2). It implements port.Port.
//
// # The port owns its interface
//
// A port takes its interface whole, as DPDK does. The kernel must hold no address on it (or
// uvs must use distinct addresses whose traffic the kernel never sees): otherwise both answer
// ARP/ND, and the kernel resets TCP connections it does not know. Give uvs a dedicated NIC, or
// a veth or macvlan of its own; `ip addr flush dev X` and, for the IPv6 link-local address
// (which a stack deriving its own from the same MAC would duplicate),
// `sysctl net.ipv6.conf.X.disable_ipv6=1`. Warning reports an interface on which the kernel
// holds addresses, for `uvs run` to print.
//
// The socket is opened with protocol ETH_P_ALL and bound to the interface, so it sees frames
// before the kernel's ingress hook (nft netdev ingress drops do not hide them from uvs), and
// with PACKET_IGNORE_OUTGOING, so it never reads back what it (or the kernel) transmits.
// Opening needs CAP_NET_RAW in the interface's network namespace: root, or an ordinary user
// inside its own user+network namespace (unshare -Urn), which is how uvs runs unprivileged.
// Open works in the calling thread's namespace; lock the thread and setns(2) to open a port
// in another one.
//
// # Receive ring: V2 or V3
//
// Config.RingVersion picks the receive ring. Both are mmap'ed, both are read without a system
// call while frames are waiting, and with both one Read takes up to BatchSize frames:
//
//   - RingV2 (the default): TPACKET_V2, one fixed-size slot per frame. The kernel hands each
//     slot to user space as soon as it has written the frame, and wakes poll(2) then: a lone
//     frame is readable within microseconds. A request/reply with the kernel through a veth
//     takes 1.5 µs here. The price is a wakeup whenever a frame arrives while the reader
//     sleeps: a reader that keeps up with its traffic sleeps and wakes for a few frames at a
//     time (6 to 10 frames per Read at 600 to 650 kpps, port to port through a veth, Write
//     and Read in the same process on 2 vCPUs), and every frame takes a whole slot, whatever
//     its size. A busier reader finds more frames per Read: batching comes from load.
//   - RingV3: TPACKET_V3, variable-size frames packed into blocks. The kernel hands over a
//     block when it is full or FrameTimeout (1 ms at the least) after its first frame, and
//     wakes poll(2) once per block: far fewer wakeups and system calls at high rates (62
//     frames per Read and 1.2 to 1.3 Mpps in the same test), and a 60-byte frame takes 144
//     bytes of ring, not a slot. The price is latency at light load: a lone frame waits up to
//     FrameTimeout before Read can see it, 1.00 ms per request/reply with the kernel.
//
// Through uvs (docs/bench.md, 2 vCPUs, one 5 s run each), V2 against V3: HTTP keep-alive
// 103 000 against 38 000 requests/s (V3 is bound by its millisecond per exchange, with the uvs
// core mostly idle), HTTP with a connection per request 21 300 against 17 900; but at a steady
// 200 kpps of small UDP packets the lb core spends 4.1 µs per packet against 2.7 µs, most of
// the difference in the extra sleeps and wakeups. Choose V3 for a port that sees only bulk,
// high-rate traffic, where a millisecond does not matter and CPU per packet does; V2 for
// everything else.
//
// # Receive ring sizing
//
// The ring is NumBlocks blocks of BlockSize bytes (defaults 256 × 256 KiB = 64 MiB of kernel
// memory, mmap'ed, not swappable) in both versions.
//
// V2 cuts each block into slots of FrameSize bytes, the tail of a block unused. The default
// slot is 112 + MTU rounded up to 16, 1616 bytes for an MTU of 1500: the kernel puts the
// Ethernet header at tp_mac = 66 (76 with VNetHdr, whose header goes right before it), so a
// 1518-byte frame ends at byte 1594. A 256 KiB block holds 162 slots, the default ring 41 472.
// Every frame takes one slot, so the ring holds frames × slot size = RingBytes:
//
//   - 41 472 frames, whatever their size and however slowly they come (no timeout): 41 ms at
//     1 Mpps of 60-byte frames, 100 ms at 415 kpps (5 Gbit/s of 1514-byte frames), 1 s at
//     41 kpps;
//   - 100 ms at 1 Mpps needs 100 000 slots: NumBlocks 620 (155 MiB), or V3.
//
// A frame longer than a slot (a GSO super-frame with VNetHdr and offloads on; any frame after
// the MTU was raised) does not go in the ring: PACKET_COPY_THRESH has the kernel queue it
// whole on the socket and leave a truncated copy in its slot, marked TP_STATUS_COPY, and Read
// takes it with one recvmsg(2) straight into the caller's buffer (Stats.Queued). Slot and queue
// entry are made under one lock, so frames keep their order. The queue is bounded by the
// socket receive buffer, RcvBuf (default 32 MiB, which the kernel doubles for its bookkeeping:
// several hundred 64 KiB super-frames); when it is full the kernel keeps only the truncated
// copy, and Read drops and counts the frame (Stats.Truncated). Without CAP_NET_ADMIN (an
// unprivileged user namespace) SO_RCVBUFFORCE is refused and SO_RCVBUF is capped at
// net.core.rmem_max.
//
// V3 fills each block with frames of TPACKET_ALIGN(macoff + length) bytes, where macoff is 82
// (92 with VNetHdr): 144 bytes for a 60-byte frame, 1600 for a 1514-byte one, 48 more per
// block for its descriptor. The kernel hands a block to user space when it is full or, at the
// latest, FrameTimeout (default 1 ms) after opening it, so the ring holds
//
//   - at a high rate, RingBytes / slot frames: 466 000 frames of 60 bytes (466 ms at 1 Mpps),
//     or 41 700 frames of 1514 bytes (100 ms at 417 kpps, 5 Gbit/s: double NumBlocks per
//     extra 5 Gbit/s);
//   - at a low rate, where timeouts retire blocks holding few frames, at least NumBlocks ×
//     FrameTimeout = 256 ms, whatever the rate;
//   - with VNetHdr, about three 64 KiB GSO super-frames per block: 768 in the ring, 100 ms
//     of 4 Gbit/s of TCP.
//
// Either way the default ring holds at least 100 ms at 5 Gbit/s. In V3, BlockSize must be a
// power of two of at least a page and must hold the largest frame (128 KiB with VNetHdr);
// smaller blocks retire sooner under light load and waste less of the block's tail per GSO
// frame, at more blocks per second. When the ring is full the kernel drops frames and counts
// them (Stats: Drops, and with V3 Freezes); Read drops and counts frames that do not fit the
// caller's buffer (Oversize) rather than truncate them.
//
// # Blocking, latency and Close
//
// Read copies every waiting frame, up to len(bufs), handing each V2 slot (each V3 block) back
// to the kernel as soon as it is copied, and returns at once when the ring holds any; when it
// holds none it sleeps in poll(2) on the socket and an eventfd, with no busy polling, until the
// kernel hands over a frame (V2) or a block (V3). A request/reply with the kernel measured
// here takes 1.5 µs per round trip with V2 (about what a TAP takes, ~1.3 µs) and 1.00 ms
// with V3. Port to port through a veth, loss-free, Write and Read in the same process on 2
// vCPUs, V3 carries 1.2 to 1.3 Mpps of 60-byte frames and V2 600 to 650 kpps: its reader
// keeps up, so it sleeps and is woken every few frames. Close wakes a blocked Read or Write through
// the eventfd, waits for them to leave, then unmaps the ring and closes the socket (the
// kernel takes a few tens of milliseconds to release a packet socket). When the link goes
// down the socket reports ENETDOWN; Read counts it (Stats.LinkDown) and keeps waiting.
//
// # SYN ring
//
// Config.SYNRing opens a second receive socket on the interface for TCP connection openings
// (SYN set, ACK clear, over IPv4 or IPv6, an outer VLAN tag or not). Each socket has a
// classic BPF filter, the same test with its verdicts swapped, so each frame is in exactly
// one ring, decided before the kernel copies it. Read serves the main ring first, for at
// least three quarters of a batch, then the SYN ring, then the main ring again. Under a SYN
// flood that outruns uvs, the SYN ring stands full and the kernel drops SYNs there (cheaply:
// no copy; Stats.SYNDrops), while established segments keep their own ring: no wait behind
// the flood, no drop. SYNs still get a quarter of every full batch, so new connections are
// accepted while established traffic keeps the port busy. The SYN ring is always V2 (a lone
// SYN is handed over at once), of SYNRingFrames 256-byte slots (16384: 4 MiB); a longer SYN
// (TCP Fast Open data) comes whole from its socket's queue. Frames of the two rings may be
// read out of their arrival order, a SYN before a frame of another connection that arrived
// first; a connection's own segments cannot overtake its SYN, since TCP sends none before the
// SYN is answered.
//
// # Transmit
//
// Write sends BatchSize frames per sendmmsg(2) straight from the caller's buffers, with
// MSG_DONTWAIT; on a full socket buffer it waits in poll(2) (woken by Close). A TX ring
// (PACKET_TX_RING) was not chosen: it needs each frame copied into the ring first (Write's
// frames are already in the caller's buffers, rewritten in place by the engine), a lock around
// its slots for Write's several goroutines, and it is the path on which trafgen fails with
// EAGAIN here once RPS moves the receive side to another CPU (see the bench harness). Frames
// the kernel refuses (too big for the link without GSO, a bad virtio header, no buffer at the
// driver, link down) are dropped and counted in Stats.TxDropped. QdiscBypass skips the qdisc
// (PACKET_QDISC_BYPASS): a little faster, but no traffic control, and packet sockets such as
// tcpdump do not see the frames.
//
// # Virtio-net headers and offloads
//
// On a veth or virtio NIC with offloads on (the default), the kernel hands an AF_PACKET
// socket GSO super-frames of up to 64 KiB whose TCP/UDP checksum is only partial (the pseudo
// header sum, for hardware to finish). There are two correct ways to run a port:
//
//   - VNetHdr: PACKET_VNET_HDR puts a virtio_net_hdr in front of every frame. Read stores it
//     in bufs[i][offset-port.VNetHdrLen:offset] (Headroom is port.VNetHdrLen), completes a
//     partial checksum in software (package vnet, with package packet's checksum functions)
//     and then clears NEEDS_CSUM and sets DATA_VALID, so every frame handed to callers has a
//     valid L4 checksum; super-frames keep their GSO fields (MaxFrame is MaxGSOFrame; with V2
//     they come whole from the socket queue, see "Receive ring sizing"). Write
//     sends the header from the same place, so a super-frame written out is segmented by the
//     kernel (or by the next device's TSO) and a NEEDS_CSUM header has the kernel finish the
//     checksum. Callers that build frames must write a header there: all zeroes means "no
//     offload". A VLAN tag the driver stripped is put back into the frame and the header's
//     offsets shifted to match.
//   - Offloads off: without VNetHdr, turn off tx-checksumming, TSO, GSO, GRO and LRO with
//     DisableOffloads (ethtool ioctl; like `ethtool -K X tx off tso off gso off gro off lro
//     off`). On a veth do it on both ends: the peer's transmit offloads make the frames this
//     end receives. Frames are then at most MTU-sized with complete checksums. Without either,
//     super-frames larger than the caller's buffer are dropped (Stats.Oversize) and frames with
//     partial checksums are delivered as they are and counted (Stats.PartialCsum): forwarding
//     them would put bad checksums on the wire.
//
// VNetHdr is the faster of the two for bulk TCP (a 64 KiB super-frame costs one frame's
// handling), at the cost of a software checksum over each super-frame Read completes.
package afpacket
