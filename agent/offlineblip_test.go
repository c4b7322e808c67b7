package agent

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// A kiosk profile's offline grace can be shorter than the warning lead
// (the harness warns 5 minutes ahead): the offline deadline is then inside
// the warning window the moment the channel drops. These tests check that
// a network blip shows nothing on the worker's screen, that the offline
// warning comes once the hub has been out of reach for offlineWarnSettle
// (on its own timer, not the next periodic check), and that the session
// still ends at the offline deadline.

func TestOfflineWarnSettle(t *testing.T) {
	for _, tc := range []struct {
		grace, want time.Duration
	}{
		{15 * time.Minute, 10 * time.Second},
		{2 * time.Minute, 10 * time.Second},
		{40 * time.Second, 10 * time.Second},
		{30 * time.Second, 7500 * time.Millisecond},
		{time.Second, 250 * time.Millisecond},
	} {
		if got := offlineWarnSettle(tc.grace); got != tc.want {
			t.Errorf("offlineWarnSettle(%s) = %s, want %s", tc.grace, got, tc.want)
		}
	}
}

// TestOfflineBlipShowsNothing: a hub back within offlineWarnSettle (the
// agent reconnects within a second or two) shows neither a session.warning
// (reason offline) nor its session.extended (reason reconnected), whatever
// the welcome says of the hub's clock, also when a warning for the
// session's own end is on screen; and the session goes on to its own end.
func TestOfflineBlipShowsNothing(t *testing.T) {
	for _, tc := range []struct {
		name    string
		grace   time.Duration
		session time.Duration // the session's own end, from the login
		blip    time.Duration // how long the hub is out of reach
		welcome func(h *harness)
	}{
		{"one second", 2 * time.Minute, 8 * time.Hour, time.Second, func(h *harness) { h.hub.connect() }},
		{"just short of the settle", 2 * time.Minute, 8 * time.Hour, maxOfflineWarnSettle - time.Second, func(h *harness) { h.hub.connect() }},
		{"older hub", 2 * time.Minute, 8 * time.Hour, 2 * time.Second, func(h *harness) { h.hub.connectWith(wire.Welcome{DeviceID: "kiosk-1"}) }},
		{"short settle", 30 * time.Second, 8 * time.Hour, 7 * time.Second, func(h *harness) { h.hub.connect() }},
		{"own warning on screen", 2 * time.Minute, 4 * time.Minute, 5 * time.Second, func(h *harness) { h.hub.connect() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, withOfflineGrace(tc.grace))
			h.connect()
			g := h.login("s1", "ana", tc.session)
			state := Active
			if tc.session <= 5*time.Minute {
				state = Warning
				if w := h.ev.expect(t, EventSessionWarning)[0]; w.Reason != "" || !w.EndsAt.Equal(g.ExpiresAt) {
					t.Fatalf("session.warning = %+v, want no reason, ends at %s", w, g.ExpiresAt)
				}
			}
			h.hub.disconnect()
			h.ev.expect(t, EventDisconnected)
			h.clock.Advance(tc.blip)
			h.wantState(state)
			h.ev.none(t)

			tc.welcome(h)
			h.ev.expect(t, EventConnected)
			h.wantState(state)
			h.ev.none(t)

			// Nothing more until the session's own end: the grace and its
			// settle are gone with the outage.
			if state == Active {
				h.clock.Advance(time.Hour)
				h.wantState(Active)
				h.ev.none(t)
				return
			}
			h.clock.Advance(tc.session - tc.blip - time.Millisecond)
			h.wantState(Warning)
			h.ev.none(t)
			h.clock.Advance(time.Millisecond)
			if e := h.ev.ended(t); e.Reason != wire.ReasonExpired {
				t.Errorf("session.ended = %+v, want reason expired", e)
			}
		})
	}
}

// TestOfflineBlipsInARow: each outage counts its settle from its own
// start: blips one after the other show nothing.
func TestOfflineBlipsInARow(t *testing.T) {
	h := newHarness(t, withOfflineGrace(2*time.Minute))
	h.connect()
	h.login("s1", "ana", 8*time.Hour)
	for range 5 {
		h.hub.disconnect()
		h.ev.expect(t, EventDisconnected)
		h.clock.Advance(maxOfflineWarnSettle - time.Second)
		h.hub.connect()
		h.ev.expect(t, EventConnected)
		h.clock.Advance(time.Second)
	}
	h.clock.Advance(time.Minute)
	h.wantState(Active)
	h.ev.none(t)
}

