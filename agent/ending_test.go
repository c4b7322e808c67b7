package agent

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestSessionEndingBeforeTeardown: every way a session ends is announced
// with session.ending as its teardown starts, while the teardown is still
// running (it can take the kill grace, or up to TeardownTimeout), so a
// screen can stop showing the worker at once; session.ended, with the
// same session, user and reason, follows only when the teardown is done.
func TestSessionEndingBeforeTeardown(t *testing.T) {
	for _, tc := range []struct {
		name   string
		reason string
		opts   []harnessOpt
		end    func(h *harness)
	}{
		{name: "signout", reason: wire.ReasonSignout, end: func(h *harness) { h.a.Signout() }},
		{name: "revoke", reason: wire.ReasonDeprovisioned, end: func(h *harness) {
			h.hub.push(wire.TypeSessionRevoke, "p1", wire.SessionRevoke{SessionID: "s1", Reason: wire.ReasonDeprovisioned})
		}},
		{name: "expiry", reason: wire.ReasonExpired, end: func(h *harness) { h.clock.Advance(time.Hour) }},
		{name: "idle", reason: wire.ReasonIdle, opts: []harnessOpt{withIdle(5 * time.Minute)},
			end: func(h *harness) { h.clock.Advance(5 * time.Minute) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, append(tc.opts, withGate())...)
			h.connect()
			h.login("s1", "ana", time.Hour)

			tc.end(h)
			got := h.ev.expect(t, EventSessionEnding)[0]
			want := Event{Event: EventSessionEnding, Time: h.clock.Now(), SessionID: "s1", User: "ana", Reason: tc.reason}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("session.ending (-want +got):\n%s", diff)
			}
			// The teardown has started and is held: the kiosk is ending,
			// nothing more is said, and input changes nothing.
			if s := <-h.teardowns; s.ID != "s1" {
				t.Fatalf("teardown of %q", s.ID)
			}
			h.wantState(Ending)
			h.a.Signout()
			h.a.Tap("ana")
			h.wantState(Ending)
			h.ev.none(t)
			if tc.name == "revoke" && h.acked("p1") {
				t.Error("revoke acknowledged before the teardown finished")
			}

			h.gate <- nil
			ended := h.ev.expect(t, EventSessionEnded)[0]
			if ended.SessionID != "s1" || ended.User != "ana" || ended.Reason != tc.reason {
				t.Errorf("session.ended = %+v, want s1, ana, %s", ended, tc.reason)
			}
			h.wantState(Locked)
			if tc.name == "revoke" {
				h.hub.waitFor("ack", func() bool { return h.acked("p1") })
			}
			h.ev.none(t)
		})
	}
}

// TestRestartAnnouncesInterruptedTeardown: an agent restarted in the middle
// of a teardown announces it again before finishing it (with no
// session.started: the session is not reopened).
func TestRestartAnnouncesInterruptedTeardown(t *testing.T) {
	dir, badges, clock := t.TempDir(), t.TempDir(), newFakeClock()
	h := startHarness(t, dir, badges, clock, withGate())
	h.connect()
	h.login("s1", "ana", time.Hour)
	h.hub.push(wire.TypeSessionRevoke, "p1", wire.SessionRevoke{SessionID: "s1", Reason: wire.ReasonForced})
	h.ev.expect(t, EventSessionEnding)
	<-h.teardowns
	h.stop() // teardown interrupted

	h2 := startHarness(t, dir, badges, clock, withGate())
	e := h2.ev.expect(t, EventSessionEnding)[0]
	if e.SessionID != "s1" || e.User != "ana" || e.Reason != wire.ReasonForced {
		t.Errorf("session.ending after restart = %+v", e)
	}
	<-h2.teardowns
	h2.wantState(Ending)
	h2.gate <- nil
	if e := h2.ev.expect(t, EventSessionEnded)[0]; e.SessionID != "s1" || e.Reason != wire.ReasonForced {
		t.Errorf("session.ended after restart = %+v", e)
	}
}
