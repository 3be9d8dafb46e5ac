package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfCheckOK(t *testing.T) {
	f := filepath.Join("..", "..", "conf", "testdata", "full-nat.toml")
	var out, errb bytes.Buffer
	if code := run([]string{"conf", "check", f}, &out, &errb); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errb.String())
	}
	want := f + ": ok\n2 interfaces, 2 services, 4 real servers\n"
	if out.String() != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestConfCheckErrors(t *testing.T) {
	f := filepath.Join(t.TempDir(), "uvs.toml")
	cfg := `[[interface]]
name = "eth0"
addresses = ["10.0.0.2/24"]

[[virtual_server]]
address = "10.0.0.1:80"
lb_kind = "DR"
lb_algo = "leastconn"

[[virtual_server.real_server]]
address = "10.0.0.20:8080"
`
	if err := os.WriteFile(f, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"conf", "check", f}, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if out.Len() != 0 {
		t.Errorf("stdout should be empty, got %q", out.String())
	}
	want := f + `:8:1: virtual_server[0].lb_algo: unknown scheduler "leastconn" (rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, mh, fo, ovf, twos)
` + f + `:11:1: virtual_server[0].real_server[0].address: DR cannot map ports: the real server gets the service's port 80; write the address without a port
`
	if errb.String() != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", errb.String(), want)
	}
}

func TestConfCheckMissingFile(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"conf", "check", filepath.Join(t.TempDir(), "absent.toml")}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "no such file") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}

func TestConfUsage(t *testing.T) {
	for _, args := range [][]string{{"conf"}, {"conf", "check"}, {"conf", "lint", "x.toml"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 || !strings.Contains(errb.String(), "usage: uvs conf") {
			t.Errorf("%q: exit %d, stderr %q", args, code, errb.String())
		}
	}
}
