// Package tap is the TAP port of uvs: a Linux TAP device, created or attached to by name, whose
// far end is the kernel (a host bridge, a VM's tap, or the kernel stack itself as a peer).
// uvs is the other end of that wire, with its own MAC address (Config.MAC, or DeriveMAC(name):
// locally administered, from a hash of the name). It implements port.Port.
//
// # Opening
//
// Without VNetHdr the device is opened through github.com/songgao/water (IFF_TAP | IFF_NO_PI);
// the port keeps a duplicate of water's descriptor and closes water's file, which the Go
// runtime's netpoller would otherwise wake for every frame (1.9 instead of 1.3 µs per
// request/reply). With VNetHdr it is opened here, on /dev/net/tun with golang.org/x/sys/unix ioctls: water
// cannot set IFF_VNET_HDR, because it fixes the TUNSETIFF flags in an unexported function and a
// descriptor takes only one TUNSETIFF. Either way the descriptor is non-blocking. Persist sets
// the device's persist flag as water does: a persistent TAP outlives the port, and a later Open
// of the same name attaches to it. Opening needs CAP_NET_ADMIN in the namespace and access to
// /dev/net/tun, which is mode 0600 (root only) on many systems, including the test machine:
// the tests that create TAPs run only as root. The kernel side of the device (address, link
// up) is left to the operator.
//
// # Blocking and batching
//
// A TAP gives one frame per read(2) and takes one per write(2); there is no batched system
// call. Read reads frames until the device has none left or the batch is full, without ever
// waiting once it has one; with none waiting it sleeps in poll(2) on the device and an
// eventfd, with no busy polling, until a frame arrives or Close is called. Frames longer than
// the caller's buffer are detected (a TAP cuts them silently: Read reads one spill byte past
// the buffer) and dropped (Stats.Oversize). Write writes each frame with write(2) and
// counts frames the kernel refuses (Stats.TxDropped). Frames the kernel had to drop because uvs
// did not read them in time show as tx_dropped on the TAP interface (ip -s link). Measured
// here: a request to the kernel and its reply take ~1.3 µs; 64 ICMP echoes per Write, with
// their replies read back, run at ~750 k echoes/s.
//
// # Virtio-net headers
//
// With VNetHdr the device is opened with IFF_VNET_HDR and TUNSETOFFLOAD(CSUM, TSO4, TSO6,
// TSO_ECN, and USO4/USO6 when the kernel has them, Linux >= 6.2): the kernel then hands uvs
// GSO super-frames and partial checksums instead of segmenting and checksumming in software.
// The header convention is the afpacket port's (package vnet): Read has the kernel write the
// header and frame straight into bufs[i][offset-port.VNetHdrLen:], completes any partial
// checksum in place and clears NEEDS_CSUM (setting DATA_VALID), so callers always get valid
// L4 checksums; Write sends the header from the same place, so super-frames are segmented by
// the kernel. Callers that build frames must put a header there (all zeroes: no offload).
// Without VNetHdr a TAP has no offloads: frames are at most MTU-sized, with complete checksums.
package tap
