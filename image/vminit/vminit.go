// Package vminit is what uvs does as the VM image's /init (process 1): it mounts the kernel's
// file systems, finds the configuration (the kernel command line, a config disk, or the one
// baked into the image), gives the NICs to the appliance's ports and the management NIC its
// addresses, watches for the ACPI power button, and powers the machine off (or reboots it)
// at the end. cmd/uvs runs the appliance in between, with the code of `uvs run`.
package vminit

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/uvs-lb/uvs/conf"
)

// Paths inside the image.
const (
	BakedConfig = "/etc/uvs.toml" // `make image CONFIG=...` puts the file here
	ConfigMount = "/mnt/config"   // a config disk's file system is mounted here, read-only
	ConfigFile  = "uvs.toml"      // the file looked for on a config disk's file system
)

// IsInit reports whether this process is the image's /init: process 1 started as /init. A
// uvs that is process 1 of a container is not (its argv[0] is not "/init").
func IsInit() bool {
	return os.Getpid() == 1 && len(os.Args) > 0 && os.Args[0] == "/init"
}

// Mount mounts proc, sysfs, devtmpfs and tmpfs on /run and /tmp.
func Mount() error {
	const nosuid, noexec, nodev = unix.MS_NOSUID, unix.MS_NOEXEC, unix.MS_NODEV
	for _, m := range []struct {
		src, dst, fs string
		flags        uintptr
		data         string
	}{
		{"proc", "/proc", "proc", nosuid | noexec | nodev, ""},
		{"sysfs", "/sys", "sysfs", nosuid | noexec | nodev, ""},
		{"devtmpfs", "/dev", "devtmpfs", nosuid | noexec, "mode=0755"},
		{"tmpfs", "/run", "tmpfs", nosuid | nodev, "mode=0755"},
		{"tmpfs", "/tmp", "tmpfs", nosuid | nodev, "mode=1777"},
	} {
		if err := os.MkdirAll(m.dst, 0o755); err != nil {
			return err
		}
		if err := unix.Mount(m.src, m.dst, m.fs, m.flags, m.data); err != nil && !errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("mount %s on %s: %w", m.fs, m.dst, err)
		}
	}
	return nil
}

// Cmdline is the kernel command line's key=value parameters (a bare word maps to "").
type Cmdline map[string]string

// ParseCmdline splits a kernel command line: words separated by spaces, double quotes
// group, the first '=' separates a key from its value.
func ParseCmdline(s string) Cmdline {
	c := Cmdline{}
	var word strings.Builder
	quoted := false
	flush := func() {
		if word.Len() > 0 {
			k, v, _ := strings.Cut(word.String(), "=")
			c[k] = v
			word.Reset()
		}
	}
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
		case !quoted && (r == ' ' || r == '\n' || r == '\t'):
			flush()
		default:
			word.WriteRune(r)
		}
	}
	flush()
	return c
}

// ReadCmdline reads /proc/cmdline.
func ReadCmdline() (Cmdline, error) {
	b, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		return nil, err
	}
	return ParseCmdline(string(b)), nil
}

// Source is where the configuration was found; Read reads it again (for reloads).
type Source struct {
	Name string
	Read func() ([]byte, error)
}

// FindConfig looks for the configuration, first found wins: the kernel command line's
// uvs.config (the TOML in base64, standard or URL alphabet, optionally gzip-compressed before
// encoding); a config disk (uvs.config_disk=/dev/vdb names it, else each disk or partition
// in turn, the boot disk's EFI system partition too): a vfat, ext4 or iso9660 file system
// holding uvs.toml, mounted read-only on /mnt/config, or a raw disk holding the TOML text
// itself (padded with NULs to whole sectors); the file baked into the image, /etc/uvs.toml.
func FindConfig(c Cmdline, log func(string)) (Source, error) {
	if v, ok := c["uvs.config"]; ok {
		data, err := DecodeConfigParam(v)
		if err != nil {
			return Source{}, fmt.Errorf("uvs.config on the kernel command line: %w", err)
		}
		return Source{Name: "cmdline:uvs.config", Read: func() ([]byte, error) { return data, nil }}, nil
	}
	var disks []string
	if d, ok := c["uvs.config_disk"]; ok {
		disks = []string{d}
	} else {
		disks = blockDisks()
	}
	for _, dev := range disks {
		src, ok, err := diskConfig(dev)
		if err != nil {
			if _, named := c["uvs.config_disk"]; named {
				return Source{}, err
			}
			log(err.Error())
			continue
		}
		if ok {
			return src, nil
		}
	}
	if _, err := os.Stat(BakedConfig); err == nil {
		return Source{Name: BakedConfig, Read: func() ([]byte, error) { return os.ReadFile(BakedConfig) }}, nil
	}
	if len(disks) == 0 {
		return Source{}, errors.New("no configuration: no uvs.config on the kernel command line, no disk, nothing baked in at " + BakedConfig)
	}
	return Source{}, fmt.Errorf("no configuration: no uvs.config on the kernel command line, none on the disks (%s), nothing baked in at %s", strings.Join(disks, ", "), BakedConfig)
}

