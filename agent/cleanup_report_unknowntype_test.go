package agent

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestCleanupUnknownTypeFromOldChannelKeepsNewOne: an unknown_type answer
// that comes only after a new channel came up is the old channel's hub's:
// the report goes at once on the new channel, whose hub may know the
// message, instead of the new channel being taken for an older hub too.
// Before, the late answer set unsupported, and the new channel sent no
// clean-up report until the connection after it.
func TestCleanupUnknownTypeFromOldChannelKeepsNewOne(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	h := newHarness(t, func(_ *harness, cfg *Config) { cfg.Cleanup = leftoverCleanup(&fail) })
	gate := make(chan struct{})
	var sends atomic.Int32
	h.hub.setResponder(wire.TypeCleanupReport, func(context.Context, any) (wire.Envelope, error) {
		if sends.Add(1) == 1 {
			<-gate // answered once the next channel is up
			return wire.Envelope{}, &RemoteError{Type: wire.TypeCleanupReport, Code: wire.ErrUnknownType, Message: "unknown message type"}
		}
		return env(t, wire.TypeAck, nil), nil
	})
	h.ev.expect(t, EventCleanupFailed)
	h.connect()
	h.hub.waitFor("the report of the failure", func() bool { return len(h.hub.requestsOf(wire.TypeCleanupReport)) == 1 })

	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)
	h.connect()
	close(gate)
	// No clock moves: the failure is due on the new channel now, and
	// cleanupReports waits for its answer.
	rs := h.cleanupReports()
	if len(rs) != 2 || !rs[1].Failing {
		t.Fatalf("reports %+v, want the failure on the old channel and again on the new one", rs)
	}
	h.do(func() {
		if h.a.cleanReport.unsupported || !h.a.cleanReport.told {
			t.Errorf("unsupported %v, told %v; want the new channel's hub to have taken the report", h.a.cleanReport.unsupported, h.a.cleanReport.told)
		}
	})
}
