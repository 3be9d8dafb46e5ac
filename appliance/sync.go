package appliance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/uvs-lb/uvs/conf"
	"github.com/uvs-lb/uvs/connsync"
	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/lb/conntab"
	"github.com/uvs-lb/uvs/netstack"
)

// Connection sync, as IPVS's sync daemon and keepalived's lvs_sync_daemon run it: the master
// drains the engine's sync queue every few milliseconds, packs the connections into IPVS
// sync v1 messages and multicasts them from the appliance's netstack; the backup installs
// what it receives into its own connection table, so that after a VRRP failover the flows
// it takes over find their connections (and their real servers) already there. The role
// follows the [sync] vrrp_instance (MASTER sends; BACKUP and FAULT receive), or is fixed.
// On becoming master the appliance also sends its whole table once, and again whenever a
// backup asks for it (a uvs resync request, sent when a backup starts or becomes backup) and
// every sync_refresh_period: a bulk resync the kernel lacks, so that a backup that was
// restarted learns the connections established before it came.

// A resync request is a uvs message a backup multicasts when it starts or becomes backup: the
// master answers with its whole table. It is a sync header with no connections whose spare
// field says "UR"; a kernel takes a nonzero spare for a version 0 header of 0 connections and
// ignores it.
var resyncRequest = [8]byte{0, 0, 0, 8, 0, 1, 'U', 'R'}

// resyncRequests is how many requests a backup sends, resyncEvery apart (multicast may lose
// one).
const (
	resyncRequests = 3
	resyncEvery    = 500 * time.Millisecond
)

// syncEvery is how often the master drains the engine's sync queue and sends what it holds:
// the kernel flushes a partly filled message within two seconds; less loses less.
const syncEvery = 50 * time.Millisecond

// syncRun is the appliance's sync daemon.
type syncRun struct {
	log    zerolog.Logger
	host   *netstack.Host
	engine *lb.Engine
	cfg    conf.Sync
	nic    int
	src    netip.Addr // the address the messages leave from (ours: what we ignore)

	backup   atomic.Bool // installs what it receives
	stopping atomic.Bool
	requests atomic.Int32 // resync requests still to send
	bulk     atomic.Bool  // a full-table send is due

	enc      *connsync.Encoder
	verifier *connsync.Verifier
	out      net.Conn
	in       net.PacketConn

	stats  SyncStats
	manual bool       // an operator set the role (SetSyncRole): VRRP no longer does
	mu     sync.Mutex // stats, manual

	wg     sync.WaitGroup
	cancel context.CancelFunc
}

// SyncStats count the sync daemon's work.
type SyncStats struct {
	Role                      string
	MessagesSent, ConnsSent   uint64
	MessagesRecv, ConnsRecv   uint64
	Installed, InstallFailed  uint64
	BadMessages, SendFailures uint64
	Bulk                      uint64 // whole-table sends
}

// newSync builds the daemon of cfg.Sync (nil when there is none). It starts nothing.
func newSync(log zerolog.Logger, host *netstack.Host, engine *lb.Engine, cfg *conf.Config) (*syncRun, error) {
	sc := cfg.Sync
	if !sc.Enabled {
		return nil, nil
	}
	s := &syncRun{log: log, host: host, engine: engine, cfg: sc}
	for i, ifc := range cfg.Interfaces {
		if ifc.Name != sc.Interface {
			continue
		}
		s.nic = i
		for _, pf := range ifc.Addresses {
			if pf.Addr().Is4() == sc.Group.Addr().Is4() {
				s.src = pf.Addr()
				break
			}
		}
		maxLen := sc.MaxLen
		if maxLen == 0 {
			mtu := ifc.MTU
			if mtu == 0 {
				mtu = 1500
			}
			maxLen = connsync.MaxLen(mtu, sc.Group.Addr().Is6())
		}
		var signer *connsync.Signer
		if len(sc.AuthKey) > 0 {
			var err error
			if signer, err = connsync.NewSigner(sc.AuthKey, time.Now); err != nil {
				return nil, fmt.Errorf("sync: %w", err)
			}
			if s.verifier, err = connsync.NewVerifier(sc.AuthKey, connsync.DefaultWindow); err != nil {
				return nil, fmt.Errorf("sync: %w", err)
			}
		}
		enc, err := connsync.NewEncoder(sc.SyncID, maxLen, signer)
		if err != nil {
			return nil, fmt.Errorf("sync: %w", err)
		}
		s.enc = enc
	}
	if !s.src.IsValid() {
		return nil, fmt.Errorf("sync: interface %s has no address of the group's family", sc.Interface)
	}
	// The engine queues connections only while master (SetSyncMaster).
	switch sc.Role {
	case "master":
		engine.SetSyncMaster(true)
	case "backup":
		s.backup.Store(true)
	case "both":
		engine.SetSyncMaster(true)
		s.backup.Store(true)
	default: // follows VRRP: a backup until the instance becomes MASTER
		engine.SetSyncMaster(false)
		s.backup.Store(true)
	}
	return s, nil
}

