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
