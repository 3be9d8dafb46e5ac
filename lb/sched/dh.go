package sched

// dhTableBits is IPVS's IP_VS_DH_TAB_BITS and IP_VS_SH_TAB_BITS: 256-bucket tables.
const dhTableBits = 8

const dhTableSize = 1 << dhTableBits

// dh is IPVS destination hashing: a 256-bucket table filled with the servers in list order,
// one bucket each, round and round; the destination address picks the bucket. The server
// there takes the connection if usable, else nobody does.
//
// As in IPVS, weights do not shape the table (only sh weighs buckets) and the bucket is the
// low 8 bits of fold(addr)×2654435761, which for IPv4 depends on the last octet alone.
type dh struct {
	dests []Dest
	table [dhTableSize]int32 // server index, or -1 when there are no servers
}

func newDH(c *config) (Scheduler, error) {
	s := &dh{dests: c.dests}
	for i := range s.table {
		s.table[i] = -1
		if n := len(c.dests); n > 0 {
			s.table[i] = int32(i % n)
		}
	}
	return s, nil
}

func (s *dh) Name() string { return "dh" }

func (s *dh) Pick(in *Input) int {
	i := s.table[fold32(in.Dst)*2654435761%dhTableSize]
	if i < 0 || !s.dests[i].Usable() {
		return -1
	}
	return int(i)
}