// start opens the sockets and starts the sender and the receiver.
func (s *syncRun) start(ctx context.Context) error {
	if s == nil {
		return nil
	}
	var err error
	if s.out, err = s.host.DialMulticastUDP(s.nic, netip.AddrPortFrom(s.src, 0), s.cfg.Group, s.cfg.TTL); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	if s.in, err = s.host.ListenMulticastUDP(s.nic, s.cfg.Group); err != nil {
		s.out.Close()
		return fmt.Errorf("sync: %w", err)
	}
	if s.backup.Load() {
		s.requests.Store(resyncRequests) // a (re)started backup asks for the master's table
	}
	ctx, s.cancel = context.WithCancel(ctx)
	s.wg.Add(2)
	go s.send(ctx)
	go s.receive()
	s.log.Info().Str("group", s.cfg.Group.String()).Uint8("syncid", s.cfg.SyncID).Str("role", s.role()).Msg("sync daemon started")
	return nil
}

func (s *syncRun) role() string {
	switch m, b := s.engine.SyncMaster(), s.backup.Load(); {
	case m && b:
		return "both"
	case m:
		return "master"
	case b:
		return "backup"
	}
	return "none"
}

// setMaster switches the role as the VRRP instance the daemon follows changes state.
func (s *syncRun) setMaster(master bool) {
	if s == nil || s.cfg.VRRPInstance == "" {
		return
	}
	s.mu.Lock()
	manual := s.manual
	s.mu.Unlock()
	if manual {
		return
	}
	if s.engine.SyncMaster() != master {
		s.engine.SetSyncMaster(master)
		s.backup.Store(!master)
		if master {
			s.bulk.Store(true)
		} else {
			s.requests.Store(resyncRequests)
		}
		s.log.Info().Str("role", s.role()).Msg("sync daemon role changed")
	}
}

// follows reports whether the daemon's role follows VRRP instance name.
func (s *syncRun) follows(name string) bool { return s != nil && s.cfg.VRRPInstance == name }

// send drains the engine's queue every syncEvery: as master it sends what it drained (and
// the whole table when a bulk send is due); otherwise it only drains, so the queue never
// holds stale connections.
func (s *syncRun) send(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(syncEvery)
	defer t.Stop()
	var c connsync.Conn
	add := func(e *conntab.Conn, timeout time.Duration) {
		if e.Flags&conntab.FlagOnePacket != 0 {
			return // IPVS never syncs one-packet connections
		}
		if c.FromConntab(e, timeout, e.Mark) != nil {
			return
		}
		if full, err := s.enc.Add(&c); err == nil && full != nil {
			s.write(full)
		}
	}
	var lastRequest, lastRefresh time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		if s.requests.Load() > 0 && now.Sub(lastRequest) >= resyncEvery {
			s.requests.Add(-1)
			lastRequest = now
			req := resyncRequest
			req[1] = s.cfg.SyncID
			s.out.Write(req[:])
		}
		master := s.engine.SyncMaster()
		if master && s.cfg.RefreshPeriod > 0 && now.Sub(lastRefresh) >= s.cfg.RefreshPeriod {
			// sync_refresh_period: the kernel resends each established connection at most
			// this often as its packets come; uvs resends the whole table, which also
			// catches up a backup that missed messages.
			lastRefresh = now
			s.bulk.Store(true)
		}
		s.engine.DrainSync(add)
		if master && s.bulk.Swap(false) {
			s.mu.Lock()
			s.stats.Bulk++
			s.mu.Unlock()
			s.engine.RangeSync(func(e *conntab.Conn, timeout time.Duration) bool {
				add(e, timeout)
				return true
			})
		}
		// Whatever was drained was queued while master (a backup's workers queue nothing):
		// send it now rather than hold it in the encoder until the next mastership.
		if msg := s.enc.Flush(); msg != nil {
			s.write(msg)
		}
	}
}

