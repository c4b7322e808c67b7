package ui

import (
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent"
)

// testClock is an agent.Clock moved by hand: the agent core's timers (idle
// timeout, warning, expiry) and the screen's clock run on it, so tests
// never wait for real time to pass.
type testClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*testTimer
	added  chan struct{} // signalled when a timer is added
}

type testTimer struct {
	c       *testClock
	at      time.Time
	f       func()
	stopped bool
}

func newTestClock(t time.Time) *testClock {
	return &testClock{now: t, added: make(chan struct{}, 1)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) AfterFunc(d time.Duration, f func()) agent.Timer {
	c.mu.Lock()
	t := &testTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	select {
	case c.added <- struct{}{}:
	default:
	}
	return t
}

func (t *testTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

// Advance moves the clock and runs the timers that came due, in order.
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due, rest []*testTimer
	for _, t := range c.timers {
		switch {
		case t.stopped:
		case !t.at.After(c.now):
			t.stopped = true
			due = append(due, t)
		default:
			rest = append(rest, t)
		}
	}
	c.timers = rest
	c.mu.Unlock()
	sort.SliceStable(due, func(i, j int) bool { return due[i].at.Before(due[j].at) })
	for _, t := range due {
		t.f()
	}
}

// waitTimer waits until a timer due at is pending: the agent core has
// scheduled something (an idle check) for then.
func (c *testClock) waitTimer(t testing.TB, at time.Time) {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		c.mu.Lock()
		for _, tm := range c.timers {
			if !tm.stopped && tm.at.Equal(at) {
				c.mu.Unlock()
				return
			}
		}
		c.mu.Unlock()
		select {
		case <-c.added:
		case <-deadline:
			t.Fatalf("no timer scheduled for %s", at)
		}
	}
}
