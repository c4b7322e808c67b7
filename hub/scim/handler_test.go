package scim_test

import (
	"testing"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

const (
	shiftgateUser = "urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User"
	patchOp       = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

// HR systems send 9999-12-31 as the endDate of an open-ended contract.
// The end of that day is in year 10000: the create was a 400, and the
// worker was never provisioned.
func TestOpenEndedEndDate(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	m := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`","`+shiftgateUser+`"],"userName":"open.ended",
	  "`+shiftgateUser+`":{"startDate":"2020-01-01","endDate":"9999-12-31"}}`), 201)
	id := m["id"].(string)
	u, err := h.Store().GetUser(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !u.Active || u.State != store.UserActive || !u.EndDate.IsZero() {
		t.Errorf("open-ended user: active %v, state %v, endDate %v; want active, no end date", u.Active, u.State, u.EndDate)
	}
	// The stored form reads back: a PATCH of another attribute works.
	wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"replace","path":"displayName","value":"O"}]}`), 200)
}

// A PATCH removing members with a filter of more than two clauses (valid
// RFC 7644 syntax) removes them; it was a 400 and they kept the role.
func TestRemoveMembersByLongFilter(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	var ids []string
	members := ""
	for _, name := range []string{"ann", "bob", "cat", "dan"} {
		id := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`"],"userName":"`+name+`"}`), 201)["id"].(string)
		ids = append(ids, id)
		if members != "" {
			members += ","
		}
		members += `{"value":"` + id + `"}`
	}
	gid := wantStatus(t, h.Do(t, "POST", "/scim/v2/Groups", `{"schemas":["`+coreGroup+`"],"displayName":"Picker","members":[`+members+`]}`), 201)["id"].(string)
	path := `members[value eq \"` + ids[0] + `\" or value eq \"` + ids[1] + `\" or value eq \"` + ids[2] + `\"]`
	r := h.Do(t, "PATCH", "/scim/v2/Groups/"+gid, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"remove","path":"`+path+`"}]}`)
	if r.Status != 204 {
		t.Fatalf("PATCH remove by a three-clause filter: status %d, want 204; body %s", r.Status, r.Body)
	}
	g, err := h.Store().GetGroup(t.Context(), gid)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Members) != 1 || g.Members[0] != ids[3] {
		t.Errorf("members after the removal = %v, want [%s]", g.Members, ids[3])
	}
}

// A path-less PATCH that nests core attributes under the core schema URN
// deactivates the user. It answered 200 and changed nothing: the leaver
// kept signing in. A value naming no attribute is a 400, not a 200 that
// drops it; an unknown URN-qualified attribute beside active=false does
// not hold up the deactivation.
func TestPatchCoreSchemaURNKey(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	id := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`"],"userName":"urn.leaver"}`), 201)["id"].(string)

	r := h.Do(t, "PATCH", "/scim/v2/Users/"+id, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:acme:2.0:User":{"active":false}}}]}`)
	if r.Status != 400 || r.JSON()["scimType"] != "invalidPath" {
		t.Errorf("PATCH with an unknown URN key: status %d, body %s; want 400 invalidPath", r.Status, r.Body)
	}
	if u, err := h.Store().GetUser(t.Context(), id); err != nil || !u.Active {
		t.Fatalf("after the refused PATCH: active %v, err %v; want still active", u.Active, err)
	}

	m := wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"replace","value":{"`+coreUser+`":{"active":false}}}]}`), 200)
	if m["active"] != false {
		t.Errorf("PATCH answer: active = %v, want false", m["active"])
	}
	u, err := h.Store().GetUser(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if u.Active || u.State != store.UserDisabled {
		t.Errorf("after the PATCH: active %v, state %v; want inactive and disabled", u.Active, u.State)
	}

	id2 := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`"],"userName":"custom.leaver"}`), 201)["id"].(string)
	wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id2, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"replace","value":{"active":false,"urn:ietf:params:scim:schemas:extension:acme:2.0:User:costCenter":"4711"}}]}`), 200)
	if u, err := h.Store().GetUser(t.Context(), id2); err != nil || u.Active || u.State != store.UserDisabled {
		t.Errorf("after active=false beside an unknown attribute: active %v, state %v, err %v; want inactive and disabled", u.Active, u.State, err)
	}
}
