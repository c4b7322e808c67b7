package hub_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/policy"
)

// TestSplitShiftGraceCutWhileSignedIn: a split shift whose 10 min break
// the default 15 min grace joins gives a session to the end of its second
// part. When an admin then sets shift_grace to 0s (where every break must
// end the session), the live session is decided again at once, as a
// shorter role maximum would be: it now ends at the first part's end, and
// its kiosk is told, instead of running across the break the policy no
// longer joins. A session already in the break then ends at once
// (shift_end).
func TestSplitShiftGraceCutWhileSignedIn(t *testing.T) {
	h, clock, now := startClocked(t, hubtest.Options{})
	partEnd := now.Add(time.Hour)
	ana := createUser(t, h, "ana", shiftsExt(now.Add(-4*time.Hour), partEnd, partEnd.Add(10*time.Minute), now.Add(5*time.Hour)))
	createGroup(t, h, "Nurse", ana)
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	g := grant(t, first(tap(t, k, registerBadge(t, h, k, "ana"))))
	if !g.ExpiresAt.Equal(now.Add(5 * time.Hour)) {
		t.Fatalf("ana's grant = %+v, want the end of the second part", g)
	}

	wantAPI(t, putPolicy(t, h, policyBody(t, storedVersion(t, h), func(d *policy.Document) {
		none := policy.Duration(0)
		d.ShiftGrace = &none
	})), http.StatusOK)
	expectExtend(t, k, g.SessionID, partEnd, wire.ReasonShiftEnd)
	if s, err := h.Store().GetSession(t.Context(), g.SessionID); err != nil || !s.Expires.Equal(partEnd) {
		t.Fatalf("ana's session after shift_grace 0s: %+v, %v; want it to end at %s", s, err, partEnd)
	}
	clock.Advance(time.Hour)
	if d, err := h.Engine().RunDue(t.Context()); err != nil || d.Expired != 1 {
		t.Fatalf("at the first part's end: %+v, %v; want ana's session expired", d, err)
	}
	// Cut to the first part's end, it ends there as shift_end.
	expectRevoke(t, k, g.SessionID, wire.ReasonShiftEnd)

	// Back to the default grace, a new login in the break (5 min in)
	// runs to the second part's end; shift_grace 0s ends it at once.
	wantAPI(t, putPolicy(t, h, policyBody(t, storedVersion(t, h), nil)), http.StatusOK)
	clock.Advance(5 * time.Minute)
	g = grant(t, first(tap(t, k, registerBadge(t, h, k, "ana"))))
	if !g.ExpiresAt.Equal(now.Add(5 * time.Hour)) {
		t.Fatalf("ana's grant in the break = %+v, want the end of the second part", g)
	}
	wantAPI(t, putPolicy(t, h, policyBody(t, storedVersion(t, h), func(d *policy.Document) {
		none := policy.Duration(0)
		d.ShiftGrace = &none
	})), http.StatusOK)
	expectRevoke(t, k, g.SessionID, wire.ReasonShiftEnd)
	if s, err := h.Store().GetSession(t.Context(), g.SessionID); err != nil || s.Ended.IsZero() {
		t.Errorf("ana's session in the break after shift_grace 0s: %+v, %v; want it ended", s, err)
	}
}
