package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/policy"
)

// TestGrantFormRoleThatCannotCount: the console's grant form refuses, as
// POST /api/v1/grants does, a grant of a role that the login policy lets
// count nowhere at the grant's site (its rule names other sites only, or
// it has no rule and the rule for other roles gives no apps): the worker
// would be refused at the kiosk for as long as the grant ran. The page
// says what to change (400) and nothing is granted or audited; a role
// that counts there is still granted.
func TestGrantFormRoleThatCannotCount(t *testing.T) {
	h, w, admin := adminWorld(t, "Nurse", "Dispenser", "Visitor")
	eng := h.Engine()
	rules := eng.Rules().Clone()
	rules.Roles["Dispenser"] = policy.RoleRule{Apps: []string{"pharmacy"}, Sites: []string{"south"}}
	rules.Other.Apps = nil
	if _, err := eng.UpdatePolicy(t.Context(), lifecycleActor, eng.Policy().Version, rules); err != nil {
		t.Fatal(err)
	}
	grants := func() int { t.Helper(); return grantCount(t, h, w.northUser.ID) }
	before := actionCount(t, h, "grant.create")
	for _, tc := range []struct{ name, role, says string }{
		{"a role that counts at other sites", "Dispenser", "counts only at sites"},
		{"a role the policy gives no apps", "Visitor", "no apps"},
	} {
		r := admin.post("/console/site/grants", url.Values{"user": {w.northUser.UserName}, "role": {tc.role}, "site": {"north"}, "until": {"4h"}, "reason": {"cover"}})
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, tc.says) || !strings.Contains(r.Body, tc.role) {
			t.Errorf("%s: %d %s %.400s; want 400 naming the role and saying %q", tc.name, r.Status, r.location(), r.Body, tc.says)
		}
	}
	if n, recs := grants(), actionCount(t, h, "grant.create"); n != 0 || recs != before {
		t.Errorf("after the refusals: %d grants, %d grant.create records more; want none", n, recs-before)
	}
	r := admin.post("/console/site/grants", url.Values{"user": {w.northUser.UserName}, "role": {"Nurse"}, "site": {"north"}, "until": {"4h"}, "reason": {"cover"}})
	if r.Status != http.StatusSeeOther || grants() != 1 {
		t.Errorf("a role that counts there: %d %.300s, %d grants; want 303 and one grant", r.Status, r.Body, grants())
	}
}
