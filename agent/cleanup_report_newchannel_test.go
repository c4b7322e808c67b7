package agent

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestCleanupSuccessInternalAfterReconnectSentAtOnce: a success whose
// internal answer comes only after a new channel came up (the hub's store
// failed on the old one) goes again at once on the new channel, as one
// whose answer was lost in transit does: the hub counts the kiosk as
// failing until it takes one, and the new channel is the resend a
// reconnect promises. Before, it waited for the resend timer (30 s and
// more).
func TestCleanupSuccessInternalAfterReconnectSentAtOnce(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	h := newHarness(t, func(_ *harness, cfg *Config) { cfg.Cleanup = leftoverCleanup(&fail) })
	gate := make(chan struct{})
	var successes atomic.Int32
	h.hub.setResponder(wire.TypeCleanupReport, func(_ context.Context, data any) (wire.Envelope, error) {
		if !data.(wire.CleanupReport).Failing && successes.Add(1) == 1 {
			<-gate // answered once the next channel is up
			return wire.Envelope{}, &RemoteError{Type: wire.TypeCleanupReport, Code: wire.ErrInternal, Message: "internal error"}
		}
		return env(t, wire.TypeAck, nil), nil
	})
	h.reportFailureThenSuccess(&fail)

	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)
	h.connect()
	close(gate)
	// No clock moves: the success is due on this channel now.
	h.hub.waitFor("the success sent again on the new channel", func() bool { return len(h.hub.requestsOf(wire.TypeCleanupReport)) == 3 })
	rs := h.cleanupReports()
	if len(rs) != 3 || rs[2].Failing {
		t.Fatalf("reports %+v, want the failure, then the success twice", rs)
	}
	h.do(func() {
		if h.a.cleanReport.retry != nil {
			t.Error("a resend is still armed after the hub took the success")
		}
	})
}
