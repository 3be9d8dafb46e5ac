package image

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// OVMF, the EFI firmware for QEMU (Debian package ovmf).
const (
	ovmfCode = "/usr/share/OVMF/OVMF_CODE_4M.fd"
	ovmfVars = "/usr/share/OVMF/OVMF_VARS_4M.fd"
)

// TestBootEFI boots the disk image (uvs.img: GPT, an EFI system partition, the unified
// kernel image as the removable-media boot file) under OVMF with a configuration baked in,
// sees the appliance start, and powers it off with the ACPI power button.
func TestBootEFI(t *testing.T) {
	needQEMU(t)
	if missing := MissingTools(DefaultEFIStub); len(missing) > 0 {
		t.Skipf("the disk image needs %v (make image-deps installs them as root)", missing)
	}
	if _, err := os.Stat(ovmfCode); err != nil {
		t.Skipf("no EFI firmware for QEMU at %s (Debian package ovmf)", ovmfCode)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "uvs.toml")
	if err := os.WriteFile(cfg, []byte(`[[interface]]
name = "eth0"
addresses = ["10.0.0.2/24"]

[[virtual_server]]
address = "10.0.0.1:80"
  [[virtual_server.real_server]]
  address = "10.0.0.21:80"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	img := buildImage(t, false, cfg)
	vars := filepath.Join(dir, "vars.fd")
	b, err := os.ReadFile(ovmfVars)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vars, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(img, FileDisk)); err == nil {
		t.Logf("%s: %.1f MiB", FileDisk, float64(st.Size())/(1<<20))
	}
	v := startVM(t,
		"-drive", "if=pflash,format=raw,readonly=on,file="+ovmfCode,
		"-drive", "if=pflash,format=raw,file="+vars,
		"-drive", "file="+filepath.Join(img, FileDisk)+",format=raw,if=virtio,snapshot=on",
		"-netdev", "user,id=n0,restrict=on", "-device", "virtio-net-pci,romfile=,netdev=n0")
	ready := v.await("network ready", 90*time.Second)
	t.Logf("VM: %s (%v after QEMU started)", ready, time.Since(v.start).Round(time.Millisecond))
	v.await("source="+"/etc/uvs.toml", time.Second)
	v.await("started", 30*time.Second)
	if err := v.qmpCommand("system_powerdown"); err != nil {
		t.Fatalf("system_powerdown: %v", err)
	}
	if !v.exited(30 * time.Second) {
		t.Fatal("the VM did not power off within 30 s of the power button")
	}
	v.await("halting", time.Second)
	if os.Getenv("UVS_TEST_CONSOLE") != "" {
		t.Logf("serial console:\n%s", v.console())
	}
	t.Logf("test took %v", time.Since(began).Round(time.Millisecond))
}

// TestBootEFIConfigOnESP boots the disk image with no configuration baked in and uvs.toml
// copied onto its EFI system partition (mcopy -i uvs.img@@1M), as docs/image.md shows.
func TestBootEFIConfigOnESP(t *testing.T) {
	needQEMU(t)
	if missing := MissingTools(DefaultEFIStub); len(missing) > 0 {
		t.Skipf("the disk image needs %v (make image-deps installs them as root)", missing)
	}
	if _, err := os.Stat(ovmfCode); err != nil {
		t.Skipf("no EFI firmware for QEMU at %s (Debian package ovmf)", ovmfCode)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "uvs.toml")
	if err := os.WriteFile(cfg, []byte("[[interface]]\nname = \"eth0\"\naddresses = [\"10.0.0.2/24\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	img := buildImage(t, false, "")
	disk := filepath.Join(img, FileDisk)
	if out, err := exec.Command("mcopy", "-i", disk+"@@1M", cfg, "::uvs.toml").CombinedOutput(); err != nil {
		t.Fatalf("mcopy: %v: %s", err, out)
	}
	vars := filepath.Join(dir, "vars.fd")
	b, err := os.ReadFile(ovmfVars)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vars, b, 0o644); err != nil {
		t.Fatal(err)
	}
	v := startVM(t,
		"-drive", "if=pflash,format=raw,readonly=on,file="+ovmfCode,
		"-drive", "if=pflash,format=raw,file="+vars,
		"-drive", "file="+disk+",format=raw,if=virtio",
		"-netdev", "user,id=n0,restrict=on", "-device", "virtio-net-pci,romfile=,netdev=n0")
	v.await("source=/dev/vda1:uvs.toml", 90*time.Second)
	v.await("appliance started", 30*time.Second)
	if err := v.qmpCommand("system_powerdown"); err != nil {
		t.Fatalf("system_powerdown: %v", err)
	}
	if !v.exited(30 * time.Second) {
		t.Fatal("the VM did not power off within 30 s of the power button")
	}
}
