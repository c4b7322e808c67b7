package scim_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// siteNames returns n distinct site names, s0000 on, and the JSON array of
// them.
func siteNames(from, n int) ([]string, string) {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("s%04d", from+i)
	}
	return names, `["` + strings.Join(names, `","`) + `"]`
}

// A user's sites list was unbounded: a 1 MiB body lists 200,000 sites, and
// the lifecycle engine reads each one's time zone and compares the old list
// with the new one inside the write transaction. More than 1,000 sites is
// refused with invalidValue, on POST, PUT and PATCH alike; a user stored
// with more before the limit keeps them, can lose some, and can still be
// deactivated.
func TestUserSitesLimit(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	_, tooMany := siteNames(0, 1001)
	_, atLimit := siteNames(0, 1000)
	user := func(name, sites string) string {
		return `{"schemas":["` + coreUser + `","` + shiftgateUser + `"],"userName":"` + name + `","` + shiftgateUser + `":{"sites":` + sites + `}}`
	}

	// wantInvalid checks for a 400 invalidValue without quoting the
	// answer, which would list every site.
	wantInvalid := func(what string, r hubtest.Response) {
		t.Helper()
		if m := r.JSON(); r.Status != 400 || m["scimType"] != "invalidValue" {
			t.Errorf("%s: status %d, scimType %v; want 400 invalidValue", what, r.Status, m["scimType"])
		}
	}
	wantInvalid("POST with 1,001 sites", h.Do(t, "POST", "/scim/v2/Users", user("many", tooMany)))
	// Case variants are one site: 1,000 sites sent twice, once in upper
	// case, are 1,000.
	twice := strings.TrimSuffix(atLimit, "]") + "," + strings.TrimPrefix(strings.ToUpper(atLimit), "[")
	id := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", user("limit", twice)), 201)["id"].(string)
	if u := getUser(t, h, id); len(u.Sites) != 1000 || u.Sites[0] != "s0000" {
		t.Fatalf("after POST: %d sites, first %q; want 1000 from s0000", len(u.Sites), u.Sites[0])
	}

	wantInvalid("PATCH adding a 1,001st site", h.Do(t, "PATCH", "/scim/v2/Users/"+id,
		patchBody(`{"op":"add","path":"`+shiftgateUser+`:sites","value":"extra"}`)))
	wantInvalid("PUT with 1,001 sites", h.Do(t, "PUT", "/scim/v2/Users/"+id, user("limit", tooMany)))
	if u := getUser(t, h, id); len(u.Sites) != 1000 {
		t.Errorf("after the refused changes: %d sites, want 1000", len(u.Sites))
	}

	// A user given 1,500 sites before the limit.
	old, _ := siteNames(0, 1500)
	if _, err := h.Store().UpdateUser(t.Context(), id, func(u store.User) (store.User, error) {
		u.Sites = old
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(`{"op":"replace","path":"displayName","value":"Kept"}`)), 200)
	wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(`{"op":"remove","path":"`+shiftgateUser+`:sites[value eq \"s1499\"]"}`)), 200)
	wantInvalid("PATCH growing a list over the limit", h.Do(t, "PATCH", "/scim/v2/Users/"+id,
		patchBody(`{"op":"add","path":"`+shiftgateUser+`:sites","value":["x1","x2"]}`)))
	wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(`{"op":"replace","path":"active","value":false}`)), 200)
	if u := getUser(t, h, id); u.Active || len(u.Sites) != 1499 || u.DisplayName != "Kept" {
		t.Errorf("user stored with 1,500 sites: active %v, %d sites, displayName %q; want inactive, 1499, Kept", u.Active, len(u.Sites), u.DisplayName)
	}
}
