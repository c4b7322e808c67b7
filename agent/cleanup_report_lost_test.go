package agent

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestCleanupSuccessAfterLostReport: a report of the failure whose answer
// was lost (the request timed out, the channel dropped) may have reached
// the hub, which then counts and shows the kiosk as failing: the success
// that follows is reported all the same, at once if it came while that
// report was in flight, or the hub would show the kiosk failing (and
// ShiftgateKioskCleanupFailing fire) for good.
func TestCleanupSuccessAfterLostReport(t *testing.T) {
	for _, tc := range []struct {
		name     string
		inFlight bool // the success comes before the lost report's answer
	}{
		{name: "after the answer"},
		{name: "while in flight", inFlight: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var fail atomic.Bool
			fail.Store(true)
			h := newHarness(t, func(_ *harness, cfg *Config) { cfg.Cleanup = leftoverCleanup(&fail) })
			var calls atomic.Int32
			hold := make(chan struct{})
			h.hub.setResponder(wire.TypeCleanupReport, func(_ context.Context, data any) (wire.Envelope, error) {
				if calls.Add(1) == 1 {
					if tc.inFlight {
						<-hold
					}
					// The hub took it; its answer is lost.
					return wire.Envelope{}, fmt.Errorf("%s: %w", wire.TypeCleanupReport, context.DeadlineExceeded)
				}
				return env(t, wire.TypeAck, nil), nil
			})
			h.ev.expect(t, EventCleanupFailed)
			h.connect()
			h.hub.waitFor("the first report", func() bool { return len(h.hub.requestsOf(wire.TypeCleanupReport)) == 1 })
			fail.Store(false)
			if tc.inFlight {
				h.succeedAgain()
				close(hold)
			} else {
				h.waitLoop("the lost report's answer", func() bool { return !h.a.cleanReport.sending })
				h.succeedAgain()
			}
			h.hub.waitFor("the report of the success", func() bool { return len(h.hub.requestsOf(wire.TypeCleanupReport)) == 2 })
			if rs := h.cleanupReports(); len(rs) != 2 || rs[1].Failing || rs[1].Try != 1 {
				t.Fatalf("reports %+v, want the success after one failed try", rs)
			}
		})
	}
}
