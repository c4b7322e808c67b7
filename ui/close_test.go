package ui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"github.com/shiftgate/shiftgate/agent"
)

// wmWindow is a test window that the window manager can ask to close, as
// Fyne's desktop driver does it: through the close intercept when one is
// set, by closing the window otherwise.
type wmWindow struct {
	fyne.Window
	intercept func()
	closed    bool
}

func (w *wmWindow) SetCloseIntercept(f func()) {
	w.intercept = f
	w.Window.SetCloseIntercept(f)
}

func (w *wmWindow) Close() { w.closed = true }

// wmClose is the window manager's close request (its close button,
// Alt+F4).
func (w *wmWindow) wmClose() {
	if w.intercept != nil {
		w.intercept()
		return
	}
	w.Close()
}

// TestCloseRefusedDuringSession: the window's close request is refused
// while a session is open or being torn down. Closing the kiosk quits it,
// agent core included, and the agent leaves a live session for its next
// start: the worker's apps would stay on the display with nothing to end
// them. With no session, the kiosk closes.
func TestCloseRefusedDuringSession(t *testing.T) {
	start := agent.Event{Event: agent.EventSessionStarted, User: "amira.haddad", DisplayName: "Amira Haddad", Role: "Nurse",
		SessionID: "s1", Apps: []string{"emr"}}
	for _, tc := range []struct {
		name   string
		events []agent.Event
		want   Screen
		closes bool
	}{
		{name: "locked", want: ScreenLocked, closes: true},
		{name: "active", events: []agent.Event{start}, want: ScreenActive},
		{name: "warning", events: []agent.Event{start, {Event: agent.EventSessionWarning, User: "amira.haddad", SessionID: "s1"}}, want: ScreenWarning},
		{name: "ending", events: []agent.Event{start, {Event: agent.EventSessionEnding, User: "amira.haddad", SessionID: "s1", Reason: "idle"}}, want: ScreenEnding},
		{name: "ended", events: []agent.Event{start, {Event: agent.EventSessionEnding, SessionID: "s1", Reason: "idle"}, {Event: agent.EventSessionEnded, SessionID: "s1", Reason: "idle"}},
			want: ScreenEnded, closes: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "amira")
			w := &wmWindow{Window: h.w}
			h.m.Attach(w)
			for _, e := range tc.events {
				if e.Event == agent.EventSessionStarted {
					e.ExpiresAt = h.clock.t.Add(8 * time.Hour)
				}
				h.m.Emit(e)
			}
			h.want(tc.want)
			w.wmClose()
			if w.closed != tc.closes {
				t.Errorf("on the %s screen the window manager's close request closed the kiosk: %v, want %v", tc.want, w.closed, tc.closes)
			}
			h.want(tc.want)
		})
	}
}
