package wire

// frameHeap is a min-heap of frames by departure time, then arrival order. It is written
// out rather than built on container/heap so that pushing and popping box nothing and the
// frames keep their index for fix (a reorder hold moves a frame's departure time).
type frameHeap []*frame

func (h frameHeap) less(i, j int) bool {
	if h[i].due != h[j].due {
		return h[i].due < h[j].due
	}
	return h[i].seq < h[j].seq
}

func (h frameHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}

func (h *frameHeap) push(f *frame) {
	f.idx = len(*h)
	*h = append(*h, f)
	h.up(f.idx)
}

func (h *frameHeap) pop() *frame {
	old := *h
	n := len(old) - 1
	old.swap(0, n)
	f := old[n]
	old[n] = nil
	*h = old[:n]
	h.down(0)
	return f
}

// fix restores the order after the frame at i changed its due time or seq.
func (h frameHeap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h frameHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

// down sifts the frame at i down and reports whether it moved.
func (h frameHeap) down(i int) bool {
	start, n := i, len(h)
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && h.less(r, c) {
			c = r
		}
		if !h.less(c, i) {
			break
		}
		h.swap(i, c)
		i = c
	}
	return i > start
}
