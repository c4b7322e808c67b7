package agent

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// A session ends at expires_at on the wall clock, or once the monotonic
// clock has run the time the hub left it (expires_at minus the hub's time,
// the kiosk's wall clock plus the skew seen in welcome), whichever comes
// first (timers.go). These tests set the fake hub's clock apart from the
// kiosk's (fakeHub.setAhead) and step the kiosk's wall clock without the
// timers (fakeClock.Jump), with the hub unreachable.

// warnThenEnd moves the clock on: nothing happens until untilWarn, then the
// 5-minute warning, then nothing until the end, with reason.
func (h *harness) warnThenEnd(t *testing.T, untilWarn time.Duration, reason string) {
	t.Helper()
	h.clock.Advance(untilWarn - time.Second)
	h.wantState(Active)
	h.ev.none(t)
	h.clock.Advance(time.Second)
	h.ev.expect(t, EventSessionWarning)
	h.clock.Advance(5*time.Minute - time.Second)
	h.wantState(Warning)
	h.ev.none(t)
	h.clock.Advance(time.Second)
	if e := h.ev.ended(t); e.Reason != reason {
		t.Errorf("reason %q, want %s", e.Reason, reason)
	}
}

// TestExpiryByHubTime: a session the hub grants for 30 minutes warns 5
// minutes before its end and ends after 30 minutes on the monotonic clock,
// not later, when the kiosk's clock is behind the hub's or stepped back, and
// not earlier either; a kiosk clock ahead of the hub's, or stepped forward,
// ends it when the wall clock passes expires_at, as before.
func TestExpiryByHubTime(t *testing.T) {
	tests := []struct {
		name      string
		ahead     time.Duration // the hub's clock minus the kiosk's
		stepAt    time.Duration // after the grant, on the monotonic clock
		step      time.Duration // the wall clock moves by this at stepAt, the timers do not
		warn, end time.Duration // after the grant, on the monotonic clock
		// late is how much later the warning and the end may come: a
		// step forward, which no timer sees, is up to the periodic check.
		late time.Duration
	}{
		{name: "clocks agree", warn: 25 * time.Minute, end: 30 * time.Minute},
		{name: "kiosk clock 10 min behind the hub's", ahead: 10 * time.Minute, warn: 25 * time.Minute, end: 30 * time.Minute},
		{name: "kiosk clock 10 min ahead of the hub's", ahead: -10 * time.Minute, warn: 15 * time.Minute, end: 20 * time.Minute},
		{name: "clock stepped back an hour", stepAt: time.Minute, step: -time.Hour, warn: 25 * time.Minute, end: 30 * time.Minute},
		{name: "clock stepped back an hour after the warning", stepAt: 26 * time.Minute, step: -time.Hour, warn: 25 * time.Minute, end: 30 * time.Minute},
		{name: "kiosk clock behind the hub's, stepped back", ahead: 10 * time.Minute, stepAt: time.Minute, step: -time.Hour, warn: 25 * time.Minute, end: 30 * time.Minute},
		// The timers armed for expires_at on the wall clock fire first,
		// an hour early on it: they wait for the monotonic deadline.
		{name: "kiosk clock ahead of the hub's, stepped back", ahead: -10 * time.Minute, stepAt: time.Minute, step: -time.Hour, warn: 25 * time.Minute, end: 30 * time.Minute},
		{name: "clock stepped forward 5 min", stepAt: time.Minute, step: 5 * time.Minute, warn: 20 * time.Minute, end: 25 * time.Minute, late: clockCheck},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.hub.setAhead(tt.ahead)
			h.connect()
			h.login("s1", "ana", 30*time.Minute+tt.ahead) // 30 min on the hub's clock
			h.hub.disconnect()
			h.ev.expect(t, EventDisconnected)

			var elapsed time.Duration
			stepped := tt.step == 0
			to := func(at time.Duration) { // at after the grant, on the monotonic clock
				announce := false
				if !stepped && at > tt.stepAt {
					h.clock.Advance(tt.stepAt - elapsed)
					elapsed = tt.stepAt
					h.clock.Jump(tt.step)
					stepped = true
					// A step back moves the end on the wall clock: the
					// next check announces it, and in Warning the warning
					// again (clockstep_test.go).
					announce = tt.step < 0
				}
				h.clock.Advance(at - elapsed)
				elapsed = at
				if announce {
					h.ev.expect(t, EventSessionExtended)
					if tt.stepAt > tt.warn {
						h.ev.expect(t, EventSessionWarning)
					}
				}
			}
			to(tt.warn - time.Second)
			h.wantState(Active)
			h.ev.none(t)
			to(tt.warn + tt.late)
			h.ev.expect(t, EventSessionWarning)
			h.wantState(Warning)
			to(tt.end - time.Second)
			h.wantState(Warning)
			h.ev.none(t)
			to(tt.end + tt.late)
			if e := h.ev.ended(t); e.SessionID != "s1" || e.Reason != wire.ReasonExpired {
				t.Errorf("session.ended = %+v, want s1 expired", e)
			}
			<-h.teardowns
			h.wantState(Locked)
			h.clock.Advance(2 * time.Hour) // the timers for expires_at on the wall clock fire: nothing more
			h.wantState(Locked)
			h.ev.none(t)
		})
	}
}

