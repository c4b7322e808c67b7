package hub_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestCleanupReportNewEpisodeAudited: a kiosk whose clean-up failed, then
// succeeded, then fails again (its agent restarted, a new run's clean-up
// fails) within cleanupAuditInterval has both failures in the audit
// trail, each closed by its success. Before, the pace of the records
// suppressed the second episode's: the trail ended on a success while the
// log, the gauge and the console said the kiosk was locked again.
func TestCleanupReportNewEpisodeAudited(t *testing.T) {
	h, clock, scrape := metricsHub(t)
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")

	first := clock.Now().UTC().Truncate(time.Second)
	k.Call(wire.TypeCleanupReport, wire.CleanupReport{Failing: true, Try: 1, Since: first, Reason: "read-only file system", SessionID: "s0"}, wire.TypeAck, nil)
	clock.Advance(time.Minute)
	k.Call(wire.TypeCleanupReport, wire.CleanupReport{Try: 2, SessionID: "s0"}, wire.TypeAck, nil)
	wantGauge(t, scrape, "0")

	clock.Advance(2 * time.Minute)
	second := clock.Now().UTC().Truncate(time.Second)
	k.Call(wire.TypeCleanupReport, wire.CleanupReport{Failing: true, Try: 1, Since: second, Reason: "session s1: process 77 survived SIGKILL", SessionID: "s1"}, wire.TypeAck, nil)
	wantGauge(t, scrape, "1")
	recs := cleanupAudit(t, h, k, "device.cleanup_failed")
	if len(recs) != 2 {
		t.Fatalf("%d device.cleanup_failed records of two episodes 3 minutes apart, want 2: %v", len(recs), recs)
	}
	if d := recs[1]; d["session"] != "s1" || d["since"] != second.Format(time.RFC3339) {
		t.Errorf("second device.cleanup_failed detail %v, want the second episode's", d)
	}
	// A repeat of the new episode is paced as before.
	k.Call(wire.TypeCleanupReport, wire.CleanupReport{Failing: true, Try: 2, Since: second, Reason: "still", SessionID: "s1"}, wire.TypeAck, nil)
	if n := len(cleanupAudit(t, h, k, "device.cleanup_failed")); n != 2 {
		t.Errorf("%d device.cleanup_failed records after a repeat of the episode, want 2", n)
	}
	k.Call(wire.TypeCleanupReport, wire.CleanupReport{Try: 3, SessionID: "s1"}, wire.TypeAck, nil)
	if recs := cleanupAudit(t, h, k, "device.cleanup_done"); len(recs) != 2 || recs[1]["session"] != "s1" {
		t.Errorf("device.cleanup_done records %v, want one closing each episode", recs)
	}
	wantGauge(t, scrape, "0")
}

// TestCleanupSuccessOfDisabledKioskRefused: a disabled kiosk's report of
// the success, sent while its channel is still let go (the hub waits for
// the acks of its revocations), is refused as its failing reports are
// (bad_state), and writes no device.cleanup_done: the disable closed what
// the hub counted, and the kiosk is done with.
func TestCleanupSuccessOfDisabledKioskRefused(t *testing.T) {
	h, clock, scrape := metricsHub(t)
	k, _ := signedIn(t, h, "ana", "Nurse") // a revocation keeps the channel a while
	k.Call(wire.TypeCleanupReport, wire.CleanupReport{Failing: true, Try: 1, Since: clock.Now(), Reason: "read-only file system"}, wire.TypeAck, nil)
	wantAPI(t, h.API(t, "POST", "/api/v1/devices/north-1/disable", nil), http.StatusOK)
	if p := k.Recv(5 * time.Second); p.Type != wire.TypeSessionRevoke {
		t.Fatalf("got %s after the disable, want the session's revoke (left unacknowledged)", p.Type)
	}
	env := k.Call(wire.TypeCleanupReport, wire.CleanupReport{Try: 2}, wire.TypeError, nil)
	var e wire.Error
	if err := env.Unmarshal(&e); err != nil || e.Code != wire.ErrState {
		t.Errorf("success reported by a disabled kiosk answered %+v (%v), want %s", e, err, wire.ErrState)
	}
	if recs := cleanupAudit(t, h, k, "device.cleanup_done"); len(recs) != 0 {
		t.Errorf("device.cleanup_done records %v of a disabled kiosk's success, want none", recs)
	}
	wantGauge(t, scrape, "0")
}
