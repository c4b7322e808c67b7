package ui

import (
	"testing"

	"github.com/shiftgate/shiftgate/agent"
)

// The hub's reasons for refusing a badge say what the worker can do about
// it; each ends the enrollment, so the screen goes back to the lock screen
// and never says to tap the badge again.
func TestEnrollRefusedByHubReasons(t *testing.T) {
	for _, tc := range []struct{ reason, title, detail string }{
		{agent.RegisterEnrollmentExpired, "The enrollment has expired", "Ask your supervisor to start the enrollment again."},
		{agent.RegisterModelNotAllowed, "This badge model is not allowed here", "Ask your supervisor for an approved badge and a new enrollment."},
		{agent.RegisterAttestationUntrusted, "This badge could not prove its model", "Ask your supervisor for an approved badge and a new enrollment."},
		{agent.RegisterInvalidAttestation, "The badge could not be verified", "Ask your supervisor to start the enrollment again."},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			h := newHarness(t)
			h.m.Emit(armed("ana", ""))
			h.m.Emit(agent.Event{Event: agent.EventCredentialRefused, User: "ana", Reason: tc.reason})
			h.m.Emit(enrollEnded("ana", agent.EnrollmentRefused))
			h.want(ScreenEnrollFailed, tc.title, tc.detail)
			h.clock.t = h.clock.t.Add(DefaultMessageFor)
			h.m.Tick()
			h.want(ScreenLocked, "Tap your badge")
		})
	}
}
