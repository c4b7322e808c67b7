package agent

import (
	"errors"
	"testing"
	"time"
)

// TestEndedSessionNotRestoredAfterFailedSave: when session.json cannot
// be written any more (a full disk) and a session ends, the file that
// still names the session is removed, so that a restarted agent does not
// restore it, signed in, for the next person at the kiosk.
func TestEndedSessionNotRestoredAfterFailedSave(t *testing.T) {
	dir, badges, clock := t.TempDir(), t.TempDir(), newFakeClock()
	h := startHarness(t, dir, badges, clock)
	h.connect()
	h.login("s1", "ana", time.Hour)

	saveSessionState = func(string, sessionState) error { return errors.New("write session.json: no space left on device") }
	t.Cleanup(func() { saveSessionState = writeSessionState })
	h.a.Signout()
	h.ev.ended(t)
	h.wantState(Locked)
	h.stop()
	saveSessionState = writeSessionState

	h2 := startHarness(t, dir, badges, clock)
	h2.wantState(Locked)
	h2.ev.none(t)
	if got := h2.hub.handler().HelloSessions(); got.LiveSession != "" {
		t.Errorf("hello would report live session %q after it was signed out", got.LiveSession)
	}
}
