package agent

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestSessionEndRetriedOnLiveChannel: a session.end report whose try
// failed is sent again while the kiosk stays connected, not only at the
// next connection or the next session's end. Two ways left it waiting:
// the hub did not answer in time on a channel that stayed up, and the
// channel the try used dropped and another came up meanwhile (whose
// welcome found the try still running, so sent nothing).
func TestSessionEndRetriedOnLiveChannel(t *testing.T) {
	for _, tc := range []struct {
		name string
		// fail is called while the first try waits for the hub's answer,
		// and returns the error that try ends with.
		fail func(h *harness) error
	}{
		{"no answer in time", func(*harness) error {
			return fmt.Errorf("session.end: no answer from the hub: %w", context.DeadlineExceeded)
		}},
		{"reconnected meanwhile", func(h *harness) error {
			h.hub.disconnect()
			h.ev.expect(h.t, EventDisconnected)
			h.connect()
			return fmt.Errorf("session.end: %w", ErrDisconnected)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.connect()
			h.login("s1", "ana", time.Hour)
			first, release := make(chan struct{}), make(chan error)
			var tries atomic.Int32
			h.hub.setResponder(wire.TypeSessionEnd, func(ctx context.Context, _ any) (wire.Envelope, error) {
				if tries.Add(1) == 1 {
					close(first)
					return wire.Envelope{}, <-release
				}
				return env(t, wire.TypeAck, nil), nil
			})
			h.a.Signout()
			h.ev.ended(t)
			<-first
			release <- tc.fail(h)
			h.waitLoop("the failed try", func() bool { return !h.a.flushing })
			h.clock.Advance(flushRetry)
			h.hub.waitFor("session.end sent again", func() bool { return len(h.hub.requestsOf(wire.TypeSessionEnd)) == 2 })
			h.waitLoop("the report delivered", func() bool { return !h.a.flushing && len(h.a.pending) == 0 })
			st, err := readSessionState(h.dir)
			if err != nil || len(st.Pending) != 0 {
				t.Errorf("session.json pending %+v, %v: want none", st.Pending, err)
			}
		})
	}
}

// TestRevokeAckNotSentReportsEnd: the channel dropped before the loop
// heard of it, so the teardown finished "connected" but its acks could not
// be sent. The kiosk comes back without the session (no welcome.revoke to
// answer), so it reports the session's end once, which the hub takes as
// the acknowledgement, as for a teardown finished offline.
func TestRevokeAckNotSentReportsEnd(t *testing.T) {
	h := newHarness(t, withGate())
	h.connect()
	h.login("s1", "ana", time.Hour)
	h.hub.push(wire.TypeSessionRevoke, "p1", wire.SessionRevoke{SessionID: "s1", Reason: wire.ReasonDeprovisioned})
	h.hub.push(wire.TypeSessionRevoke, "p2", wire.SessionRevoke{SessionID: "s1", Reason: wire.ReasonDeprovisioned})
	<-h.teardowns
	// The Client has lost the channel; its Disconnected is not queued yet.
	h.hub.mu.Lock()
	h.hub.connected = false
	h.hub.mu.Unlock()
	h.gate <- nil
	h.ev.expect(t, EventSessionEnding, EventSessionEnded)
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)
	h.connect()
	h.endReported("s1", wire.ReasonDeprovisioned)
	h.waitLoop("the report delivered", func() bool { return !h.a.flushing && len(h.a.pending) == 0 })
	if n := len(h.hub.requestsOf(wire.TypeSessionEnd)); n != 1 {
		t.Errorf("%d session.end requests, want 1", n)
	}
}

// TestGrantAfterDisconnectKeepsOfflineCount: the hub's grant reached the
// agent on a channel that dropped right after, and the loop heard of the
// drop first (the grant travels through the login's goroutine). The
// session opens with the hub out of reach, so session.json records since
// when, as for a session open when the hub was lost: a restart (the kiosk's
// power pulled) counts the offline grace from the drop, not from its own
// start.
func TestGrantAfterDisconnectKeepsOfflineCount(t *testing.T) {
	dir, badges, clock := t.TempDir(), t.TempDir(), newFakeClock()
	h := startHarness(t, dir, badges, clock, withOfflineGrace(15*time.Minute))
	h.connect()
	registerBadge(t, badges, "ana")
	asked, release := make(chan struct{}), make(chan struct{})
	grant := grantFor(clock, "s1", "ana", 8*time.Hour)
	h.hub.setResponder(wire.TypeLogin, func(ctx context.Context, data any) (wire.Envelope, error) {
		close(asked)
		<-release
		return grant(ctx, data)
	})
	h.a.Tap("ana")
	<-asked
	lost := clock.Now()
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)
	close(release)
	h.ev.expect(t, EventSessionStarted)
	h.do(func() {})
	st, err := readSessionState(dir)
	if err != nil || st.Session == nil || !st.Session.OfflineSince.Equal(lost) {
		t.Fatalf("session.json: %+v, %v; want offline since %s", st.Session, err, lost)
	}
	clock.Advance(9 * time.Minute)
	h.stop()
	clock.Advance(time.Minute) // 10 minutes since the hub was lost

	h2 := startHarness(t, dir, badges, clock, withOfflineGrace(15*time.Minute))
	h2.ev.expect(t, EventSessionStarted, EventSessionWarning) // 5 minutes left: inside the warning lead
	clock.Advance(5 * time.Minute)
	if e := h2.ev.ended(t); e.Reason != wire.ReasonOffline {
		t.Errorf("session.ended = %+v, want offline 15 minutes after the hub was lost", e)
	}
}

// TestRevokeAckInDoubtReportsEnd: an ack the channel took may never reach
// the hub: a channel whose network went away without a word is noticed
// only once the hub has been silent for wire.PongWait, and the kiosk then
// comes back without the session (no welcome.revoke asks again). A drop
// within ackDoubt of the ack therefore has the end reported as well; the
// hub takes a second acknowledgement as a no-op. A drop later than that
// reports nothing.
func TestRevokeAckInDoubtReportsEnd(t *testing.T) {
	for _, tc := range []struct {
		name   string
		after  time.Duration
		report bool
	}{
		{"drop right after the ack", 0, true},
		{"drop while the ack is in doubt", ackDoubt, true},
		{"drop after that", ackDoubt + time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.connect()
			h.login("s1", "ana", time.Hour)
			h.hub.push(wire.TypeSessionRevoke, "p1", wire.SessionRevoke{SessionID: "s1", Reason: wire.ReasonForced})
			h.ev.ended(t)
			h.hub.waitFor("ack of p1", func() bool { return h.acked("p1") })
			h.clock.Advance(tc.after)
			h.hub.disconnect()
			h.ev.expect(t, EventDisconnected)
			h.connect()
			if tc.report {
				h.endReported("s1", wire.ReasonForced)
				return
			}
			h.do(func() {})
			h.waitLoop("flush", func() bool { return !h.a.flushing })
			if got := h.hub.requestsOf(wire.TypeSessionEnd); len(got) != 0 {
				t.Errorf("session.end %+v sent for an ack long delivered", got)
			}
		})
	}
}
