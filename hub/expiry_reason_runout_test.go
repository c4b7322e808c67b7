package hub_test

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// TestShiftExtendedAfterGrantRanOut: a session cut to its shift's end
// (shift_end) whose role comes to be held through a grant ending at that
// same instant has run out, but is not ended yet (the scheduler's pass
// has not come), when the shift is extended past it. The shift no longer
// ends it; the grant did: it ends at once as expired, in the session and
// its revocation, as the scheduler ended it before the hub kept why a
// session ends. It ended as shift_end, inside the extended shift.
func TestShiftExtendedAfterGrantRanOut(t *testing.T) {
	h, clock, now := startClocked(t, hubtest.Options{})
	ctx := t.Context()
	createUser(t, h, "ana", shiftsExt(now.Add(-2*time.Hour), now.Add(time.Hour)))
	createGroup(t, h, "Nurse")
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	var ids []string
	for _, end := range []time.Time{now.Add(2 * time.Hour), now.Add(time.Hour)} {
		r := h.API(t, "POST", "/api/v1/grants", map[string]any{"user": "ana", "role": "Nurse", "site": "north", "end": end, "reason": "cover"})
		if r.Status != 201 {
			t.Fatalf("grant until %s: %d %s", end, r.Status, r.Body)
		}
		ids = append(ids, r.JSON()["id"].(string))
	}
	badge := registerBadge(t, h, k, "ana")
	g := grant(t, first(tap(t, k, badge)))
	if !g.ExpiresAt.Equal(now.Add(time.Hour)) || g.ExpiryReason != wire.ReasonShiftEnd {
		t.Fatalf("grant until %s (%s), want the shift's end %s (%s)", g.ExpiresAt, g.ExpiryReason, now.Add(time.Hour), wire.ReasonShiftEnd)
	}
	if r := h.API(t, "POST", "/api/v1/grants/"+ids[0]+"/revoke", nil); r.Status != 200 {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	clock.Advance(time.Hour + time.Second)
	if r := h.API(t, "POST", "/api/v1/users/ana/extend", map[string]any{"until": now.Add(3 * time.Hour), "reason": "handover"}); r.Status != 201 {
		t.Fatalf("extend: %d %s", r.Status, r.Body)
	}
	if s, err := h.Store().GetSession(ctx, g.SessionID); err != nil || s.Ended.IsZero() || s.EndReason != wire.ReasonExpired {
		t.Errorf("session after the extension: %+v (%v), want ended (%s)", s, err, wire.ReasonExpired)
	}
	expectRevoke(t, k, g.SessionID, wire.ReasonExpired)
}
