package appliance

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/uvs-lb/uvs/conf"
	"github.com/uvs-lb/uvs/health"
	"github.com/uvs-lb/uvs/netstack"
	"github.com/uvs-lb/uvs/packet"
	"github.com/uvs-lb/uvs/vrrp"
)

// VRRP as keepalived runs it: each [[vrrp_instance]] is a vrrp.Router, all of them driven by
// one vrrp.Driver. Adverts come in through the host's protocol-112 handler and go out with
// SendIP (TTL 255, from the instance's source, to its group or unicast peers). A virtual
// address listed by an instance is owned only while that instance is MASTER: taken with a
// gratuitous ARP / unsolicited NA burst (garp_master_repeat, again after garp_master_delay,
// and every garp_master_refresh), released on BACKUP, FAULT and stop. Tracked scripts, files
// and interfaces move the priority or put the instance in FAULT; notify scripts and the
// notify FIFO get keepalived's arguments and lines.

// vrrpQueue is how many received adverts wait for the VRRP goroutine; more are dropped (and
// counted): the port loop that received them must never block.
const vrrpQueue = 256

// vrrpRun is the appliance's VRRP: the instances, their driver, tracking and notification.
type vrrpRun struct {
	events *eventLog
	log    zerolog.Logger
	host   *netstack.Host
	cfg    *conf.Config
	nics   map[string]int // interface name → NIC
	driver *vrrp.Driver

	insts   []*vrrpInst
	byKey   map[vrrpKey]*vrrpInst
	groups  map[*vrrp.Group]*conf.VRRPSyncGroup
	inbox   chan vrrpInput
	dropped uint64 // adverts the full inbox refused (under mu)
	// onState, if set, hears every instance's transitions (the sync daemon follows one).
	onState func(instance string, s vrrp.State)

	groupStopped map[string]bool // sync groups that were notified STOP

	mu      sync.Mutex
	fifo    *os.File
	scripts sync.WaitGroup
	wg      sync.WaitGroup
	ctx     context.Context
	cancel  context.CancelFunc
}

// vrrpKey finds the instance an advert is for.
type vrrpKey struct {
	nic  int
	vrid uint8
	v6   bool
}

// vrrpInput is one received advert, copied off the receive path.
type vrrpInput struct {
	nic      int
	src, dst netip.Addr
	ttl      uint8
	payload  []byte
}

// vrrpInst is one instance: its configuration, router and the state the appliance keeps.
type vrrpInst struct {
	cfg     *conf.VRRPInstance
	nic     int
	router  *vrrp.Router
	src     netip.Addr
	vmac    [6]byte // zero without use_vmac
	owned   []netip.Addr
	garp    *time.Timer // the pending second burst or refresh, under vrrpRun.mu
	tracks  []*track
	delta   int  // sum of the tracking weights in effect
	fault   bool // a weight-0 tracker failed
	stopped bool // STOP was notified
}

// track is one tracked script, file or interface of one instance.
type track struct {
	kind   string // "script", "file", "interface"
	ref    conf.TrackRef
	script *conf.VRRPScript
	file   *conf.VRRPTrackFile
	reader *health.FileCheck // reads file's number (created at its first probe)
	nic    int
	up     bool
	value  int64 // a file's number
	rise   int   // consecutive results in the other direction
	// runErr is why a script's last run did not run to an exit status ("": it did), logged
	// when it changes: a script that cannot start (a user it cannot switch to, script
	// security) says why once, not at every interval.
	runErr string
}

// vrrpConn sends one instance's adverts.
type vrrpConn struct {
	run  *vrrpRun
	inst *vrrpInst
	buf  []byte
}

