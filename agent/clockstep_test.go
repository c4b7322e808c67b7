package agent

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// A step of the kiosk's clock does not move the live session's real end
// (deadline b, timers.go), but it moves the wall-clock time that end reads
// as, which is what a screen counts down to (ends_at). These tests step the
// wall clock without the timers (fakeClock.Jump) and expect the agent to
// give the screen the corrected ends_at (session.extended, reason clock)
// within one clockCheck, and nothing for a clock that was not stepped, or
// stepped by less than endsAtTolerance.

// wantClockExtended reads the next event, which must be session.extended
// (reason clock) for s1 with ends_at want and expires_at unchanged.
func wantClockExtended(t *testing.T, h *harness, expiresAt, want time.Time) Event {
	t.Helper()
	e := h.ev.expect(t, EventSessionExtended)[0]
	if e.SessionID != "s1" || e.User != "ana" || e.Reason != ExtendedClock || !e.ExpiresAt.Equal(expiresAt) || !e.EndsAt.Equal(want) {
		t.Errorf("session.extended = %+v, want s1 of ana, reason %s, expires_at %s, ends_at %s", e, ExtendedClock, expiresAt, want)
	}
	return e
}

// stepClock steps the kiosk's wall clock by d (fakeClock.Jump) and runs
// the next periodic check, which must announce the live session's end as
// the clock now reads it (session.extended, reason clock). For tests of
// other deadlines whose clock is stepped back.
func (h *harness) stepClock(d time.Duration) Event {
	h.t.Helper()
	h.do(func() {}) // timer callbacks queued by the last Advance run first
	h.clock.Jump(d)
	h.clock.Advance(clockCheck)
	e := h.ev.expect(h.t, EventSessionExtended)[0]
	if e.Reason != ExtendedClock {
		h.t.Fatalf("session.extended = %+v, want reason %s", e, ExtendedClock)
	}
	return e
}

// TestClockStepAnnouncesEndsAt: a session of 30 minutes whose kiosk clock
// is stepped a minute after the grant. A step that moves the end on the
// wall clock announces it; the warning and the end then come at their
// real times, with the corrected ends_at, and nothing is announced twice.
func TestClockStepAnnouncesEndsAt(t *testing.T) {
	tests := []struct {
		name  string
		steps []time.Duration // the wall clock moves by each, a check apart
		// moved is how far ends_at moves at each step (0: no event).
		moved []time.Duration
		// warn and end are after the grant on the monotonic clock.
		warn, end time.Duration
		// late is how much later the warning and the end may come: a
		// step forward, which no timer sees, is up to the periodic check.
		late time.Duration
	}{
		{name: "no step", warn: 25 * time.Minute, end: 30 * time.Minute},
		{name: "stepped back 10 min", steps: []time.Duration{-10 * time.Minute}, moved: []time.Duration{-10 * time.Minute},
			warn: 25 * time.Minute, end: 30 * time.Minute},
		{name: "stepped back an hour", steps: []time.Duration{-time.Hour}, moved: []time.Duration{-time.Hour},
			warn: 25 * time.Minute, end: 30 * time.Minute},
		{name: "stepped back 10 min, then forward again", steps: []time.Duration{-10 * time.Minute, 10 * time.Minute},
			moved: []time.Duration{-10 * time.Minute, 10 * time.Minute}, warn: 25 * time.Minute, end: 30 * time.Minute},
		// Within endsAtTolerance: no event for jitter; the warning
		// carries the end to the second.
		{name: "stepped back 1 s", steps: []time.Duration{-time.Second}, moved: []time.Duration{0},
			warn: 25 * time.Minute, end: 30 * time.Minute},
		{name: "stepped back 3 s", steps: []time.Duration{-3 * time.Second}, moved: []time.Duration{-3 * time.Second},
			warn: 25 * time.Minute, end: 30 * time.Minute},
		// expires_at on the wall clock (a) ends the session: its wall-clock
		// end stays where it was announced, and comes sooner.
		{name: "stepped forward 5 min", steps: []time.Duration{5 * time.Minute}, moved: []time.Duration{0},
			warn: 20 * time.Minute, end: 25 * time.Minute, late: clockCheck},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t) // warning lead 5 min
			h.connect()
			started := h.login("s1", "ana", 30*time.Minute)
			if !started.EndsAt.Equal(started.ExpiresAt) {
				t.Fatalf("session.started = %+v, want ends_at = expires_at", started)
			}
			elapsed := time.Minute // on the monotonic clock
			h.clock.Advance(time.Minute)
			endsAt, shift := started.EndsAt, time.Duration(0)
			for i, step := range tt.steps {
				h.do(func() {}) // timer callbacks queued by the last Advance run first
				h.clock.Jump(step)
				shift += step
				h.clock.Advance(clockCheck)
				elapsed += clockCheck
				if tt.moved[i] != 0 {
					endsAt = endsAt.Add(tt.moved[i])
					wantClockExtended(t, h, started.ExpiresAt, endsAt)
				}
				h.wantState(Active)
				h.ev.none(t)
			}
			// The real end, read on the kiosk's clock as it is now: the
			// grant's end moved by the steps, unless expires_at comes first.
			trueEnd := minTime(started.ExpiresAt, started.EndsAt.Add(shift))
			if d := endsAt.Sub(trueEnd); d > endsAtTolerance || d < -endsAtTolerance {
				t.Errorf("ends_at announced %s, want %s", endsAt, trueEnd)
			}

			to := func(at time.Duration) { h.clock.Advance(at - elapsed); elapsed = at }
			to(tt.warn - time.Second) // many checks: nothing more to announce
			h.wantState(Active)
			h.ev.none(t)
			to(tt.warn + tt.late)
			if w := h.ev.expect(t, EventSessionWarning)[0]; !w.EndsAt.Equal(trueEnd) || w.Reason != "" {
				t.Errorf("session.warning = %+v, want ends_at %s", w, trueEnd)
			}
			h.wantState(Warning)
			to(tt.end - time.Second)
			h.wantState(Warning)
			h.ev.none(t)
			to(tt.end + tt.late)
			if e := h.ev.ended(t); e.Reason != wire.ReasonExpired {
				t.Errorf("session.ended = %+v, want expired", e)
			}
		})
	}
}

