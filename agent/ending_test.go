package agent

import (
	"encoding/json"
	"errors"
	"strings"
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
			h.ev.ignored(t, TapIgnoredEnding)
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

// TestFailedTeardownKeepsSessionAndRetries: a teardown that fails leaves
// the session recorded in session.json (ending) and the kiosk Ending, so
// nobody signs in over what is left of it; the teardown is tried again
// after a backoff, and only the one that succeeds locks the kiosk, emits
// session.ended and reports session.end.
func TestFailedTeardownKeepsSessionAndRetries(t *testing.T) {
	h := newHarness(t, withGate())
	h.connect()
	h.login("s1", "ana", time.Hour)
	h.a.Signout()
	h.ev.expect(t, EventSessionEnding)
	<-h.teardowns
	h.gate <- errors.New("processes survived SIGKILL")
	h.ev.expect(t, EventSessionTeardownFailed)
	h.wantState(Ending)
	st, err := readSessionState(h.dir)
	mustNoErr(t, err)
	if st.Session == nil || st.Session.ID != "s1" || st.Session.Ending != wire.ReasonSignout {
		t.Fatalf("session.json after a failed teardown: %+v, want s1 ending signout", st.Session)
	}

	// A new worker cannot sign in over the leftovers.
	registerBadge(t, h.badges, "bob")
	h.hub.setResponder(wire.TypeLogin, grantFor(h.clock, "s2", "bob", time.Hour))
	h.a.Tap("bob")
	h.wantState(Ending)
	h.ev.ignored(t, TapIgnoredEnding)
	h.ev.none(t)
	if n := len(h.hub.requestsOf(wire.TypeLogin)); n != 1 { // ana's
		t.Fatalf("%d login requests, want only ana's", n)
	}

	// Retried with a backoff: 1 s, then 2 s.
	h.clock.Advance(teardownRetryBase - time.Millisecond)
	h.do(func() {})
	select {
	case s := <-h.teardowns:
		t.Fatalf("teardown of %s retried before the backoff", s.ID)
	default:
	}
	h.clock.Advance(time.Millisecond)
	if s := <-h.teardowns; s.ID != "s1" {
		t.Fatalf("retry tore down %q", s.ID)
	}
	h.gate <- errors.New("still there")
	h.ev.expect(t, EventSessionTeardownFailed)
	h.wantState(Ending)
	h.clock.Advance(2 * teardownRetryBase)
	<-h.teardowns
	h.gate <- nil
	if e := h.ev.expect(t, EventSessionEnded)[0]; e.SessionID != "s1" || e.Reason != wire.ReasonSignout {
		t.Errorf("session.ended = %+v", e)
	}
	h.wantState(Locked)
	h.hub.waitFor("session.end", func() bool { return len(h.hub.requestsOf(wire.TypeSessionEnd)) == 1 })
	st, err = readSessionState(h.dir)
	mustNoErr(t, err)
	if st.Session != nil {
		t.Errorf("session.json still records %+v after the teardown succeeded", st.Session)
	}
}

// TestFailedTeardownEmitsEvent: each failed try of a teardown emits
// session.teardown_failed with the session and the number of failures in
// a row, and nothing of the worker (no user, not the error); the retries go
// on, and the try that succeeds emits session.ended as before. The count
// starts again for the next session.
func TestFailedTeardownEmitsEvent(t *testing.T) {
	h := newHarness(t, withGate())
	h.connect()
	h.login("s1", "ana", time.Hour)
	h.a.Signout()
	h.ev.expect(t, EventSessionEnding)
	<-h.teardowns
	for attempt := 1; attempt <= 3; attempt++ {
		h.gate <- errors.New("wipe /home/ana: permission denied")
		got := h.ev.expect(t, EventSessionTeardownFailed)[0]
		want := Event{Event: EventSessionTeardownFailed, Time: h.clock.Now(), SessionID: "s1", Attempt: attempt}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("failure %d: session.teardown_failed (-want +got):\n%s", attempt, diff)
		}
		b, err := json.Marshal(got)
		mustNoErr(t, err)
		if strings.Contains(string(b), "ana") {
			t.Errorf("session.teardown_failed tells of the worker: %s", b)
		}
		h.wantState(Ending)
		h.clock.Advance(teardownRetryDelay(attempt))
		if s := <-h.teardowns; s.ID != "s1" {
			t.Fatalf("retry %d tore down %q", attempt, s.ID)
		}
	}
	h.gate <- nil
	h.ev.expect(t, EventSessionEnded)
	h.wantState(Locked)
	h.ev.none(t)

	h.login("s2", "ana", time.Hour)
	h.a.Signout()
	h.ev.expect(t, EventSessionEnding)
	<-h.teardowns
	h.gate <- errors.New("processes survived SIGKILL")
	if e := h.ev.expect(t, EventSessionTeardownFailed)[0]; e.SessionID != "s2" || e.Attempt != 1 {
		t.Errorf("next session's first failure: %+v, want s2 attempt 1", e)
	}
}

