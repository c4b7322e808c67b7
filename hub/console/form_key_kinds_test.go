package console_test

import (
	"net/http"
	"net/url"
	"testing"
)

// TestFormKeysOfOneKindOnly: a grant form's key is never taken for a
// secret form's, stored under its kind ("token-form:KEY"): a grant form
// key holding a ':', which no page makes, is a 400 that reads no stored
// key and makes no grant, where "token-form:" and the key of a token
// form the same account sent was a 409 for a form that made nothing; and
// a grant form key "code-form:K" keeps nothing that a code form with key
// K would then be refused for.
func TestFormKeysOfOneKindOnly(t *testing.T) {
	h, w, admin := adminWorld(t, "Nurse")
	grant := func(key string) url.Values {
		return url.Values{"user": {w.northUser.UserName}, "role": {"Nurse"}, "site": {"north"}, "until": {"4h"}, "reason": {"cover"}, "once": {key}}
	}
	grants := grantCount(t, h, w.northUser.ID)

	key := admin.formKey("/console/tokens", onceField)
	if r := admin.post("/console/tokens", url.Values{"name": {"okta"}, "scope": {"scim"}, "expires": {"90d"}, "once": {key}}); r.Status != http.StatusCreated {
		t.Fatalf("token form: %d %s, want 201", r.Status, r.Body)
	}
	if r := admin.post("/console/site/grants", grant("token-form:"+key)); r.Status != http.StatusBadRequest {
		t.Errorf("a grant form with the token form's stored key: %d %s, want 400", r.Status, r.Body)
	}

	// The other way round: a grant form's key first, then the code form
	// whose stored key it would be.
	if r := admin.post("/console/site/grants", grant("code-form:k-code")); r.Status != http.StatusBadRequest {
		t.Errorf("a grant form with a code form's stored key: %d %s, want 400", r.Status, r.Body)
	}
	if r := admin.post("/console/devices/codes", url.Values{"name": {"till-7"}, "site": {"north"}, "once": {"k-code"}}); r.Status != http.StatusCreated {
		t.Errorf("the code form after it: %d %s, want 201 with the code", r.Status, r.Body)
	}
	if n := grantCount(t, h, w.northUser.ID) - grants; n != 0 {
		t.Errorf("the grant forms with keys of other kinds made %d grants, want none", n)
	}
}