// TestOfflineWarnsAfterSettle: a hub out of reach for longer than
// offlineWarnSettle warns at the settle time (when the offline deadline is
// already inside the warning window: a short grace), or at the deadline
// minus the lead (the default 15-minute grace, as before), with ends_at
// the offline deadline; the session ends at exactly that deadline when the
// hub never comes back, and a hub back before it takes the warning back
// (session.extended, reason reconnected, ends_at the session's own end).
func TestOfflineWarnsAfterSettle(t *testing.T) {
	for _, tc := range []struct {
		name   string
		grace  time.Duration
		warnAt time.Duration // after the drop
	}{
		// The settle time falls on a periodic check (clockCheck).
		{"grace 2m", 2 * time.Minute, maxOfflineWarnSettle},
		// It falls between two periodic checks: its own timer warns.
		{"grace 30s", 30 * time.Second, 7500 * time.Millisecond},
		{"grace 1s", time.Second, 250 * time.Millisecond},
		// The settle is long past when the deadline's warning is due.
		{"default grace", 15 * time.Minute, 10 * time.Minute},
	} {
		for _, back := range []bool{false, true} {
			name := tc.name + map[bool]string{false: ", hub never back", true: ", hub back"}[back]
			t.Run(name, func(t *testing.T) {
				h := newHarness(t, withOfflineGrace(tc.grace))
				h.connect()
				g := h.login("s1", "ana", 8*time.Hour)
				if !g.EndsAt.Equal(g.ExpiresAt) {
					t.Fatalf("session.started ends_at %s, want %s", g.EndsAt, g.ExpiresAt)
				}
				lost := h.clock.Now()
				deadline := lost.Add(tc.grace)
				h.hub.disconnect()
				h.ev.expect(t, EventDisconnected)

				h.clock.Advance(tc.warnAt - time.Millisecond)
				h.wantState(Active)
				h.ev.none(t)
				h.clock.Advance(time.Millisecond)
				w := h.ev.expect(t, EventSessionWarning)[0]
				if w.Reason != wire.ReasonOffline || !w.EndsAt.Equal(deadline) {
					t.Errorf("session.warning = %+v, want reason offline, ends at %s", w, deadline)
				}
				h.wantState(Warning)

				left := tc.grace - tc.warnAt
				if back {
					h.clock.Advance(left / 2)
					h.hub.connect()
					evs := h.ev.expect(t, EventConnected, EventSessionExtended)
					if x := evs[1]; x.Reason != ExtendedReconnected || !x.EndsAt.Equal(g.ExpiresAt) {
						t.Errorf("session.extended = %+v, want reason %s, ends at %s", x, ExtendedReconnected, g.ExpiresAt)
					}
					h.wantState(Active)
					h.clock.Advance(tc.grace)
					h.wantState(Active)
					h.ev.none(t)
					return
				}
				h.clock.Advance(left - time.Millisecond)
				h.wantState(Warning)
				h.ev.none(t)
				h.clock.Advance(time.Millisecond)
				if e := h.ev.ended(t); e.Reason != wire.ReasonOffline {
					t.Errorf("session.ended = %+v, want reason offline", e)
				}
				if !h.clock.Now().Equal(deadline) {
					t.Errorf("ended at %s, want the offline deadline %s", h.clock.Now(), deadline)
				}
			})
		}
	}
}

