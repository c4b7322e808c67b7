package push

import (
	"sync/atomic"
	"time"
)

// Outgoing is one push of a PushMany.
type Outgoing struct {
	DeviceID string
	Type     string
	Data     any
}

// Fan-out tuning for PushMany.
const (
	// stallCheck is how often PushMany looks for a stalled writer, and
	// how long a batch waits behind one before another goroutine takes up
	// the rest.
	stallCheck = 5 * time.Millisecond
	// maxFanWriters bounds the goroutines writing one PushMany: as many
	// kiosks that have stopped reading hold it up for their write timeout.
	maxFanWriters = 64
)

// PushMany sends every push in ps, like Push, and calls done (from any of
// its goroutines, never two at once for the same i) with each one's
// outcome. The pushes to one kiosk go out in their order in ps. It returns
// when every push is written or queued.
//
// Unlike Push, it writes each frame from its own goroutine when the
// kiosk's channel has nothing queued: a mass revoke then costs the hub one
// write per kiosk from a goroutine that runs on, instead of ten thousand
// writer wake-ups, selects and parks competing for the cores the
// fan-out needs. A write blocks only on a kiosk that has stopped reading
// (its socket buffer full); when no push has gone out for stallCheck, a
// further goroutine takes up the rest, so such a kiosk delays the others
// by milliseconds, not by its write timeout.
func (h *Hub) PushMany(ps []Outgoing, done func(i int, p Push, err error)) {
	n := int64(len(ps))
	if n == 0 {
		return
	}
	// The writers take a kiosk at a time, all its pushes in order: two
	// writers with pushes to one kiosk could write them in either order.
	// heads lists each kiosk's first push, in order; then[i] is the next
	// push to the kiosk of push i, or -1.
	var heads []int32
	then := make([]int32, n)
	last := make(map[string]int32, n)
	for i, o := range ps {
		then[i] = -1
		if j, ok := last[o.DeviceID]; ok {
			then[j] = int32(i)
		} else {
			heads = append(heads, int32(i))
		}
		last[o.DeviceID] = int32(i)
	}
	var next, finished atomic.Int64 // the next kiosk (in heads) to take; pushes done
	all := make(chan struct{})
	write := func() {
		for {
			k := next.Add(1) - 1
			if k >= int64(len(heads)) {
				return
			}
			for i := heads[k]; i >= 0; i = then[i] {
				o := ps[i]
				p, err := h.push(o.DeviceID, o.Type, o.Data, true)
				done(int(i), p, err)
				if finished.Add(1) == n {
					close(all)
				}
			}
		}
	}
	go write()
	ticker := time.NewTicker(stallCheck)
	defer ticker.Stop()
	writers, seen := 1, int64(-1)
	for {
		select {
		case <-all:
			return
		case <-ticker.C:
			f := finished.Load()
			if f == seen && next.Load() < int64(len(heads)) && writers < maxFanWriters {
				writers++
				go write()
			}
			seen = f
		}
	}
}
