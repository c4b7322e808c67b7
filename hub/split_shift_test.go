package hub_test

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// TestSplitShiftSessionRunsOverTheBreak: with the default 15 min shift
// grace, a nurse whose shift is split by a 10 min break keeps one session
// to the end of the second part, and the hub's scheduler does not revoke
// it at the first part's end (she could sign straight back in). A nurse
// whose break is 30 min is signed out at the first part's end and is
// refused during the break, so the hub and the kiosk agree on it. Shifts
// that an admin changes into a split shift while a session is live move
// its expiry to the end of the joined window.
func TestSplitShiftSessionRunsOverTheBreak(t *testing.T) {
	h, clock, now := startClocked(t, hubtest.Options{})
	partEnd := now.Add(time.Hour)
	ana := createUser(t, h, "ana", shiftsExt(now.Add(-4*time.Hour), partEnd, partEnd.Add(10*time.Minute), now.Add(5*time.Hour)))
	bo := createUser(t, h, "bo", shiftsExt(now.Add(-4*time.Hour), partEnd, partEnd.Add(30*time.Minute), now.Add(5*time.Hour)))
	cara := createUser(t, h, "cara", shiftsExt(now.Add(-4*time.Hour), partEnd))
	createGroup(t, h, "Nurse", ana, bo, cara)
	ka, kb, kc := h.EnrollKiosk(t, "north-1", "north"), h.EnrollKiosk(t, "north-2", "north"), h.EnrollKiosk(t, "north-3", "north")
	for _, k := range []*hubtest.Kiosk{ka, kb, kc} {
		k.Dial("")
	}
	badgeA, badgeB, badgeC := registerBadge(t, h, ka, "ana"), registerBadge(t, h, kb, "bo"), registerBadge(t, h, kc, "cara")

	ga := grant(t, first(tap(t, ka, badgeA)))
	if !ga.ExpiresAt.Equal(now.Add(5*time.Hour)) || ga.ExpiryReason != wire.ReasonShiftEnd {
		t.Fatalf("ana's grant = %+v, want the end of the second part, %s (shift_end)", ga, now.Add(5*time.Hour))
	}
	gb := grant(t, first(tap(t, kb, badgeB)))
	if !gb.ExpiresAt.Equal(partEnd) || gb.ExpiryReason != wire.ReasonShiftEnd {
		t.Fatalf("bo's grant = %+v, want the end of the first part, %s (shift_end)", gb, partEnd)
	}
	// Cara's shift becomes a split one while she is signed in: her kiosk
	// learns the later end at once.
	gc := grant(t, first(tap(t, kc, badgeC)))
	if r := h.API(t, "PUT", "/api/v1/users/cara/shifts", shiftBody(now.Add(-4*time.Hour), partEnd, partEnd.Add(15*time.Minute), now.Add(5*time.Hour))); r.Status != 200 {
		t.Fatalf("replace cara's shifts: %d %s", r.Status, r.Body)
	}
	expectExtend(t, kc, gc.SessionID, now.Add(5*time.Hour), wire.ReasonShiftEnd)

	// At the first part's end only bo's session ends.
	clock.Advance(time.Hour)
	if d, err := h.Engine().RunDue(t.Context()); err != nil || d.Expired != 1 {
		t.Fatalf("at the first part's end: %+v, %v; want bo's session alone expired", d, err)
	}
	// The hub ends it as the kiosk does: at its shift's end.
	expectRevoke(t, kb, gb.SessionID, wire.ReasonShiftEnd)
	for _, id := range []string{ga.SessionID, gc.SessionID} {
		if s, err := h.Store().GetSession(t.Context(), id); err != nil || !s.Ended.IsZero() {
			t.Errorf("session %s at the first part's end: %+v, %v; want it live", id, s, err)
		}
	}
	// In the break bo is outside every shift.
	clock.Advance(5 * time.Minute)
	if got := refusal(t, first(tap(t, kb, badgeB))); got != wire.RefusedOutsideShift {
		t.Errorf("bo 5 minutes into a 30 minute break: %q, want %s", got, wire.RefusedOutsideShift)
	}
	if d, err := h.Engine().RunDue(t.Context()); err != nil || d.Expired != 0 {
		t.Fatalf("in the break: %+v, %v", d, err)
	}

	// At the end of the joined window both sessions end.
	clock.Advance(4*time.Hour - 5*time.Minute)
	if d, err := h.Engine().RunDue(t.Context()); err != nil || d.Expired != 2 {
		t.Fatalf("at the second part's end: %+v, %v; want two sessions expired", d, err)
	}
	expectRevoke(t, ka, ga.SessionID, wire.ReasonShiftEnd)
	expectRevoke(t, kc, gc.SessionID, wire.ReasonShiftEnd)
}
