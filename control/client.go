package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// DefaultSocket is where `uvs run` listens and `uvs adm` connects unless told otherwise.
const DefaultSocket = "/run/uvs/uvs.sock"

// Client talks to a running appliance's control API.
type Client struct {
	base  string // "http://uvs" for a socket, "http://host:port" for TCP
	token string
	hc    *http.Client
}

// Dial returns a client of the API at addr: a unix socket path (anything with a slash, or
// "unix:PATH"), or "http://HOST:PORT" for the TCP listener, whose requests carry token as a
// bearer token. It connects lazily, on the first request.
func Dial(addr, token string) *Client {
	c := &Client{token: token}
	tr := &http.Transport{MaxIdleConns: 2, IdleConnTimeout: 30 * time.Second}
	if strings.HasPrefix(addr, "http://") || strings.HasPrefix(addr, "https://") {
		c.base = strings.TrimSuffix(addr, "/")
	} else {
		path := strings.TrimPrefix(addr, "unix:")
		var d net.Dialer
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", path)
		}
		c.base = "http://uvs"
	}
	c.hc = &http.Client{Transport: tr}
	return c
}

// Close releases idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// Status returns the appliance's state.
func (c *Client) Status(ctx context.Context) (*Snapshot, error) {
	var s Snapshot
	return &s, c.do(ctx, http.MethodGet, "/v1/status", nil, &s)
}

// Conns returns the connection table (templates included).
func (c *Client) Conns(ctx context.Context) ([]Conn, error) {
	var cs []Conn
	return cs, c.do(ctx, http.MethodGet, "/v1/conns", nil, &cs)
}

// Edit applies edits to the running configuration, all or none.
func (c *Client) Edit(ctx context.Context, edits ...Edit) error {
	return c.do(ctx, http.MethodPost, "/v1/edit", edits, nil)
}

// Zero zeroes the counters of one service (and its servers), or of all with key nil
// (ipvsadm -Z).
func (c *Client) Zero(ctx context.Context, key *ServiceKey) error {
	if key == nil {
		key = &ServiceKey{}
	}
	return c.do(ctx, http.MethodPost, "/v1/zero", key, nil)
}

// Config returns the running configuration as TOML (`uvs conf export`).
func (c *Client) Config(ctx context.Context) ([]byte, error) {
	var raw rawBody
	err := c.do(ctx, http.MethodGet, "/v1/config", nil, &raw)
	return raw, err
}

// Reload makes the appliance reread its configuration file.
func (c *Client) Reload(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/v1/reload", nil, nil)
}

// StartSync starts the connection-sync daemon in a role (ipvsadm --start-daemon).
func (c *Client) StartSync(ctx context.Context, d SyncDaemon) error {
	return c.do(ctx, http.MethodPost, "/v1/sync/start", d, nil)
}

// StopSync stops the daemon's role state, "master" or "backup" (ipvsadm --stop-daemon).
func (c *Client) StopSync(ctx context.Context, state string) error {
	return c.do(ctx, http.MethodPost, "/v1/sync/stop", SyncDaemon{State: state}, nil)
}

// rawBody receives a response body as it is.
type rawBody []byte

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("control API: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("control API: %s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e Error
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return errors.New(e.Error)
		}
		return fmt.Errorf("control API: %s %s: %s", method, path, resp.Status)
	}
	switch o := out.(type) {
	case nil:
		return nil
	case *rawBody:
		*o = data
		return nil
	default:
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("control API: %s %s: %w", method, path, err)
		}
		return nil
	}
}