func (c *vrrpConn) Send(a *vrrp.Advert) error {
	in := c.inst
	var dsts []netip.Addr
	if len(in.cfg.UnicastPeers) > 0 {
		dsts = in.cfg.UnicastPeers
	} else {
		dsts = []netip.Addr{in.cfg.Group}
	}
	var errs []error
	for _, dst := range dsts {
		n, err := vrrp.Marshal(c.buf, a, in.src, dst)
		if err != nil {
			return err
		}
		if err := c.run.host.SendIP(in.nic, in.src, dst, vrrp.Protocol, 255, c.buf[:n], in.vmac); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// newVRRP builds the instances of cfg. It starts nothing.
func newVRRP(log zerolog.Logger, host *netstack.Host, cfg *conf.Config, clock vrrp.Clock) (*vrrpRun, error) {
	v := &vrrpRun{log: log, host: host, cfg: cfg, nics: map[string]int{}, byKey: map[vrrpKey]*vrrpInst{},
		groups: map[*vrrp.Group]*conf.VRRPSyncGroup{}, inbox: make(chan vrrpInput, vrrpQueue), groupStopped: map[string]bool{}}
	for i, ifc := range cfg.Interfaces {
		v.nics[ifc.Name] = i
	}
	v.driver = vrrp.NewDriver(vrrp.DriverConfig{Clock: clock, OnTransition: v.onTransition, OnSendError: func(r *vrrp.Router, err error) {
		v.log.Debug().Err(err).Str("instance", r.Config().Name).Msg("VRRP advert not sent")
	}})
	members := map[string]*vrrp.Router{}
	for i := range cfg.VRRPInstances {
		ic := &cfg.VRRPInstances[i]
		in := &vrrpInst{cfg: ic, nic: v.nics[ic.Interface], src: ic.SrcIP}
		var addrs []netip.Addr
		for _, vip := range ic.VIPs {
			addrs = append(addrs, vip.Prefix.Addr())
		}
		r, err := vrrp.NewRouter(vrrp.Config{Name: ic.Name, VRID: ic.VRID, Version: ic.Version, Priority: ic.Priority,
			Interval: ic.Interval, Primary: ic.SrcIP, Addrs: addrs, NoPreempt: !ic.Preempt, PreemptDelay: ic.PreemptDelay,
			AuthPass: ic.AuthPass, StartMaster: ic.State == "MASTER"})
		if err != nil {
			return nil, fmt.Errorf("vrrp_instance %s: %w", ic.Name, err)
		}
		in.router = r
		if ic.UseVMAC {
			in.vmac = [6]byte{0, 0, 0x5e, 0, 1, ic.VRID}
			if ic.SrcIP.Is6() {
				in.vmac[4] = 2
			}
		}
		for _, ref := range ic.TrackScripts {
			in.tracks = append(in.tracks, &track{kind: "script", ref: ref, script: scriptNamed(cfg, ref.Name)})
		}
		for _, ref := range ic.TrackFiles {
			in.tracks = append(in.tracks, &track{kind: "file", ref: ref, file: fileNamed(cfg, ref.Name)})
		}
		for _, ref := range ic.TrackInterfaces {
			in.tracks = append(in.tracks, &track{kind: "interface", ref: ref, nic: v.nics[ref.Name]})
		}
		for _, t := range in.tracks {
			t.up = !(t.script != nil && t.script.InitFail)
		}
		v.insts = append(v.insts, in)
		v.byKey[vrrpKey{in.nic, ic.VRID, ic.SrcIP.Is6()}] = in
		members[ic.Name] = r
	}
	for i := range cfg.VRRPSyncGroups {
		sg := &cfg.VRRPSyncGroups[i]
		var rs []*vrrp.Router
		for _, name := range sg.Instances {
			rs = append(rs, members[name])
		}
		g, err := vrrp.NewGroup(sg.Name, rs...)
		if err != nil {
			return nil, fmt.Errorf("vrrp_sync_group %s: %w", sg.Name, err)
		}
		v.groups[g] = sg
		// The group's tracking applies to every member.
		for _, in := range v.insts {
			if in.cfg.SyncGroup != sg.Name {
				continue
			}
			for _, ref := range sg.TrackScripts {
				in.tracks = append(in.tracks, &track{kind: "script", ref: ref, script: scriptNamed(cfg, ref.Name), up: !scriptNamed(cfg, ref.Name).InitFail})
			}
			for _, ref := range sg.TrackFiles {
				in.tracks = append(in.tracks, &track{kind: "file", ref: ref, file: fileNamed(cfg, ref.Name), up: true})
			}
			for _, ref := range sg.TrackInterfaces {
				in.tracks = append(in.tracks, &track{kind: "interface", ref: ref, nic: v.nics[ref.Name], up: true})
			}
		}
	}
	for _, in := range v.insts {
		if err := v.driver.Add(in.router, &vrrpConn{run: v, inst: in, buf: make([]byte, 1500)}); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func scriptNamed(c *conf.Config, name string) *conf.VRRPScript {
	for i := range c.VRRPScripts {
		if c.VRRPScripts[i].Name == name {
			return &c.VRRPScripts[i]
		}
	}
	return &conf.VRRPScript{Name: name} // conf refuses unknown names: not reached
}

func fileNamed(c *conf.Config, name string) *conf.VRRPTrackFile {
	for i := range c.VRRPTrackFiles {
		if c.VRRPTrackFiles[i].Name == name {
			return &c.VRRPTrackFiles[i]
		}
	}
	return &conf.VRRPTrackFile{Name: name}
}

// start registers the advert handler, opens the notify FIFO, starts the routers and the
// tracking goroutines.
func (v *vrrpRun) start(ctx context.Context) error {
	if len(v.insts) == 0 {
		return nil
	}
	v.ctx, v.cancel = context.WithCancel(context.Background())
	if f := v.cfg.VRRP.NotifyFIFO; f != "" {
		if err := v.openFIFO(f); err != nil {
			return err
		}
	}
	if err := v.host.HandleProtocol(vrrp.Protocol, v.receive); err != nil {
		return err
	}
	for _, in := range v.insts {
		if in.vmac != [6]byte{} {
			if err := v.host.AddMAC(in.nic, in.vmac); err != nil {
				return fmt.Errorf("vrrp_instance %s: use_vmac: %w", in.cfg.Name, err)
			}
		}
		// Faults known before the start (a script that starts failed) are the router's
		// from its first state.
		v.retrack(in, false)
	}
	if err := v.driver.Start(ctx); err != nil {
		return err
	}
	v.wg.Add(1)
	go v.inputLoop()
	for _, in := range v.insts {
		for _, t := range in.tracks {
			v.wg.Add(1)
			go v.trackLoop(in, t)
		}
	}
	v.log.Info().Int("instances", len(v.insts)).Msg("VRRP started")
	return nil
}

// receive is the protocol-112 handler: it runs on the receive path (a port loop), so it only
// copies the advert into the inbox.
func (v *vrrpRun) receive(nic int, _ []byte, p *packet.Packet, payload []byte) {
	in := vrrpInput{nic: nic, src: p.Key.SrcAddr(), dst: p.Key.DstAddr(), ttl: p.TTL, payload: append([]byte(nil), payload...)}
	select {
	case v.inbox <- in:
	default:
		v.mu.Lock()
		v.dropped++
		v.mu.Unlock()
	}
}

// inputLoop parses the adverts and hands them to their routers.
func (v *vrrpRun) inputLoop() {
	defer v.wg.Done()
	var a vrrp.Advert
	for {
		select {
		case <-v.ctx.Done():
			return
		case m := <-v.inbox:
			err := vrrp.Parse(m.payload, m.src, m.dst, m.ttl, &a)
			in := v.byKey[vrrpKey{m.nic, a.VRID, m.src.Is6()}]
			if in == nil {
				continue // another virtual router on the segment (keepalived ignores them too)
			}
			if !v.forUs(in, m.dst) {
				continue
			}
			if err != nil {
				v.driver.InputError(in.router, err)
				v.log.Debug().Err(err).Str("instance", in.cfg.Name).Str("from", m.src.String()).Msg("VRRP advert dropped")
				continue
			}
			v.refreshOnLower(in, m.src, &a)
			if err := v.driver.Input(in.router, m.src, &a); err != nil {
				v.log.Debug().Err(err).Str("instance", in.cfg.Name).Str("from", m.src.String()).Msg("VRRP advert ignored")
			}
		}
	}
}

// refreshOnLower re-announces a master's addresses when it hears a router of lower priority
// claim them (a backup that stopped hearing it, or a partition healing), as keepalived does
// (vrrp_state_master_rx, garp_lower_prio_repeat defaulting to garp_master_repeat): the
// neighbours that followed the other router come back at once.
func (v *vrrpRun) refreshOnLower(in *vrrpInst, src netip.Addr, a *vrrp.Advert) {
	var lower bool
	v.driver.Inspect(in.router, func(r *vrrp.Router) {
		p := r.Priority()
		lower = r.State() == vrrp.StateMaster && a.Priority != 0 &&
			(a.Priority < p || a.Priority == p && src.Less(in.src))
	})
	if !lower {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.announceLocked(in, in.cfg.GARPRepeat)
}

// forUs reports whether an advert to dst is the instance's: to its group, or to its own
// source address from a unicast peer.
func (v *vrrpRun) forUs(in *vrrpInst, dst netip.Addr) bool {
	if len(in.cfg.UnicastPeers) > 0 {
		return dst == in.src
	}
	return dst == in.cfg.Group
}

// onTransition carries out a router's change of state; it runs on the driver's lock.
func (v *vrrpRun) onTransition(act vrrp.Action) {
	in := v.instOf(act.Router)
	if in == nil {
		return
	}
	prio := act.Router.Priority()
	ev := v.log.Info().Str("instance", in.cfg.Name).Str("from", act.From.String()).Str("to", act.To.String()).
		Str("reason", act.Reason.String()).Int("priority", int(prio))
	msg := fmt.Sprintf("(%s) Entering %s STATE", in.cfg.Name, act.To)
	ev.Msg(msg)
	v.events.add(Event{Kind: "vrrp", Subject: in.cfg.Name, State: act.To.String(), Message: msg})
	switch act.To {
	case vrrp.StateMaster:
		v.own(in)
	case vrrp.StateBackup, vrrp.StateFault, vrrp.StateInit:
		v.release(in)
	}
	v.notify(in, act.To, prio)
	if v.onState != nil {
		v.onState(in.cfg.Name, act.To)
	}
	if g := act.Router.Group(); g != nil {
		if sg := v.groups[g]; sg != nil && groupSettled(g, act.To) {
			v.notifyGroup(sg, act.To)
		}
	}
}

// groupSettled reports whether every member of g is now in state s: the group's own notify
// runs once, when the last member arrives.
func groupSettled(g *vrrp.Group, s vrrp.State) bool {
	for _, m := range g.Members() {
		if m.State() != s {
			return false
		}
	}
	return true
}

func (v *vrrpRun) instOf(r *vrrp.Router) *vrrpInst {
	for _, in := range v.insts {
		if in.router == r {
			return in
		}
	}
	return nil
}

// own takes the instance's addresses and announces them.
func (v *vrrpRun) own(in *vrrpInst) {
	var owned []netip.Addr // published under v.mu: status reads it
	for _, l := range [][]conf.VIP{in.cfg.VIPs, in.cfg.VIPsExcluded} {
		for _, vip := range l {
			a := vip.Prefix.Addr()
			if in.vmac != [6]byte{} {
				if err := v.host.SetVIPMAC(a, in.vmac); err != nil {
					v.log.Error().Err(err).Str("vip", a.String()).Msg("VRRP: cannot give the VIP its virtual MAC")
				}
			}
			if err := v.host.AddVIP(a); err != nil {
				v.log.Error().Err(err).Str("vip", a.String()).Msg("VRRP: cannot take the VIP")
				continue
			}
			owned = append(owned, a)
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	in.owned = owned
	// AddVIP announced each address once; the rest of the burst, then the delayed one.
	v.announceLocked(in, in.cfg.GARPRepeat-1)
	v.scheduleGARP(in, in.cfg.GARPDelay, true)
}

// scheduleGARP arms the instance's next announcement: the second burst garp_master_delay
// after taking over, then the refreshes.
func (v *vrrpRun) scheduleGARP(in *vrrpInst, d time.Duration, first bool) {
	if in.garp != nil {
		in.garp.Stop()
		in.garp = nil
	}
	if !first {
		d = in.cfg.GARPRefresh
	}
	if d <= 0 {
		if first && in.cfg.GARPRefresh > 0 {
			v.scheduleGARP(in, 0, false)
		}
		return
	}
	in.garp = time.AfterFunc(d, func() {
		v.mu.Lock()
		defer v.mu.Unlock()
		if len(in.owned) == 0 || v.ctx.Err() != nil {
			return
		}
		n := in.cfg.GARPRepeat
		if !first {
			n = in.cfg.GARPRefreshRepeat
		}
		v.announceLocked(in, n)
		v.scheduleGARP(in, 0, false)
	})
}

// announceLocked sends n announcements of every owned address.
func (v *vrrpRun) announceLocked(in *vrrpInst, n int) {
	for range n {
		for _, a := range in.owned {
			if err := v.host.Announce(a); err != nil {
				v.log.Debug().Err(err).Str("vip", a.String()).Msg("VRRP: announcement not sent")
			}
		}
	}
}

// release gives the instance's addresses up.
func (v *vrrpRun) release(in *vrrpInst) {
	v.mu.Lock()
	if in.garp != nil {
		in.garp.Stop()
		in.garp = nil
	}
	owned := in.owned
	in.owned = nil
	v.mu.Unlock()
	for _, a := range owned {
		if err := v.host.RemoveVIP(a); err != nil {
			v.log.Error().Err(err).Str("vip", a.String()).Msg("VRRP: cannot release the VIP")
		}
		if in.vmac != [6]byte{} {
			v.host.SetVIPMAC(a, [6]byte{})
		}
	}
}

// notify runs the instance's notify scripts for state s and writes the FIFO line.
func (v *vrrpRun) notify(in *vrrpInst, s vrrp.State, prio uint8) {
	c := in.cfg
	var script string
	switch s {
	case vrrp.StateMaster:
		script = c.NotifyMaster
	case vrrp.StateBackup:
		script = c.NotifyBackup
	case vrrp.StateFault:
		script = c.NotifyFault
	case vrrp.StateInit:
		script = c.NotifyStop
		in.stopped = true
	}
	v.runScript(script)
	if c.Notify != "" {
		v.runScript(c.Notify, "INSTANCE", c.Name, stateWord(s), strconv.Itoa(int(prio)))
	}
	v.writeFIFO(fmt.Sprintf("INSTANCE %q %s %d", c.Name, stateWord(s), prio))
}

func (v *vrrpRun) notifyGroup(sg *conf.VRRPSyncGroup, s vrrp.State) {
	var script string
	switch s {
	case vrrp.StateMaster:
		script = sg.NotifyMaster
	case vrrp.StateBackup:
		script = sg.NotifyBackup
	case vrrp.StateFault:
		script = sg.NotifyFault
	case vrrp.StateInit:
		script = sg.NotifyStop
		v.groupStopped[sg.Name] = true
	}
	v.runScript(script)
	if sg.Notify != "" {
		v.runScript(sg.Notify, "GROUP", sg.Name, stateWord(s), "0")
	}
	v.writeFIFO(fmt.Sprintf("GROUP %q %s 0", sg.Name, stateWord(s)))
}

// stateWord is keepalived's word for a state in notify arguments and FIFO lines.
func stateWord(s vrrp.State) string {
	if s == vrrp.StateInit {
		return "STOP"
	}
	return s.String()
}

// runScript runs a notify command in the background.
func (v *vrrpRun) runScript(cmd string, args ...string) {
	if cmd == "" {
		return
	}
	v.scripts.Add(1)
	go func() {
		defer v.scripts.Done()
		code, err := health.Script{Command: cmd, Timeout: notifyTimeout}.Run(context.Background(), args...)
		if err != nil || code != 0 {
			v.log.Warn().Err(err).Int("exit", code).Str("command", cmd).Msg("VRRP notify script failed")
		}
	}()
}

// openFIFO opens the notify FIFO (creating it) without waiting for a reader, as keepalived
// does, and runs notify_fifo_script to read it.
func (v *vrrpRun) openFIFO(path string) error {
	if err := syscall.Mkfifo(path, 0o600); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("notify_fifo %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NONBLOCK, 0)
	if err != nil {
		return fmt.Errorf("notify_fifo %s: %w", path, err)
	}
	v.fifo = f
	if s := v.cfg.VRRP.NotifyFIFOScript; s != "" {
		v.runScript(s, path)
	}
	return nil
}

// writeFIFO writes one line; a full FIFO (no reader keeping up) loses it, as keepalived's.
func (v *vrrpRun) writeFIFO(line string) {
	if v.fifo == nil {
		return
	}
	if _, err := v.fifo.WriteString(line + "\n"); err != nil {
		v.log.Debug().Err(err).Msg("notify FIFO: line lost")
	}
}

// trackLoop checks one tracked item: a script every interval, a file and an interface every
// second, and tells the instance when its state changes (after rise / fall for scripts).
func (v *vrrpRun) trackLoop(in *vrrpInst, t *track) {
	defer v.wg.Done()
	every := time.Second
	if t.script != nil && t.script.Interval > 0 {
		every = t.script.Interval
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		up, value := v.probe(t)
		if v.ctx.Err() != nil {
			return
		}
		v.mu.Lock()
		changed := v.applyProbe(t, up, value)
		v.mu.Unlock()
		if changed {
			v.retrack(in, true)
		}
		select {
		case <-v.ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// probe runs one check of t.
func (v *vrrpRun) probe(t *track) (up bool, value int64) {
	switch t.kind {
	case "script":
		s := t.script
		code, err := health.Script{Command: s.Script, Timeout: s.Timeout, User: s.User, Group: s.Group}.Run(v.ctx)
		switch {
		case err == nil:
			t.runErr = ""
		case v.ctx.Err() == nil && err.Error() != t.runErr:
			t.runErr = err.Error()
			v.log.Warn().Err(err).Str("vrrp_script", s.Name).Str("user", s.User).Str("group", s.Group).
				Msg("vrrp_script failed without an exit status; it counts as failed")
		}
		return err == nil && code == 0, 0
	case "file":
		if t.reader == nil {
			t.reader = &health.FileCheck{Path: t.file.File} // keepalived's reading of the number
		}
		n, err := t.reader.Value()
		if err != nil {
			return true, 0 // unreadable: as a missing file, 0
		}
		return n == 0, n
	default:
		return v.interfaceUp(t.nic), 0
	}
}

// interfaceUp reports whether a tracked interface's device is up: its operstate for a host
// interface; memory ports have no carrier to lose.
func (v *vrrpRun) interfaceUp(nic int) bool {
	ifc := &v.cfg.Interfaces[nic]
	if ifc.Device == "" {
		return true
	}
	b, err := os.ReadFile("/sys/class/net/" + ifc.Device + "/operstate")
	if err != nil {
		return false
	}
	s := strings.TrimSpace(string(b))
	return s == "up" || s == "unknown"
}

// applyProbe records a probe's result under rise / fall; it reports a change of t's state
// (or, for a weighted file, of its value). v.mu is held.
func (v *vrrpRun) applyProbe(t *track, up bool, value int64) bool {
	if t.kind == "file" && t.ref.Weight != 0 {
		changed := t.value != value
		t.value = value
		return changed
	}
	if up == t.up {
		t.rise = 0
		return false
	}
	t.rise++
	need := 1
	if t.script != nil {
		need = t.script.Fall
		if up {
			need = t.script.Rise
		}
	}
	if t.rise < max(need, 1) {
		return false
	}
	t.up, t.rise = up, 0
	return true
}

// retrack recomputes the instance's priority delta and fault from its trackers and gives
// them to the router.
func (v *vrrpRun) retrack(in *vrrpInst, running bool) {
	v.mu.Lock()
	delta, fault := 0, false
	for _, t := range in.tracks {
		good := t.up
		if t.ref.Reverse {
			good = !good
		}
		switch {
		case t.kind == "file" && t.ref.Weight != 0:
			w := int(t.value) * t.ref.Weight
			if t.ref.Reverse {
				w = -w
			}
			if w <= -254 {
				fault = true
			} else {
				delta += w
			}
		case t.ref.Weight == 0:
			fault = fault || !good
		case t.ref.Weight > 0 && good:
			delta += t.ref.Weight // keepalived: a positive weight is added while the check succeeds
		case t.ref.Weight < 0 && !good:
			delta += t.ref.Weight // and a negative one while it fails
		}
	}
	changedFault := fault != in.fault
	changedDelta := delta != in.delta
	in.delta, in.fault = delta, fault
	v.mu.Unlock()
	if changedDelta {
		if running {
			v.driver.SetPriorityDelta(in.router, delta)
		} else {
			in.router.SetPriorityDelta(delta)
		}
		v.log.Info().Str("instance", in.cfg.Name).Int("delta", delta).Msgf("(%s) Changing effective priority by %d", in.cfg.Name, delta)
	}
	if changedFault {
		if running {
			v.driver.SetFault(in.router, fault)
		} else {
			in.router.SetFault(time.Now(), fault)
		}
	}
}

// close stops the routers (masters send priority 0), releases the addresses, runs notify_stop
// and waits for every goroutine and script.
func (v *vrrpRun) close() {
	if v.cancel == nil {
		return
	}
	v.driver.Close()
	v.cancel()
	v.wg.Wait()
	// Stopping moved every started router to INIT, which notified STOP; one that had
	// not moved yet is told here, once, as keepalived tells each instance.
	for _, in := range v.insts {
		v.release(in)
		if !in.stopped {
			v.notify(in, vrrp.StateInit, in.router.Priority())
		}
	}
	for _, sg := range v.groups {
		if !v.groupStopped[sg.Name] {
			v.notifyGroup(sg, vrrp.StateInit)
		}
	}
	v.scripts.Wait()
	if v.fifo != nil {
		v.fifo.Close()
	}
	v.host.HandleProtocol(vrrp.Protocol, nil)
}

// VRRPStatus is one instance's state, as keepalived's data dump shows it.
type VRRPStatus struct {
	Name      string
	Interface string
	VRID      uint8
	State     string
	Priority  uint8 // effective
	Master    netip.Addr
	Owned     []netip.Addr
	Stats     vrrp.Stats
}

// status reports every instance.
func (v *vrrpRun) status() []VRRPStatus {
	var out []VRRPStatus
	for _, in := range v.insts {
		s := VRRPStatus{Name: in.cfg.Name, Interface: in.cfg.Interface, VRID: in.cfg.VRID}
		v.driver.Inspect(in.router, func(r *vrrp.Router) {
			s.State, s.Priority, s.Stats = r.State().String(), r.Priority(), r.Stats()
			s.Master, _ = r.Master()
		})
		v.mu.Lock()
		s.Owned = append([]netip.Addr(nil), in.owned...)
		v.mu.Unlock()
		out = append(out, s)
	}
	return out
}