// TestOfflineSettleRestart: a restarted agent counts the settle, as the
// grace, from when the hub was lost, kept in session.json (offline_since),
// or from its own start when the hub was in reach before: a restart does
// not flash the offline warning either. session.started gives the
// session's own end; the offline deadline comes with its warning.
func TestOfflineSettleRestart(t *testing.T) {
	const grace = 2 * time.Minute
	t.Run("lost just before the restart", func(t *testing.T) {
		dir, badges, clock := t.TempDir(), t.TempDir(), newFakeClock()
		h := startHarness(t, dir, badges, clock, withOfflineGrace(grace))
		h.connect()
		g := h.login("s1", "ana", 8*time.Hour)
		lost := clock.Now()
		h.hub.disconnect()
		h.ev.expect(t, EventDisconnected)
		clock.Advance(3 * time.Second)
		h.stop()
		h.ev.none(t)
		clock.Advance(time.Second)

		h2 := startHarness(t, dir, badges, clock, withOfflineGrace(grace))
		if s := h2.ev.expect(t, EventSessionStarted)[0]; !s.Restored || !s.EndsAt.Equal(g.ExpiresAt) {
			t.Fatalf("session.started = %+v, want restored, ends at %s", s, g.ExpiresAt)
		}
		clock.Advance(maxOfflineWarnSettle - 4*time.Second - time.Millisecond)
		h2.wantState(Active)
		h2.ev.none(t)
		clock.Advance(time.Millisecond)
		if w := h2.ev.expect(t, EventSessionWarning)[0]; w.Reason != wire.ReasonOffline || !w.EndsAt.Equal(lost.Add(grace)) {
			t.Errorf("session.warning = %+v, want reason offline, ends at %s", w, lost.Add(grace))
		}
		clock.Advance(grace - maxOfflineWarnSettle - time.Millisecond)
		h2.ev.none(t)
		clock.Advance(time.Millisecond)
		if e := h2.ev.ended(t); e.Reason != wire.ReasonOffline {
			t.Errorf("session.ended = %+v, want reason offline", e)
		}
	})
	t.Run("lost long before the restart", func(t *testing.T) {
		dir, badges, clock := t.TempDir(), t.TempDir(), newFakeClock()
		h := startHarness(t, dir, badges, clock, withOfflineGrace(grace))
		h.connect()
		g := h.login("s1", "ana", 8*time.Hour)
		lost := clock.Now()
		h.hub.disconnect()
		h.ev.expect(t, EventDisconnected)
		clock.Advance(maxOfflineWarnSettle - time.Second)
		h.stop()
		clock.Advance(time.Minute)

		h2 := startHarness(t, dir, badges, clock, withOfflineGrace(grace))
		evs := h2.ev.expect(t, EventSessionStarted, EventSessionWarning)
		if s := evs[0]; !s.EndsAt.Equal(g.ExpiresAt) {
			t.Errorf("session.started = %+v, want ends at %s", s, g.ExpiresAt)
		}
		if w := evs[1]; w.Reason != wire.ReasonOffline || !w.EndsAt.Equal(lost.Add(grace)) {
			t.Errorf("session.warning = %+v, want reason offline, ends at %s", w, lost.Add(grace))
		}
		h2.hub.connect()
		x := h2.ev.expect(t, EventConnected, EventSessionExtended)[1]
		if x.Reason != ExtendedReconnected || !x.EndsAt.Equal(g.ExpiresAt) {
			t.Errorf("session.extended = %+v, want reason %s, ends at %s", x, ExtendedReconnected, g.ExpiresAt)
		}
		h2.ev.none(t)
	})
	t.Run("hub in reach before the restart", func(t *testing.T) {
		for _, back := range []bool{true, false} {
			dir, badges, clock := t.TempDir(), t.TempDir(), newFakeClock()
			h := startHarness(t, dir, badges, clock, withOfflineGrace(grace))
			h.connect()
			g := h.login("s1", "ana", 8*time.Hour)
			h.stop()
			clock.Advance(time.Minute)

			start := clock.Now()
			h2 := startHarness(t, dir, badges, clock, withOfflineGrace(grace))
			if s := h2.ev.expect(t, EventSessionStarted)[0]; !s.EndsAt.Equal(g.ExpiresAt) {
				t.Fatalf("session.started = %+v, want ends at %s", s, g.ExpiresAt)
			}
			clock.Advance(2 * time.Second)
			h2.ev.none(t)
			if back {
				// The agent's first connection: nothing to take back.
				h2.hub.connect()
				h2.ev.expect(t, EventConnected)
				// connected is emitted as the loop takes the welcome,
				// before it disarms the offline deadline: the clock moves
				// only once the loop is done with it.
				h2.do(func() {})
				clock.Advance(time.Hour)
				h2.wantState(Active)
				h2.ev.none(t)
				continue
			}
			clock.Advance(maxOfflineWarnSettle - 2*time.Second)
			if w := h2.ev.expect(t, EventSessionWarning)[0]; w.Reason != wire.ReasonOffline || !w.EndsAt.Equal(start.Add(grace)) {
				t.Errorf("session.warning = %+v, want reason offline, ends at %s", w, start.Add(grace))
			}
		}
	})
}

// TestOfflineSettleOwnWarningUnaffected: the settle delays the offline
// warning only. A session whose own end comes before the offline deadline
// is warned for it on time, with no reason, also when the hub was lost a
// moment before its warning time.
func TestOfflineSettleOwnWarningUnaffected(t *testing.T) {
	h := newHarness(t, withOfflineGrace(15*time.Minute))
	h.connect()
	g := h.login("s1", "ana", 6*time.Minute)
	h.clock.Advance(time.Minute - 3*time.Second)
	h.hub.disconnect() // the offline deadline, 15 minutes on, is later than the session's own end
	h.ev.expect(t, EventDisconnected)
	h.clock.Advance(3*time.Second - time.Millisecond)
	h.ev.none(t)
	h.clock.Advance(time.Millisecond)
	if w := h.ev.expect(t, EventSessionWarning)[0]; w.Reason != "" || !w.EndsAt.Equal(g.ExpiresAt) {
		t.Errorf("session.warning = %+v, want no reason, ends at %s", w, g.ExpiresAt)
	}
	h.clock.Advance(5*time.Minute - time.Millisecond)
	h.ev.none(t)
	h.clock.Advance(time.Millisecond)
	if e := h.ev.ended(t); e.Reason != wire.ReasonExpired {
		t.Errorf("session.ended = %+v, want reason expired", e)
	}
}
