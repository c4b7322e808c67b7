package hub_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/policy"
)

// TestJITGrantOfRoleThatCannotCount: a grant of a role that the login
// policy lets count nowhere at the grant's site — its rule names other
// sites, or it has no rule and the rule for other roles gives no apps —
// could never be used: the worker would be refused at the kiosk
// (not_allowed_here) while the API had answered 201. It is refused (400)
// with what to change, and nothing is stored; a role that counts there,
// in any case, is still granted and signs the worker in.
func TestJITGrantOfRoleThatCannotCount(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	createUser(t, h, "jo", `{"sites":["south"]}`)
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	h.EnrollKiosk(t, "east-1", "east")
	badge := registerBadge(t, h, k, "jo")
	wantAPI(t, putPolicy(t, h, policyBody(t, 1, func(d *policy.Document) {
		roleDoc(d, "Nurse").Sites = []string{"North", "South"}
		d.Other.Apps = nil
	})), http.StatusOK)

	end := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	for _, tc := range []struct{ name, role, site, says string }{
		{"a role that counts at other sites", "Nurse", "east", "counts only at sites"},
		{"a role the policy gives no apps", "Nures", "north", "no apps"},
	} {
		r := h.API(t, "POST", "/api/v1/grants", map[string]any{"user": "jo", "role": tc.role, "site": tc.site, "end": end, "reason": "cover"})
		if msg, _ := r.JSON()["error"].(string); r.Status != http.StatusBadRequest || !strings.Contains(msg, tc.says) || !strings.Contains(msg, tc.role) {
			t.Errorf("%s: %d %s, want 400 naming the role and saying %q", tc.name, r.Status, r.Body, tc.says)
		}
	}
	if r := h.API(t, "GET", "/api/v1/users/jo/grants", nil); r.Status != http.StatusOK || len(r.JSON()["grants"].([]any)) != 0 {
		t.Errorf("grants after the refusals: %d %s, want none", r.Status, r.Body)
	}

	r := h.API(t, "POST", "/api/v1/grants", map[string]any{"user": "jo", "role": "nurse", "site": "NORTH", "end": end, "reason": "cover"})
	if r.Status != http.StatusCreated {
		t.Fatalf("a grant of a role that counts there: %d %s, want 201", r.Status, r.Body)
	}
	if g := grant(t, first(tap(t, k, badge))); !strings.EqualFold(g.Role, "Nurse") || !g.ExpiresAt.Equal(end) {
		t.Errorf("session %+v, want Nurse until the grant's end %s", g, end)
	}
}
