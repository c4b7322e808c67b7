package ui

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/shiftgate/shiftgate/agent"
	"github.com/shiftgate/shiftgate/agent/wire"
)

// fuzzEvents are the agent events FuzzEvents feeds the model, by the byte
// that picks them; %d is the session's number, so that each session's
// worker, role and apps have names of their own.
var fuzzEvents = []agent.Event{
	{Event: agent.EventConnected, Site: "North", DeviceName: "ward-1"},
	{Event: agent.EventDisconnected},
	{Event: agent.EventDeviceRefused, Reason: "device_disabled"},
	{Event: agent.EventSessionStarted}, // filled in per session
	{Event: agent.EventSessionWarning},
	{Event: agent.EventSessionWarning, Reason: wire.ReasonOffline},
	{Event: agent.EventSessionExtended, Reason: "reconnected"},
	{Event: agent.EventSessionEnding, Reason: wire.ReasonIdle},
	{Event: agent.EventSessionTeardownFailed, Attempt: 1},
	{Event: agent.EventSessionEnded, Reason: wire.ReasonDeprovisioned},
	{Event: agent.EventLoginRefused, Reason: wire.RefusedNotRecognised},
	{Event: agent.EventLoginRefused, Reason: wire.ReasonDeprovisioned},
	{Event: agent.EventBadgeRead},
	{Event: agent.EventTapIgnored, Reason: agent.TapIgnoredBusy},
	{Event: agent.EventEnrollmentArmed, User: "dana.kim", DisplayName: "Dana Kim"},
	{Event: agent.EventEnrollmentEnded, Reason: agent.EnrollmentRegistered},
	{Event: agent.EventCredentialRegistered, User: "dana.kim", DisplayName: "Dana Kim"},
	{Event: agent.EventCredentialRefused, Reason: agent.RegisterAlreadyRegistered},
	{Event: agent.EventCleanupFailed, Attempt: 1},
	{Event: agent.EventCleanupDone},
	{Event: "something.new"},
}

// fyneEscape is the Escape key.
var fyneEscape = fyne.KeyEvent{Name: fyne.KeyEscape}

// FuzzEvents: whatever order the agent's events come in, and however the
// worker taps and time passes between them, the screen never panics and
// never shows a worker's name, role or apps once their session has begun
// to end (session.ending, session.teardown_failed, session.ended), and a
// session screen only for the session started last. Each byte of the
// input is one step: an event, a virtual badge's tap, Escape, or time
// passing.
func FuzzEvents(f *testing.F) {
	f.Add([]byte{0, 3, 4, 7, 9, 0})
	f.Add([]byte{0, 3, 7, 4, 6, 9, 3})
	f.Add([]byte{0, 200, 13, 3, 201, 7, 8, 9, 202})
	f.Add([]byte{18, 3, 7, 9, 202, 19, 3})
	f.Add([]byte{0, 14, 3, 16, 7, 17, 9, 202, 15})
	a := test.NewApp()
	defer a.Quit()
	a.Settings().SetTheme(Theme())
	w := test.NewWindow(nil)
	defer w.Close()
	f.Fuzz(func(t *testing.T, steps []byte) { fuzzSteps(t, w, steps) })
}

// fuzzSteps runs steps (see FuzzEvents) on a new Model in w.
func fuzzSteps(t *testing.T, w fyne.Window, steps []byte) {
	if len(steps) > 64 {
		steps = steps[:64]
	}
	clock := &fakeClock{t: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}
	m := New(Options{Intents: &fakeIntents{}, Badges: []string{"alice"}, Now: clock.now, Location: time.UTC})
	m.Attach(w)
	sessions := 0
	live := false // the session started last has not begun to end
	for i, s := range steps {
		switch {
		case int(s) < len(fuzzEvents):
			e := fuzzEvents[s]
			switch e.Event {
			case agent.EventSessionStarted:
				sessions++
				e.SessionID, e.User = fmt.Sprintf("s%d", sessions), fmt.Sprintf("worker%d", sessions)
				e.DisplayName, e.Role = fmt.Sprintf("Worker %d", sessions), fmt.Sprintf("Role %d", sessions)
				e.Apps = []string{fmt.Sprintf("app-%d", sessions)}
				e.ExpiresAt = clock.t.Add(time.Hour)
				live = true
			case agent.EventSessionEnding, agent.EventSessionTeardownFailed, agent.EventSessionEnded:
				live = false
			}
			m.apply(e)
		case s < 200:
			if b := findButton(m.Content(), "alice"); b != nil {
				test.Tap(b)
			}
		case s == 200:
			m.TypedKey(&fyneEscape)
		default:
			clock.t = clock.t.Add(time.Duration(s-200) * 3 * time.Second)
			m.Tick()
		}
		shown := screenTexts(m.Content())
		for n := 1; n <= sessions; n++ {
			if live && n == sessions {
				continue
			}
			for _, v := range []string{fmt.Sprintf("Worker %d", n), fmt.Sprintf("Role %d", n), fmt.Sprintf("[app-%d]", n)} {
				if slices.Contains(shown, v) {
					t.Fatalf("after steps %v: screen %s shows %q of session %d, which has ended: %q", steps[:i+1], m.Screen(), v, n, shown)
				}
			}
		}
		if m.Screen().session() && !live {
			t.Fatalf("after steps %v: a session screen with no session open: %q", steps[:i+1], shown)
		}
		// Both refusals in fuzzEvents (not_recognised, and a revocation
		// that overtook the grant) say the same: nothing of the account.
		if notRecognised := English().RefusedMessage(wire.RefusedNotRecognised).Title; m.Screen() == ScreenRefused && !slices.Contains(shown, notRecognised) {
			t.Fatalf("after steps %v: the refused screen says %q, not %q", steps[:i+1], shown, notRecognised)
		}
	}
}
