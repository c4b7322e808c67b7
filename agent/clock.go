package agent

import "time"

// Clock is the agent's source of time. Session warnings and expiry, challenge
// validity and reconnect backoff all go through it, so tests move time by
// hand instead of sleeping. Network deadlines on the WebSocket use the wall
// clock, as the kernel does.
type Clock interface {
	// Now reads the wall clock, which expires_at is given in.
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has elapsed, unless the
	// returned Timer is stopped first. With SystemClock d elapses on the
	// monotonic clock, which stops while the machine is suspended and does
	// not follow steps of the wall clock: a timer only prompts the agent to
	// compare both clocks with the deadlines (timers.go).
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call if it has not started; it reports whether it
	// did.
	Stop() bool
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// AfterFunc is time.AfterFunc.
func (SystemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// MonotonicClock is a Clock that also reads a monotonic clock apart from
// its wall clock: one that only moves forward, stops while the machine is
// suspended and does not follow steps of the wall clock (the clock
// AfterFunc's durations elapse on). The session's end and the idle timeout
// are measured on both (timers.go). A Clock without it is read with Now,
// whose monotonic reading, when it carries one, is used: time.Now does, so
// SystemClock reads both clocks at one instant (inputNow).
type MonotonicClock interface {
	Clock
	// Monotonic returns the time elapsed on the monotonic clock since an
	// arbitrary fixed point.
	Monotonic() time.Duration
	// Read returns Now and Monotonic read at one instant. The agent
	// compares the two readings (inputNow): read one after the other, a
	// clock moved in between made them disagree by as much.
	Read() (wall time.Time, mono time.Duration)
}

var processStart = time.Now()

// monoNow reads the agent clock's monotonic clock.
func (a *Agent) monoNow() time.Duration {
	if m, ok := a.clock.(MonotonicClock); ok {
		return m.Monotonic()
	}
	return a.clock.Now().Sub(processStart) // monotonic when Now carries a reading
}
