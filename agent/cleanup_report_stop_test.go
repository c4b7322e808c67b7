package agent

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestCleanupResendStoppedWithAgent: the timer that sends a success again
// (resendCleanup) is stopped when Run returns, as the agent's other timers
// are. Before, it was left running: up to cleanupReportInterval after the
// agent stopped, it fired into a loop that was gone.
func TestCleanupResendStoppedWithAgent(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	h := newHarness(t, func(_ *harness, cfg *Config) { cfg.Cleanup = leftoverCleanup(&fail) })
	h.hub.setResponder(wire.TypeCleanupReport, func(_ context.Context, data any) (wire.Envelope, error) {
		if !data.(wire.CleanupReport).Failing {
			return wire.Envelope{}, &RemoteError{Type: wire.TypeCleanupReport, Code: wire.ErrInternal, Message: "internal error"}
		}
		return env(t, wire.TypeAck, nil), nil
	})
	h.reportFailureThenSuccess(&fail)
	h.cleanupReports() // its internal answer, which arms the resend
	var retry Timer
	h.do(func() { retry = h.a.cleanReport.retry })
	if retry == nil {
		t.Fatal("no resend armed after the hub answered the success internal")
	}
	h.stop()
	if ft := retry.(*fakeTimer); ft.Stop() {
		t.Error("the success's resend timer was still running after Run returned")
	}
}