// DecodeConfigParam decodes uvs.config's value: base64 (either alphabet, padded or not) of
// the TOML, or of its gzip compression.
func DecodeConfigParam(v string) ([]byte, error) {
	v = strings.TrimRight(v, "=")
	var data []byte
	var err error
	if strings.ContainsAny(v, "-_") {
		data, err = base64.RawURLEncoding.DecodeString(v)
	} else {
		data, err = base64.RawStdEncoding.DecodeString(v)
	}
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		if data, err = io.ReadAll(io.LimitReader(zr, 1<<20)); err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
	}
	return data, nil
}

// blockDisks lists the devices that may hold a configuration, in name order: virtio, SCSI /
// SATA, Xen, NVMe disks and CD-ROMs, not loop devices; a partitioned disk (the image's own
// boot disk, say) is looked at partition by partition, then whole, so its EFI system
// partition may hold uvs.toml.
func blockDisks() []string {
	ents, _ := os.ReadDir("/sys/block")
	var out []string
	for _, e := range ents {
		n := e.Name()
		for _, p := range []string{"vd", "sd", "xvd", "nvme", "sr", "hd"} {
			if !strings.HasPrefix(n, p) {
				continue
			}
			parts, _ := filepath.Glob("/sys/block/" + n + "/" + n + "*/partition")
			for _, pt := range parts {
				out = append(out, "/dev/"+filepath.Base(filepath.Dir(pt)))
			}
			// The whole disk too: a FAT file system without a partition table can look
			// partitioned to the kernel (its boot sector ends like an MBR).
			out = append(out, "/dev/"+n)
			break
		}
	}
	sort.Strings(out)
	return out
}

// diskConfig looks for the configuration on dev: a file system holding uvs.toml, or raw text.
func diskConfig(dev string) (Source, bool, error) {
	if err := os.MkdirAll(ConfigMount, 0o755); err != nil {
		return Source{}, false, err
	}
	for _, fs := range []string{"vfat", "ext4", "iso9660"} {
		if unix.Mount(dev, ConfigMount, fs, unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, "") != nil {
			continue
		}
		path := filepath.Join(ConfigMount, ConfigFile)
		if _, err := os.Stat(path); err != nil {
			unix.Unmount(ConfigMount, 0)
			return Source{}, false, nil // a file system, but not a config disk
		}
		return Source{Name: dev + ":" + ConfigFile, Read: func() ([]byte, error) { return os.ReadFile(path) }}, true, nil
	}
	read := func() ([]byte, error) { return rawText(dev) }
	data, err := read()
	if err != nil || data == nil {
		return Source{}, false, err
	}
	return Source{Name: dev, Read: read}, true, nil
}

// rawText reads a raw config disk: text up to the first NUL (or the end), at most 1 MiB.
// It returns nil, nil when the disk does not start with text.
func rawText(dev string) ([]byte, error) {
	f, err := os.Open(dev)
	if err != nil {
		return nil, fmt.Errorf("config disk %s: %w", dev, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("config disk %s: %w", dev, err)
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	if len(bytes.TrimSpace(b)) == 0 || !utf8.Valid(b) {
		return nil, nil
	}
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' {
			return nil, nil
		}
	}
	return b, nil
}

