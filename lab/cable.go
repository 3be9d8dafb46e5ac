package lab

import (
	"os"
	"sync"

	"github.com/uvs-lb/uvs/lab/wire"
)

// cable is a running link. Several things can pull it (link_down, a partition, a killed node
// at either end), each for its own reason; it carries frames only while none holds it down,
// so that healing a partition does not plug a cable an operator pulled.
type cable struct {
	l    *Link
	w    *wire.Link
	pcap *os.File // nil without --pcap

	mu   sync.Mutex
	down map[string]bool
}

// Reasons for a cable to be down.
const (
	downPulled    = "link_down"
	downPartition = "partition"
	downKilled    = "kill:" // + the node's name
)

func (c *cable) setDown(reason string, down bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down == nil {
		c.down = map[string]bool{}
	}
	if down {
		c.down[reason] = true
	} else {
		delete(c.down, reason)
	}
	c.w.SetUp(len(c.down) == 0)
}

// touches reports whether the cable has an end on node.
func (c *cable) touches(node string) bool { return c.l.A.Node == node || c.l.B.Node == node }
