//go:build linux

package afpacket

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The legacy ethtool ioctls (ETHTOOL_G*/S* + TXCSUM, TSO, GSO, GRO, FLAGS for LRO): each maps to
// a fixed feature mask in the kernel, so no string-set lookup (ETHTOOL_GSTRINGS for
// ETHTOOL_SFEATURES) is needed. They work on every kernel uvs supports.
const ethFlagLRO = 1 << 15 // ETH_FLAG_LRO

type ethtoolValue struct{ cmd, data uint32 }

// ifreqData is struct ifreq with ifr_data (a pointer: the GC and stack copier see it).
type ifreqData struct {
	name [unix.IFNAMSIZ]byte
	data unsafe.Pointer
	_    [24 - unsafe.Sizeof(unsafe.Pointer(nil))]byte
}

func ethtool(fd int, name string, v *ethtoolValue) error {
	var ifr ifreqData
	copy(ifr.name[:unix.IFNAMSIZ-1], name)
	ifr.data = unsafe.Pointer(v)
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr))); e != 0 {
		return e
	}
	return nil
}

// offloadOrder lists the settable offloads in the order that turns them off: aggregation
// first, checksum offload last (TSO depends on it, so turning it on goes the other way).
var offloadOrder = []struct {
	name     string
	get, set uint32
}{
	{"gro", unix.ETHTOOL_GGRO, unix.ETHTOOL_SGRO},
	{"gso", unix.ETHTOOL_GGSO, unix.ETHTOOL_SGSO},
	{"tso", unix.ETHTOOL_GTSO, unix.ETHTOOL_STSO},
	{"tx-checksumming", unix.ETHTOOL_GTXCSUM, unix.ETHTOOL_STXCSUM},
}

// SetOffloads turns the offloads that shape what an AF_PACKET socket sees on or off on the
// interface name, in the calling thread's network namespace (CAP_NET_ADMIN there):
// tx-checksumming, TSO, GSO, GRO and LRO. Offloads the driver cannot change are skipped.
//
// Which side matters: frames a socket receives on a veth were built by the peer's transmit
// path, so it is the peer's tx-checksumming and TSO that make them GSO super-frames with
// partial checksums; GRO/LRO on the receiving interface (a NIC, or a veth in NAPI mode)
// coalesce frames too. Call it on both ends of a veth, or on the NIC.
func SetOffloads(name string, on bool) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("afpacket: ethtool socket: %w", err)
	}
	defer unix.Close(fd)
	want := uint32(0)
	if on {
		want = 1
	}
	var errs []error
	set := func(what string, get, set uint32) {
		v := ethtoolValue{cmd: get}
		if err := ethtool(fd, name, &v); err != nil {
			if err != unix.EOPNOTSUPP {
				errs = append(errs, fmt.Errorf("get %s: %w", what, err))
			}
			return
		}
		if (v.data != 0) == on {
			return
		}
		v = ethtoolValue{cmd: set, data: want}
		if err := ethtool(fd, name, &v); err != nil && err != unix.EOPNOTSUPP {
			errs = append(errs, fmt.Errorf("set %s %v: %w", what, on, err))
		}
	}
	if on {
		for i := len(offloadOrder) - 1; i >= 0; i-- {
			set(offloadOrder[i].name, offloadOrder[i].get, offloadOrder[i].set)
		}
	} else {
		for _, o := range offloadOrder {
			set(o.name, o.get, o.set)
		}
		v := ethtoolValue{cmd: unix.ETHTOOL_GFLAGS}
		if err := ethtool(fd, name, &v); err == nil && v.data&ethFlagLRO != 0 {
			v = ethtoolValue{cmd: unix.ETHTOOL_SFLAGS, data: v.data &^ ethFlagLRO}
			if err := ethtool(fd, name, &v); err != nil && err != unix.EOPNOTSUPP {
				errs = append(errs, fmt.Errorf("clear lro: %w", err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("afpacket: offloads on %s: %w", name, err)
	}
	return nil
}

// DisableOffloads is SetOffloads(name, false): what a port without VNetHdr needs on its link
// (and, on a veth, on the peer) to receive frames no larger than the MTU with complete
// checksums. It is the equivalent of
// `ethtool -K name tx off tso off gso off gro off lro off`.
func DisableOffloads(name string) error { return SetOffloads(name, false) }

// Offloads reports the state of the same offloads on name, keyed "tx-checksumming", "tso",
// "gso", "gro" (as ethtool -k names them) and "lro"; absent when the driver does not say.
func Offloads(name string) (map[string]bool, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("afpacket: ethtool socket: %w", err)
	}
	defer unix.Close(fd)
	m := map[string]bool{}
	for _, o := range offloadOrder {
		v := ethtoolValue{cmd: o.get}
		if err := ethtool(fd, name, &v); err == nil {
			m[o.name] = v.data != 0
		} else if err != unix.EOPNOTSUPP {
			return nil, fmt.Errorf("afpacket: ethtool %s on %s: %w", o.name, name, err)
		}
	}
	v := ethtoolValue{cmd: unix.ETHTOOL_GFLAGS}
	if err := ethtool(fd, name, &v); err == nil {
		m["lro"] = v.data&ethFlagLRO != 0
	}
	return m, nil
}
