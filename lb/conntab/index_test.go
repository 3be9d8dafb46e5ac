package conntab

import (
	"math/rand/v2"
	"testing"

	"github.com/uvs-lb/uvs/packet"
)

// TestIndexAgainstModel drives a small table (one and four shards, so indexes grow and probe
// runs get long) with random inserts, deletes and lookups in both directions and checks every
// answer against a map, then checks the index invariants: every slot is reachable from its
// home position without crossing an empty slot, and slots and entries agree.
func TestIndexAgainstModel(t *testing.T) {
	for _, shards := range []int{1, 4} {
		rng := rand.New(rand.NewPCG(1, uint64(shards)))
		tab := newTable(t, Config{Shards: shards, Seed: 7})
		type rec struct {
			c   Conn
			ref Ref
		}
		in := map[packet.FlowKey]*rec{}
		out := map[packet.FlowKey]*rec{}
		var live []*rec
		randConn := func() Conn {
			// Few distinct values, so keys collide and reply keys clash.
			c := natConn(v4(1, 1, byte(rng.IntN(4)), byte(rng.IntN(64))), uint16(rng.IntN(16)))
			c.DAddr[3] = byte(rng.IntN(3))
			if rng.IntN(4) == 0 {
				c.Flags = FlagInputOnly
			}
			if rng.IntN(8) == 0 {
				c.Proto = packet.ProtoUDP
			}
			return c
		}
		for op := range 60000 {
			switch r := rng.IntN(10); {
			case r < 4:
				c := randConn()
				ik, ok := inKey(&c), outKey(&c)
				hasOut := c.Flags&FlagInputOnly == 0
				err := tab.Insert(&c, syn, 0, 0)
				switch {
				case in[ik] != nil:
					if err != ErrExists || c.Self != in[ik].ref {
						t.Fatalf("op %d: dup insert: %v", op, err)
					}
				case hasOut && out[ok] != nil:
					if err != ErrReplyExists {
						t.Fatalf("op %d: reply clash: %v", op, err)
					}
				default:
					if err != nil {
						t.Fatalf("op %d: insert: %v", op, err)
					}
					rc := &rec{c, c.Self}
					in[ik] = rc
					if hasOut {
						out[ok] = rc
					}
					live = append(live, rc)
				}
			case r < 7 && len(live) > 0:
				j := rng.IntN(len(live))
				rc := live[j]
				live[j] = live[len(live)-1]
				live = live[:len(live)-1]
				delete(in, inKey(&rc.c))
				if rc.c.Flags&FlagInputOnly == 0 {
					delete(out, outKey(&rc.c))
				}
				if !tab.Delete(rc.ref) {
					t.Fatalf("op %d: Delete failed", op)
				}
			default:
				c := randConn()
				k := inKey(&c)
				if rng.IntN(2) == 0 {
					k = outKey(&c)
				}
				var got Conn
				dir, found := tab.Lookup(&k, 0, 0, &got)
				var want *rec
				wantDir := DirIn
				if rc := in[k]; rc != nil {
					want = rc
				} else if rc := out[k]; rc != nil {
					want, wantDir = rc, DirOut
				}
				if found != (want != nil) || (found && (got.Self != want.ref || dir != wantDir)) {
					t.Fatalf("op %d: Lookup(%v) = %v %v %v, want %v", op, k, got.Self, dir, found, want)
				}
			}
		}
		if tab.Len() != len(live) {
			t.Fatalf("Len %d, model %d", tab.Len(), len(live))
		}
		checkIndex(t, tab, len(in)+len(out))
	}
}

func checkIndex(t *testing.T, tab *Table, wantSlots int) {
	t.Helper()
	total := 0
	for si := range tab.shards {
		s := &tab.shards[si]
		mask := uint32(len(s.slots) - 1)
		n := 0
		for p, v := range s.slots {
			if v == 0 {
				continue
			}
			n++
			for q := uint32(v>>32) & mask; q != uint32(p); q = (q + 1) & mask {
				if s.slots[q] == 0 {
					t.Fatalf("shard %d: slot at %d unreachable from home %d", si, p, uint32(v>>32)&mask)
				}
			}
			e := s.at(uint32(v) >> 1)
			var k packet.FlowKey
			if Dir(v&1) == DirIn {
				e.inKey(&k)
			} else {
				e.outKey(&k)
			}
			if e.flags&flagUsed == 0 || tagOf(hashTuple(tab.seed, &k)) != uint32(v>>32) {
				t.Fatalf("shard %d: slot %d does not match its entry", si, p)
			}
		}
		if n != s.used {
			t.Fatalf("shard %d: %d slots, used says %d", si, n, s.used)
		}
		if s.used*5 > len(s.slots)*4 {
			t.Fatalf("shard %d: load %d/%d", si, s.used, len(s.slots))
		}
		total += n
	}
	if total != wantSlots {
		t.Fatalf("%d slots, model has %d keys", total, wantSlots)
	}
}

// TestIndexGrowth fills one shard well past several doublings and finds everything again.
func TestIndexGrowth(t *testing.T) {
	tab := newTable(t, Config{Shards: 1})
	const n = 20000
	for i := range n {
		c := natConn(v4(3, byte(i>>16), byte(i>>8), byte(i)), 7)
		mustInsert(t, tab, &c, syn, 0, 0)
	}
	if got := len(tab.shards[0].slots); got < 2*n*5/4 {
		t.Fatalf("index has %d slots for %d keys", got, 2*n)
	}
	for i := range n {
		c := natConn(v4(3, byte(i>>16), byte(i>>8), byte(i)), 7)
		lookup(t, tab, inKey(&c), 0, 0, DirIn, true)
		lookup(t, tab, outKey(&c), 0, 0, DirOut, true)
	}
	checkIndex(t, tab, 2*n)
}
