package ui

import (
	"slices"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent"
	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestWarningWithoutSession: a session.warning that reaches the screen when no session is
// shown (late, for a session already ended or being torn down) is ignored, as
// session.extended is. Taking it would draw a session screen with a countdown and a Sign out
// button for nobody, and, as that screen is not timed, the kiosk would never go back to the
// locked screen.
func TestWarningWithoutSession(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before []agent.Event
		want   Screen
	}{
		{name: "locked", want: ScreenLocked},
		{name: "ending", before: []agent.Event{{Event: agent.EventSessionEnding, User: "alice", SessionID: "s1", Reason: "signout"}}, want: ScreenEnding},
		{name: "ended", before: []agent.Event{{Event: agent.EventSessionEnded, User: "alice", SessionID: "s1", Reason: "signout"}}, want: ScreenEnded},
		{name: "refused", before: []agent.Event{{Event: agent.EventLoginRefused, Reason: wire.RefusedNotRecognised}}, want: ScreenRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "alice")
			expires := h.clock.t.Add(5 * time.Minute)
			h.m.Emit(agent.Event{Event: agent.EventSessionStarted, User: "alice", Role: "picker", SessionID: "s1", ExpiresAt: expires})
			h.m.Emit(agent.Event{Event: agent.EventSessionEnded, User: "alice", SessionID: "s1", Reason: "signout"})
			h.clock.t = h.clock.t.Add(DefaultMessageFor)
			h.m.Tick()
			for _, e := range tc.before {
				h.m.Emit(e)
			}
			h.m.Emit(agent.Event{Event: agent.EventSessionWarning, User: "alice", SessionID: "s1", ExpiresAt: expires})
			h.want(tc.want)
			if slices.Contains(h.texts(), "[Sign out]") {
				t.Errorf("screen shows a Sign out button for no session: %q", h.texts())
			}
			if tc.want == ScreenEnding {
				return // session.ended takes it to the locked screen
			}
			h.clock.t = h.clock.t.Add(DefaultMessageFor)
			h.m.Tick()
			h.want(ScreenLocked, "Tap your badge")
		})
	}
}
