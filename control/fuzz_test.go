package control_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/uvs-lb/uvs/conf"
	"github.com/uvs-lb/uvs/control"
)

// fuzzConfig is testConfig with a sync daemon, so that /v1/sync/* reach the appliance.
const fuzzConfig = testConfig + `
[sync]
interface = "eth0"
id = 7
`

// fuzzPaths are the endpoints that read a body.
var fuzzPaths = []string{"/v1/edit", "/v1/zero", "/v1/sync/start", "/v1/sync/stop"}

// FuzzAPI posts arbitrary bodies to the endpoints that read JSON, against a real appliance
// on in-memory ports: the API must not panic, must answer JSON whatever it is sent, and an
// edit it refuses must leave the running configuration as it was. An accepted edit is
// undone (the appliance reloaded with the first configuration), so that each input starts
// from the same state.
func FuzzAPI(f *testing.F) {
	seeds := map[int][]string{
		0: {
			`[{"op":"add-service","service":{"proto":"TCP","addr":"10.0.0.2","port":443,"scheduler":"rr"}}]`,
			`[{"op":"add-server","server":{"service":{"proto":"TCP","addr":"10.0.0.1","port":80},"addr":"192.168.1.22","port":8080,"method":"Masq","weight":2}}]`,
			`[{"op":"edit-server","server":{"service":{"proto":"TCP","addr":"10.0.0.1","port":80},"addr":"192.168.1.20","port":8080,"weight":0}}]`,
			`[{"op":"delete-service","service":{"proto":"UDP","addr":"fd00::1","port":53}}]`,
			`[{"op":"add-service","service":{"fwmark":5,"family":"inet6","scheduler":"mh","sched_flags":["mh-port"],"persistence":60,"persist_mask":64}}]`,
			`[{"op":"clear"},{"op":"set-timeouts","timeouts":{"tcp":10,"tcp_fin":5,"udp":1}}]`,
			`[{"op":"edit-service","service":{"proto":"TCP","addr":"10.0.0.1","port":80,"scheduler":"bogus"}}]`,
			`[{"op":"delete-server","server":{"service":{"proto":"TCP","addr":"10.0.0.1","port":80},"addr":"192.168.1.21","port":8080}},{"op":"nope"}]`,
			`[]`, ``, `{`, `null`, `[{"op":"add-service"}]`,
		},
		1: {`{}`, `{"proto":"TCP","addr":"10.0.0.1","port":80}`, `{"fwmark":1}`, `{"proto":"SCTP"}`, `[1]`},
		2: {`{"state":"master"}`, `{"state":"backup","mcast_interface":"eth0","syncid":7}`, `{"state":"both"}`, `{"extra":1}`},
		3: {`{"state":"master"}`, `{"state":"backup"}`, ``},
	}
	for path, bodies := range seeds {
		for _, b := range bodies {
			f.Add(uint8(path), []byte(b))
		}
	}
	cfg, err := conf.Parse("fuzz.toml", []byte(fuzzConfig))
	if err != nil {
		f.Fatal(err)
	}
	a := newAppliance(f, fuzzConfig)
	h := control.NewAPI(control.APIOptions{Appliance: a, Log: zerolog.Nop()}).Handler()
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		path := fuzzPaths[int(which)%len(fuzzPaths)]
		before := conf.Export(a.Config())
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body)))
		if ct := w.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("POST %s %q: %d with Content-Type %q", path, body, w.Code, ct)
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("POST %s %q: %d, not JSON: %q", path, body, w.Code, w.Body.Bytes())
		}
		switch {
		case w.Code == http.StatusOK:
			if path == "/v1/edit" {
				if err := a.Reload(cfg); err != nil {
					t.Fatalf("undoing the edit %q: %v", body, err)
				}
			}
		case w.Code == http.StatusBadRequest:
			var e control.Error
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || strings.TrimSpace(e.Error) == "" {
				t.Fatalf("POST %s %q: a refusal without a reason: %q", path, body, w.Body.Bytes())
			}
			if after := conf.Export(a.Config()); !bytes.Equal(before, after) {
				t.Fatalf("POST %s %q was refused (%s) but changed the configuration:\n%s\n---\n%s", path, body, e.Error, before, after)
			}
		default:
			t.Fatalf("POST %s %q: status %d %q", path, body, w.Code, w.Body.Bytes())
		}
	})
}
