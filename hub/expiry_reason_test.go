package hub_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// sessionEndReasons are the reasons of the session.end audit records of
// session, in order.
func sessionEndReasons(t *testing.T, h *hubtest.Hub, session string) []string {
	t.Helper()
	recs, err := h.Store().ListAudit(t.Context(), store.AuditQuery{Action: "session.end"})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		var d map[string]any
		if err := json.Unmarshal(r.Detail, &d); err != nil {
			t.Fatal(err)
		}
		if d["session"] == session {
			reason, _ := d["reason"].(string)
			out = append(out, reason)
		}
	}
	return out
}

// TestSchedulerEndsAwayKioskSessionAtShiftEnd: a session granted to its
// shift's end (expiry_reason shift_end) on a kiosk that is away when the
// shift ends is ended by the hub's scheduler with reason shift_end, in
// the session, its revocation and its audit record alike, and the kiosk
// that comes back is told so. Before, the hub did not keep why a session
// expires and ended it as expired.
func TestSchedulerEndsAwayKioskSessionAtShiftEnd(t *testing.T) {
	h, clock, now := startClocked(t, hubtest.Options{})
	ctx := t.Context()
	uid := createUser(t, h, "ana", shiftsExt(now.Add(-2*time.Hour), now.Add(time.Hour)))
	createGroup(t, h, "Nurse", uid)
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	badge := registerBadge(t, h, k, "ana")
	g := grant(t, first(tap(t, k, badge)))
	if !g.ExpiresAt.Equal(now.Add(time.Hour)) || g.ExpiryReason != wire.ReasonShiftEnd {
		t.Fatalf("grant until %s (%s), want the shift's end %s (%s)", g.ExpiresAt, g.ExpiryReason, now.Add(time.Hour), wire.ReasonShiftEnd)
	}
	k.Conn.Close()

	clock.Advance(time.Hour + time.Minute)
	if _, err := h.Engine().RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	s, err := h.Store().GetSession(ctx, g.SessionID)
	if err != nil || s.Ended.IsZero() || s.EndReason != wire.ReasonShiftEnd {
		t.Fatalf("session after the scheduler's pass: %+v (%v), want ended (%s)", s, err, wire.ReasonShiftEnd)
	}
	revs, err := h.Store().ListRevocations(ctx, store.RevocationQuery{SessionID: g.SessionID})
	if err != nil || len(revs) != 1 || revs[0].Reason != wire.ReasonShiftEnd {
		t.Errorf("revocations of the session: %+v (%v), want one (%s)", revs, err, wire.ReasonShiftEnd)
	}
	if got := sessionEndReasons(t, h, g.SessionID); len(got) != 1 || got[0] != wire.ReasonShiftEnd {
		t.Errorf("session.end records of the session say %q, want one saying %s", got, wire.ReasonShiftEnd)
	}
	if w := k.DialHello(wire.Hello{LiveSession: g.SessionID, Complete: true}); w.Revoke == nil || w.Revoke.SessionID != g.SessionID || w.Revoke.Reason != wire.ReasonShiftEnd {
		t.Errorf("welcome of the kiosk back = %+v, want the session revoked (%s)", w, wire.ReasonShiftEnd)
	}
}

// TestReconnectExtendCarriesShiftEnd: a session granted for its role's
// maximum (the worker had no shifts: expiry_reason expired) is cut to the
// end of a shift set while its kiosk is away. The welcome of the kiosk
// back moves the expiry and says it ends as shift_end, as the push it
// missed would have; before, it said no reason, and the kiosk ended the
// session as expired. Once that end has passed, before the scheduler's
// pass, the welcome's verdict says shift_end too.
func TestReconnectExtendCarriesShiftEnd(t *testing.T) {
	h, clock, now := startClocked(t, hubtest.Options{})
	createGroup(t, h, "Nurse", createUser(t, h, "ben", `{"sites":["north"]}`))
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	badge := registerBadge(t, h, k, "ben")
	g := grant(t, first(tap(t, k, badge)))
	if g.ExpiryReason != wire.ReasonExpired || !g.ExpiresAt.After(now.Add(time.Hour)) {
		t.Fatalf("grant until %s (%s), want beyond an hour (%s)", g.ExpiresAt, g.ExpiryReason, wire.ReasonExpired)
	}
	k.Conn.Close()

	end := now.Add(time.Hour)
	if r := h.API(t, "PUT", "/api/v1/users/ben/shifts", shiftBody(now.Add(-2*time.Hour), end)); r.Status != 200 {
		t.Fatalf("replace shifts: %d %s", r.Status, r.Body)
	}
	w := k.DialHello(wire.Hello{LiveSession: g.SessionID, Complete: true})
	if w.Revoke != nil || w.Extend == nil || w.Extend.SessionID != g.SessionID || !w.Extend.ExpiresAt.Equal(end) || w.Extend.ExpiryReason != wire.ReasonShiftEnd {
		t.Fatalf("welcome of the kiosk back = %+v (extend %+v), want the expiry moved to %s (%s)", w, w.Extend, end, wire.ReasonShiftEnd)
	}
	k.Conn.Close()

	clock.Advance(time.Hour + time.Minute)
	if w := k.DialHello(wire.Hello{LiveSession: g.SessionID, Complete: true}); w.Revoke == nil || w.Revoke.SessionID != g.SessionID || w.Revoke.Reason != wire.ReasonShiftEnd {
		t.Errorf("welcome after the shift's end = %+v, want the session revoked (%s)", w, wire.ReasonShiftEnd)
	}
}
