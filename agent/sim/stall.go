package sim

import (
	"fmt"
	"runtime"
	"sort"
	"sync"
	"time"
)

// Machine stalls. The reference machine is a virtual one, and it stops
// now and then: on an idle machine a 1 ms sleep lasted over 6 ms 18
// times in 30 s, up to 23 ms, often on both threads at once (measured on
// 2026-11-26). Slow leaver rounds (10 to 80 ms, up to 5% of rounds that
// day) mostly showed the hub handling its request in 2 to 6 ms, as in
// any other round. The probe records stops during the rounds so that the
// report can tell a stalled round from a slow hub: a thread of its own
// sleeps probeSleep at a time and notes each wake-up that comes stallMin
// or more late. It measures this process, so a round in which the
// simulator itself is busy shows late wake-ups too; the leaver's rounds
// leave it nearly idle.
const (
	probeSleep = time.Millisecond
	stallMin   = 5 * time.Millisecond
)

// roundStallKey is the per-round figure that holds the longest part of a
// stall within the round, in ms (0: none).
const roundStallKey = "stall_ms"

// stallMetric counts the rounds a stall took time from, and the most
// it took from one. (The probe also sees the simulator's own collection
// before each round, which is outside the rounds.)
func stallMetric(rounds []map[string]float64) Metric {
	n, longest := 0, 0.0
	for _, r := range rounds {
		if s := r[roundStallKey]; s > 0 {
			n, longest = n+1, max(longest, s)
		}
	}
	return value("rounds with a machine stall", "", float64(n), fmt.Sprintf("a %s sleep woke %s or more late during the round; the most one took from a round: %.1f ms (stall_ms per round)", probeSleep, stallMin, longest))
}

// stall is a late wake-up: the probe should have woken at from and woke
// at to.
type stall struct{ from, to time.Time }

type stallProbe struct {
	sleep func(time.Duration) // time.Sleep; tests stretch it

	mu     sync.Mutex
	stalls []stall // in time order
	stop   bool

	done chan struct{}
}

// startStallProbe starts a probe; Stop ends it.
func startStallProbe() *stallProbe {
	return newStallProbe(time.Sleep)
}

func newStallProbe(sleep func(time.Duration)) *stallProbe {
	p := &stallProbe{sleep: sleep, done: make(chan struct{})}
	go p.run()
	return p
}

func (p *stallProbe) run() {
	// A thread of its own: a wake-up then waits for nothing else of
	// this process but a free core.
	runtime.LockOSThread()
	defer close(p.done)
	for {
		t := time.Now()
		p.sleep(probeSleep)
		now := time.Now()
		p.mu.Lock()
		if due := t.Add(probeSleep); now.Sub(due) >= stallMin {
			p.stalls = append(p.stalls, stall{from: due, to: now})
		}
		stop := p.stop
		p.mu.Unlock()
		if stop {
			return
		}
	}
}

// Stop ends the probe and waits for its thread.
func (p *stallProbe) Stop() {
	p.mu.Lock()
	p.stop = true
	p.mu.Unlock()
	<-p.done
}

// longest is the longest part of a stall within from..to: the time the
// machine took from that window, 0 if no stall overlapped it.
func (p *stallProbe) longest(from, to time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	// One thread records them one after another, so the stalls are in
	// order by both ends: skip those over before the window, stop at
	// the first that starts after it. A long run then costs each round
	// only the few stalls around it.
	i := sort.Search(len(p.stalls), func(i int) bool { return p.stalls[i].to.After(from) })
	var worst time.Duration
	for _, s := range p.stalls[i:] {
		if !s.from.Before(to) {
			break
		}
		// The stall's part in the window, as offsets from its start.
		begin, end := max(s.from.Sub(from), 0), min(s.to.Sub(from), to.Sub(from))
		worst = max(worst, end-begin)
	}
	return worst
}
