package lab

import (
	"sync/atomic"
	"time"

	"github.com/uvs-lb/uvs/lb"
	"github.com/uvs-lb/uvs/vrrp"
)

// labClock is an appliance's clock in the lab: the system's monotonic clock plus an offset
// that clock_jump events move. It is the appliance's for its whole life, across restarts
// (the machine's clock, not the process's). The appliance reads it as lb.Clock (its
// engine, which disciplines it into engine time: the connection table's timeouts and
// expiry, persistence templates, the dataplane's batches, connection sync; a jump is
// absorbed at the engine's next maintenance) and as vrrp.Clock (its VRRP driver: advert
// and master-down deadlines). Its health checks and the netstack's TCP timers run on the Go
// runtime's timers, which no in-process clock moves.
type labClock struct{ offset atomic.Int64 }

// Now is lb.Clock's: nanoseconds, the system's monotonic reading plus the offset.
func (c *labClock) Now() int64 { return lb.SystemClock{}.Now() + c.offset.Load() }

// jump moves the clock by d (back when negative), at once.
func (c *labClock) jump(d time.Duration) { c.offset.Add(int64(d)) }

// vrrp returns the clock as the VRRP driver reads it. Timers still wait real time: a jump
// shows in the deadlines the driver computes from Now, as a stepped clock would.
func (c *labClock) vrrp() vrrp.Clock { return vrrpLabClock{c} }

type vrrpLabClock struct{ c *labClock }

func (v vrrpLabClock) Now() time.Time { return time.Now().Add(time.Duration(v.c.offset.Load())) }

func (v vrrpLabClock) AfterFunc(d time.Duration, f func()) vrrp.Timer { return time.AfterFunc(d, f) }