func (s *syncRun) write(msg []byte) {
	_, err := s.out.Write(msg)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.stats.SendFailures++
		return
	}
	s.stats.MessagesSent++
	if len(msg) >= 5 {
		s.stats.ConnsSent += uint64(msg[4])
	}
}

// receive installs what other masters send while the daemon is a backup.
func (s *syncRun) receive() {
	defer s.wg.Done()
	buf := make([]byte, 65536)
	var msg connsync.Message
	for {
		n, from, err := s.in.ReadFrom(buf)
		if err != nil {
			if s.stopping.Load() || errors.Is(err, net.ErrClosed) {
				return // gonet reports a closed socket in its own words
			}
			time.Sleep(time.Millisecond) // do not spin on a failing socket
			continue
		}
		if ua, ok := from.(*net.UDPAddr); ok && ua.AddrPort().Addr().Unmap() == s.src {
			continue // our own
		}
		if n == len(resyncRequest) && [2]byte(buf[6:8]) == [2]byte{'U', 'R'} && buf[5] == 1 {
			if s.engine.SyncMaster() && (s.cfg.SyncID == 0 || buf[1] == s.cfg.SyncID) {
				s.bulk.Store(true) // a backup (re)joined: send it the whole table
				s.log.Info().Str("from", from.String()).Msg("sync: resync requested")
			}
			continue
		}
		if !s.backup.Load() {
			continue
		}
		if s.verifier != nil {
			err = s.verifier.Decode(buf[:n], s.cfg.SyncID, &msg, time.Now())
		} else {
			err = connsync.Decode(buf[:n], s.cfg.SyncID, &msg)
		}
		s.mu.Lock()
		if err != nil {
			s.stats.BadMessages++
			s.mu.Unlock()
			s.log.Debug().Err(err).Str("from", from.String()).Msg("sync message dropped")
			continue
		}
		s.stats.MessagesRecv++
		s.stats.ConnsRecv += uint64(len(msg.Conns))
		s.mu.Unlock()
		now := s.engine.Now() // engine time, as the entries' expiries are kept in
		var e conntab.Conn
		for i := range msg.Conns {
			timeout, err := msg.Conns[i].ToConntab(&e)
			e.Mark = msg.Conns[i].Fwmark
			if err == nil {
				err = s.engine.InstallSynced(&e, timeout, now)
			}
			s.mu.Lock()
			if err != nil {
				s.stats.InstallFailed++
			} else {
				s.stats.Installed++
			}
			s.mu.Unlock()
		}
	}
}

// close stops the daemon and waits for it.
func (s *syncRun) close() {
	if s == nil || s.cancel == nil {
		return
	}
	s.stopping.Store(true)
	s.cancel()
	s.in.Close()
	s.out.Close()
	s.wg.Wait()
}

// Stats returns the daemon's counters.
func (s *syncRun) Stats() SyncStats {
	if s == nil {
		return SyncStats{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Role = s.role()
	return st
}

// SetSyncRole turns one role of the sync daemon on or off, as ipvsadm --start-daemon /
// --stop-daemon do: "master" sends the connection table, "backup" installs what masters
// send. The daemon itself (its socket, group and sync ID) comes from [sync] and needs it: the
// engine counts packets for sync only when it was built with it. A role that follows a VRRP
// instance is taken out of VRRP's hands until the next restart.
func (a *Appliance) SetSyncRole(role string, on bool) error {
	s := a.sync
	if s == nil {
		return errors.New("no sync daemon: the configuration needs a [sync] table (and a restart)")
	}
	s.mu.Lock()
	s.manual = true
	s.mu.Unlock()
	switch role {
	case "master":
		if on && !s.engine.SyncMaster() {
			s.bulk.Store(true)
		}
		s.engine.SetSyncMaster(on)
	case "backup":
		if on && !s.backup.Load() {
			s.requests.Store(resyncRequests)
		}
		s.backup.Store(on)
	default:
		return fmt.Errorf("sync daemon state %q: want master or backup", role)
	}
	s.log.Info().Str("role", s.role()).Msg("sync daemon role set by the operator")
	return nil
}
