package ui

import (
	"testing"

	"github.com/shiftgate/shiftgate/agent"
)

// A badge the hub refuses because it did not store its credential
// (not_discoverable) needs replacing: the screen says to get another badge
// and a new enrollment, not to tap this one again, as the enrollment is over.
func TestEnrollRefusedNotDiscoverable(t *testing.T) {
	h := newHarness(t)
	h.m.Emit(armed("ana", ""))
	h.m.Emit(agent.Event{Event: agent.EventCredentialRefused, User: "ana", Reason: agent.RegisterNotDiscoverable})
	h.m.Emit(enrollEnded("ana", agent.EnrollmentRefused))
	h.want(ScreenEnrollFailed, "Enrollment refused", "Ask your supervisor for an approved badge and a new enrollment.")
	h.clock.t = h.clock.t.Add(DefaultMessageFor)
	h.m.Tick()
	h.want(ScreenLocked, "Tap your badge")
}
