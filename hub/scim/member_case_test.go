package scim_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// A member's id differing from the stored one only in letter case is the
// same member (ids are UUIDs, which RFC 4122 §3 compares without case on
// input) in every operation. Create, PUT and PATCH add answered 400
// "unknown member" for it, and a remove with a value list left the member
// in, while a remove by filter and a GET filter, which compare without
// case, found it.
func TestMemberIDCase(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	user := func(name string) string {
		return wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`"],"userName":"`+name+`"}`), 201)["id"].(string)
	}
	ann, bob := user("case.ann"), user("case.bob")
	ANN, BOB := strings.ToUpper(ann), strings.ToUpper(bob)
	members := func(gid string) []string {
		t.Helper()
		g, err := h.Store().GetGroup(t.Context(), gid)
		if err != nil {
			t.Fatal(err)
		}
		return g.Members
	}
	patch := func(gid, ops string) hubtest.Response {
		return h.Do(t, "PATCH", "/scim/v2/Groups/"+gid, `{"schemas":["`+patchOp+`"],"Operations":[`+ops+`]}`)
	}

	created := wantStatus(t, h.Do(t, "POST", "/scim/v2/Groups", `{"schemas":["`+coreGroup+`"],"displayName":"CasePicker","members":[{"value":"`+ANN+`"}]}`), 201)
	gid := created["id"].(string)
	if got, want := members(gid), []string{ann}; !slices.Equal(got, want) {
		t.Fatalf("create with an upper-case member id: members %v, want %v", got, want)
	}
	if ms, _ := created["members"].([]any); len(ms) != 1 || ms[0].(map[string]any)["value"] != ann {
		t.Errorf("create answer: members %v, want the one with value %s", created["members"], ann)
	}

	// An add of a member already there, in another case, changes nothing.
	before := h.Do(t, "GET", "/scim/v2/Groups/"+gid, nil).Header.Get("ETag")
	if r := patch(gid, `{"op":"add","path":"members","value":[{"value":"`+ANN+`"}]}`); r.Status != 204 {
		t.Fatalf("add of an existing member in upper case: status %d; body %s", r.Status, r.Body)
	}
	if after := h.Do(t, "GET", "/scim/v2/Groups/"+gid, nil).Header.Get("ETag"); after != before {
		t.Errorf("add of an existing member in upper case: ETag %s, want %s kept (nothing changed)", after, before)
	}
	if r := patch(gid, `{"op":"add","path":"members","value":[{"value":"`+BOB+`"}]}`); r.Status != 204 {
		t.Fatalf("add of a new member in upper case: status %d; body %s", r.Status, r.Body)
	}
	if got, want := members(gid), []string{ann, bob}; !slices.Equal(got, want) {
		t.Fatalf("after the adds: members %v, want %v", got, want)
	}

	r := h.Do(t, "GET", "/scim/v2/Groups?"+filterQuery(`members[value eq "`+BOB+`"]`), nil)
	if m := wantStatus(t, r, 200); m["totalResults"] != float64(1) {
		t.Errorf("GET with members[value eq upper case]: totalResults %v, want 1", m["totalResults"])
	}

	if r := patch(gid, `{"op":"remove","path":"members","value":[{"value":"`+BOB+`"}]}`); r.Status != 204 {
		t.Fatalf("remove with a value list in upper case: status %d; body %s", r.Status, r.Body)
	}
	if got, want := members(gid), []string{ann}; !slices.Equal(got, want) {
		t.Fatalf("after the remove with a value list in upper case: members %v, want %v", got, want)
	}
	if r := patch(gid, `{"op":"remove","path":"members[value eq \"`+ANN+`\"]"}`); r.Status != 204 {
		t.Fatalf("remove by filter in upper case: status %d; body %s", r.Status, r.Body)
	}
	if got := members(gid); len(got) != 0 {
		t.Fatalf("after the remove by filter in upper case: members %v, want none", got)
	}

	if r := patch(gid, `{"op":"replace","path":"members","value":[{"value":"`+ANN+`"},{"value":"`+bob+`"},{"value":"`+BOB+`"}]}`); r.Status != 204 {
		t.Fatalf("replace of the members in mixed case: status %d; body %s", r.Status, r.Body)
	}
	if got, want := members(gid), []string{ann, bob}; !slices.Equal(got, want) {
		t.Fatalf("after the replace in mixed case: members %v, want %v", got, want)
	}

	r = h.Do(t, "PUT", "/scim/v2/Groups/"+gid, `{"schemas":["`+coreGroup+`"],"displayName":"CasePicker","members":[{"value":"`+BOB+`"},{"value":"`+bob+`"}]}`)
	wantStatus(t, r, 200)
	if got, want := members(gid), []string{bob}; !slices.Equal(got, want) {
		t.Fatalf("after the PUT in mixed case: members %v, want %v", got, want)
	}
}
