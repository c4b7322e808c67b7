package ui

import (
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/shiftgate/shiftgate/agent"
)

// buttonsOn is every visible button under o.
func buttonsOn(o fyne.CanvasObject) []string {
	var out []string
	for _, s := range screenTexts(o) {
		if strings.HasPrefix(s, "[") {
			out = append(out, s)
		}
	}
	return out
}

// TestEndingScreen: from session.ending (the teardown has started, and can
// take seconds) until session.ended, the kiosk says "Signing out…" and
// shows nothing of the worker — no name, role, end time, apps or note —
// and offers nothing to press; keys and taps send no intent.
func TestEndingScreen(t *testing.T) {
	for _, reason := range []string{"signout", "deprovisioned", "idle", "expired"} {
		t.Run(reason, func(t *testing.T) {
			h := newHarness(t, "amira", "ben")
			h.m.Attach(h.w)
			c := h.w.Canvas()
			h.m.Emit(agent.Event{Event: agent.EventConnected, Site: "north", DeviceName: "Kiosk 1"})
			h.m.Emit(agent.Event{Event: agent.EventSessionStarted, User: "amira.haddad", DisplayName: "Amira Haddad", Role: "Nurse",
				SessionID: "s1", ExpiresAt: h.clock.t.Add(8 * time.Hour), Apps: []string{"emr", "timesheet"}})
			h.m.Emit(agent.Event{Event: agent.EventEnrollmentArmed, User: "ben.okafor", DisplayName: "Ben Okafor"})
			h.m.Emit(agent.Event{Event: agent.EventCredentialRefused, User: "ben.okafor", DisplayName: "Ben Okafor", Reason: agent.RegisterAlreadyRegistered})
			session := h.texts()
			h.want(ScreenActive, "Amira Haddad", "Nurse", "Session ends at 16:00", "[emr]", "[Time sheet]", "[Sign out]", "This badge is already enrolled")
			press(c, fyne.KeyTab) // the worker's focus on an app

			h.m.Emit(agent.Event{Event: agent.EventSessionEnding, User: "amira.haddad", SessionID: "s1", Reason: reason})
			h.want(ScreenEnding, "Signing out…")
			shown := h.texts()
			for _, s := range session {
				if s != "" && slices.Contains(shown, s) {
					t.Errorf("the ending screen still shows %q of the session screen; it shows %q", s, shown)
				}
			}
			if b := buttonsOn(h.m.Content()); len(b) != 0 {
				t.Errorf("the ending screen offers %q", b)
			}
			h.focusOnScreen("session.ending")

			// Nothing to press: keys and taps anywhere send no intent.
			before := h.intents.got()
			for _, k := range []fyne.KeyName{fyne.KeyReturn, fyne.KeySpace, fyne.KeyEscape, fyne.KeyTab, fyne.KeyReturn} {
				press(c, k)
			}
			test.TapCanvas(c, fyne.NewPos(640, 400))
			test.TapCanvas(c, fyne.NewPos(640, 760))
			if got := h.intents.got(); !slices.Equal(got, before) || len(h.apps) != 0 {
				t.Errorf("input on the ending screen sent intents %q and apps %q", got[len(before):], h.apps)
			}
			// A clock tick, or a badge on the reader, does not leave it
			// (the agent takes no tap while it tears the session down).
			h.clock.t = h.clock.t.Add(DefaultVerifyingFor)
			h.m.Tick()
			h.m.Emit(agent.Event{Event: agent.EventBadgeRead})
			h.want(ScreenEnding, "Signing out…")

			h.m.Emit(agent.Event{Event: agent.EventSessionEnded, User: "amira.haddad", SessionID: "s1", Reason: reason})
			h.want(ScreenEnded, English().EndedMessage(reason).Title)
		})
	}
}

// TestEndingScreenAfterRestart: an agent restarted in the middle of a
// teardown announces it with no session.started before it; the locked
// screen gives way to "Signing out…" until it is done.
func TestEndingScreenAfterRestart(t *testing.T) {
	h := newHarness(t, "amira")
	h.m.Emit(agent.Event{Event: agent.EventSessionEnding, User: "amira.haddad", SessionID: "s1", Reason: "forced"})
	h.want(ScreenEnding, "Signing out…")
	if b := buttonsOn(h.m.Content()); len(b) != 0 {
		t.Errorf("the ending screen offers %q", b)
	}
	h.m.Emit(agent.Event{Event: agent.EventSessionEnded, User: "amira.haddad", SessionID: "s1", Reason: "forced"})
	h.want(ScreenEnded, "Signed out by a supervisor")
}

