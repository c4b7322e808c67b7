package hub_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestCleanupReportAuditPerKiosk: the kiosk, not the report, decides
// nothing about how often the audit trail is written. A kiosk whose agent
// restarts again and again while its clean-up fails (a crash loop: every
// run's first failed try is a new since), or a compromised kiosk that
// makes up a since or a success per report, writes at most one
// device.cleanup_failed per cleanupAuditInterval, but for the first
// reports of new episodes after a recorded success, and then at most
// cleanupAuditEpisodes (3) in all; a device.cleanup_done only to close
// one; a success the hub knows nothing of (it restarted since) is
// recorded once.
func TestCleanupReportAuditPerKiosk(t *testing.T) {
	h, clock, scrape := metricsHub(t)
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")

	since := clock.Now().UTC().Truncate(time.Second)
	for i := range 20 {
		// A new episode each time (a restarted agent), then its success.
		s := since.Add(time.Duration(i) * time.Second)
		k.Call(wire.TypeCleanupReport, wire.CleanupReport{Failing: true, Try: 1, Since: s, Reason: "read-only file system"}, wire.TypeAck, nil)
		k.Call(wire.TypeCleanupReport, wire.CleanupReport{Failing: true, Try: 1, Since: s.Add(time.Millisecond), Reason: "read-only file system"}, wire.TypeAck, nil)
		k.Call(wire.TypeCleanupReport, wire.CleanupReport{Try: 1}, wire.TypeAck, nil)
		k.Call(wire.TypeCleanupReport, wire.CleanupReport{Try: 1}, wire.TypeAck, nil)
	}
	if n := len(cleanupAudit(t, h, k, "device.cleanup_failed")); n != 3 {
		t.Errorf("%d device.cleanup_failed records within %s, want 3 (the first three episodes)", n, 10*time.Minute)
	}
	if n := len(cleanupAudit(t, h, k, "device.cleanup_done")); n != 3 {
		t.Errorf("%d device.cleanup_done records, want 3 (closing the failures recorded)", n)
	}
	wantGauge(t, scrape, "0")

	// Past the interval, a new failure is recorded again, and its success.
	clock.Advance(10 * time.Minute)
	k.Call(wire.TypeCleanupReport, wire.CleanupReport{Failing: true, Try: 1, Since: clock.Now(), Reason: "again"}, wire.TypeAck, nil)
	k.Call(wire.TypeCleanupReport, wire.CleanupReport{Try: 1}, wire.TypeAck, nil)
	if n := len(cleanupAudit(t, h, k, "device.cleanup_failed")); n != 4 {
		t.Errorf("%d device.cleanup_failed records after the interval, want 4", n)
	}
	if n := len(cleanupAudit(t, h, k, "device.cleanup_done")); n != 4 {
		t.Errorf("%d device.cleanup_done records after the interval, want 4", n)
	}

	// A success the hub was never told of the failure of (it restarted
	// since, or the report was lost) is recorded, once.
	k2 := h.EnrollKiosk(t, "north-2", "north")
	k2.Dial("")
	for range 5 {
		k2.Call(wire.TypeCleanupReport, wire.CleanupReport{Try: 3}, wire.TypeAck, nil)
	}
	if n := len(cleanupAudit(t, h, k2, "device.cleanup_done")); n != 1 {
		t.Errorf("%d device.cleanup_done records of a success the hub knew no failure of, want 1", n)
	}
}

// TestCleanupFailingKioskDisabled: a kiosk whose clean-up was failing and
// that is disabled (retired, to be enrolled again) is counted by
// shiftgate_kiosks_cleanup_failing no more: it will never report the
// success, and ShiftgateKioskCleanupFailing would fire until the hub
// restarts. A report it sends while its channel is still let go (the hub
// waits for the acks of its revocations) does not count it again.
func TestCleanupFailingKioskDisabled(t *testing.T) {
	h, clock, scrape := metricsHub(t)
	k, _ := signedIn(t, h, "ana", "Nurse") // a revocation keeps the channel a while
	k.Call(wire.TypeCleanupReport, wire.CleanupReport{Failing: true, Try: 1, Since: clock.Now(), Reason: "read-only file system"}, wire.TypeAck, nil)
	wantGauge(t, scrape, "1")
	wantAPI(t, h.API(t, "POST", "/api/v1/devices/north-1/disable", nil), http.StatusOK)
	wantGauge(t, scrape, "0")
	if p := k.Recv(5 * time.Second); p.Type != wire.TypeSessionRevoke {
		t.Fatalf("got %s after the disable, want the session's revoke (left unacknowledged)", p.Type)
	}
	env := k.Call(wire.TypeCleanupReport, wire.CleanupReport{Failing: true, Try: 2, Since: clock.Now(), Reason: "read-only file system"}, wire.TypeError, nil)
	var e wire.Error
	if err := env.Unmarshal(&e); err != nil || e.Code != wire.ErrState {
		t.Errorf("report of a disabled kiosk answered %+v (%v), want %s", e, err, wire.ErrState)
	}
	wantGauge(t, scrape, "0")
}