// TestClockStepDuringWarning: a step while the session is in Warning
// announces the corrected end and then the warning again (a screen takes
// session.extended for the end of the countdown); the session stays in
// Warning and ends on time. For the offline deadline too, whose warning
// keeps its reason.
func TestClockStepDuringWarning(t *testing.T) {
	t.Run("own end", func(t *testing.T) {
		h := newHarness(t)
		h.connect()
		started := h.login("s1", "ana", 30*time.Minute)
		h.clock.Advance(26 * time.Minute)
		h.ev.expect(t, EventSessionWarning)
		h.wantState(Warning)

		h.do(func() {}) // timer callbacks queued by the last Advance run first
		h.clock.Jump(-10 * time.Minute)
		h.clock.Advance(clockCheck)
		want := started.EndsAt.Add(-10 * time.Minute)
		wantClockExtended(t, h, started.ExpiresAt, want)
		if w := h.ev.expect(t, EventSessionWarning)[0]; !w.EndsAt.Equal(want) || w.Reason != "" {
			t.Errorf("session.warning = %+v, want it again with ends_at %s", w, want)
		}
		h.wantState(Warning)
		h.clock.Advance(4*time.Minute - clockCheck - time.Second) // 30 min after the grant, less a second
		h.wantState(Warning)
		h.ev.none(t)
		h.clock.Advance(time.Second)
		if e := h.ev.ended(t); e.Reason != wire.ReasonExpired {
			t.Errorf("session.ended = %+v, want expired", e)
		}
	})
	t.Run("offline deadline", func(t *testing.T) {
		h := newHarness(t, withOfflineGrace(15*time.Minute))
		h.connect()
		started := h.login("s1", "ana", 8*time.Hour)
		lost := h.clock.Now()
		h.hub.disconnect()
		h.ev.expect(t, EventDisconnected)
		h.clock.Advance(11 * time.Minute)
		if w := h.ev.expect(t, EventSessionWarning)[0]; w.Reason != wire.ReasonOffline || !w.EndsAt.Equal(lost.Add(15*time.Minute)) {
			t.Fatalf("session.warning = %+v, want reason offline", w)
		}

		h.do(func() {}) // timer callbacks queued by the last Advance run first
		h.clock.Jump(-10 * time.Minute)
		h.clock.Advance(clockCheck)
		want := lost.Add(5 * time.Minute)
		wantClockExtended(t, h, started.ExpiresAt, want)
		if w := h.ev.expect(t, EventSessionWarning)[0]; w.Reason != wire.ReasonOffline || !w.EndsAt.Equal(want) {
			t.Errorf("session.warning = %+v, want it again, reason offline, ends_at %s", w, want)
		}
		h.wantState(Warning)
		h.clock.Advance(4*time.Minute - clockCheck - time.Second)
		h.ev.none(t)
		h.clock.Advance(time.Second)
		if e := h.ev.ended(t); e.Reason != wire.ReasonOffline {
			t.Errorf("session.ended = %+v, want offline", e)
		}
	})
}

