package agent

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestSessionEndTwoHubFailuresDoNotBlockLaterReports: two session.end
// reports in a row that the hub answers wire.ErrInternal every time (a
// failure of its own on reports of one kind, not an outage) end every
// try, as two such answers in a row do; they used to stay at the head of
// the queue, so that the reports after them were never sent, every
// session the kiosk ended after them left live on the hub. The next try
// starts with the reports the last one did not reach, and the failing
// two are dropped once the hub has failed on them maxFailedAlone times
// while recording others.
func TestSessionEndTwoHubFailuresDoNotBlockLaterReports(t *testing.T) {
	h := newHarness(t)
	h.connect()
	h.hub.setResponder(wire.TypeSessionEnd, func(_ context.Context, data any) (wire.Envelope, error) {
		if id := data.(wire.SessionEnd).SessionID; id == "bad1" || id == "bad2" {
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
	for _, id := range []string{"bad1", "bad2"} {
		h.login(id, "ana", time.Hour)
		h.a.Signout()
		h.ev.ended(t)
		h.hub.waitFor("the failing report "+id+" sent", func() bool { return sent(id) >= 1 })
		h.waitLoop("the failed try", func() bool { return !h.a.flushing })
	}

	for i, id := range []string{"s1", "s2", "s3"} {
		h.login(id, "ana", time.Hour)
		h.a.Signout()
		h.ev.ended(t)
		// The try at the end ends on the two failing reports; the retry
		// reaches the new one.
		for range 3 {
			if sent(id) == 1 {
				break
			}
			h.waitLoop("the try with "+id, func() bool { return !h.a.flushing })
			h.clock.Advance(flushRetry)
			h.waitLoop("the retry with "+id, func() bool { return !h.a.flushing })
		}
		if n := sent(id); n != 1 {
			t.Fatalf("report %s sent %d times behind two reports the hub fails on, want once", id, n)
		}
		h.waitLoop("the try with "+id, func() bool { return !h.a.flushing })
		got := pendingIDs(h)
		slices.Sort(got)
		want := []string{"bad1", "bad2"}
		if i == maxFailedAlone-1 {
			want = nil // failed alone maxFailedAlone times: dropped
		}
		if !slices.Equal(got, want) {
			t.Fatalf("after %s: pending %v, want %v", id, got, want)
		}
	}
}
