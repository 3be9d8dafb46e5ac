package vminit

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParseCmdline(t *testing.T) {
	got := ParseCmdline(`console=ttyS0,115200 quiet uvs.config=W2xvZ10K foo="a b=c" panic=10` + "\n")
	want := Cmdline{"console": "ttyS0,115200", "quiet": "", "uvs.config": "W2xvZ10K", "foo": "a b=c", "panic": "10"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestDecodeConfigParam(t *testing.T) {
	toml := []byte("[log]\nlevel = \"debug\" # ~~~ ???\n")
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(toml)
	zw.Close()
	for _, in := range []string{
		base64.StdEncoding.EncodeToString(toml),
		base64.RawStdEncoding.EncodeToString(toml),
		base64.URLEncoding.EncodeToString(toml),
		base64.StdEncoding.EncodeToString(z.Bytes()),
	} {
		got, err := DecodeConfigParam(in)
		if err != nil || !bytes.Equal(got, toml) {
			t.Errorf("%s: %q, %v", in, got, err)
		}
	}
	if _, err := DecodeConfigParam("not base64!"); err == nil {
		t.Error("garbage accepted")
	}
}

func TestRawText(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct {
		data []byte
		want []byte
	}{
		"padded": {append([]byte("[log]\nlevel = \"info\"\n"), make([]byte, 490)...), []byte("[log]\nlevel = \"info\"\n")},
		"bare":   {[]byte("[log]\n"), []byte("[log]\n")},
		"mbr":    {append(make([]byte, 446), 0x80, 0xee), nil},
		"binary": {[]byte{0x7f, 'E', 'L', 'F', 2, 1}, nil},
		"empty":  {make([]byte, 512), nil},
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := rawText(p)
		if err != nil || !bytes.Equal(got, c.want) {
			t.Errorf("%s: %q, %v; want %q", name, got, err, c.want)
		}
	}
}
