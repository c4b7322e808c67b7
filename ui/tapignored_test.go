package ui

import (
	"slices"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/shiftgate/shiftgate/agent"
)

func tapIgnored(reason string) agent.Event {
	return agent.Event{Event: agent.EventTapIgnored, Reason: reason}
}

// A virtual badge's tap that the agent drops (tap.ignored) takes the
// verifying screen back at once — no Tick, no 35 s wait — to what the tap
// replaced: the resting screen as it is now, or an outcome screen for the
// rest of its time.
func TestTapIgnoredGoesBack(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before func(h *harness) // draws the screen the tap replaces
		during func(h *harness) // while the screen says "Checking"
		reason string
		screen Screen
		texts  []string
	}{
		{
			name:   "locked",
			reason: agent.TapIgnoredBusy,
			screen: ScreenLocked, texts: []string{"Tap your badge", "Online", "[alice]"},
		},
		{
			name:   "enrollment prompt",
			before: func(h *harness) { h.m.Emit(armed("dana.kim", "Dana Kim")) },
			reason: agent.TapIgnoredBusy,
			screen: ScreenEnrollment, texts: []string{"Enrollment: tap the badge for Dana Kim", "[alice]"},
		},
		{
			// The enrollment ended while the screen said "Enrolling the
			// badge…": the prompt is not drawn again.
			name:   "enrollment ended meanwhile",
			before: func(h *harness) { h.m.Emit(armed("dana.kim", "Dana Kim")) },
			during: func(h *harness) { h.m.Emit(enrollEnded("dana.kim", agent.EnrollmentDisconnected)) },
			reason: agent.TapIgnoredBusy,
			screen: ScreenLocked, texts: []string{"Tap your badge"},
		},
		{
			name: "refused, time left",
			before: func(h *harness) {
				h.m.Emit(agent.Event{Event: agent.EventLoginRefused, Reason: "outside_shift"})
				h.clock.t = h.clock.t.Add(2 * time.Second)
			},
			reason: agent.TapIgnoredSessionOpen,
			screen: ScreenRefused, texts: []string{"You're not on shift right now.", "[alice]"},
		},
		{
			name: "ended, time up meanwhile",
			before: func(h *harness) {
				h.m.Emit(agent.Event{Event: agent.EventSessionStarted, User: "bob", SessionID: "s1", ExpiresAt: h.clock.t.Add(time.Hour)})
				h.m.Emit(agent.Event{Event: agent.EventSessionEnded, User: "bob", SessionID: "s1", Reason: "signout"})
			},
			during: func(h *harness) { h.clock.t = h.clock.t.Add(DefaultMessageFor) },
			reason: agent.TapIgnoredEnding,
			screen: ScreenLocked, texts: []string{"Tap your badge"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "alice")
			h.m.Emit(agent.Event{Event: agent.EventConnected, Site: "north", DeviceName: "north-1"})
			if tc.before != nil {
				tc.before(h)
			}
			test.Tap(h.button("alice"))
			h.want(ScreenVerifying)
			if tc.during != nil {
				tc.during(h)
			}
			h.m.Emit(tapIgnored(tc.reason))
			h.want(tc.screen, tc.texts...)

			// The screen takes the next tap as before.
			test.Tap(h.button("alice"))
			h.want(ScreenVerifying)
			if got, want := h.intents.got(), []string{"tap alice", "tap alice"}; !slices.Equal(got, want) {
				t.Errorf("intents = %q, want %q", got, want)
			}
		})
	}
}

// An outcome screen the tap interrupted keeps its own time: it goes back to
// the locked screen when it would have, not MessageFor after the tap.
func TestTapIgnoredKeepsOutcomeTime(t *testing.T) {
	h := newHarness(t, "alice")
	h.m.Emit(agent.Event{Event: agent.EventLoginRefused, Reason: "not_recognised"})
	h.clock.t = h.clock.t.Add(DefaultMessageFor - time.Second)
	test.Tap(h.button("alice"))
	h.m.Emit(tapIgnored(agent.TapIgnoredBusy))
	h.want(ScreenRefused, "Badge not recognised. Ask your supervisor.")
	h.clock.t = h.clock.t.Add(time.Second)
	h.m.Tick()
	h.want(ScreenLocked, "Tap your badge")
}

// A tap.ignored while a badge the agent took is being checked leaves the
// screen saying "Checking" until that badge's outcome: the verifying
// screen of a reader's badge.read, and the one a virtual badge drew when a
// reader's badge overtook it at the agent (badge.read after the tap: the
// agent is busy with the reader's badge and drops the virtual one).
// Screens the tap did not change stay as they are.
func TestTapIgnoredDuringRealVerification(t *testing.T) {
	t.Run("virtual badge overtaken by the reader", func(t *testing.T) {
		h := newHarness(t, "alice")
		// The control: the same tap, dropped with nothing else going on,
		// goes back at once.
		test.Tap(h.button("alice"))
		h.m.Emit(tapIgnored(agent.TapIgnoredBusy))
		h.want(ScreenLocked, "Tap your badge")

		test.Tap(h.button("alice"))
		h.m.Emit(agent.Event{Event: agent.EventBadgeRead})
		h.m.Emit(tapIgnored(agent.TapIgnoredBusy))
		h.want(ScreenVerifying, "Checking your badge…")
		h.m.Emit(agent.Event{Event: agent.EventSessionStarted, User: "ana", DisplayName: "Ana Lima", SessionID: "s1", ExpiresAt: h.clock.t.Add(time.Hour)})
		h.want(ScreenActive, "Ana Lima")
	})
	t.Run("reader", func(t *testing.T) {
		h := newHarness(t)
		h.m.Emit(agent.Event{Event: agent.EventBadgeRead})
		h.m.Emit(tapIgnored(agent.TapIgnoredBusy))
		h.want(ScreenVerifying, "Checking your badge…")
		h.m.Emit(agent.Event{Event: agent.EventLoginRefused, Reason: "not_recognised"})
		h.want(ScreenRefused, "Badge not recognised. Ask your supervisor.")
	})
	t.Run("session screen", func(t *testing.T) {
		h := newHarness(t, "alice")
		h.m.Emit(agent.Event{Event: agent.EventSessionStarted, User: "ana", DisplayName: "Ana Lima", SessionID: "s1", ExpiresAt: h.clock.t.Add(time.Hour)})
		h.m.Emit(armed("dana.kim", "Dana Kim"))
		test.Tap(h.button("alice")) // registers: the session screen stays
		h.m.Emit(tapIgnored(agent.TapIgnoredBusy))
		h.want(ScreenActive, "Ana Lima", "[alice]")
	})
	t.Run("ending screen", func(t *testing.T) {
		h := newHarness(t)
		h.m.Emit(agent.Event{Event: agent.EventSessionEnding, User: "ana", SessionID: "s1", Reason: "signout"})
		h.m.Emit(tapIgnored(agent.TapIgnoredEnding))
		h.want(ScreenEnding, "Signing out…")
	})
}
