package alert

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"mime"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/uvs-lb/uvs/conf"
	"github.com/uvs-lb/uvs/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m, 5*time.Second) }

// received is one mail as the sink got it.
type received struct {
	helo, from string
	rcpt       []string
	data       string
}

// sink is an SMTP server on 127.0.0.1 speaking enough of RFC 5321 for net/smtp: the
// greeting, EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT.
type sink struct {
	ln     net.Listener
	mails  chan received
	refuse map[string]bool // recipients answered 550
	noEHLO bool            // answer EHLO 502, as an old server: the client falls back to HELO
	wg     sync.WaitGroup
}

func newSink(t *testing.T) *sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{ln: ln, mails: make(chan received, 100), refuse: map[string]bool{}}
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
				defer c.Close()
				s.serve(c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *sink) addr() string { return s.ln.Addr().String() }

func (s *sink) serve(c net.Conn) {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	say := func(lines ...string) { io.WriteString(c, strings.Join(lines, "\r\n")+"\r\n") }
	var m received
	say("220 sink.test ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			if s.noEHLO {
				say("502 5.5.1 EHLO not implemented")
				continue
			}
			m.helo = arg
			say("250-sink.test", "250 8BITMIME")
		case "HELO":
			m.helo = arg
			say("250 sink.test")
		case "MAIL":
			m.from = strings.TrimPrefix(strings.Fields(arg)[0], "FROM:")
			say("250 2.1.0 Ok")
		case "RCPT":
			to := strings.TrimPrefix(arg, "TO:")
			if s.refuse[strings.Trim(to, "<>")] {
				say("550 5.1.1 no such user")
				continue
			}
			m.rcpt = append(m.rcpt, to)
			say("250 2.1.5 Ok")
		case "DATA":
			say("354 End data with <CR><LF>.<CR><LF>")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, ".")) // undo dot-stuffing
			}
			m.data = b.String()
			s.mails <- m
			m = received{helo: m.helo}
			say("250 2.0.0 Ok: queued")
		case "RSET", "NOOP":
			say("250 Ok")
		case "QUIT":
			say("221 Bye")
			return
		default:
			say("500 unknown command")
		}
	}
}

// next waits for the sink's next mail.
func (s *sink) next(t *testing.T) received {
	t.Helper()
	select {
	case m := <-s.mails:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no mail")
		return received{}
	}
}

// logBuf is a zerolog output safe for the sender goroutine and the test.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func testConfig(server string) conf.Alerts {
	return conf.Alerts{
		Emails:         []string{"ops@example.com", "NOC <noc@example.com>"},
		From:           "LB one <lb1@example.com>",
		Server:         server,
		HeloName:       "lb1.example.com",
		ConnectTimeout: 5 * time.Second,
		RouterID:       "LB1",
	}
}

