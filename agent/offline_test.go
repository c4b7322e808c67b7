package agent

import (
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

func withOfflineGrace(d time.Duration) harnessOpt {
	return func(_ *harness, c *Config) { c.OfflineGrace = d }
}

// TestOfflineGraceEndsSession: a kiosk that loses the hub with a session
// open (a revocation cannot reach it) warns and then ends the session once
// the hub has been out of reach for the grace, not at the end of the
// shift; it reports the end when the hub is back.
func TestOfflineGraceEndsSession(t *testing.T) {
	h := newHarness(t, withOfflineGrace(15*time.Minute))
	h.connect()
	h.login("s1", "ana", 8*time.Hour)
	h.clock.Advance(time.Hour) // connected all along: nothing
	h.wantState(Active)
	h.ev.none(t)

	lost := h.clock.Now()
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)
	h.clock.Advance(10*time.Minute - time.Second)
	h.wantState(Active)
	h.ev.none(t)
	h.clock.Advance(time.Second)
	w := h.ev.expect(t, EventSessionWarning)[0]
	if w.Reason != wire.ReasonOffline || !w.EndsAt.Equal(lost.Add(15*time.Minute).Round(0)) {
		t.Errorf("session.warning = %+v, want reason offline, ends at %s", w, lost.Add(15*time.Minute))
	}
	h.clock.Advance(5*time.Minute - time.Second)
	h.wantState(Warning)
	h.ev.none(t)
	h.clock.Advance(time.Second)
	if e := h.ev.ended(t); e.Reason != wire.ReasonOffline || e.SessionID != "s1" {
		t.Errorf("session.ended = %+v, want s1 offline", e)
	}
	if s := <-h.teardowns; s.ID != "s1" {
		t.Errorf("teardown of %q", s.ID)
	}
	h.wantState(Locked)

	h.hub.connect()
	h.endReported("s1", wire.ReasonOffline)
}

// TestReconnectTakesOfflineWarningBack: the hub back within the grace, the
// session runs to its own end, and the screen is told so.
func TestReconnectTakesOfflineWarningBack(t *testing.T) {
	h := newHarness(t, withOfflineGrace(15*time.Minute))
	h.connect()
	g := h.login("s1", "ana", 2*time.Hour)
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)
	h.clock.Advance(12 * time.Minute)
	h.ev.expect(t, EventSessionWarning)

	h.hub.connect()
	evs := h.ev.expect(t, EventConnected, EventSessionExtended)
	x := evs[1]
	if x.Reason != ExtendedReconnected || x.SessionID != "s1" || !x.EndsAt.Equal(g.ExpiresAt) {
		t.Errorf("session.extended = %+v, want reason %s, ends at %s", x, ExtendedReconnected, g.ExpiresAt)
	}
	h.wantState(Active)
	h.clock.Advance(time.Hour) // well past the grace: the hub is in reach
	h.wantState(Active)
	h.ev.none(t)
	// The session's own end comes with its own warning and reason.
	h.warnThenEnd(t, 2*time.Hour-12*time.Minute-time.Hour-5*time.Minute, wire.ReasonExpired)
}

// TestOfflineShortOfSessionEnd: a session whose own end comes before the
// grace runs out ends at that end, with its own reason; a short outage
// that comes and goes without a warning changes nothing on the screen.
func TestOfflineShortOfSessionEnd(t *testing.T) {
	h := newHarness(t, withOfflineGrace(15*time.Minute))
	h.connect()
	h.login("s1", "ana", 20*time.Minute)
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)
	h.clock.Advance(2 * time.Minute)
	h.hub.connect()
	h.ev.expect(t, EventConnected)
	h.ev.none(t)

	h.clock.Advance(5 * time.Minute) // 7 min in
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)
	h.warnThenEnd(t, 8*time.Minute, wire.ReasonExpired)
}

// TestRestoredSessionOfflineGrace: an agent restarted with a session open
// and the hub out of reach counts the grace from its start.
func TestRestoredSessionOfflineGrace(t *testing.T) {
	dir, badges, clock := t.TempDir(), t.TempDir(), newFakeClock()
	h := startHarness(t, dir, badges, clock, withOfflineGrace(15*time.Minute))
	h.connect()
	h.login("s1", "ana", 8*time.Hour)
	h.stop()
	clock.Advance(time.Minute)

	h2 := startHarness(t, dir, badges, clock, withOfflineGrace(15*time.Minute))
	h2.ev.expect(t, EventSessionStarted)
	h2.warnThenEnd(t, 10*time.Minute, wire.ReasonOffline)
}

