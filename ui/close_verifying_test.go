package ui

import (
	"testing"

	"github.com/shiftgate/shiftgate/agent"
	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestCloseRefusedWhileVerifying: the close request is refused while a
// badge is being checked, whether the screen's own badge or the reader
// tapped. The agent may be opening the session at that moment: the kiosk
// binary starts the worker's apps (Sessions.Start) before the screen hears
// session.started, and an agent stopped by the close after the hub's grant
// leaves the session, and any apps, with nothing to end them. Once the
// login is answered (refused, or the tap dropped), or the verifying screen
// gave up waiting, the kiosk closes again.
func TestCloseRefusedWhileVerifying(t *testing.T) {
	for _, tc := range []struct {
		name   string
		start  func(h *harness) // draws the verifying screen
		answer agent.Event
	}{
		{
			name:   "virtual badge",
			start:  func(h *harness) { h.button("amira").Tapped(nil) },
			answer: agent.Event{Event: agent.EventLoginRefused, Reason: wire.RefusedNotRecognised},
		},
		{
			name:   "reader",
			start:  func(h *harness) { h.m.Emit(agent.Event{Event: agent.EventBadgeRead}) },
			answer: agent.Event{Event: agent.EventLoginRefused, Reason: wire.RefusedNotRecognised},
		},
		{
			name:   "tap dropped",
			start:  func(h *harness) { h.button("amira").Tapped(nil) },
			answer: tapIgnored(agent.TapIgnoredBusy),
		},
		{
			name:  "agent never answers",
			start: func(h *harness) { h.button("amira").Tapped(nil) },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "amira")
			w := &wmWindow{Window: h.w}
			h.m.Attach(w)
			tc.start(h)
			h.want(ScreenVerifying, "Checking your badge…")
			w.wmClose()
			if w.closed {
				t.Fatal("the close request closed the kiosk while a badge was being checked")
			}
			h.want(ScreenVerifying)
			if tc.answer.Event != "" {
				h.m.Emit(tc.answer)
			} else {
				h.clock.t = h.clock.t.Add(DefaultVerifyingFor)
				h.m.Tick()
			}
			if h.m.Screen() == ScreenVerifying {
				t.Fatalf("still verifying after %v", tc.answer)
			}
			w.wmClose()
			if !w.closed {
				t.Errorf("on the %s screen after the login was answered, the close request was refused", h.m.Screen())
			}
		})
	}
}