// start builds and starts a Mailer; the test closes it.
func start(t *testing.T, cfg conf.Alerts) (*Mailer, *logBuf) {
	t.Helper()
	var lb logBuf
	m := New(cfg, zerolog.New(&lb))
	m.Start(context.Background())
	t.Cleanup(m.Close)
	return m, &lb
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestMail: a VRRP transition arrives as keepalived would mail it, to every recipient, with
// the headers a mail needs.
func TestMail(t *testing.T) {
	s := newSink(t)
	m, _ := start(t, testConfig(s.addr()))
	m.VRRP("VI_1", "MASTER")
	got := s.next(t)

	if got.helo != "lb1.example.com" || got.from != "<lb1@example.com>" ||
		strings.Join(got.rcpt, " ") != "<ops@example.com> <noc@example.com>" {
		t.Errorf("envelope: HELO %q, MAIL FROM %q, RCPT TO %q", got.helo, got.from, got.rcpt)
	}
	msg, err := mail.ReadMessage(strings.NewReader(got.data))
	if err != nil {
		t.Fatalf("%v:\n%s", err, got.data)
	}
	h := msg.Header
	if s := h.Get("Subject"); s != "[LB1] VRRP Instance VI_1 - Entering MASTER state" {
		t.Errorf("Subject: %q", s)
	}
	if from, err := h.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != "lb1@example.com" || from[0].Name != "LB one" {
		t.Errorf("From: %q (%v)", h.Get("From"), err)
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 2 || to[0].Address != "ops@example.com" || to[1].Address != "noc@example.com" {
		t.Errorf("To: %q (%v)", h.Get("To"), err)
	}
	if d, err := h.Date(); err != nil || time.Since(d).Abs() > time.Minute {
		t.Errorf("Date: %q (%v)", h.Get("Date"), err)
	}
	id := h.Get("Message-ID")
	if !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@lb1.example.com>") {
		t.Errorf("Message-ID: %q", id)
	}
	if h.Get("X-Mailer") != "uvs" || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		t.Errorf("headers: %v", h)
	}
	body, _ := io.ReadAll(msg.Body)
	if string(body) != "=> VRRP Instance is now owning VRRP VIPs <=\r\n" {
		t.Errorf("body: %q", body)
	}

	// Each mail has its own Message-ID.
	m.VRRP("VI_1", "BACKUP")
	msg2, err := mail.ReadMessage(strings.NewReader(s.next(t).data))
	if err != nil {
		t.Fatal(err)
	}
	if msg2.Header.Get("Message-ID") == id || msg2.Header.Get("Subject") != "[LB1] VRRP Instance VI_1 - Entering BACKUP state" {
		t.Errorf("second mail: %v", msg2.Header)
	}
	waitFor(t, "two sent", func() bool { return m.Stats().Sent == 2 })
	if st := m.Stats(); st.Failed != 0 || st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestWording: every alert's subject and body, as keepalived writes them.
func TestWording(t *testing.T) {
	s := newSink(t)
	cfg := testConfig(s.addr())
	cfg.Emails = cfg.Emails[:1]
	m, _ := start(t, cfg)
	const vs, rs = "[10.0.0.1]:tcp:80", "[10.0.0.2]:tcp:80"
	for _, c := range []struct {
		send          func()
		subject, body string
	}{
		{func() { m.VRRP("VI_1", "BACKUP") }, "[LB1] VRRP Instance VI_1 - Entering BACKUP state", "=> VRRP Instance is no longer owning VRRP VIPs <="},
		{func() { m.VRRP("VI_1", "FAULT") }, "[LB1] VRRP Instance VI_1 - Entering FAULT state", "=> VRRP Instance is no longer owning VRRP VIPs <="},
		{func() { m.VRRP("VI_1", "STOP") }, "[LB1] VRRP Instance VI_1 - Stopping", "=> VRRP Instance stopping <="},
		{func() { m.VRRP("VI_2", "DELETED") }, "[LB1] VRRP Instance VI_2 - Deleted", "=> VRRP Deleted at reload <="},
		{func() { m.VRRPGroup("VG_1", "MASTER") }, "[LB1] VRRP Group VG_1 - Entering MASTER state", "=> All VRRP group instances are now in MASTER state <="},
		{func() { m.VRRPGroup("VG_1", "STOP") }, "[LB1] VRRP Group VG_1 - Stopping", "=> All VRRP group instances are now stopping <="},
		{func() { m.RealServer(vs, rs, false) }, "[LB1] Realserver [10.0.0.2]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - DOWN", "=> CHECK failed on service <="},
		{func() { m.RealServer(vs, rs, true) }, "[LB1] Realserver [10.0.0.2]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - UP", "=> CHECK succeed on service <="},
		{func() { m.RealServerCheck(vs, rs, conf.CheckTCP, false) }, "[LB1] Realserver [10.0.0.2]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - DOWN", "=> TCP CHECK failed on service <="},
		{func() { m.RealServerCheck(vs, rs, conf.CheckHTTP, false) }, "[LB1] Realserver [10.0.0.2]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - DOWN", "=> CHECK failed on service : HTTP/SSL request failed <="},
		{func() { m.RealServerCheck(vs, rs, conf.CheckDNS, true) }, "[LB1] Realserver [10.0.0.2]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - UP", "=> DNS_CHECK: succeed on service <="},
		{func() { m.RealServerCheck(vs, rs, conf.CheckMisc, true) }, "[LB1] Realserver [10.0.0.2]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - UP", "=> MISC CHECK succeeded on service <="},
		{func() { m.RealServerCheck(vs, rs, conf.CheckPing, false) }, "[LB1] Realserver [10.0.0.2]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - DOWN", "=> ICMP CHECK failed on service <="},
		{func() { m.RealServerRemoved(vs, rs, true) }, "[LB1] Realserver [10.0.0.2]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - DOWN", "=> Shutting down <="},
		{func() { m.RealServerRemoved("FWM 80", rs, false) }, "[LB1] Realserver [10.0.0.2]:tcp:80 of virtual server FWM 80 - DOWN", "=> Removing <="},
		{func() { m.Quorum(QuorumChange{VirtualServer: vs, Up: true, Quorum: 1, Weight: 2}) }, "[LB1] Virtualserver [10.0.0.1]:tcp:80 - UP", "=> Gained quorum 1+0=1 <= 2 <="},
		{func() { m.Quorum(QuorumChange{VirtualServer: vs, Quorum: 3, Hysteresis: 1, Weight: 1}) }, "[LB1] Virtualserver [10.0.0.1]:tcp:80 - DOWN", "=> Lost quorum 3+1=2 <= 1 <="},
		{func() { m.Quorum(QuorumChange{VirtualServer: vs, Starting: true, Quorum: 2}) }, "[LB1] Virtualserver [10.0.0.1]:tcp:80 - DOWN", "=> Starting with quorum down 2+0=2 <= 0 <="},
		{func() { m.Quorum(QuorumChange{VirtualServer: vs, Up: true, Stopping: true, Quorum: 1, Weight: 1}) }, "[LB1] Virtualserver [10.0.0.1]:tcp:80 - DOWN", "=> Shutting down <="},
	} {
		c.send()
		msg, err := mail.ReadMessage(strings.NewReader(s.next(t).data))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(msg.Body)
		if got := msg.Header.Get("Subject"); got != c.subject || string(body) != c.body+"\r\n" {
			t.Errorf("got %q / %q\nwant %q / %q", got, body, c.subject, c.body)
		}
	}
}

// TestDedupe: a state is mailed once until the instance leaves it, as keepalived; FAULT not
// at all with no_email_faults; an unknown state not at all.
func TestDedupe(t *testing.T) {
	s := newSink(t)
	cfg := testConfig(s.addr())
	cfg.NoEmailFaults = true
	m, lb := start(t, cfg)
	m.VRRP("VI_1", "MASTER")
	m.VRRP("VI_1", "MASTER")
	m.VRRP("VI_1", "FAULT")
	m.VRRPGroup("VG_1", "FAULT")
	m.VRRP("VI_1", "INIT")
	m.VRRP("VI_1", "BACKUP")
	m.VRRP("VI_1", "MASTER")
	if err := m.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for len(s.mails) > 0 {
		msg, _ := mail.ReadMessage(strings.NewReader((<-s.mails).data))
		subjects = append(subjects, msg.Header.Get("Subject"))
	}
	want := []string{
		"[LB1] VRRP Instance VI_1 - Entering MASTER state",
		"[LB1] VRRP Instance VI_1 - Entering BACKUP state",
		"[LB1] VRRP Instance VI_1 - Entering MASTER state",
	}
	if strings.Join(subjects, "\n") != strings.Join(want, "\n") {
		t.Errorf("mailed:\n%s\nwant:\n%s", strings.Join(subjects, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(lb.String(), "no e-mail alert for this VRRP state") {
		t.Errorf("the unknown state is not logged:\n%s", lb)
	}
}

// TestRefusedRecipient: one recipient refused does not cost the other the mail; all refused
// is a failure.
func TestRefusedRecipient(t *testing.T) {
	s := newSink(t)
	s.refuse["noc@example.com"] = true
	s.noEHLO = true
	m, lb := start(t, testConfig(s.addr()))
	m.RealServer("[10.0.0.1]:tcp:80", "[10.0.0.2]:tcp:80", false)
	got := s.next(t)
	if strings.Join(got.rcpt, " ") != "<ops@example.com>" || got.helo != "lb1.example.com" {
		t.Errorf("RCPT TO %q, HELO %q", got.rcpt, got.helo)
	}
	waitFor(t, "the refusal logged", func() bool { return strings.Contains(lb.String(), "SMTP server refuses a recipient") })

	s.refuse["ops@example.com"] = true
	m.RealServer("[10.0.0.1]:tcp:80", "[10.0.0.2]:tcp:80", true)
	waitFor(t, "a failure", func() bool { return m.Stats().Failed == 1 })
	if st := m.Stats(); st.Sent != 1 {
		t.Errorf("stats %+v", st)
	}
	if !strings.Contains(lb.String(), "refuses every recipient") {
		t.Errorf("log:\n%s", lb)
	}
}

// TestConnectionRefused: a dead server is logged and counted, and the callers do not wait.
func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: connection refused

	m, lb := start(t, testConfig(addr))
	began := time.Now()
	m.VRRP("VI_1", "MASTER")
	m.RealServer("[10.0.0.1]:tcp:80", "[10.0.0.2]:tcp:80", false)
	if d := time.Since(began); d > time.Second {
		t.Errorf("the alerts took %v to take", d)
	}
	waitFor(t, "two failures", func() bool { return m.Stats().Failed == 2 })
	if st := m.Stats(); st.Sent != 0 || st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
	log := lb.String()
	if !strings.Contains(log, "connection refused") || !strings.Contains(log, "SMTP alert not sent") ||
		!strings.Contains(log, "[LB1] VRRP Instance VI_1 - Entering MASTER state") {
		t.Errorf("log:\n%s", log)
	}
}

// blackhole accepts connections and never says a word: the greeting never comes.
func blackhole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// TestSilentServer: a server that accepts and never answers costs smtp_connect_timeout, is
// logged and counted; meanwhile the queue fills and drops without blocking anyone.
func TestSilentServer(t *testing.T) {
	cfg := testConfig(blackhole(t))
	cfg.ConnectTimeout = 300 * time.Millisecond
	m, lb := start(t, cfg)
	m.VRRP("VI_1", "MASTER")
	waitFor(t, "a failure", func() bool { return m.Stats().Failed == 1 })
	if log := lb.String(); !strings.Contains(log, "SMTP greeting") || !strings.Contains(log, "i/o timeout") {
		t.Errorf("log:\n%s", log)
	}

	// A storm while the sender is stuck: every call returns at once, the overflow is dropped.
	const storm = 3 * QueueSize
	began := time.Now()
	for range storm {
		m.RealServer("[10.0.0.1]:tcp:80", "[10.0.0.2]:tcp:80", false)
	}
	if d := time.Since(began); d > time.Second {
		t.Errorf("%d alerts took %v to take", storm, d)
	}
	st := m.Stats()
	if st.Dropped < storm-QueueSize-1 || st.Queued > QueueSize {
		t.Errorf("stats after the storm: %+v", st)
	}
	if n := strings.Count(lb.String(), "queue full"); n != 1 {
		t.Errorf("the drops are logged %d times, want once:\n%s", n, lb)
	}
}

// TestClosePrompt: Close cuts off a conversation with a silent server (whose timeout is far
// away), drops what is queued, and returns at once; the alerts after it are dropped.
func TestClosePrompt(t *testing.T) {
	cfg := testConfig(blackhole(t))
	cfg.ConnectTimeout = time.Minute
	var lb logBuf
	m := New(cfg, zerolog.New(&lb))
	m.Start(context.Background())
	m.VRRP("VI_1", "MASTER")
	m.VRRP("VI_2", "MASTER")
	waitFor(t, "the first to be taken", func() bool { return m.Stats().Queued == 1 })
	began := time.Now()
	m.Close()
	if d := time.Since(began); d > time.Second {
		t.Errorf("Close took %v", d)
	}
	m.VRRP("VI_3", "MASTER")
	if st := m.Stats(); st.Dropped != 3 || st.Queued != 0 || st.Sent+st.Failed != 0 {
		t.Errorf("stats after Close: %+v", st)
	}
	if err := m.Flush(context.Background()); err == nil {
		t.Error("Flush after Close")
	}
	m.Close()                     // again: nothing
	m.Start(context.Background()) // after Close: nothing
	if st := m.Stats(); st.Dropped != 3 {
		t.Errorf("stats %+v", st)
	}
}

// TestFlush: Flush returns once what was queued before it is sent.
func TestFlush(t *testing.T) {
	s := newSink(t)
	m, _ := start(t, testConfig(s.addr()))
	for _, name := range []string{"VI_1", "VI_2", "VI_3"} {
		m.VRRP(name, "STOP")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if st := m.Stats(); st.Sent != 3 {
		t.Errorf("after Flush: %+v", st)
	}

	// Flush gives up with its context: a silent server does not hold the shutdown.
	cfg := testConfig(blackhole(t))
	cfg.ConnectTimeout = time.Minute
	m2, _ := start(t, cfg)
	m2.VRRP("VI_1", "STOP")
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if err := m2.Flush(ctx2); err != context.DeadlineExceeded {
		t.Errorf("Flush against a silent server: %v", err)
	}
}

// TestNotStarted: alerts wait for Start; Close without Start drops them.
func TestNotStarted(t *testing.T) {
	s := newSink(t)
	m := New(testConfig(s.addr()), zerolog.Nop())
	m.VRRP("VI_1", "MASTER")
	if st := m.Stats(); st.Queued != 1 {
		t.Errorf("before Start: %+v", st)
	}
	if err := m.Flush(context.Background()); err == nil {
		t.Error("Flush before Start")
	}
	m.Start(context.Background())
	s.next(t)
	m.Close()

	m = New(testConfig(s.addr()), zerolog.Nop())
	m.VRRP("VI_1", "MASTER")
	m.Close()
	if st := m.Stats(); st.Dropped != 1 || st.Queued != 0 {
		t.Errorf("Close without Start: %+v", st)
	}
}

// TestContextEnds: the sender stops with Start's context too, and later alerts are dropped.
func TestContextEnds(t *testing.T) {
	s := newSink(t)
	m := New(testConfig(s.addr()), zerolog.Nop())
	ctx, cancel := context.WithCancel(context.Background())
	m.Start(ctx)
	cancel()
	<-m.done
	m.VRRP("VI_1", "MASTER")
	if st := m.Stats(); st.Dropped != 1 || st.Queued != 0 {
		t.Errorf("%+v", st)
	}
	m.Close()
}

// TestDisabled: without [alerts] the Mailer takes everything and sends nothing.
func TestDisabled(t *testing.T) {
	m := New(conf.Alerts{}, zerolog.Nop())
	m.Start(context.Background())
	m.VRRP("VI_1", "MASTER")
	m.RealServer("a", "b", true)
	m.Quorum(QuorumChange{VirtualServer: "a"})
	if st := m.Stats(); st != (Stats{}) {
		t.Errorf("%+v", st)
	}
	m.Close()
}

// TestDefaults: keepalived's defaults from the host, and a UTF-8 router ID encoded.
func TestDefaults(t *testing.T) {
	s := newSink(t)
	cfg := conf.Alerts{Emails: []string{"ops@example.com"}, Server: s.addr(), RouterID: "Lönneberga"}
	m, _ := start(t, cfg)
	m.VRRP("VI_1", "MASTER")
	got := s.next(t)
	msg, err := mail.ReadMessage(strings.NewReader(got.data))
	if err != nil {
		t.Fatal(err)
	}
	raw := msg.Header.Get("Subject")
	subject, err := new(mime.WordDecoder).DecodeHeader(raw)
	if err != nil || subject != "[Lönneberga] VRRP Instance VI_1 - Entering MASTER state" || !isASCII(raw) {
		t.Errorf("Subject %q, decoded %q (%v)", raw, subject, err)
	}
	// The sender is USER@HOSTNAME and the HELO the host name, as keepalived.
	user, host, ok := strings.Cut(strings.Trim(got.from, "<>"), "@")
	if !ok || user == "" || host != got.helo || got.helo == "" {
		t.Errorf("MAIL FROM %q, HELO %q", got.from, got.helo)
	}
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// TestReconfigure: after a reload the mails go with the new configuration; with mail
// turned off, alerts are not taken.
func TestReconfigure(t *testing.T) {
	a, b := newSink(t), newSink(t)
	m, _ := start(t, testConfig(a.addr()))
	m.VRRP("VI_1", "MASTER")
	a.next(t)
	cfg := testConfig(b.addr())
	cfg.RouterID = "LB2"
	cfg.Emails = []string{"other@example.com"}
	m.Reconfigure(cfg)
	m.VRRP("VI_1", "BACKUP")
	got := b.next(t)
	msg, err := mail.ReadMessage(strings.NewReader(got.data))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Header.Get("Subject") != "[LB2] VRRP Instance VI_1 - Entering BACKUP state" || strings.Join(got.rcpt, " ") != "<other@example.com>" {
		t.Errorf("after Reconfigure: %q to %q", msg.Header.Get("Subject"), got.rcpt)
	}
	m.Reconfigure(conf.Alerts{})
	m.VRRP("VI_1", "MASTER")
	if err := m.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := m.Stats(); st.Sent != 2 || st.Dropped != 0 || st.Queued != 0 || len(a.mails)+len(b.mails) != 0 {
		t.Errorf("with mail off: %+v", st)
	}
}