// TestWelcomeRebasesExpiry: a kiosk whose clock agreed with the hub's at
// the welcome was set back 10 minutes while the hub was unreachable, and
// then slept (the monotonic clock stood still) past the session's end by
// the hub's clock, not past expires_at on its own clock, nor past it plus
// the skew it knew (none): the welcome that follows, with the hub's time,
// ends the session at once. (A clock known to be behind ends it without
// the hub: TestSuspendedKioskBehindHubEndsOnHubTime.)
func TestWelcomeRebasesExpiry(t *testing.T) {
	h := newHarness(t)
	h.connect()
	h.loginWith(wire.SessionGrant{SessionID: "s1", User: "ana", Role: "nurse", ExpiryReason: wire.ReasonShiftEnd}, 30*time.Minute)
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)

	h.clock.Jump(-10 * time.Minute)  // the kiosk's clock is set back
	h.hub.setAhead(10 * time.Minute) // the hub's is not
	h.clock.Jump(32 * time.Minute)   // suspended: 32 min on the hub's clock, 22 on the kiosk's
	h.clock.Advance(clockCheck)
	h.wantState(Active)
	h.ev.none(t)

	h.hub.connect()
	h.ev.expect(t, EventConnected)
	if e := h.ev.ended(t); e.SessionID != "s1" || e.Reason != wire.ReasonShiftEnd {
		t.Errorf("session.ended = %+v, want s1 shift_end", e)
	}
	h.wantState(Locked)
}

// TestExtendRebasesExpiry: session.extend sets the monotonic deadline again,
// from the hub's time at the extension: the session ends 30 minutes after
// an extension to the hub's time plus 30 minutes, although the kiosk's
// clock is 10 minutes behind the hub's and was set back an hour after it.
func TestExtendRebasesExpiry(t *testing.T) {
	h := newHarness(t)
	h.hub.setAhead(10 * time.Minute)
	h.connect()
	h.loginWith(wire.SessionGrant{SessionID: "s1", User: "ana", Role: "nurse", ExpiryReason: wire.ReasonShiftEnd}, 40*time.Minute)
	h.clock.Advance(20 * time.Minute)
	h.hub.push(wire.TypeSessionExtend, "p1", wire.SessionExtend{SessionID: "s1", ExpiresAt: h.hub.now().Add(30 * time.Minute)})
	h.ev.expect(t, EventSessionExtended)
	if st, err := readSessionState(h.dir); err != nil || st.Session == nil || st.Session.SkewMillis != (10*time.Minute).Milliseconds() {
		t.Errorf("session.json keeps the skew: %+v, %v", st.Session, err)
	}
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)
	h.stepClock(-time.Hour)

	h.warnThenEnd(t, 25*time.Minute-clockCheck, wire.ReasonShiftEnd) // past the grant's 30 min
}

