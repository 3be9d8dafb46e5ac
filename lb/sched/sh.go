package sched

// sh is IPVS source hashing: a 256-bucket table filled in list order, each server taking
// weight consecutive buckets (at least one, even at weight 0), round and round; the source
// address (and with sh-port the source port) picks the bucket with the kernel's hash_32.
//
// Without sh-fallback an unusable server in the bucket means no server. With it, IPVS probes
// the other buckets in a fixed order derived from the same hash and takes the first usable
// server, so a client moves only while its own server is unusable.
type sh struct {
	dests    []Dest
	table    [dhTableSize]int32 // server index, or -1 when there are no servers
	fallback bool
	port     bool
}

func newSH(c *config) (Scheduler, error) {
	s := &sh{dests: c.dests, fallback: c.flags&FlagSHFallback != 0, port: c.flags&FlagSHPort != 0}
	i, count := 0, int32(0)
	for b := range s.table {
		if len(c.dests) == 0 {
			s.table[b] = -1
			continue
		}
		s.table[b] = int32(i)
		// Stay on a server until it has weight buckets; a weight ≤ 0 still gets one.
		if count++; count >= c.dests[i].Weight {
			i, count = (i+1)%len(c.dests), 0
		}
	}
	return s, nil
}

func (s *sh) Name() string { return "sh" }

func (s *sh) Pick(in *Input) int {
	h := hash32(hashPort(in, s.port)+fold32(in.Src), dhTableBits)
	i := s.table[h]
	switch {
	case i < 0:
		return -1
	case s.dests[i].Usable():
		return int(i)
	case !s.fallback || !anyUsable(s.dests):
		return -1
	}
	// IPVS's probe: bucket (offset + hash + hash) mod 256 for offset 0…255 — every bucket
	// once, starting from a point that depends on the client.
	for off := range uint32(dhTableSize) {
		i = s.table[(off+2*h)%dhTableSize]
		if s.dests[i].Usable() {
			return int(i)
		}
	}
	return -1
}
