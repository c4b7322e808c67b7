package agent

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestRestartMidRevokeReportsEnd: an agent stopped (killed, the kiosk's
// power pulled) while it tore down a revoked session never acknowledged
// the revoke, and the push's ID is gone with it. The restarted agent
// finishes the teardown at start, before the hub is in reach, so the
// kiosk comes back without a live session: no welcome.revoke asks again.
// It reports session.end instead, which the hub takes as the revocation's
// acknowledgement, as for a teardown that finished offline
// (TestRevokeFinishedOfflineReportsEnd). Before, the revocation was never
// acknowledged nor reported.
func TestRestartMidRevokeReportsEnd(t *testing.T) {
	dir, badges, clock := t.TempDir(), t.TempDir(), newFakeClock()
	h := startHarness(t, dir, badges, clock, withGate())
	h.connect()
	h.login("s1", "ana", time.Hour)
	h.hub.push(wire.TypeSessionRevoke, "p1", wire.SessionRevoke{SessionID: "s1", Reason: wire.ReasonDeprovisioned})
	<-h.teardowns
	h.stop() // killed in the middle of the teardown: p1 is never acked
	if h.acked("p1") {
		t.Fatal("p1 acked before its teardown finished")
	}

	h2 := startHarness(t, dir, badges, clock)
	if e := h2.ev.ended(t); e.SessionID != "s1" || e.Reason != wire.ReasonDeprovisioned {
		t.Fatalf("session.ended after restart = %+v", e)
	}
	h2.connect()
	h2.endReported("s1", wire.ReasonDeprovisioned)
}