// TestResentRevokeRetriesFailedTeardown: a revoke whose teardown failed is
// answered with error{internal}; the hub's resent revoke is not acked
// blindly (the kiosk still holds the session) but tries the teardown again
// at once, and is acked when that succeeds.
func TestResentRevokeRetriesFailedTeardown(t *testing.T) {
	h := newHarness(t, withGate())
	h.connect()
	h.login("s1", "ana", time.Hour)
	h.hub.push(wire.TypeSessionRevoke, "p1", wire.SessionRevoke{SessionID: "s1", Reason: wire.ReasonForced})
	h.ev.expect(t, EventSessionEnding)
	<-h.teardowns
	h.gate <- errors.New("processes survived SIGKILL")
	h.hub.waitFor("error reply", func() bool { return len(h.hub.getReplies()) == 1 })
	if r := h.hub.getReplies()[0]; r.Re != "p1" || r.Type != wire.TypeError {
		t.Fatalf("reply %+v, want error for p1", r)
	}
	h.ev.expect(t, EventSessionTeardownFailed)

	h.hub.push(wire.TypeSessionRevoke, "p2", wire.SessionRevoke{SessionID: "s1", Reason: wire.ReasonForced})
	select {
	case s := <-h.teardowns:
		if s.ID != "s1" {
			t.Fatalf("teardown of %q", s.ID)
		}
	case <-time.After(waitLimit):
		t.Fatalf("resent revoke did not retry the teardown; replies %+v", h.hub.getReplies())
	}
	if h.acked("p2") {
		t.Fatal("resent revoke acked before its teardown finished")
	}
	h.gate <- nil
	if e := h.ev.expect(t, EventSessionEnded)[0]; e.SessionID != "s1" || e.Reason != wire.ReasonForced {
		t.Errorf("session.ended = %+v", e)
	}
	h.hub.waitFor("ack of p2", func() bool { return h.acked("p2") })
	h.wantState(Locked)
}

// TestRestartRetriesFailedTeardown: a session whose teardown failed is still
// in session.json, so a restarted agent tears it down again.
func TestRestartRetriesFailedTeardown(t *testing.T) {
	dir, badges, clock := t.TempDir(), t.TempDir(), newFakeClock()
	h := startHarness(t, dir, badges, clock, withGate())
	h.connect()
	h.login("s1", "ana", time.Hour)
	h.a.Signout()
	<-h.teardowns
	h.gate <- errors.New("processes survived SIGKILL")
	h.waitLoop("the failed teardown", func() bool { return h.a.tornFails == 1 })
	h.wantState(Ending)
	h.stop()

	h2 := startHarness(t, dir, badges, clock)
	if e := h2.ev.ended(t); e.SessionID != "s1" || e.Reason != wire.ReasonSignout {
		t.Errorf("session.ended after restart = %+v", e)
	}
	if s := <-h2.teardowns; s.ID != "s1" {
		t.Errorf("teardown of %q", s.ID)
	}
}

// TestRevokeAnsweredWithErrorReportsEnd: a revoke whose teardown failed was
// answered with an error, so when a retry (by its backoff, with no revoke
// resent) succeeds there is nothing to ack: the kiosk reports session.end,
// which the hub takes as the revocation's acknowledgement.
func TestRevokeAnsweredWithErrorReportsEnd(t *testing.T) {
	h := newHarness(t, withGate())
	h.connect()
	h.login("s1", "ana", time.Hour)
	h.hub.push(wire.TypeSessionRevoke, "p1", wire.SessionRevoke{SessionID: "s1", Reason: wire.ReasonDeprovisioned})
	<-h.teardowns
	h.gate <- errors.New("processes survived SIGKILL")
	h.hub.waitFor("error reply", func() bool { return len(h.hub.getReplies()) == 1 })
	h.do(func() {}) // endDone has armed the retry
	h.clock.Advance(teardownRetryBase)
	<-h.teardowns
	h.gate <- nil
	h.ev.expect(t, EventSessionEnding, EventSessionTeardownFailed, EventSessionEnded)
	h.endReported("s1", wire.ReasonDeprovisioned)
	if h.acked("p1") {
		t.Error("p1 acked after it was answered with an error")
	}
}

// TestRevokeFinishedOfflineReportsEnd: a revoke whose teardown finishes
// after the channel dropped cannot be acked, and the kiosk comes back with
// no live session (no welcome.revoke to answer): it reports session.end
// once connected. A teardown finished while connected is acked, not
// reported.
func TestRevokeFinishedOfflineReportsEnd(t *testing.T) {
	h := newHarness(t, withGate())
	h.connect()
	h.login("s1", "ana", time.Hour)
	h.hub.push(wire.TypeSessionRevoke, "p1", wire.SessionRevoke{SessionID: "s1", Reason: wire.ReasonForced})
	<-h.teardowns
	h.hub.disconnect()
	h.waitLoop("the disconnect", func() bool { return !h.a.connected })
	h.gate <- nil
	h.ev.expect(t, EventSessionEnding, EventDisconnected, EventSessionEnded)
	h.connect()
	h.endReported("s1", wire.ReasonForced)

	h.login("s2", "ana", time.Hour)
	h.hub.push(wire.TypeSessionRevoke, "p2", wire.SessionRevoke{SessionID: "s2", Reason: wire.ReasonForced})
	<-h.teardowns
	h.gate <- nil
	h.hub.waitFor("ack of p2", func() bool { return h.acked("p2") })
	for _, r := range h.hub.requestsOf(wire.TypeSessionEnd) {
		if r.(wire.SessionEnd).SessionID == "s2" {
			t.Errorf("s2 reported although its revoke was acked")
		}
	}
}
