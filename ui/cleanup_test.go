package ui

import (
	"testing"

	"github.com/shiftgate/shiftgate/agent"
)

// TestCleanupFailedAsksForStaff: while the agent's start-up clean-up of
// what a crashed run left fails (cleanup.failed), it signs nobody in, so
// the kiosk must not rest on "Tap your badge": it shows the ending screen
// asking for staff, also after a timed screen, until cleanup.done.
func TestCleanupFailedAsksForStaff(t *testing.T) {
	h := newHarness(t)
	h.want(ScreenLocked, "Tap your badge")
	stuck := English().EndingMessage(true).Detail
	h.m.Emit(agent.Event{Event: agent.EventCleanupFailed, Attempt: 1})
	h.want(ScreenEnding, stuck)
	h.m.Emit(agent.Event{Event: agent.EventLoginRefused, Reason: "not_recognised"})
	h.clock.t = h.clock.t.Add(DefaultMessageFor)
	h.m.Tick()
	h.want(ScreenEnding, stuck)
	h.m.Emit(agent.Event{Event: agent.EventCleanupDone})
	h.want(ScreenLocked, "Tap your badge")
}