// TestNoOfflineEndWithoutGrace: without a grace (Config.OfflineGrace 0)
// the session lasts to its end with the hub out of reach, as before.
func TestNoOfflineEndWithoutGrace(t *testing.T) {
	h := newHarness(t)
	h.connect()
	h.login("s1", "ana", time.Hour)
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)
	h.warnThenEnd(t, 55*time.Minute, wire.ReasonExpired)
}

func TestNegativeOfflineGraceRefused(t *testing.T) {
	src, err := ParseAuthenticator("soft:"+t.TempDir(), authSoftOpts())
	mustNoErr(t, err)
	_, err = New(Config{StateDir: t.TempDir(), Hub: newFakeHub(t, newFakeClock()), Authenticators: src, OfflineGrace: -time.Second})
	if err == nil || !strings.Contains(err.Error(), "offline grace") {
		t.Errorf("New with a negative offline grace: %v", err)
	}
}

// TestOfflineGraceCountsSuspend: the grace runs on the wall clock too. A
// kiosk that sleeps with the hub out of reach (the monotonic clock stops)
// does not wake with the session open because its monotonic clock saw
// only the minutes before the suspend: the session ends offline at the
// next look at the clocks.
func TestOfflineGraceCountsSuspend(t *testing.T) {
	h := newHarness(t, withOfflineGrace(15*time.Minute))
	h.connect()
	h.login("s1", "ana", 8*time.Hour)
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)
	h.clock.Advance(time.Minute)
	h.clock.Jump(2 * time.Hour) // asleep, still offline
	h.clock.Advance(clockCheck)
	if e := h.ev.ended(t); e.Reason != wire.ReasonOffline {
		t.Errorf("session.ended = %+v, want reason offline", e)
	}
}

// TestOfflineGraceSurvivesBackwardClockStep: the grace runs on the
// monotonic clock too. A kiosk clock set back an hour with the hub out of
// reach (a local admin, a bad NTP step) does not hold the offline end
// back: the session is warned and ends offline 15 minutes after the hub
// was lost, as the monotonic clock counts them.
func TestOfflineGraceSurvivesBackwardClockStep(t *testing.T) {
	h := newHarness(t, withOfflineGrace(15*time.Minute))
	h.connect()
	h.login("s1", "ana", 8*time.Hour)
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)
	h.stepClock(-time.Hour)
	h.warnThenEnd(t, 10*time.Minute-clockCheck, wire.ReasonOffline)
}

// TestOfflineKeepsClockStepProtection: losing the hub does not set the
// session's monotonic deadline again from the wall clock. A kiosk clock
// stepped back an hour after the grant (deadline (b) holds the end where
// it was) still ends the session on time once the channel drops, and so
// when it comes back from a hub whose welcome has no server_time.
func TestOfflineKeepsClockStepProtection(t *testing.T) {
	t.Run("disconnect", func(t *testing.T) {
		h := newHarness(t, withOfflineGrace(2*time.Hour)) // the session's own end comes first
		h.connect()
		h.login("s1", "ana", time.Hour)
		h.stepClock(-30 * time.Minute)
		h.hub.disconnect()
		h.ev.expect(t, EventDisconnected)
		h.warnThenEnd(t, 55*time.Minute-clockCheck, wire.ReasonExpired)
	})
	t.Run("welcome without server_time", func(t *testing.T) {
		h := newHarness(t, withOfflineGrace(15*time.Minute))
		h.connect()
		h.login("s1", "ana", time.Hour)
		h.stepClock(-30 * time.Minute)
		h.hub.disconnect()
		h.ev.expect(t, EventDisconnected)
		h.clock.Advance(11*time.Minute - clockCheck)
		if w := h.ev.expect(t, EventSessionWarning)[0]; w.Reason != wire.ReasonOffline {
			t.Fatalf("session.warning = %+v, want reason offline", w)
		}
		h.hub.connectWith(wire.Welcome{DeviceID: "kiosk-1"}) // an older hub
		h.ev.expect(t, EventConnected, EventSessionExtended)
		h.do(func() {})
		h.warnThenEnd(t, 55*time.Minute-11*time.Minute, wire.ReasonExpired)
	})
}