// stoppedBehindHub leaves an agent stopped with session s1 of ana live, 30
// minutes granted on the hub's clock, which is 10 minutes ahead of the
// kiosk's; it returns the agent's directories and clock for a restart.
func stoppedBehindHub(t *testing.T) (dir, badges string, clock *fakeClock) {
	dir, badges, clock = t.TempDir(), t.TempDir(), newFakeClock()
	h := startHarness(t, dir, badges, clock)
	h.hub.setAhead(10 * time.Minute)
	h.connect()
	h.login("s1", "ana", 40*time.Minute) // 30 min on the hub's clock
	h.stop()
	return dir, badges, clock
}

// TestRestartKeepsSkew: a restarted agent, hub unreachable, sets the
// monotonic deadline again from its wall clock and the skew kept in
// session.json: the session still ends by the hub's clock, and a step of
// the clock back after the restart does not lengthen it.
func TestRestartKeepsSkew(t *testing.T) {
	dir, badges, clock := stoppedBehindHub(t)
	if st, err := readSessionState(dir); err != nil || st.Session == nil || st.Session.SkewMillis != (10*time.Minute).Milliseconds() {
		t.Fatalf("session.json keeps the skew: %+v, %v", st.Session, err)
	}
	clock.Advance(5 * time.Minute)

	h2 := startHarness(t, dir, badges, clock)
	if e := h2.ev.expect(t, EventSessionStarted)[0]; !e.Restored {
		t.Errorf("session.started = %+v, want restored", e)
	}
	h2.wantState(Active)
	h2.stepClock(-time.Hour)
	h2.warnThenEnd(t, 20*time.Minute-clockCheck, wire.ReasonExpired)
}

// TestRestartPastHubExpiryEndsSession: a session whose end by the hub's
// clock passed while the agent was down, though expires_at has not on the
// kiosk's clock, is ended at start, without session.started.
func TestRestartPastHubExpiryEndsSession(t *testing.T) {
	dir, badges, clock := stoppedBehindHub(t)
	clock.Advance(35 * time.Minute)

	h2 := startHarness(t, dir, badges, clock)
	if e := h2.ev.ended(t); e.SessionID != "s1" || e.Reason != wire.ReasonExpired {
		t.Errorf("session.ended = %+v, want s1 expired", e)
	}
	h2.wantState(Locked)
}

// TestRestartWelcomeRebasesExpiry: the kiosk's clock was set back an hour
// while the agent was down, so the restored session's monotonic deadline,
// from the wall clock and the old skew, is an hour late; the welcome gives
// the hub's time, and the session ends on time (its end announced again,
// and a warning at once, as it is inside the warning window by then). A later welcome repeats no warning.
func TestRestartWelcomeRebasesExpiry(t *testing.T) {
	dir, badges, clock := t.TempDir(), t.TempDir(), newFakeClock()
	h := startHarness(t, dir, badges, clock)
	h.connect()
	h.login("s1", "ana", 30*time.Minute)
	h.stop()
	clock.Advance(5 * time.Minute)
	clock.Jump(-time.Hour)

	h2 := startHarness(t, dir, badges, clock)
	h2.ev.expect(t, EventSessionStarted)
	clock.Advance(21 * time.Minute) // 26 min after the grant
	h2.wantState(Active)
	h2.ev.none(t)

	h2.hub.setAhead(time.Hour)
	h2.hub.connect()
	h2.ev.expect(t, EventConnected, EventSessionExtended, EventSessionWarning)
	if st, err := readSessionState(dir); err != nil || st.Session == nil || st.Session.SkewMillis != time.Hour.Milliseconds() {
		t.Errorf("session.json keeps the new skew: %+v, %v", st.Session, err)
	}
	h2.hub.disconnect()
	h2.hub.connect()
	h2.ev.expect(t, EventDisconnected, EventConnected)
	h2.wantState(Warning)
	h2.ev.none(t)

	clock.Advance(4*time.Minute - time.Second)
	h2.wantState(Warning)
	h2.ev.none(t)
	clock.Advance(time.Second)
	if e := h2.ev.ended(t); e.Reason != wire.ReasonExpired {
		t.Errorf("reason %q", e.Reason)
	}
}
