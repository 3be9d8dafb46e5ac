package main

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/uvs-lb/uvs/alert"
	"github.com/uvs-lb/uvs/appliance"
	"github.com/uvs-lb/uvs/conf"
)

// smtpSink is a minimal SMTP server on loopback that keeps the subjects it is sent.
type smtpSink struct {
	ln       net.Listener
	mu       sync.Mutex
	subjects []string
	wg       sync.WaitGroup
}

func newSMTPSink(t *testing.T) *smtpSink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpSink{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *smtpSink) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	c.Write([]byte("220 sink ESMTP\r\n"))
	inData := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		if inData {
			if line == "." {
				inData = false
				c.Write([]byte("250 queued\r\n"))
			} else if subj, ok := strings.CutPrefix(line, "Subject: "); ok {
				s.mu.Lock()
				s.subjects = append(s.subjects, subj)
				s.mu.Unlock()
			}
			continue
		}
		switch cmd := strings.ToUpper(strings.SplitN(line, " ", 2)[0]); cmd {
		case "DATA":
			inData = true
			c.Write([]byte("354 go on\r\n"))
		case "QUIT":
			c.Write([]byte("221 bye\r\n"))
			return
		default:
			c.Write([]byte("250 ok\r\n"))
		}
	}
}

func (s *smtpSink) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.subjects...)
}

// TestMailEvents checks that `uvs run` mails the transitions its configuration asks for
// (smtp_alert) and no others.
func TestMailEvents(t *testing.T) {
	sink := newSMTPSink(t)
	cfg, err := conf.Parse("t.toml", []byte(`
[[interface]]
name = "eth0"
kind = "memory"
addresses = ["10.0.0.254/24", "192.168.1.254/24"]

[alerts]
notification_email = ["ops@example.com"]
smtp_server = "`+sink.ln.Addr().String()+`"
router_id = "LB1"

[[virtual_server]]
address = "10.0.0.1:80"
  [[virtual_server.real_server]]
  address = "192.168.1.20:80"

[[virtual_server]]
address = "10.0.0.2:80"
smtp_alert = false
  [[virtual_server.real_server]]
  address = "192.168.1.21:80"

[[vrrp_instance]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 51
priority = 100
virtual_ipaddress = ["10.0.0.100"]
smtp_alert = true

[[vrrp_instance]]
name = "VI_2"
interface = "eth0"
virtual_router_id = 52
priority = 100
virtual_ipaddress = ["10.0.0.101"]
`))
	if err != nil {
		t.Fatal(err)
	}
	m := alert.New(cfg.Alerts, zerolog.Nop())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m.Start(ctx)
	defer m.Close()
	for _, ev := range []appliance.Event{
		{Kind: "vrrp", Subject: "VI_1", State: "MASTER"},
		{Kind: "vrrp", Subject: "VI_2", State: "MASTER"},
		{Kind: "server", VirtualServer: "[10.0.0.1]:tcp:80", Server: "[192.168.1.20]:tcp:80", State: "DOWN"},
		{Kind: "server", VirtualServer: "[10.0.0.2]:tcp:80", Server: "[192.168.1.21]:tcp:80", State: "DOWN"},
		{Kind: "quorum", VirtualServer: "[10.0.0.1]:tcp:80", State: "DOWN", Quorum: 2, Hysteresis: 1, Weight: 1},
		{Kind: "quorum", VirtualServer: "[10.0.0.2]:tcp:80", State: "DOWN", Quorum: 2, Weight: 0},
		{Kind: "config", State: "RELOADED"},
	} {
		mailEvent(m, cfg, ev)
	}
	fctx, fcancel := context.WithTimeout(ctx, 10*time.Second)
	defer fcancel()
	if err := m.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	got := sink.got()
	if len(got) != 3 || !strings.Contains(got[0], "VI_1") || !strings.Contains(got[0], "MASTER") ||
		!strings.Contains(got[1], "[192.168.1.20]:tcp:80") || !strings.Contains(got[1], "DOWN") || !strings.HasPrefix(got[0], "[LB1]") ||
		got[2] != "[LB1] Virtualserver [10.0.0.1]:tcp:80 - DOWN" {
		t.Errorf("mailed subjects %q, want VI_1's MASTER, 192.168.1.20's DOWN and 10.0.0.1:80's quorum DOWN only", got)
	}
}
