package agent

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// pendingIDs returns the session IDs of the queued session.end reports.
func pendingIDs(h *harness) []string {
	var ids []string
	h.do(func() {
		for _, p := range h.a.pending {
			ids = append(ids, p.SessionID)
		}
	})
	return ids
}

// TestSessionEndHubFailureDoesNotBlockLaterReports: a session.end report
// the hub answers wire.ErrInternal every time (a failure of its own, not
// an outage of the hub's store) is kept, but does not hold back the
// reports after it: they used to wait behind it for good, every session
// the kiosk ended after it left live on the hub. Once the hub has failed
// on it maxFailedAlone times while recording other reports, it is
// dropped.
func TestSessionEndHubFailureDoesNotBlockLaterReports(t *testing.T) {
	h := newHarness(t)
	h.connect()
	h.hub.setResponder(wire.TypeSessionEnd, func(_ context.Context, data any) (wire.Envelope, error) {
		if data.(wire.SessionEnd).SessionID == "bad" {
			return wire.Envelope{}, &RemoteError{Type: wire.TypeSessionEnd, Code: wire.ErrInternal, Message: "internal error"}
		}
		return env(t, wire.TypeAck, nil), nil
	})
	sent := func(id string) int {
		n := 0
		for _, r := range h.hub.requestsOf(wire.TypeSessionEnd) {
			if r.(wire.SessionEnd).SessionID == id {
				n++
			}
		}
		return n
	}
	h.login("bad", "ana", time.Hour)
	h.a.Signout()
	h.ev.ended(t)
	h.hub.waitFor("the failing report sent", func() bool { return sent("bad") == 1 })
	h.waitLoop("the failed try", func() bool { return !h.a.flushing })

	for i, id := range []string{"s1", "s2", "s3"} {
		h.login(id, "ana", time.Hour)
		h.a.Signout()
		h.ev.ended(t)
		h.hub.waitFor("the later report "+id+" sent", func() bool { return sent(id) == 1 })
		h.waitLoop("the try with "+id, func() bool { return !h.a.flushing })
		want := []string{"bad"}
		if i == maxFailedAlone-1 {
			want = nil // failed alone maxFailedAlone times: dropped
		}
		if got := pendingIDs(h); !slices.Equal(got, want) {
			t.Fatalf("after %s: pending %v, want %v", id, got, want)
		}
	}
	if n := sent("bad"); n != 1+maxFailedAlone {
		t.Errorf("the failing report was sent %d times, want %d", n, 1+maxFailedAlone)
	}
}

// TestSessionEndOutageKeepsEveryReport: while the hub's store refuses
// every write, it answers every report wire.ErrInternal: none is dropped,
// however many tries fail, and all are delivered once it recovers, each
// once. A try ends after maxInternalInARow such answers in a row instead
// of sending every report into the outage (the next starts with the
// reports it did not reach, so their order turns).
func TestSessionEndOutageKeepsEveryReport(t *testing.T) {
	h := newHarness(t)
	h.connect()
	var outage atomic.Bool
	outage.Store(true)
	h.hub.setResponder(wire.TypeSessionEnd, func(context.Context, any) (wire.Envelope, error) {
		if outage.Load() {
			return wire.Envelope{}, &RemoteError{Type: wire.TypeSessionEnd, Code: wire.ErrInternal, Message: "internal error"}
		}
		return env(t, wire.TypeAck, nil), nil
	})
	ids := []string{"s1", "s2", "s3", "s4", "s5"}
	for _, id := range ids {
		h.login(id, "ana", time.Hour)
		h.a.Signout()
		h.ev.ended(t)
		h.waitLoop("the try with "+id, func() bool { return !h.a.flushing })
	}
	for range 2 * maxFailedAlone {
		n := len(h.hub.requestsOf(wire.TypeSessionEnd))
		h.clock.Advance(flushRetry)
		h.hub.waitFor("the reports sent again", func() bool { return len(h.hub.requestsOf(wire.TypeSessionEnd)) >= n+maxInternalInARow })
		h.waitLoop("the try", func() bool { return !h.a.flushing })
		if got := len(h.hub.requestsOf(wire.TypeSessionEnd)) - n; got != maxInternalInARow {
			t.Fatalf("a try during the outage sent %d reports, want %d", got, maxInternalInARow)
		}
	}
	if got := pendingIDs(h); !slices.Equal(slices.Sorted(slices.Values(got)), ids) {
		t.Fatalf("pending during the outage %v, want every report %v", got, ids)
	}
	outage.Store(false)
	n := len(h.hub.requestsOf(wire.TypeSessionEnd))
	h.clock.Advance(flushRetry)
	h.waitLoop("the reports delivered", func() bool { return !h.a.flushing && len(h.a.pending) == 0 })
	var order []string
	for _, r := range h.hub.requestsOf(wire.TypeSessionEnd)[n:] {
		order = append(order, r.(wire.SessionEnd).SessionID)
	}
	if !slices.Equal(slices.Sorted(slices.Values(order)), ids) {
		t.Errorf("delivered %v, want %v", order, ids)
	}
}
