package ui

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent"
)

// TestCleanupDoneKeepsATeardownOnScreen: the start-up clean-up is retried
// while a session restored at the start runs, and its try may succeed
// (cleanup.done) while that session's teardown is under way or has
// failed and is retried (session.teardown_failed). cleanup.done must not
// take the kiosk to "Tap your badge" then: the agent takes no tap until
// session.ended, and a failed teardown still needs staff. The ending
// screen stays, asking for staff, until session.ended; a sign-out that
// is going well says "Please wait." again.
func TestCleanupDoneKeepsATeardownOnScreen(t *testing.T) {
	stuck := English().EndingMessage(true).Detail
	h := newHarness(t, "amira")
	h.m.Attach(h.w)
	h.m.Emit(agent.Event{Event: agent.EventSessionStarted, User: "amira.haddad", DisplayName: "Amira Haddad", Role: "Nurse",
		SessionID: "s1", ExpiresAt: h.clock.t.Add(8 * time.Hour), Apps: []string{"emr"}, Restored: true})
	h.m.Emit(agent.Event{Event: agent.EventCleanupFailed, Attempt: 1})
	h.want(ScreenActive, "Amira Haddad")
	h.m.Emit(agent.Event{Event: agent.EventSessionEnding, User: "amira.haddad", SessionID: "s1", Reason: "signout"})
	h.m.Emit(agent.Event{Event: agent.EventSessionTeardownFailed, SessionID: "s1", Attempt: 1})
	h.want(ScreenEnding, stuck)
	h.m.Emit(agent.Event{Event: agent.EventCleanupDone})
	h.want(ScreenEnding, stuck)
	h.m.Emit(agent.Event{Event: agent.EventSessionEnded, User: "amira.haddad", SessionID: "s1", Reason: "signout"})
	h.want(ScreenEnded)
	h.clock.t = h.clock.t.Add(DefaultMessageFor)
	h.m.Tick()
	h.want(ScreenLocked, "Tap your badge")
}
