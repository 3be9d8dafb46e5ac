package netstack

import "testing"

// droppingPort is a sinkPort that reports receive drops (port.RxDropper).
type droppingPort struct {
	sinkPort
	dropped, reads uint64
}

func (d *droppingPort) RxDropped() uint64 { d.reads++; return d.dropped }

// synDroppingPort also tells its SYN-ring drops (port.SYNDropper).
type synDroppingPort struct {
	droppingPort
	syn uint64
}

func (s *synDroppingPort) RxSYNDropped() (uint64, uint64) { s.reads++; return s.dropped, s.syn }

// TestStatsPortDrops: a snapshot carries each port's receive drops, and a port with a SYN
// ring gives both counts from one reading.
func TestStatsPortDrops(t *testing.T) {
	in := &synDroppingPort{droppingPort: droppingPort{sinkPort: sinkPort{name: "in", mac: macLB0}, dropped: 7}, syn: 5}
	out := &droppingPort{sinkPort: sinkPort{name: "out", mac: macLB1}, dropped: 3}
	dp, e := appliance(t, in, out, natConfig(rsAddrs[:1]))
	t.Cleanup(func() {
		dp.Close()
		e.Close()
	})
	s := dp.Stats()
	if p := s.Ports[0]; p.RxDropped != 7 || p.RxSYNDropped != 5 || in.reads != 1 {
		t.Errorf("port with a SYN ring: %+v, counters read %d times", p, in.reads)
	}
	if p := s.Ports[1]; p.RxDropped != 3 || p.RxSYNDropped != 0 || out.reads != 1 {
		t.Errorf("port without: %+v, counters read %d times", p, out.reads)
	}
}
