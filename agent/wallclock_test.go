package agent

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// The session ends, and idles, by the wall clock as well as the monotonic
// one (timers.go), while timers run on the monotonic clock alone, which
// stops while the kiosk is suspended and ignores steps of the system clock.
// These tests move the wall clock forward without the timers
// (fakeClock.Jump) with the hub unreachable, and expect the session to
// follow the wall clock within one clockCheck. Steps back and a kiosk clock
// off the hub's are in expiry_test.go.

func TestSessionEndsByWallClock(t *testing.T) {
	tests := []struct {
		name    string
		idle    time.Duration // Config.IdleTimeout
		session time.Duration // expires_at - login
		jump    time.Duration // the wall clock moves, the timers do not
		input   bool          // somebody touches the kiosk right after
		want    string        // the session.ended reason
	}{
		{name: "suspended past expires_at", session: 10 * time.Minute, jump: 2 * time.Hour, want: wire.ReasonExpired},
		{name: "suspended past expires_at, touched at wake-up", session: 10 * time.Minute, jump: 2 * time.Hour, input: true, want: wire.ReasonExpired},
		{name: "clock stepped past expires_at", session: 10 * time.Minute, jump: 11 * time.Minute, want: wire.ReasonExpired},
		{name: "suspended past the idle timeout", idle: 5 * time.Minute, session: time.Hour, jump: 6 * time.Minute, want: wire.ReasonIdle},
		// The input comes after the idle timeout passed: it must not
		// hand the previous worker's session to whoever woke the kiosk.
		{name: "suspended past the idle timeout, touched at wake-up", idle: 5 * time.Minute, session: time.Hour, jump: 6 * time.Minute, input: true, want: wire.ReasonIdle},
		{name: "suspended past both, idle timeout first", idle: 5 * time.Minute, session: time.Hour, jump: 2 * time.Hour, want: wire.ReasonIdle},
		{name: "suspended past both, expires_at first", idle: 30 * time.Minute, session: 10 * time.Minute, jump: 2 * time.Hour, want: wire.ReasonExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, withIdle(tt.idle))
			h.connect()
			h.login("s1", "ana", tt.session)
			h.hub.disconnect()
			h.ev.expect(t, EventDisconnected)

			h.clock.Jump(tt.jump)
			if tt.input {
				h.a.Activity()
			}
			h.clock.Advance(clockCheck)
			e := h.ev.ended(t)
			if e.SessionID != "s1" || e.Reason != tt.want {
				t.Errorf("session.ended = %+v, want reason %s", e, tt.want)
			}
			if s := <-h.teardowns; s.ID != "s1" {
				t.Errorf("teardown of %q", s.ID)
			}
			h.wantState(Locked)
			st, err := readSessionState(h.dir)
			if err != nil || st.Session != nil || len(st.Pending) != 1 || st.Pending[0] != (wire.SessionEnd{SessionID: "s1", Reason: tt.want}) {
				t.Errorf("session.json: %+v, %v; want session.end %s queued", st, err, tt.want)
			}
			h.clock.Advance(3 * time.Hour) // the session's timers fire, at last: nothing more happens
			h.wantState(Locked)
			h.ev.none(t)
		})
	}
}

// TestInputAfterSuspendChecksClock: the touch that wakes the kiosk ends a
// session that expired (or idled) meanwhile at once, before any timer.
func TestInputAfterSuspendChecksClock(t *testing.T) {
	for _, tt := range []struct {
		name string
		idle time.Duration
		want string
	}{
		{name: "expired", want: wire.ReasonExpired},
		{name: "idle", idle: 5 * time.Minute, want: wire.ReasonIdle},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, withIdle(tt.idle))
			h.connect()
			h.login("s1", "ana", 10*time.Minute)
			h.hub.disconnect()
			h.ev.expect(t, EventDisconnected)
			h.clock.Jump(2 * time.Hour)
			h.a.Activity()
			if e := h.ev.ended(t); e.Reason != tt.want {
				t.Errorf("reason %q, want %s", e.Reason, tt.want)
			}
		})
	}
}

