package hub_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/policy"
	"github.com/shiftgate/shiftgate/hub/store"
)

// sessionExpiry is the stored expiry of a live session.
func sessionExpiry(t *testing.T, h *hubtest.Hub, id string) time.Time {
	t.Helper()
	s, err := h.Store().GetSession(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Ended.IsZero() {
		t.Fatalf("session %s ended (%s), want it live", id, s.EndReason)
	}
	return s.Expires
}

// TestShiftChangeKeepsLaterGrantBound: a session holds a role through a
// grant made after it started (the grant it started with was revoked and
// the session cut to the other's end). A change of the worker's shifts
// decides the session again: it must stay bounded by that grant's end,
// not run on to the shift's end with the role's apps the grant no longer
// covers.
func TestShiftChangeKeepsLaterGrantBound(t *testing.T) {
	h, clock, now := startClocked(t, hubtest.Options{})
	ana := createUser(t, h, "ana", shiftsExt(now.Add(-time.Hour), now.Add(8*time.Hour)))
	createGroup(t, h, "Nurse", ana)
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	badge := registerBadge(t, h, k, "ana")
	g1 := postGrant(t, h, map[string]any{"user": "ana", "role": "Picker", "site": "north", "end": now.Add(2 * time.Hour), "reason": "stock take"})
	g := grant(t, first(tap(t, k, badge)))
	if g.Role != "Nurse,Picker" || !g.ExpiresAt.Equal(now.Add(2*time.Hour)) {
		t.Fatalf("session %q until %s, want Nurse,Picker until the grant's end", g.Role, g.ExpiresAt)
	}

	clock.Advance(10 * time.Minute)
	secondEnd := now.Add(90 * time.Minute)
	postGrant(t, h, map[string]any{"user": "ana", "role": "Picker", "site": "north", "end": secondEnd, "reason": "stock take, shorter"})
	if r := h.API(t, "POST", "/api/v1/grants/"+g1+"/revoke", nil); r.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	expectExtend(t, k, g.SessionID, secondEnd, wire.ReasonExpired)

	// The shift is lengthened: Picker is still held only until secondEnd.
	if r := h.API(t, "PUT", "/api/v1/users/ana/shifts", shiftBody(now.Add(-time.Hour), now.Add(9*time.Hour))); r.Status != http.StatusOK {
		t.Fatalf("shifts: %d %s", r.Status, r.Body)
	}
	if got := sessionExpiry(t, h, g.SessionID); !got.Equal(secondEnd) {
		t.Errorf("after a change of shifts the session runs until %s, want the grant's end %s: it holds Picker through that grant only", got, secondEnd)
	}
}

// TestChangesShortenSessionOnLaterGrant: a session at a site the worker
// holds only through a grant made after the session started (the first
// grant was revoked) is still bounded by what changes later: a shorter
// max_session in the policy, and an earlier end date.
func TestChangesShortenSessionOnLaterGrant(t *testing.T) {
	h, clock, now := startClocked(t, hubtest.Options{})
	jo := createUser(t, h, "jo", `{"sites":["south"]}`)
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	badge := registerBadge(t, h, k, "jo")
	end := now.Add(6 * time.Hour)
	g1 := postGrant(t, h, map[string]any{"user": "jo", "role": "Nurse", "site": "north", "end": end, "reason": "cover"})
	g := grant(t, first(tap(t, k, badge)))
	if !g.ExpiresAt.Equal(end) {
		t.Fatalf("session until %s, want the grant's end %s", g.ExpiresAt, end)
	}
	clock.Advance(10 * time.Minute)
	postGrant(t, h, map[string]any{"user": "jo", "role": "Nurse", "site": "north", "end": end, "reason": "cover, re-approved"})
	if r := h.API(t, "POST", "/api/v1/grants/"+g1+"/revoke", nil); r.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if got := sessionExpiry(t, h, g.SessionID); !got.Equal(end) {
		t.Fatalf("after the revoke the session runs until %s, want %s (the other grant's end)", got, end)
	}

	// The policy's maximum drops to 2 h: the session, 10 min old, ends
	// 2 h after its login.
	m := wantAPI(t, putPolicy(t, h, policyBody(t, 1, func(d *policy.Document) {
		two := policy.Duration(2 * time.Hour)
		d.MaxSession = &two
	})), http.StatusOK)
	if sh, _ := m["sessions_shortened"].([]any); len(sh) != 1 || sh[0] != g.SessionID {
		t.Errorf("sessions_shortened = %v, want [%s]", m["sessions_shortened"], g.SessionID)
	}
	expectExtend(t, k, g.SessionID, now.Add(2*time.Hour), wire.ReasonExpired)

	// An end date an hour from now shortens it again.
	endDate := clock.Now().Add(time.Hour)
	want(t, h.Do(t, "PATCH", "/scim/v2/Users/"+jo, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"replace","path":"`+frontline+`:endDate","value":"`+endDate.Format(time.RFC3339)+`"}]}`), 200)
	expectExtend(t, k, g.SessionID, endDate, wire.ReasonExpired)

	// Each move is audited with the bound that set it.
	recs, err := h.Store().ListAudit(t.Context(), store.AuditQuery{Action: "session.expiry_change", Subject: "user:" + jo})
	if err != nil {
		t.Fatal(err)
	}
	var by []string
	for _, r := range recs {
		var d struct{ EndsBy string }
		if err := json.Unmarshal(r.Detail, &d); err != nil {
			t.Fatal(err)
		}
		by = append(by, d.EndsBy)
	}
	if want := []string{policy.EndsByMaxSession, policy.EndsByEndDate}; !slices.Equal(by, want) {
		t.Errorf("session.expiry_change endsBy = %v, want %v", by, want)
	}
}