// SetupNetwork brings lo up, waits (up to wait) for the devices cfg names, and readies every
// NIC: a port's NIC is brought up with IPv6 off and ARP ignored by the kernel (the port owns
// it whole: uvs answers for its addresses), the management NIC gets its addresses and routes.
func SetupNetwork(cfg *conf.Config, wait time.Duration, log func(string)) error {
	want := map[string]bool{}
	for _, ifc := range cfg.Interfaces {
		if ifc.Device != "" {
			want[ifc.Device] = true
		}
	}
	if cfg.Management.Device != "" {
		want[cfg.Management.Device] = true
	}
	deadline := time.Now().Add(wait)
	for {
		var missing []string
		for d := range want {
			if _, err := os.Stat("/sys/class/net/" + d); err != nil {
				missing = append(missing, d)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			sort.Strings(missing)
			return fmt.Errorf("no such network device: %s (the VM has %s)", strings.Join(missing, ", "), strings.Join(NICs(), ", "))
		}
		time.Sleep(50 * time.Millisecond)
	}
	nl, err := openRtnl()
	if err != nil {
		return err
	}
	defer nl.Close()
	if idx, err := ifIndex("lo"); err != nil {
		return err
	} else if err := nl.linkUp(idx); err != nil {
		return fmt.Errorf("lo up: %w", err)
	}
	for _, nic := range NICs() {
		if nic == cfg.Management.Device {
			continue
		}
		// The kernel must not answer on a port's wire: no IPv6 (no link-local address, DAD
		// nor router solicitation), and no ARP replies for its other addresses.
		writeSysctl("/proc/sys/net/ipv6/conf/"+nic+"/disable_ipv6", "1", log)
		writeSysctl("/proc/sys/net/ipv4/conf/"+nic+"/arp_ignore", "8", log)
		idx, err := ifIndex(nic)
		if err != nil {
			return err
		}
		if err := nl.linkUp(idx); err != nil {
			return fmt.Errorf("%s up: %w", nic, err)
		}
	}
	m := cfg.Management
	if m.Device == "" {
		return nil
	}
	idx, err := ifIndex(m.Device)
	if err != nil {
		return err
	}
	if err := nl.linkUp(idx); err != nil {
		return fmt.Errorf("%s up: %w", m.Device, err)
	}
	for _, pf := range m.Addresses {
		if err := nl.addAddr(idx, pf); err != nil {
			return fmt.Errorf("management %s: address %s: %w", m.Device, pf, err)
		}
	}
	for _, r := range m.Routes {
		if err := nl.addRoute(idx, r.Prefix, r.Via); err != nil {
			return fmt.Errorf("management %s: route %s: %w", m.Device, r.Prefix, err)
		}
	}
	if m.Gateway.IsValid() {
		if err := nl.addRoute(idx, netip4Default, m.Gateway); err != nil {
			return fmt.Errorf("management %s: gateway %s: %w", m.Device, m.Gateway, err)
		}
	}
	if m.Gateway6.IsValid() {
		if err := nl.addRoute(idx, netip6Default, m.Gateway6); err != nil {
			return fmt.Errorf("management %s: gateway6 %s: %w", m.Device, m.Gateway6, err)
		}
	}
	return nil
}

// NICs lists the network devices but lo, sorted.
func NICs() []string {
	ents, _ := os.ReadDir("/sys/class/net")
	var out []string
	for _, e := range ents {
		if e.Name() != "lo" {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

func writeSysctl(path, v string, log func(string)) {
	if err := os.WriteFile(path, []byte(v), 0o644); err != nil {
		log(fmt.Sprintf("sysctl %s: %v", path, err))
	}
}

// Halt syncs and powers the machine off, or reboots it; it does not return unless the
// kernel refuses.
func Halt(reboot bool) error {
	// Let the NICs send what the appliance queued last (VRRP's priority-0 adverts, which
	// hand the addresses over at once) before the machine goes.
	time.Sleep(250 * time.Millisecond)
	unix.Sync()
	if ConfigMounted() {
		unix.Unmount(ConfigMount, 0)
	}
	cmd := unix.LINUX_REBOOT_CMD_POWER_OFF
	if reboot {
		cmd = unix.LINUX_REBOOT_CMD_RESTART
	}
	return unix.Reboot(cmd)
}

// ConfigMounted reports whether a config disk's file system is mounted on /mnt/config.
func ConfigMounted() bool {
	var st, parent unix.Stat_t
	if unix.Stat(ConfigMount, &st) != nil || unix.Stat(filepath.Dir(ConfigMount), &parent) != nil {
		return false
	}
	return st.Dev != parent.Dev
}