// TestWarningByWallClock: a kiosk woken inside the warning window warns at
// once, and ends the session at expires_at by the wall clock.
func TestWarningByWallClock(t *testing.T) {
	h := newHarness(t) // warning lead 5 min
	h.connect()
	started := h.login("s1", "ana", 10*time.Minute)
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)

	h.clock.Jump(6 * time.Minute) // suspended for 6 min
	h.clock.Advance(clockCheck)
	if w := h.ev.expect(t, EventSessionWarning)[0]; w.SessionID != "s1" || !w.ExpiresAt.Equal(started.ExpiresAt) {
		t.Errorf("session.warning = %+v", w)
	}
	h.wantState(Warning)

	h.clock.Advance(4*time.Minute - 2*clockCheck) // just before expires_at
	h.wantState(Warning)
	h.ev.none(t)
	h.clock.Advance(2 * clockCheck)
	if e := h.ev.ended(t); e.Reason != wire.ReasonExpired {
		t.Errorf("reason %q", e.Reason)
	}
	<-h.teardowns
	h.wantState(Locked)
}

// TestIdleTimeoutAfterExtension: a session.extend re-arms the expiry's
// timers without dropping the idle timeout.
func TestIdleTimeoutAfterExtension(t *testing.T) {
	h := newHarness(t, withIdle(5*time.Minute))
	h.connect()
	h.login("s1", "ana", time.Hour)
	h.clock.Advance(time.Minute)
	h.wantState(Active)
	h.hub.push(wire.TypeSessionExtend, "p1", wire.SessionExtend{SessionID: "s1", ExpiresAt: h.clock.Now().Add(2 * time.Hour)})
	h.ev.expect(t, EventSessionExtended)
	h.wantState(Active)

	h.clock.Advance(4*time.Minute - time.Second)
	h.wantState(Active)
	h.ev.none(t)
	h.clock.Advance(time.Second)
	if e := h.ev.ended(t); e.Reason != wire.ReasonIdle {
		t.Errorf("reason %q", e.Reason)
	}
}

// A kiosk clock behind the hub's that is suspended with the hub
// unreachable: the monotonic deadline stops while it sleeps, and its own
// wall clock reaches expires_at only the offset later. The session ends
// when its wall clock plus the skew measured at the welcome passes
// expires_at, not 10 minutes after.
func TestSuspendedKioskBehindHubEndsOnHubTime(t *testing.T) {
	h := newHarness(t)
	h.hub.setAhead(10 * time.Minute)
	h.connect()
	h.login("s1", "ana", 40*time.Minute) // expires_at 30 min ahead on the hub's clock
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)

	h.clock.Jump(20 * time.Minute) // asleep: the wall clock moves, the timers do not
	h.clock.Advance(clockCheck)
	h.wantState(Active)
	h.ev.none(t)

	h.clock.Jump(11 * time.Minute) // 31 min on the hub's clock, 9 min before expires_at on the kiosk's
	h.clock.Advance(clockCheck)
	if e := h.ev.ended(t); e.SessionID != "s1" || e.Reason != wire.ReasonExpired {
		t.Errorf("session.ended = %+v, want s1 expired", e)
	}
	h.wantState(Locked)
}

// TestEndsAtOnTheKioskClock: a kiosk whose clock is behind the hub's ends
// the session on the hub's time, and its events say when by the kiosk's
// own clock (ends_at), so that a screen counting down to expires_at is
// not minutes late: on session.started, session.warning and
// session.extended.
func TestEndsAtOnTheKioskClock(t *testing.T) {
	h := newHarness(t)
	h.hub.setAhead(10 * time.Minute)
	h.connect()
	e := h.login("s1", "ana", 40*time.Minute) // 30 min left on the hub's clock
	if want := h.clock.Now().Add(30 * time.Minute); !e.EndsAt.Equal(want) || !e.ExpiresAt.Equal(h.clock.Now().Add(40*time.Minute)) {
		t.Errorf("session.started ends_at %v expires_at %v, want ends_at %v (the hub is 10 min ahead)", e.EndsAt, e.ExpiresAt, want)
	}
	b, err := json.Marshal(e)
	if err != nil || !strings.Contains(string(b), `"ends_at":"`+formatTime(e.EndsAt)+`"`) {
		t.Errorf("session.started JSON %s, want ends_at", b)
	}
	h.clock.Advance(25 * time.Minute) // the harness warns 5 min before the end
	w := h.ev.expect(t, EventSessionWarning)[0]
	if !w.EndsAt.Equal(e.EndsAt) {
		t.Errorf("session.warning ends_at %v, want %v", w.EndsAt, e.EndsAt)
	}
}