// TestClockStepOfflineDeadlineNotShown: with the hub away, the offline
// deadline is the nearer end but not announced until its warning: a step
// announces the session's own end, corrected, not the offline deadline.
func TestClockStepOfflineDeadlineNotShown(t *testing.T) {
	h := newHarness(t, withOfflineGrace(15*time.Minute))
	h.connect()
	started := h.login("s1", "ana", time.Hour)
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)
	h.clock.Advance(time.Minute)
	h.do(func() {}) // timer callbacks queued by the last Advance run first
	h.clock.Jump(-10 * time.Minute)
	h.clock.Advance(clockCheck)
	wantClockExtended(t, h, started.ExpiresAt, started.EndsAt.Add(-10*time.Minute))
	h.wantState(Active)
	h.ev.none(t)
}

// TestClockStepSeenAtWelcome: a kiosk clock set back 10 minutes while the
// agent was down is not seen by a restored session (it sets deadline b
// from the wall clock and the skew kept), but the welcome's server_time
// shows it: the corrected ends_at is announced at once, before any timer.
// Not when the welcome revokes the session: it ends without being shown
// again.
func TestClockStepSeenAtWelcome(t *testing.T) {
	for _, revoked := range []bool{false, true} {
		name := map[bool]string{false: "announced", true: "revoked"}[revoked]
		t.Run(name, func(t *testing.T) {
			dir, badges, clock := t.TempDir(), t.TempDir(), newFakeClock()
			h := startHarness(t, dir, badges, clock)
			h.connect()
			started := h.login("s1", "ana", 30*time.Minute)
			h.stop()
			clock.Advance(time.Minute)
			clock.Jump(-10 * time.Minute)

			h2 := startHarness(t, dir, badges, clock)
			if e := h2.ev.expect(t, EventSessionStarted)[0]; !e.EndsAt.Equal(started.EndsAt) {
				t.Fatalf("restored session.started = %+v, want ends_at %s (the step is not seen yet)", e, started.EndsAt)
			}
			h2.do(func() {})
			h2.hub.setAhead(10 * time.Minute)
			w := wire.Welcome{DeviceID: "kiosk-1", ServerTime: h2.hub.now()}
			revoke := wire.SessionRevoke{SessionID: "s1", Reason: wire.ReasonDeprovisioned}
			if revoked {
				w.Revoke = &revoke
			}
			h2.hub.connectWith(w)
			h2.ev.expect(t, EventConnected)
			if revoked {
				h2.hub.push(wire.TypeSessionRevoke, "w1", revoke) // as Client.session passes it on
				if e := h2.ev.ended(t); e.Reason != wire.ReasonDeprovisioned {
					t.Errorf("session.ended = %+v, want deprovisioned", e)
				}
				h2.wantState(Locked)
				h2.ev.none(t)
				return
			}
			wantClockExtended(t, h2, started.ExpiresAt, started.EndsAt.Add(-10*time.Minute))
			h2.wantState(Active)
			h2.hub.disconnect()
			h2.hub.connect() // the same skew: nothing moved
			h2.ev.expect(t, EventDisconnected, EventConnected)
			h2.clock.Advance(clockCheck)
			h2.wantState(Active)
			h2.ev.none(t)
		})
	}
}

// TestClockExtendedJSON: the event's stdout line carries the reason and
// the corrected ends_at.
func TestClockExtendedJSON(t *testing.T) {
	end := time.Date(2026, 3, 2, 8, 20, 0, 0, time.UTC)
	var out bytes.Buffer
	NewJSONLines(&out).Emit(Event{Event: EventSessionExtended, Time: end.Add(-30 * time.Minute), SessionID: "s1", User: "ana",
		ExpiresAt: end.Add(10 * time.Minute), EndsAt: end, Reason: ExtendedClock})
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got["event"] != "session.extended" || got["reason"] != "clock" || got["ends_at"] != "2026-03-02T08:20:00.000Z" ||
		got["expires_at"] != "2026-03-02T08:30:00.000Z" {
		t.Errorf("session.extended line %s", out.Bytes())
	}
}
