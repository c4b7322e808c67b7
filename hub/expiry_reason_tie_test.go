package hub_test

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// TestShiftExtendedPastGrantAtSameExpiry: a session cut to its shift's
// end (shift_end) whose role comes to be held through a grant ending at
// that same instant keeps its expiry when the shift is extended past it,
// but no longer ends for the shift: the grant bounds it. The extension
// says so (session.extend with the same expiry, expired), and the
// scheduler ends the session of the kiosk that is then away as expired.
// Before, an extension that left the expiry where it was changed nothing,
// and the session ended as shift_end inside the extended shift.
func TestShiftExtendedPastGrantAtSameExpiry(t *testing.T) {
	h, clock, now, k, g := shiftAndGrantEndTogether(t)
	ctx := t.Context()
	if r := h.API(t, "POST", "/api/v1/users/ana/extend", map[string]any{"until": now.Add(3 * time.Hour), "reason": "handover"}); r.Status != 201 {
		t.Fatalf("extend: %d %s", r.Status, r.Body)
	}
	if s, err := h.Store().GetSession(ctx, g.SessionID); err != nil || !s.Expires.Equal(now.Add(time.Hour)) || s.ExpiryReason != wire.ReasonExpired {
		t.Errorf("session after the extension: %+v (%v), want expiry %s (%s)", s, err, now.Add(time.Hour), wire.ReasonExpired)
	}
	expectExtend(t, k, g.SessionID, now.Add(time.Hour), wire.ReasonExpired)
	k.Conn.Close()

	clock.Advance(time.Hour + time.Minute)
	if _, err := h.Engine().RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	if s, err := h.Store().GetSession(ctx, g.SessionID); err != nil || s.Ended.IsZero() || s.EndReason != wire.ReasonExpired {
		t.Errorf("session after the grant's end: %+v (%v), want ended (%s)", s, err, wire.ReasonExpired)
	}
}

// TestShiftEditKeepsTiedExpiryReason: a session whose grant ends with its
// shift (a tie, decided at login for the grant: expired) is left alone by
// an edit of the worker's shifts that moves neither: no
// session.expiry_change record and no session.extend for an expiry that
// the shift and the grant both give.
func TestShiftEditKeepsTiedExpiryReason(t *testing.T) {
	h, _, now := startClocked(t, hubtest.Options{})
	ctx := t.Context()
	uid := createUser(t, h, "ana", shiftsExt(now.Add(-2*time.Hour), now.Add(time.Hour)))
	createGroup(t, h, "Nurse")
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	if r := h.API(t, "POST", "/api/v1/grants", map[string]any{"user": "ana", "role": "Nurse", "site": "north", "end": now.Add(time.Hour), "reason": "cover"}); r.Status != 201 {
		t.Fatalf("grant: %d %s", r.Status, r.Body)
	}
	badge := registerBadge(t, h, k, "ana")
	g := grant(t, first(tap(t, k, badge)))
	if !g.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("grant until %s (%s), want %s", g.ExpiresAt, g.ExpiryReason, now.Add(time.Hour))
	}
	// A shift tomorrow is added: today's window, and the session, stay.
	if r := h.API(t, "PUT", "/api/v1/users/ana/shifts", shiftBody(now.Add(-2*time.Hour), now.Add(time.Hour), now.Add(22*time.Hour), now.Add(30*time.Hour))); r.Status != 200 {
		t.Fatalf("replace shifts: %d %s", r.Status, r.Body)
	}
	if n := count(t, h, "session.expiry_change", "user:"+uid); n != 0 {
		t.Errorf("%d session.expiry_change records for an expiry that did not move, want none", n)
	}
	if s, err := h.Store().GetSession(ctx, g.SessionID); err != nil || s.ExpiryReason != g.ExpiryReason {
		t.Errorf("session after the edit: %+v (%v), want expiry reason %s as granted", s, err, g.ExpiryReason)
	}
}

// shiftAndGrantEndTogether signs ana in at north-1 for a shift ending in
// an hour, holding Nurse through two grants, ending in two hours and in
// one: the session ends at the shift's end (shift_end). Then the later
// grant is revoked: the session's expiry stays, and is the remaining
// grant's end too.
func shiftAndGrantEndTogether(t *testing.T) (*hubtest.Hub, *hubtest.Clock, time.Time, *hubtest.Kiosk, wire.SessionGrant) {
	t.Helper()
	h, clock, now := startClocked(t, hubtest.Options{})
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
	return h, clock, now, k, g
}
