package ui

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent"
)

func deviceRefused() agent.Event {
	return agent.Event{Event: agent.EventDeviceRefused, Reason: agent.RefusalCertificate, Hint: "ask an admin"}
}

// TestNotEnrolledScreen: when the hub refuses the kiosk's certificate the
// kiosk tells staff, instead of "Tap your badge" and a plain Offline, that
// it is not enrolled any more and to call IT, offers no badge to tap, and
// goes back to the locked screen once the hub takes it again.
func TestNotEnrolledScreen(t *testing.T) {
	h := newHarness(t, "ana")
	h.m.Emit(agent.Event{Event: agent.EventConnected, Site: "north", DeviceName: "north-1"})
	h.want(ScreenLocked, "Tap your badge", "Online")
	h.m.Emit(agent.Event{Event: agent.EventDisconnected})
	h.want(ScreenLocked, "Tap your badge", "Offline")

	h.m.Emit(deviceRefused())
	msg := English().NotEnrolledMessage()
	if msg.Title != "This kiosk is no longer registered with the server." || msg.Detail != "Call IT." {
		t.Errorf("NotEnrolledMessage() = %+v", msg)
	}
	h.want(ScreenNotEnrolled, msg.Title, msg.Detail, "Offline", "north · north-1")
	if got := h.texts(); slices.Contains(got, "Tap your badge") || slices.Contains(got, "[ana]") {
		t.Errorf("the not-enrolled screen invites a tap: %q", got)
	}
	h.m.Tick() // stays: it is the resting screen while refused
	h.clock.t = h.clock.t.Add(time.Hour)
	h.m.Tick()
	h.want(ScreenNotEnrolled, msg.Title)

	h.m.Emit(agent.Event{Event: agent.EventConnected, Site: "north", DeviceName: "north-1"})
	h.want(ScreenLocked, "Tap your badge", "Online", "[ana]")
}

// TestNotEnrolledAfterSessionAndRefusal: a refusal during a session (one
// restored while the hub was away) leaves the session screen alone; the
// kiosk rests on the not-enrolled screen once the session is over, and
// after a refused login.
func TestNotEnrolledAfterSessionAndRefusal(t *testing.T) {
	h := newHarness(t)
	h.m.Emit(agent.Event{Event: agent.EventSessionStarted, User: "ana", SessionID: "s1", Role: "nurse", ExpiresAt: h.clock.t.Add(time.Hour), Restored: true})
	h.m.Emit(deviceRefused())
	h.want(ScreenActive, "ana", "nurse")

	h.m.Emit(agent.Event{Event: agent.EventSessionEnding, User: "ana", SessionID: "s1", Reason: "expired"})
	h.m.Emit(agent.Event{Event: agent.EventSessionEnded, User: "ana", SessionID: "s1", Reason: "expired"})
	h.want(ScreenEnded, "Session expired")
	h.clock.t = h.clock.t.Add(DefaultMessageFor)
	h.m.Tick()
	h.want(ScreenNotEnrolled, English().NotEnrolledMessage().Title)

	// A badge on the reader still gets its answer, then the screen is back.
	h.m.Emit(agent.Event{Event: agent.EventBadgeRead})
	h.m.Emit(agent.Event{Event: agent.EventLoginRefused, Reason: agent.RefusedHubUnreachable})
	h.want(ScreenRefused, "Try again")
	h.clock.t = h.clock.t.Add(DefaultMessageFor)
	h.m.Tick()
	h.want(ScreenNotEnrolled, English().NotEnrolledMessage().Title, "Call IT.")
}

// TestKioskDisabledShowsNotEnrolled: through the real agent core and hub,
// an admin disabling the kiosk brings the not-enrolled screen.
func TestKioskDisabledShowsNotEnrolled(t *testing.T) {
	k := startKiosk(t)
	k.waitScreen(ScreenLocked, "Tap your badge", "Online")
	if r := k.hub.API(t, http.MethodPost, "/api/v1/devices/"+k.name+"/disable", nil); r.Status != http.StatusOK {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	k.waitScreen(ScreenLocked, "Tap your badge", "Offline")
	// The agent reconnects on its (hand-moved) clock: let time pass until
	// the hub's refusal reaches the screen.
	deadline := time.Now().Add(waitLimit)
	for {
		k.tick(time.Minute)
		select {
		case r := <-k.renders:
			k.last = r
			if r.screen == ScreenNotEnrolled && r.shows(English().NotEnrolledMessage().Title, "Call IT.") {
				return
			}
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no not-enrolled screen; last drawn: %s %q", k.last.screen, k.last.texts)
		}
	}
}
