package ui

import (
	"slices"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent"
)

// TestAppTapCarriesItsSession: an app tile calls OnApp with the ID of the
// session whose screen drew it, so that the agent can refuse a tap that
// reaches it after that session ended (Agent.OpenApp). A tile of ana's
// screen still pressed once ben's session is on screen (its press was on
// its way when the screen changed) names ana's session, not ben's; ben's
// own tile names his, a warning redrawing the screen keeps it, and a
// restored session's tiles name the restored session.
func TestAppTapCarriesItsSession(t *testing.T) {
	h := newHarness(t)
	expires := h.clock.t.Add(8 * time.Hour)
	started := func(user, id string, restored bool) agent.Event {
		return agent.Event{Event: agent.EventSessionStarted, User: user, Role: "Nurse", SessionID: id, ExpiresAt: expires,
			Apps: []string{"emr", "timesheet"}, Restored: restored}
	}

	h.m.Emit(started("ana", "s-ana", true))
	h.want(ScreenActive, "ana", "[emr]")
	anas := h.button("emr")
	finger(anas)

	h.endSession("ana", "s-ana", "signout")
	h.m.Emit(started("ben", "s-ben", false))
	h.want(ScreenActive, "ben", "[emr]")
	finger(anas) // ana's tile, pressed as her screen went away
	finger(h.button("emr"))
	h.clock.t = expires.Add(-5 * time.Minute)
	h.m.Emit(agent.Event{Event: agent.EventSessionWarning, User: "ben", SessionID: "s-ben", ExpiresAt: expires})
	h.want(ScreenWarning)
	finger(h.button("Time sheet"))

	want := []string{"s-ana/emr", "s-ana/emr", "s-ben/emr", "s-ben/timesheet"}
	if !slices.Equal(h.apps, want) {
		t.Errorf("OnApp calls = %q, want %q", h.apps, want)
	}
}
