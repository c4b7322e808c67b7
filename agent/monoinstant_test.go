package agent

import (
	"testing"
	"time"
)

// movingMonoClock is a MonotonicClock whose time moves by step after every
// read, as a clock moved by another goroutine between two reads would (a
// test advancing its fakeClock while the loop looks at the clocks).
type movingMonoClock struct {
	wall time.Time
	mono time.Duration
	step time.Duration
}

func (c *movingMonoClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

func (c *movingMonoClock) Now() time.Time {
	defer c.move()
	return c.wall
}

func (c *movingMonoClock) Monotonic() time.Duration {
	defer c.move()
	return c.mono
}

func (c *movingMonoClock) Read() (time.Time, time.Duration) {
	defer c.move()
	return c.wall, c.mono
}

func (c *movingMonoClock) move() {
	c.wall = c.wall.Add(c.step)
	c.mono += c.step
}

// TestInputNowReadsMonotonicClockAtOneInstant: a MonotonicClock is read
// for both clocks at one instant. Read one after the other, with the clock
// moved by 4 minutes between the reads (a test advancing its clock while
// the loop's periodic check ran), the wall reading was 4 minutes newer
// than the monotonic one, the session's end read 4 minutes later on the
// wall clock than it was, and the agent announced that wrong end to the
// screen (session.extended, reason clock): seen as an unexpected event in
// TestActivityAfterBackwardClockStepPostponesIdle with the loop slowed.
func TestInputNowReadsMonotonicClockAtOneInstant(t *testing.T) {
	start := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	c := &movingMonoClock{wall: start, mono: time.Hour, step: 4 * time.Minute}
	a := &Agent{clock: c, session: &liveSession{Session: Session{ExpiresAt: start.Add(8 * time.Hour)}}}
	// Deadline (b) 7 hours from start on the monotonic clock: it reads
	// as start plus 7 hours on the wall clock, whenever it is looked at.
	a.monoEnd = c.mono + 7*time.Hour
	want := start.Add(7 * time.Hour)
	for i := range 3 {
		if end := a.sessionEnd(a.inputNow()); !end.Equal(want) {
			t.Fatalf("look %d: the session ends at %s, want %s (%s off)", i, end, want, end.Sub(want))
		}
	}
}