// TestKioskSigningOut: through the real agent core and session manager,
// Sign out takes the worker off the screen at once ("Signing out…", with
// nothing of theirs) and the ended screen follows the teardown.
func TestKioskSigningOut(t *testing.T) {
	k := startKiosk(t)
	k.createUser("dana.kim", "Dana Kim", "north", "Nurse")
	k.waitScreen(ScreenLocked, "Online")
	k.enroll("dana.kim", "Dana Kim", "dana")
	session := k.signIn("dana", "Dana Kim", "Nurse", "[Intranet]", "[Sign out]")
	k.tap("Sign out")
	ending := k.waitScreen(ScreenEnding, "Signing out…")
	for _, s := range session.texts {
		if s != "" && slices.Contains(ending.texts, s) {
			t.Errorf("the ending screen still shows %q; it shows %q", s, ending.texts)
		}
	}
	k.waitScreen(ScreenEnded, "Signed out")
}

// TestEndingScreenTeardownFailed: once the agent says a try of the teardown
// failed (session.teardown_failed; it keeps trying), the ending screen
// still shows nothing of the worker but asks staff for help instead of
// "Please wait."; session.ended then shows the ended screen and the locked
// screen after it, as before, and the next sign-out says "Please wait."
// again.
func TestEndingScreenTeardownFailed(t *testing.T) {
	stuck := English().EndingMessage(true).Detail
	h := newHarness(t, "amira")
	h.m.Attach(h.w)
	h.m.Emit(agent.Event{Event: agent.EventSessionStarted, User: "amira.haddad", DisplayName: "Amira Haddad", Role: "Nurse",
		SessionID: "s1", ExpiresAt: h.clock.t.Add(8 * time.Hour), Apps: []string{"emr"}})
	h.m.Emit(agent.Event{Event: agent.EventSessionEnding, User: "amira.haddad", SessionID: "s1", Reason: "signout"})
	h.want(ScreenEnding, "Signing out…", "Please wait.")

	for attempt := 1; attempt <= 2; attempt++ {
		h.m.Emit(agent.Event{Event: agent.EventSessionTeardownFailed, SessionID: "s1", Attempt: attempt})
		h.want(ScreenEnding, "Signing out…", stuck)
		shown := h.texts()
		for _, s := range []string{"Please wait.", "Amira Haddad", "amira.haddad", "Nurse", "[emr]", "[Sign out]"} {
			if slices.Contains(shown, s) {
				t.Errorf("after failure %d the ending screen shows %q: %q", attempt, s, shown)
			}
		}
		if b := buttonsOn(h.m.Content()); len(b) != 0 {
			t.Errorf("the ending screen offers %q", b)
		}
	}
	h.clock.t = h.clock.t.Add(DefaultVerifyingFor)
	h.m.Tick()
	h.m.Emit(agent.Event{Event: agent.EventBadgeRead})
	h.want(ScreenEnding, stuck)

	h.m.Emit(agent.Event{Event: agent.EventSessionEnded, User: "amira.haddad", SessionID: "s1", Reason: "signout"})
	h.want(ScreenEnded, "Signed out")
	if slices.Contains(h.texts(), stuck) {
		t.Errorf("the ended screen still asks for help: %q", h.texts())
	}
	h.clock.t = h.clock.t.Add(DefaultMessageFor)
	h.m.Tick()
	h.want(ScreenLocked, "Tap your badge", "[amira]")

	h.m.Emit(agent.Event{Event: agent.EventSessionStarted, User: "amira.haddad", DisplayName: "Amira Haddad", SessionID: "s2",
		ExpiresAt: h.clock.t.Add(8 * time.Hour)})
	h.m.Emit(agent.Event{Event: agent.EventSessionEnding, User: "amira.haddad", SessionID: "s2", Reason: "idle"})
	h.want(ScreenEnding, "Signing out…", "Please wait.")
}

// TestTeardownFailedWithoutEnding: session.teardown_failed means the
// session is being torn down, so a screen that missed session.ending (a
// dropped event) stops showing the worker on it too.
func TestTeardownFailedWithoutEnding(t *testing.T) {
	h := newHarness(t)
	h.m.Emit(agent.Event{Event: agent.EventSessionStarted, User: "amira.haddad", DisplayName: "Amira Haddad", Role: "Nurse",
		SessionID: "s1", ExpiresAt: h.clock.t.Add(8 * time.Hour)})
	h.want(ScreenActive, "Amira Haddad")
	h.m.Emit(agent.Event{Event: agent.EventSessionTeardownFailed, SessionID: "s1", Attempt: 1})
	h.want(ScreenEnding, "Signing out…", English().EndingMessage(true).Detail)
	if shown := h.texts(); slices.Contains(shown, "Amira Haddad") || slices.Contains(shown, "Nurse") {
		t.Errorf("the ending screen shows the worker: %q", shown)
	}
}