// TestOfflineWarnsForNearerEnd: a session already warned about its own
// end is warned again, with reason offline and the nearer ends_at, when
// losing the hub brings its end forward: the screen must not count down to
// an end that is no longer the one. Once the hub has been out of reach
// for offlineWarnSettle: until then the warning on screen stays.
func TestOfflineWarnsForNearerEnd(t *testing.T) {
	h := newHarness(t, withOfflineGrace(time.Minute))
	h.connect()
	h.login("s1", "ana", 8*time.Minute)
	h.clock.Advance(3 * time.Minute)
	if w := h.ev.expect(t, EventSessionWarning)[0]; w.Reason != "" {
		t.Fatalf("session.warning = %+v, want no reason", w)
	}
	lost := h.clock.Now()
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)
	h.clock.Advance(maxOfflineWarnSettle - time.Second)
	h.wantState(Warning)
	h.ev.none(t)
	h.clock.Advance(time.Second)
	w := h.ev.expect(t, EventSessionWarning)[0]
	if w.Reason != wire.ReasonOffline || !w.EndsAt.Equal(lost.Add(time.Minute)) {
		t.Errorf("session.warning = %+v, want reason offline, ends at %s", w, lost.Add(time.Minute))
	}
	h.clock.Advance(time.Minute - maxOfflineWarnSettle - time.Second)
	h.ev.none(t)
	h.clock.Advance(time.Second)
	if e := h.ev.ended(t); e.Reason != wire.ReasonOffline {
		t.Errorf("session.ended = %+v, want reason offline", e)
	}
}

// TestReconnectTooLate: a hub back after the grace has run out does not
// save the session, even when the timer that ends it has not run yet (the
// kiosk woke from a suspend and its network came straight back): it ends
// offline, and session.extended is not emitted.
func TestReconnectTooLate(t *testing.T) {
	h := newHarness(t, withOfflineGrace(15*time.Minute))
	h.connect()
	h.login("s1", "ana", 8*time.Hour)
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)
	h.clock.Advance(time.Minute)
	h.do(func() {})                // the checks that came due have run
	h.clock.Jump(20 * time.Minute) // asleep; no timer has run since
	h.hub.connect()
	h.ev.expect(t, EventConnected)
	if e := h.ev.ended(t); e.Reason != wire.ReasonOffline {
		t.Errorf("session.ended = %+v, want reason offline", e)
	}
	h.endReported("s1", wire.ReasonOffline)
	h.ev.none(t)
}

// TestReconnectOwnEndPassed: a hub back within the grace whose clock shows
// the session's own end has passed ends the session as expired, without a
// session.extended (reason reconnected) first that would put it back on
// the screen for an instant.
func TestReconnectOwnEndPassed(t *testing.T) {
	h := newHarness(t, withOfflineGrace(15*time.Minute))
	h.connect()
	h.login("s1", "ana", time.Hour)
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)
	h.clock.Advance(11 * time.Minute)
	if w := h.ev.expect(t, EventSessionWarning)[0]; w.Reason != wire.ReasonOffline {
		t.Fatalf("session.warning = %+v, want reason offline", w)
	}
	h.hub.setAhead(2 * time.Hour) // the kiosk's clock is two hours behind the hub's
	h.hub.connect()
	h.ev.expect(t, EventConnected)
	if e := h.ev.ended(t); e.Reason != wire.ReasonExpired {
		t.Errorf("session.ended = %+v, want reason expired", e)
	}
	h.ev.none(t)
}

// TestReconnectRevokedDuringOfflineWarning: a hub back within the grace
// that revoked the session meanwhile (welcome.revoke) does not take the
// offline warning back first: the session goes straight from the warning
// to its end.
func TestReconnectRevokedDuringOfflineWarning(t *testing.T) {
	h := newHarness(t, withOfflineGrace(15*time.Minute))
	h.connect()
	h.login("s1", "ana", time.Hour)
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)
	h.clock.Advance(11 * time.Minute)
	h.ev.expect(t, EventSessionWarning)

	revoke := wire.SessionRevoke{SessionID: "s1", Reason: wire.ReasonDeprovisioned}
	h.hub.connectWith(wire.Welcome{DeviceID: "kiosk-1", ServerTime: h.hub.now(), Revoke: &revoke})
	h.hub.push(wire.TypeSessionRevoke, "w1", revoke) // as Client.session passes it on
	h.ev.expect(t, EventConnected)
	if e := h.ev.ended(t); e.Reason != wire.ReasonDeprovisioned {
		t.Errorf("session.ended = %+v, want reason deprovisioned", e)
	}
	h.hub.waitFor("the revoke acknowledged", func() bool { return h.acked("w1") })
	h.ev.none(t)
}

