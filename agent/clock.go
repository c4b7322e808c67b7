package agent

import (
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

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

// BootClock is a Clock that also reads the kernel's boot clock
// (CLOCK_BOOTTIME): it goes on while the machine is suspended, no step of
// the wall clock moves it, and it starts from zero at every boot. The live
// session's deadlines are kept on it in session.json, with the boot's ID,
// so that an agent restarted in the same boot ends the session on time
// although the wall clock was set back while it was down: after a restart
// there is no monotonic reading to go on (restore). SystemClock
// implements it; without it a restarted agent goes by the wall clock.
type BootClock interface {
	Clock
	// Boot returns the running boot's ID and the time elapsed on the boot
	// clock since it began; ok is false when either cannot be read.
	Boot() (id string, elapsed time.Duration, ok bool)
}

// bootIDFile names the running boot: a random UUID the kernel draws at
// every boot.
const bootIDFile = "/proc/sys/kernel/random/boot_id"

// Boot reads the boot's ID and CLOCK_BOOTTIME (BootClock).
func (SystemClock) Boot() (id string, elapsed time.Duration, ok bool) {
	b, err := os.ReadFile(bootIDFile)
	if id = strings.TrimSpace(string(b)); err != nil || id == "" {
		return "", 0, false
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return "", 0, false
	}
	return id, time.Duration(ts.Nano()), true
}

// bootNow reads the agent clock's boot clock, when it has one.
func (a *Agent) bootNow() (id string, elapsed time.Duration, ok bool) {
	if b, ok := a.clock.(BootClock); ok {
		return b.Boot()
	}
	return "", 0, false
}

var processStart = time.Now()

// monoNow reads the agent clock's monotonic clock.
func (a *Agent) monoNow() time.Duration {
	if m, ok := a.clock.(MonotonicClock); ok {
		return m.Monotonic()
	}
	return a.clock.Now().Sub(processStart) // monotonic when Now carries a reading
}
