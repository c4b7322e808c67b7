package agent

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// laterMonoClock is the harness's fakeClock, except that once armed every
// Monotonic, a read of the monotonic clock apart from Read, finds both
// clocks moved on by step: as the real clocks, moving on while the
// agent's loop reads them a second time, would be.
type laterMonoClock struct {
	*fakeClock
	step time.Duration

	mu    sync.Mutex
	armed bool
	moved time.Duration
}

func (c *laterMonoClock) arm() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed = true
}

func (c *laterMonoClock) offset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.moved
}

func (c *laterMonoClock) Now() time.Time { return c.fakeClock.Now().Add(c.offset()) }

func (c *laterMonoClock) Read() (time.Time, time.Duration) {
	wall, mono := c.fakeClock.Read()
	off := c.offset()
	return wall.Add(off), mono + off
}

func (c *laterMonoClock) Monotonic() time.Duration {
	c.mu.Lock()
	if c.armed {
		c.moved += c.step
	}
	c.mu.Unlock()
	_, mono := c.Read()
	return mono
}

// TestIdleSignOutLogsIdleTimeThatDecided: the sign-out's log line gives
// the idle time of the clock reading that decided it, the timeout. It
// read the monotonic clock again for the line, and a clock that moved on
// between the reads (by 4 minutes here, a loop held up on a busy kiosk
// by less) had a worker signed out at 5 minutes logged idle for 9.
func TestIdleSignOutLogsIdleTimeThatDecided(t *testing.T) {
	var (
		logMu sync.Mutex
		logs  bytes.Buffer
	)
	var clock *laterMonoClock
	h := newHarness(t, withIdle(5*time.Minute), func(h *harness, c *Config) {
		clock = &laterMonoClock{fakeClock: h.clock, step: 4 * time.Minute}
		c.Clock = clock
		c.Logger = slog.New(slog.NewTextHandler(syncWriter{&logMu, &logs}, nil))
	})
	h.connect()
	h.login("s1", "ana", time.Hour)

	h.clock.Advance(5*time.Minute - time.Second)
	h.wantState(Active)
	clock.arm()
	h.clock.Advance(time.Second)
	if e := h.ev.ended(t); e.Reason != wire.ReasonIdle || e.SessionID != "s1" {
		t.Fatalf("session.ended = %+v, want s1 idle", e)
	}
	<-h.teardowns

	logMu.Lock()
	defer logMu.Unlock()
	var line string
	for l := range strings.Lines(logs.String()) {
		if strings.Contains(l, "session idle") {
			line = l
		}
	}
	if !strings.Contains(line, "idle_for=5m0s") {
		t.Errorf("idle sign-out logged %q, want idle_for=5m0s (the timeout it was decided at)", line)
	}
}