// TestReconnectOwnEndNearer: a hub back within the grace whose clock
// brings the session's own end nearer than the offline deadline was takes
// the offline warning back all the same (its reason and its time are
// wrong now), and warns for the session's own end, which then comes.
func TestReconnectOwnEndNearer(t *testing.T) {
	h := newHarness(t, withOfflineGrace(15*time.Minute))
	h.connect()
	start := h.clock.Now()
	h.login("s1", "ana", time.Hour)
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)
	h.clock.Advance(11 * time.Minute)
	if w := h.ev.expect(t, EventSessionWarning)[0]; w.Reason != wire.ReasonOffline {
		t.Fatalf("session.warning = %+v, want reason offline", w)
	}
	h.hub.setAhead(47 * time.Minute) // by the hub's clock the session ends 13 min after its grant
	h.hub.connect()
	evs := h.ev.expect(t, EventConnected, EventSessionExtended, EventSessionWarning)
	ownEnd := start.Add(13 * time.Minute)
	if x := evs[1]; x.Reason != ExtendedReconnected || !x.EndsAt.Equal(ownEnd) {
		t.Errorf("session.extended = %+v, want reason %s, ends at %s", x, ExtendedReconnected, ownEnd)
	}
	if w := evs[2]; w.Reason != "" || !w.EndsAt.Equal(ownEnd) {
		t.Errorf("session.warning = %+v, want no reason, ends at %s", w, ownEnd)
	}
	h.clock.Advance(2*time.Minute - time.Second)
	h.ev.none(t)
	h.clock.Advance(time.Second)
	if e := h.ev.ended(t); e.Reason != wire.ReasonExpired {
		t.Errorf("session.ended = %+v, want reason expired", e)
	}
}

// offlineFor9Minutes starts an agent on dir with a 15-minute offline
// grace, opens a session for ana and has the hub out of reach for 9
// minutes since.
func offlineFor9Minutes(t *testing.T, dir, badges string, clock *fakeClock) *harness {
	t.Helper()
	h := startHarness(t, dir, badges, clock, withOfflineGrace(15*time.Minute))
	h.connect()
	h.login("s1", "ana", 8*time.Hour)
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)
	clock.Advance(9 * time.Minute)
	return h
}

// TestRestartKeepsOfflineCount: an agent restarted (the kiosk's power
// pulled) with the hub out of reach since before counts the grace from
// when the hub was lost, not from its start: restarting the kiosk every
// few minutes does not keep a session open with the hub away.
func TestRestartKeepsOfflineCount(t *testing.T) {
	dir, badges, clock := t.TempDir(), t.TempDir(), newFakeClock()
	h := offlineFor9Minutes(t, dir, badges, clock)
	h.wantState(Active)
	h.stop()
	clock.Advance(time.Minute) // 10 minutes since the hub was lost

	h2 := startHarness(t, dir, badges, clock, withOfflineGrace(15*time.Minute))
	h2.ev.expect(t, EventSessionStarted, EventSessionWarning) // 5 minutes left: inside the warning lead
	clock.Advance(5*time.Minute - time.Second)
	h2.wantState(Warning)
	clock.Advance(time.Second)
	if e := h2.ev.ended(t); e.Reason != wire.ReasonOffline {
		t.Errorf("session.ended = %+v, want offline 15 minutes after the hub was lost", e)
	}
}

// TestReconnectClearsOfflineCount: once the hub is back, a later restart
// starts no count from the old outage.
func TestReconnectClearsOfflineCount(t *testing.T) {
	dir, badges, clock := t.TempDir(), t.TempDir(), newFakeClock()
	h := offlineFor9Minutes(t, dir, badges, clock)
	h.hub.connect()
	h.ev.expect(t, EventConnected)
	h.stop()
	if st, err := readSessionState(dir); err != nil || st.Session == nil || !st.Session.OfflineSince.IsZero() {
		t.Fatalf("session.json after the hub came back: %+v, %v; want no offline time", st.Session, err)
	}
	clock.Advance(20 * time.Minute)

	h2 := startHarness(t, dir, badges, clock, withOfflineGrace(15*time.Minute))
	h2.ev.expect(t, EventSessionStarted)
	h2.warnThenEnd(t, 10*time.Minute, wire.ReasonOffline) // counted from this start
}
