package hub_test

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestCleanupReportEpisodesCapped: a kiosk that makes up failures and
// successes as fast as it likes (each failure a new episode after a
// recorded success) writes at most cleanupAuditEpisodes (3)
// device.cleanup_failed records in any 10 minutes, and no more
// device.cleanup_done than close them, as the README says; once the
// oldest of the three is 10 minutes old, the next failure is recorded
// again.
func TestCleanupReportEpisodesCapped(t *testing.T) {
	h, clock, _ := metricsHub(t)
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	flap := func(n int) {
		t.Helper()
		for i := range n {
			clock.Advance(10 * time.Second)
			since := clock.Now().UTC().Truncate(time.Second)
			k.Call(wire.TypeCleanupReport, wire.CleanupReport{Failing: true, Try: 1, Since: since, Reason: "read-only file system"}, wire.TypeAck, nil)
			clock.Advance(10 * time.Second)
			k.Call(wire.TypeCleanupReport, wire.CleanupReport{Try: 1 + i%2}, wire.TypeAck, nil)
		}
	}
	counts := func() (failed, done int) {
		t.Helper()
		return len(cleanupAudit(t, h, k, "device.cleanup_failed")), len(cleanupAudit(t, h, k, "device.cleanup_done"))
	}
	flap(10) // 200 s
	if f, d := counts(); f != 3 || d != 3 {
		t.Fatalf("%d device.cleanup_failed and %d device.cleanup_done records of 10 episodes in 200 s, want 3 and 3", f, d)
	}
	// Records at 10, 30 and 50 s: a failure at 600 s has three within
	// the 10 minutes before it and is not recorded, nor its success; one
	// at 620 s has two (the first is 610 s old) and is, and closed.
	clock.Advance(600*time.Second - 10*time.Second - 200*time.Second)
	flap(1)
	if f, d := counts(); f != 3 || d != 3 {
		t.Errorf("%d device.cleanup_failed and %d device.cleanup_done records after an episode at 600 s, want 3 and 3", f, d)
	}
	flap(1)
	if f, d := counts(); f != 4 || d != 4 {
		t.Errorf("%d device.cleanup_failed and %d device.cleanup_done records after an episode at 620 s, want 4 and 4", f, d)
	}
}
