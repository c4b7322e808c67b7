package agent

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestCleanupSuccessReportedAfterRestart: the hub counts a kiosk whose
// start-up clean-up it was told is failing as failing until it is told of
// the success. An agent restarted meanwhile (the kiosk rebooted by whoever
// was sent to it) whose first try then succeeds owes it that success:
// before, it reported nothing, and the console and
// shiftgate_kiosks_cleanup_failing counted the kiosk as failing until the
// hub restarted. A run that has told the hub of the success owes it
// nothing more.
func TestCleanupSuccessReportedAfterRestart(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	ack := func(h *harness) {
		h.hub.setResponder(wire.TypeCleanupReport, func(context.Context, any) (wire.Envelope, error) {
			return env(t, wire.TypeAck, nil), nil
		})
	}
	h := newHarness(t, func(_ *harness, cfg *Config) { cfg.Cleanup = leftoverCleanup(&fail) })
	ack(h)
	h.ev.expect(t, EventCleanupFailed)
	h.connect()
	h.hub.waitFor("the report of the failure", func() bool { return len(h.hub.requestsOf(wire.TypeCleanupReport)) == 1 })
	if rs := h.cleanupReports(); len(rs) != 1 || !rs[0].Failing {
		t.Fatalf("reports %+v, want the failure", rs)
	}
	h.stop()

	// The next run's first try succeeds, before and after the channel
	// comes up: the success goes out once the channel is up.
	fail.Store(false)
	h2 := startHarness(t, h.dir, h.badges, h.clock, func(_ *harness, cfg *Config) { cfg.Cleanup = leftoverCleanup(&fail) })
	ack(h2)
	h2.waitLoop("the first try", func() bool { return !h2.a.unclean })
	h2.connect()
	h2.hub.waitFor("the report of the success", func() bool { return len(h2.hub.requestsOf(wire.TypeCleanupReport)) == 1 })
	if rs := h2.cleanupReports(); len(rs) != 1 || rs[0] != (wire.CleanupReport{Try: 1, SessionID: "s0"}) {
		t.Fatalf("reports after the restart %+v, want the success after 1 failed try, of session s0", rs)
	}
	if _, err := os.Stat(filepath.Join(h.dir, CleanupFile)); err == nil {
		t.Errorf("%s kept after the hub took the success", CleanupFile)
	}
	h2.stop()

	h3 := startHarness(t, h.dir, h.badges, h.clock, func(_ *harness, cfg *Config) { cfg.Cleanup = leftoverCleanup(&fail) })
	ack(h3)
	h3.waitLoop("the first try", func() bool { return !h3.a.unclean })
	h3.connect()
	if rs := h3.cleanupReports(); len(rs) != 0 {
		t.Errorf("reports by a run after the success was told: %+v", rs)
	}
}

// TestCleanupSuccessNotReportedBeforeTry: a failure an earlier run
// reported is not declared over on the next channel before a try of this
// run has succeeded: one that fails again is reported as failing, and
// only its success as over.
func TestCleanupSuccessNotReportedBeforeTry(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	gate := make(chan struct{})
	h := newHarness(t, func(_ *harness, cfg *Config) { cfg.Cleanup = leftoverCleanup(&fail) })
	h.hub.setResponder(wire.TypeCleanupReport, func(context.Context, any) (wire.Envelope, error) {
		return env(t, wire.TypeAck, nil), nil
	})
	h.ev.expect(t, EventCleanupFailed)
	h.connect()
	h.hub.waitFor("the report of the failure", func() bool { return len(h.hub.requestsOf(wire.TypeCleanupReport)) == 1 })
	h.stop()

	held := leftoverCleanup(&fail)
	h2 := startHarness(t, h.dir, h.badges, h.clock, func(_ *harness, cfg *Config) {
		cfg.Cleanup = func(ctx context.Context) error {
			select {
			case <-gate:
			case <-ctx.Done():
				return ctx.Err()
			}
			return held(ctx)
		}
	})
	h2.hub.setResponder(wire.TypeCleanupReport, func(context.Context, any) (wire.Envelope, error) {
		return env(t, wire.TypeAck, nil), nil
	})
	h2.connect() // the first try has not answered
	if rs := h2.cleanupReports(); len(rs) != 0 {
		t.Fatalf("reports before this run's first try answered: %+v", rs)
	}
	close(gate) // it fails again
	h2.ev.expect(t, EventCleanupFailed)
	h2.hub.waitFor("the report of the failure", func() bool { return len(h2.hub.requestsOf(wire.TypeCleanupReport)) == 1 })
	if rs := h2.cleanupReports(); len(rs) != 1 || !rs[0].Failing || rs[0].Try != 1 {
		t.Fatalf("reports %+v, want this run's failure", rs)
	}
	fail.Store(false)
	h2.succeedAgain()
	h2.hub.waitFor("the report of the success", func() bool { return len(h2.hub.requestsOf(wire.TypeCleanupReport)) == 2 })
	if rs := h2.cleanupReports(); rs[1].Failing {
		t.Errorf("reports %+v, want the success last", rs)
	}
}
