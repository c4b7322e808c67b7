package hub_test

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestShiftExtendedAfterGrantRanOut: a session cut to its shift's end
// (shift_end) whose role comes to be held through a grant ending at that
// same instant has run out, but is not ended yet (the scheduler's pass
// has not come), when the shift is extended past it. The shift no longer
// ends it; the grant did: it ends at once as expired, in the session and
// its revocation, as the scheduler ended it before the hub kept why a
// session ends. It ended as shift_end, inside the extended shift.
func TestShiftExtendedAfterGrantRanOut(t *testing.T) {
	h, clock, now, k, g := shiftAndGrantEndTogether(t)
	ctx := t.Context()
	clock.Advance(time.Hour + time.Second)
	if r := h.API(t, "POST", "/api/v1/users/ana/extend", map[string]any{"until": now.Add(3 * time.Hour), "reason": "handover"}); r.Status != 201 {
		t.Fatalf("extend: %d %s", r.Status, r.Body)
	}
	if s, err := h.Store().GetSession(ctx, g.SessionID); err != nil || s.Ended.IsZero() || s.EndReason != wire.ReasonExpired {
		t.Errorf("session after the extension: %+v (%v), want ended (%s)", s, err, wire.ReasonExpired)
	}
	expectRevoke(t, k, g.SessionID, wire.ReasonExpired)
}
