package ui

import (
	"slices"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/shiftgate/shiftgate/agent"
)

func armed(user, name string) agent.Event {
	return agent.Event{Event: agent.EventEnrollmentArmed, User: user, DisplayName: name}
}

func enrollEnded(user, reason string) agent.Event {
	return agent.Event{Event: agent.EventEnrollmentEnded, User: user, Reason: reason}
}

func TestEnrollmentFlow(t *testing.T) {
	h := newHarness(t, "blue", "red")
	h.m.Emit(agent.Event{Event: agent.EventConnected, Site: "north", DeviceName: "north-1"})
	h.m.Emit(armed("dana.kim", "Dana Kim"))
	h.want(ScreenEnrollment, "Enrollment: tap the badge for Dana Kim", "north · north-1", "Online", "08:00", "[blue]")

	test.Tap(h.button("blue"))
	h.want(ScreenVerifying, "Enrolling the badge…")
	if got, want := h.intents.got(), []string{"tap blue"}; !slices.Equal(got, want) {
		t.Fatalf("intents = %q, want %q", got, want)
	}
	h.m.Emit(agent.Event{Event: agent.EventCredentialRegistered, User: "dana.kim", DisplayName: "Dana Kim"})
	h.want(ScreenEnrolled, "Badge enrolled for Dana Kim")
	h.m.Emit(enrollEnded("dana.kim", agent.EnrollmentRegistered))
	h.want(ScreenEnrolled, "Badge enrolled for Dana Kim")

	h.clock.t = h.clock.t.Add(DefaultMessageFor - time.Second)
	h.m.Tick()
	h.want(ScreenEnrolled)
	h.clock.t = h.clock.t.Add(time.Second)
	h.m.Tick()
	h.want(ScreenLocked, "Tap your badge")

	// The next tap is a login again.
	test.Tap(h.button("blue"))
	h.want(ScreenVerifying, "Checking your badge…")
}

// A failed tap that leaves the enrollment armed goes back to the prompt;
// one that ends it goes back to the locked screen.
func TestEnrollmentFailure(t *testing.T) {
	h := newHarness(t, "blue")
	h.m.Emit(armed("dana.kim", ""))
	h.want(ScreenEnrollment, "Enrollment: tap the badge for dana.kim")
	test.Tap(h.button("blue"))
	h.m.Emit(agent.Event{Event: agent.EventCredentialRefused, User: "dana.kim", Reason: agent.RegisterAlreadyRegistered})
	h.want(ScreenEnrollFailed, "This badge is already enrolled", "Tap a different badge.", "[blue]")
	h.clock.t = h.clock.t.Add(DefaultMessageFor)
	h.m.Tick()
	h.want(ScreenEnrollment, "Enrollment: tap the badge for dana.kim")

	test.Tap(h.button("blue"))
	h.m.Emit(agent.Event{Event: agent.EventCredentialRefused, User: "dana.kim", Reason: agent.RegisterRefused})
	h.m.Emit(enrollEnded("dana.kim", agent.EnrollmentRefused))
	h.want(ScreenEnrollFailed, "Enrollment refused", "Ask your supervisor to start the enrollment again.")
	h.clock.t = h.clock.t.Add(DefaultMessageFor)
	h.m.Tick()
	h.want(ScreenLocked, "Tap your badge")
}

func TestEnrollmentWithdrawnOnDisconnect(t *testing.T) {
	h := newHarness(t)
	h.m.Emit(agent.Event{Event: agent.EventConnected})
	h.m.Emit(armed("dana.kim", "Dana Kim"))
	h.want(ScreenEnrollment, "Online")
	h.m.Emit(agent.Event{Event: agent.EventDisconnected})
	h.want(ScreenEnrollment, "Offline")
	h.m.Emit(enrollEnded("dana.kim", agent.EnrollmentDisconnected))
	h.want(ScreenLocked, "Tap your badge", "Offline")
}

func TestEnrollRefusedReasons(t *testing.T) {
	for _, tc := range []struct{ reason, want string }{
		{agent.RegisterAlreadyRegistered, "This badge is already enrolled"},
		{agent.RegisterHubUnreachable, "The badge could not be enrolled"},
		{agent.RegisterRefused, "Enrollment refused"},
		{agent.RegisterError, "The badge could not be enrolled"},
		{"something_new", "The badge could not be enrolled"},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			h := newHarness(t)
			h.m.Emit(armed("ana", ""))
			h.m.Emit(agent.Event{Event: agent.EventCredentialRefused, User: "ana", Reason: tc.reason})
			h.want(ScreenEnrollFailed, tc.want)
		})
	}
}

// An enrollment armed during a session shows on the session screen, with
// the badges to tap, and its outcome is a note there.
func TestEnrollmentDuringSession(t *testing.T) {
	h := newHarness(t, "blue")
	expires := h.clock.t.Add(time.Hour)
	h.m.Emit(agent.Event{Event: agent.EventSessionStarted, User: "chen.li", DisplayName: "Chen Li", Role: "Supervisor", ExpiresAt: expires})
	h.want(ScreenActive, "Chen Li", "Supervisor", "[Sign out]")
	if slices.Contains(h.texts(), "[blue]") {
		t.Errorf("badges offered during a session without an enrollment: %q", h.texts())
	}
	test.Tap(h.button("Sign out")) // the session is still open until the agent says so
	h.m.Emit(armed("dana.kim", "Dana Kim"))
	h.want(ScreenActive, "Chen Li", "Enrollment: tap the badge for Dana Kim", "[blue]", "[Sign out]")
	test.Tap(h.button("blue"))
	h.want(ScreenActive)
	if got, want := h.intents.got(), []string{"signout", "tap blue"}; !slices.Equal(got, want) {
		t.Errorf("intents = %q, want %q", got, want)
	}
	h.m.Emit(agent.Event{Event: agent.EventCredentialRegistered, User: "dana.kim", DisplayName: "Dana Kim"})
	h.m.Emit(enrollEnded("dana.kim", agent.EnrollmentRegistered))
	h.want(ScreenActive, "Chen Li", "Badge enrolled for Dana Kim")
	if slices.Contains(h.texts(), "[blue]") {
		t.Errorf("badges still offered after the enrollment: %q", h.texts())
	}
	h.clock.t = h.clock.t.Add(DefaultMessageFor)
	h.m.Tick()
	h.want(ScreenActive, "Chen Li")
	if slices.Contains(h.texts(), "Badge enrolled for Dana Kim") {
		t.Errorf("note still shown after %s: %q", DefaultMessageFor, h.texts())
	}
}
