package agent

import (
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

func withIdle(d time.Duration) harnessOpt {
	return func(_ *harness, c *Config) { c.IdleTimeout = d }
}

// endReported waits until the hub was sent session.end for id with reason.
func (h *harness) endReported(id, reason string) {
	h.t.Helper()
	want := wire.SessionEnd{SessionID: id, Reason: reason}
	h.hub.waitFor("session.end "+id+" "+reason, func() bool {
		for _, r := range h.hub.requestsOf(wire.TypeSessionEnd) {
			if r == any(want) {
				return true
			}
		}
		return false
	})
}

func TestIdleTimeoutEndsSession(t *testing.T) {
	h := newHarness(t, withIdle(5*time.Minute))
	h.connect()
	h.login("s1", "ana", time.Hour)

	h.clock.Advance(5*time.Minute - time.Second)
	h.wantState(Active)
	h.ev.none(t)

	h.clock.Advance(time.Second)
	e := h.ev.ended(t)
	if e.Reason != wire.ReasonIdle || e.SessionID != "s1" || e.User != "ana" {
		t.Errorf("session.ended = %+v", e)
	}
	if s := <-h.teardowns; s.ID != "s1" {
		t.Errorf("teardown of %q", s.ID)
	}
	h.wantState(Locked)
	// The hub is told, as for a sign-out.
	h.endReported("s1", wire.ReasonIdle)
}

func TestActivityPostponesIdleTimeout(t *testing.T) {
	h := newHarness(t, withIdle(5*time.Minute))
	h.connect()
	h.login("s1", "ana", time.Hour)

	h.clock.Advance(4 * time.Minute)
	h.a.Activity() // input at 4:00: idle at 9:00
	h.clock.Advance(4 * time.Minute)
	h.wantState(Active) // the check at 5:00 found input and looked again
	h.ev.none(t)

	// A tap during the session is ignored as a login but is input.
	h.a.Tap("ben") // at 8:00: idle at 13:00
	h.clock.Advance(time.Minute)
	h.wantState(Active)
	h.clock.Advance(4*time.Minute - time.Second)
	h.wantState(Active)
	h.ev.ignored(t, TapIgnoredSessionOpen)
	h.ev.none(t)

	h.clock.Advance(time.Second)
	if e := h.ev.ended(t); e.Reason != wire.ReasonIdle {
		t.Errorf("reason %q", e.Reason)
	}
	<-h.teardowns
	h.endReported("s1", wire.ReasonIdle)
}

func TestIdleTimeoutDuringWarning(t *testing.T) {
	h := newHarness(t, withIdle(3*time.Minute))
	h.connect()
	h.login("s1", "ana", 6*time.Minute) // warning at 1:00, expiry at 6:00
	h.clock.Advance(time.Minute)
	h.ev.expect(t, EventSessionWarning)
	h.clock.Advance(2 * time.Minute)
	if e := h.ev.ended(t); e.Reason != wire.ReasonIdle {
		t.Errorf("reason %q, want idle before the expiry", e.Reason)
	}
	<-h.teardowns
	h.wantState(Locked)
}

func TestNoIdleTimeoutWithoutOne(t *testing.T) {
	h := newHarness(t) // IdleTimeout 0
	h.connect()
	h.login("s1", "ana", 2*time.Hour)
	h.clock.Advance(time.Hour)
	h.wantState(Active)
	h.ev.none(t)
}

// An idle check armed for one session never ends the next one early.
func TestIdleTimerDoesNotOutliveItsSession(t *testing.T) {
	h := newHarness(t, withIdle(5*time.Minute))
	h.connect()
	h.login("s1", "ana", time.Hour)
	h.clock.Advance(3 * time.Minute)
	h.a.Signout()
	h.ev.ended(t)
	<-h.teardowns
	h.wantState(Locked)
	h.login("s2", "ana", time.Hour) // at 3:00: idle at 8:00
	h.clock.Advance(2 * time.Minute)
	h.wantState(Active)
	h.ev.none(t)
	h.clock.Advance(3 * time.Minute)
	if e := h.ev.ended(t); e.Reason != wire.ReasonIdle || e.SessionID != "s2" {
		t.Errorf("session.ended = %+v", e)
	}
}

// A restored session gets a fresh idle timeout from the restart.
func TestRestoredSessionIdles(t *testing.T) {
	dir, badges, clock := t.TempDir(), t.TempDir(), newFakeClock()
	h := startHarness(t, dir, badges, clock, withIdle(5*time.Minute))
	h.connect()
	h.login("s1", "ana", time.Hour)
	h.stop()
	clock.Advance(4 * time.Minute)

	h2 := startHarness(t, dir, badges, clock, withIdle(5*time.Minute))
	h2.ev.expect(t, EventSessionStarted)
	h2.wantState(Active) // and the timers armed
	clock.Advance(4 * time.Minute)
	h2.wantState(Active)
	clock.Advance(time.Minute)
	if e := h2.ev.ended(t); e.Reason != wire.ReasonIdle {
		t.Errorf("reason %q", e.Reason)
	}
}

func TestNegativeIdleTimeoutRefused(t *testing.T) {
	src, err := ParseAuthenticator("soft:"+t.TempDir(), authSoftOpts())
	mustNoErr(t, err)
	_, err = New(Config{StateDir: t.TempDir(), Hub: newFakeHub(t, newFakeClock()), Authenticators: src, IdleTimeout: -time.Second})
	if err == nil || !strings.Contains(err.Error(), "idle timeout") {
		t.Errorf("New with a negative idle timeout: %v", err)
	}
}

// TestIdleTimeoutSurvivesBackwardClockStep: the idle timeout runs on the
// monotonic clock as well as the wall clock, so a step of the system clock
// backwards (NTP correcting a kiosk that ran fast) does not postpone it by
// the size of the step.
func TestIdleTimeoutSurvivesBackwardClockStep(t *testing.T) {
	h := newHarness(t, withIdle(5*time.Minute))
	h.connect()
	h.login("s1", "ana", 8*time.Hour)
	h.stepClock(-time.Hour) // NTP steps the clock back an hour
	h.clock.Advance(5*time.Minute - clockCheck - time.Second)
	h.wantState(Active)
	h.ev.none(t)
	h.clock.Advance(time.Second)
	if e := h.ev.ended(t); e.Reason != wire.ReasonIdle || e.SessionID != "s1" {
		t.Errorf("session.ended = %+v, want s1 idle", e)
	}
}

// TestActivityAfterBackwardClockStepPostponesIdle: input after a backward
// step still starts the timeout again, measured from that input on both
// clocks.
func TestActivityAfterBackwardClockStepPostponesIdle(t *testing.T) {
	h := newHarness(t, withIdle(5*time.Minute))
	h.connect()
	h.login("s1", "ana", 8*time.Hour)
	h.stepClock(-time.Hour)
	h.clock.Advance(4*time.Minute - clockCheck)
	h.a.Activity()
	h.clock.Advance(4 * time.Minute)
	h.wantState(Active)
	h.ev.none(t)
	h.clock.Advance(time.Minute)
	if e := h.ev.ended(t); e.Reason != wire.ReasonIdle {
		t.Errorf("session.ended = %+v, want idle", e)
	}
}

// movingClock is a Clock without a separate monotonic clock whose time
// moves by step after every read, as a clock moved by another goroutine
// between two reads would.
type movingClock struct {
	now  time.Time
	step time.Duration
}

func (c *movingClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

func (c *movingClock) Now() time.Time {
	t := c.now
	c.now = c.now.Add(c.step)
	return t
}

// TestInputNowReadsOneInstant: a clock whose Now carries a monotonic
// reading (time.Now does) is read once for both clocks. Read twice, with
// the clock moved by 4 minutes between the reads, the monotonic reading
// was 4 minutes newer than the wall one, the idle deadline came 4 minutes
// early, and a worker who had just moved the mouse was signed out as idle
// (seen in the kiosk screen's TestKioskIdleTimeout under load).
func TestInputNowReadsOneInstant(t *testing.T) {
	c := &movingClock{now: time.Now(), step: 4 * time.Minute}
	a := &Agent{clock: c, cfg: Config{IdleTimeout: 5 * time.Minute}}
	last := a.inputNow()
	if got := last.mono - (last.wall.Sub(processStart.Round(0))); got > time.Second || got < -time.Second {
		t.Fatalf("inputNow's monotonic reading is %s off its wall reading", got)
	}
	// The input at last, and the idle deadline seen a moment later: 5
	// minutes after the input, whatever the clock did between reads.
	now := a.inputNow()
	if at, _ := a.idleDeadlineFrom(&last, now); !at.Equal(last.wall.Add(5 * time.Minute)) {
		t.Errorf("idle deadline %s after the input, want 5m0s", at.Sub(last.wall))
	}
}
