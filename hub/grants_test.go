package hub_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestJITGrant: a worker of another site gets a time-bound role at north,
// signs in there with it, and loses the session the moment the grant is
// revoked; a session that does not depend on a grant survives its
// revocation.
func TestJITGrant(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	uid := createUser(t, h, "jo", `{"sites":["south"]}`)
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	badge := registerBadge(t, h, k, "jo")

	if got := refusal(t, first(tap(t, k, badge))); got != "not_allowed_here" {
		t.Fatalf("before the grant: refused %q, want not_allowed_here", got)
	}
	end := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	r := h.API(t, "POST", "/api/v1/grants", map[string]any{"user": "jo", "role": "Nurse", "site": "North", "end": end, "reason": "cover night shift"})
	if r.Status != http.StatusCreated {
		t.Fatalf("grant: %d %s", r.Status, r.Body)
	}
	gr := r.JSON()
	if gr["site"] != "north" || gr["role"] != "Nurse" || gr["approver"] == "" || gr["reason"] != "cover night shift" {
		t.Errorf("grant = %v", gr)
	}
	g := grant(t, first(tap(t, k, badge)))
	if g.Role != "Nurse" || !g.ExpiresAt.Equal(end) {
		t.Errorf("session role %q until %s, want Nurse until the grant's end %s", g.Role, g.ExpiresAt, end)
	}

	if r := h.API(t, "GET", "/api/v1/users/jo/grants", nil); r.Status != 200 || len(r.JSON()["grants"].([]any)) != 1 {
		t.Fatalf("list grants: %d %s", r.Status, r.Body)
	}
	if r := h.API(t, "POST", "/api/v1/grants/"+gr["id"].(string)+"/revoke", nil); r.Status != 200 || r.JSON()["revoked"] == nil {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	expectRevoke(t, k, g.SessionID, "entitlement_removed")
	h.WaitAcked(t, g.SessionID)
	if r := h.API(t, "POST", "/api/v1/grants/"+gr["id"].(string)+"/revoke", nil); r.Status != http.StatusNotFound {
		t.Errorf("second revoke: %d %s, want 404", r.Status, r.Body)
	}
	if got := refusal(t, first(tap(t, k, badge))); got != "not_allowed_here" {
		t.Errorf("after the revoke: refused %q, want not_allowed_here", got)
	}
	acts := actions(t, h, "user:"+uid)
	for _, want := range []string{"grant.create", "grant.revoke"} {
		if !slices.Contains(acts, want) {
			t.Errorf("audit of jo lacks %s: %v", want, acts)
		}
	}

	// A nurse of north with a grant on top keeps her session when the
	// grant goes: she holds the role through her group.
	kim := createUser(t, h, "kim", `{"sites":["north"]}`)
	createGroup(t, h, "Nurse", kim)
	kb := registerBadge(t, h, k, "kim")
	r = h.API(t, "POST", "/api/v1/grants", map[string]any{"user": "kim", "role": "Nurse", "site": "north", "end": end, "reason": "overlap"})
	if r.Status != http.StatusCreated {
		t.Fatalf("grant kim: %d %s", r.Status, r.Body)
	}
	ks := grant(t, first(tap(t, k, kb)))
	if r := h.API(t, "POST", "/api/v1/grants/"+r.JSON()["id"].(string)+"/revoke", nil); r.Status != 200 {
		t.Fatalf("revoke kim's grant: %d %s", r.Status, r.Body)
	}
	live, err := h.Store().ListSessions(t.Context(), store.SessionQuery{UserID: kim, LiveOnly: true})
	if err != nil || len(live) != 1 || live[0].ID != ks.SessionID {
		t.Errorf("kim's live sessions = %v (%v), want %s kept", live, err, ks.SessionID)
	}
}

// TestJITGrantErrors: requests that can never succeed get a 4xx that says
// what to change, and store nothing.
func TestJITGrantErrors(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	createUser(t, h, "jo", `{"sites":["south"]}`)
	h.EnrollKiosk(t, "north-1", "north")
	soon := time.Now().Add(time.Hour)
	for _, tc := range []struct {
		name string
		body map[string]any
		want int
	}{
		{"no reason", map[string]any{"user": "jo", "role": "Nurse", "site": "north", "end": soon}, 400},
		{"no end", map[string]any{"user": "jo", "role": "Nurse", "site": "north", "reason": "x"}, 400},
		{"end passed", map[string]any{"user": "jo", "role": "Nurse", "site": "north", "end": time.Now().Add(-time.Minute), "reason": "x"}, 400},
		{"too long", map[string]any{"user": "jo", "role": "Nurse", "site": "north", "end": time.Now().Add(60 * 24 * time.Hour), "reason": "x"}, 400},
		{"misspelt field", map[string]any{"user": "jo", "role": "Nurse", "site": "north", "starts": time.Now().Add(5 * 24 * time.Hour), "end": time.Now().Add(5*24*time.Hour + 8*time.Hour), "reason": "x"}, 400},
		{"role named with a comma", map[string]any{"user": "jo", "role": "On call, ICU", "site": "north", "end": soon, "reason": "x"}, 400},
		{"starts years ahead", map[string]any{"user": "jo", "role": "Nurse", "site": "north", "start": "3000-01-01T00:00:00Z", "end": "3000-01-02T00:00:00Z", "reason": "x"}, 400},
		{"unknown site", map[string]any{"user": "jo", "role": "Nurse", "site": "atlantis", "end": soon, "reason": "x"}, 400},
		{"no role", map[string]any{"user": "jo", "site": "north", "end": soon, "reason": "x"}, 400},
		{"unknown user", map[string]any{"user": "nobody", "role": "Nurse", "site": "north", "end": soon, "reason": "x"}, 404},
		{"no user", map[string]any{"role": "Nurse"}, 400},
		{"bad time", map[string]any{"user": "jo", "role": "Nurse", "site": "north", "end": "tomorrow", "reason": "x"}, 400},
	} {
		r := h.API(t, "POST", "/api/v1/grants", tc.body)
		if r.Status != tc.want || r.JSON()["error"] == "" {
			t.Errorf("%s: %d %s, want %d with an error message", tc.name, r.Status, r.Body, tc.want)
		}
	}
	if r := h.API(t, "GET", "/api/v1/users/jo/grants", nil); r.Status != 200 || len(r.JSON()["grants"].([]any)) != 0 {
		t.Errorf("grants after refused requests: %d %s", r.Status, r.Body)
	}
	if r := h.API(t, "POST", "/api/v1/grants/nope/revoke", nil); r.Status != http.StatusNotFound {
		t.Errorf("revoke unknown: %d %s", r.Status, r.Body)
	}
}
