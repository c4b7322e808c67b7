package scim_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// wantSCIMError checks that r is an error in the RFC 7644 §3.12 schema
// with the given status.
func wantSCIMError(t *testing.T, what string, r hubtest.Response, status int) map[string]any {
	t.Helper()
	m := r.JSON()
	if r.Status != status {
		t.Errorf("%s: status %d, want %d; body %s", what, r.Status, status, r.Body)
		return m
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/scim+json" {
		t.Errorf("%s: Content-Type %q, want application/scim+json", what, ct)
	}
	schemas, _ := m["schemas"].([]any)
	if len(schemas) != 1 || schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" || m["status"] != strconv.Itoa(status) || m["detail"] == "" {
		t.Errorf("%s: body %s is not a SCIM error with status %d", what, r.Body, status)
	}
	return m
}

// Schema URNs are case-insensitive (RFC 7643 §2.1) and clients ask for
// /ResourceTypes/user: both were 404. The body has the server's id.
func TestDiscoveryByIDIgnoresCase(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	for _, tc := range []struct{ path, id string }{
		{"/scim/v2/ResourceTypes/User", "User"},
		{"/scim/v2/ResourceTypes/user", "User"},
		{"/scim/v2/ResourceTypes/GROUP", "Group"},
		{"/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", coreUser},
		{"/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:user", coreUser},
		{"/scim/v2/Schemas/URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:SHIFTGATE:2.0:USER", shiftgateUser},
		{"/scim/v2/Schemas/urn:ietf:params:scim:schemas:extension:Enterprise:2.0:User", enterpriseUser},
	} {
		t.Run(tc.path, func(t *testing.T) {
			m := wantStatus(t, h.Do(t, "GET", tc.path, nil), 200)
			if m["id"] != tc.id {
				t.Errorf("id = %v, want %s", m["id"], tc.id)
			}
			if loc, _ := m["meta"].(map[string]any)["location"].(string); len(loc) < len(tc.id) || loc[len(loc)-len(tc.id):] != tc.id {
				t.Errorf("meta.location = %q, want it to end in %s", loc, tc.id)
			}
		})
	}
	for _, path := range []string{"/scim/v2/ResourceTypes/Users", "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:Use"} {
		wantSCIMError(t, path, h.Do(t, "GET", path, nil), 404)
	}
}

// /Me and /Bulk are not implemented: 501 in the SCIM error schema (RFC
// 7644 §3.11 for /Me), not 404. A wrong method on an endpoint is 405 with
// Allow. Both were 404. Credentials are checked first, and every route
// answers as before.
func TestUnsupportedEndpointsAndMethods(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	id := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`"],"userName":"routes@example.com"}`), 201)["id"].(string)
	gid := wantStatus(t, h.Do(t, "POST", "/scim/v2/Groups", `{"schemas":["`+coreGroup+`"],"displayName":"Routes"}`), 201)["id"].(string)

	for _, tc := range []struct{ method, path string }{
		{"GET", "/scim/v2/Me"},
		{"PATCH", "/scim/v2/Me"},
		{"DELETE", "/scim/v2/Me"},
		{"GET", "/scim/v2/Me/"},
		{"POST", "/scim/v2/Bulk"},
		{"GET", "/scim/v2/Bulk"},
	} {
		wantSCIMError(t, tc.method+" "+tc.path, h.Do(t, tc.method, tc.path, `{}`), 501)
	}

	for _, tc := range []struct{ method, path, allow string }{
		{"DELETE", "/scim/v2/Users", "GET, HEAD, POST"},
		{"PUT", "/scim/v2/Users", "GET, HEAD, POST"},
		{"PUT", "/scim/v2/Groups", "GET, HEAD, POST"},
		{"POST", "/scim/v2/Users/" + id, "GET, HEAD, PUT, PATCH, DELETE"},
		{"POST", "/scim/v2/Groups/" + gid, "GET, HEAD, PUT, PATCH, DELETE"},
		{"PATCH", "/scim/v2/ServiceProviderConfig", "GET, HEAD"},
		{"POST", "/scim/v2/Schemas", "GET, HEAD"},
		{"DELETE", "/scim/v2/Schemas/" + coreUser, "GET, HEAD"},
		{"PUT", "/scim/v2/ResourceTypes/User", "GET, HEAD"},
		{"OPTIONS", "/scim/v2/ResourceTypes", "GET, HEAD"},
	} {
		what := tc.method + " " + tc.path
		r := h.Do(t, tc.method, tc.path, `{}`)
		wantSCIMError(t, what, r, 405)
		if got := r.Header.Get("Allow"); got != tc.allow {
			t.Errorf("%s: Allow %q, want %q", what, got, tc.allow)
		}
	}

	// Nothing was changed by the refused requests.
	if _, err := h.Store().GetUser(t.Context(), id); err != nil {
		t.Errorf("user after the refused requests: %v", err)
	}
	if _, err := h.Store().GetGroup(t.Context(), gid); err != nil {
		t.Errorf("group after the refused requests: %v", err)
	}

	// Without a token every one of them is 401, as an unknown path is.
	for _, tc := range []struct{ method, path string }{
		{"GET", "/scim/v2/Me"}, {"POST", "/scim/v2/Bulk"}, {"DELETE", "/scim/v2/Users"}, {"GET", "/scim/v2/Nope"},
	} {
		wantSCIMError(t, "no token: "+tc.method+" "+tc.path, h.DoToken(t, "", tc.method, tc.path, nil), 401)
	}

	// Unknown paths stay 404.
	for _, path := range []string{"/scim/v2/Nope", "/scim/v2/Users/" + id + "/x", "/scim/v2/Bulkx", "/scim/v2/Users/"} {
		wantSCIMError(t, "GET "+path, h.Do(t, "GET", path, nil), 404)
	}

	// Every route answers as before.
	for _, tc := range []struct {
		method, path, body string
		status             int
	}{
		{"GET", "/scim/v2/Users", "", 200},
		{"HEAD", "/scim/v2/Users", "", 200},
		{"POST", "/scim/v2/Users/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"userName eq \"routes@example.com\""}`, 200},
		{"GET", "/scim/v2/Users/" + id, "", 200},
		{"PUT", "/scim/v2/Users/" + id, `{"schemas":["` + coreUser + `"],"userName":"routes@example.com","title":"Lead"}`, 200},
		{"PATCH", "/scim/v2/Users/" + id, patchBody(`{"op":"replace","path":"title","value":"Picker"}`), 200},
		{"GET", "/scim/v2/Groups", "", 200},
		{"POST", "/scim/v2/Groups/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}`, 200},
		{"GET", "/scim/v2/Groups/" + gid, "", 200},
		{"PUT", "/scim/v2/Groups/" + gid, `{"schemas":["` + coreGroup + `"],"displayName":"Routes"}`, 200},
		{"PATCH", "/scim/v2/Groups/" + gid, patchBody(`{"op":"add","path":"members","value":[{"value":"` + id + `"}]}`), 204},
		{"GET", "/scim/v2/ServiceProviderConfig", "", 200},
		{"HEAD", "/scim/v2/ServiceProviderConfig", "", 200},
		{"GET", "/scim/v2/Schemas", "", 200},
		{"GET", "/scim/v2/ResourceTypes", "", 200},
		{"GET", "/scim/v2/Users/.search", "", 404}, // GET /Users/{id} with id ".search"
		{"DELETE", "/scim/v2/Groups/" + gid, "", 204},
		{"DELETE", "/scim/v2/Users/" + id, "", 204},
	} {
		var body any
		if tc.body != "" {
			body = tc.body
		}
		if r := h.Do(t, tc.method, tc.path, body); r.Status != tc.status {
			t.Errorf("%s %s: status %d, want %d; body %s", tc.method, tc.path, r.Status, tc.status, r.Body)
		}
	}
}

// {"op":"replace","path":"title","value":null} unassigns, as null does in
// a value object (RFC 7643 §2.5); it was 400 invalidSyntax. The rules are
// the value object's: a required attribute is mutability, and a null
// active keeps the user's state.
func TestPatchReplacePathWithNull(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	id := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`","`+shiftgateUser+`"],"userName":"nullpath@example.com","active":true,
	  "title":"Picker","name":{"givenName":"Nul","familyName":"Path"},
	  "`+shiftgateUser+`":{"sites":["north"],"endDate":"2099-06-30"}}`), 201)["id"].(string)

	m := wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(`
	  {"op":"replace","path":"title","value":null},
	  {"op":"Replace","path":"name.givenName","value":null},
	  {"op":"replace","path":"urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:endDate","value":null}`)), 200)
	if _, ok := m["title"]; ok {
		t.Errorf("title = %v after replacing it with null, want none", m["title"])
	}
	if n, _ := m["name"].(map[string]any); n["givenName"] != nil || n["familyName"] != "Path" {
		t.Errorf("name = %v, want only familyName", m["name"])
	}
	if u := getUser(t, h, id); !u.EndDate.IsZero() || u.EndDay != "" {
		t.Errorf("stored end date %v (day %q) after replacing it with null, want none", u.EndDate, u.EndDay)
	}

	for _, path := range []string{"userName", "id", "meta"} {
		r := h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(`{"op":"replace","path":"`+path+`","value":null}`))
		if m := wantSCIMError(t, path+": null", r, 400); m["scimType"] != "mutability" {
			t.Errorf("replacing %s with null: scimType %v, want mutability", path, m["scimType"])
		}
	}
	// A replace without a value, or without a path and with null, is
	// still malformed.
	for _, op := range []string{`{"op":"replace","path":"title"}`, `{"op":"replace","value":null}`, `{"op":"add","path":"title","value":null}`} {
		if m := wantSCIMError(t, op, h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(op)), 400); m["scimType"] != "invalidSyntax" {
			t.Errorf("%s: scimType %v, want invalidSyntax", op, m["scimType"])
		}
	}

	// null for active keeps the state, active or disabled.
	wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(`{"op":"replace","path":"active","value":null}`)), 200)
	if u := getUser(t, h, id); !u.Active || u.State != store.UserActive {
		t.Errorf("after active: null on an active user: active %v, state %v; want active", u.Active, u.State)
	}
	wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(`{"op":"replace","path":"active","value":false}`)), 200)
	m = wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(`{"op":"replace","path":"active","value":null}`)), 200)
	if u := getUser(t, h, id); u.Active || u.State != store.UserDisabled || m["active"] != false {
		t.Errorf("after active: null on a disabled user: active %v, state %v, answer %v; want disabled", u.Active, u.State, m["active"])
	}
}

// A blank expiry in a filtered replace clears it: a blank dateTime is no
// value. It was dropped, and the certification kept its old expiry, on
// which a policy would still have relied.
func TestPatchFilteredBlankDateClears(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	id := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`","`+shiftgateUser+`"],"userName":"cert@example.com",
	  "`+shiftgateUser+`":{"certifications":[{"name":"forklift","expires":"2027-01-01T00:00:00Z"},{"name":"first-aid","expires":"2028-01-01T00:00:00Z"}]}}`), 201)["id"].(string)
	const certs = "urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:certifications"

	m := wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(`{"op":"replace","path":"`+certs+`[name eq \"forklift\"].expires","value":""}`)), 200)
	got, _ := m[shiftgateUser].(map[string]any)["certifications"].([]any)
	if len(got) != 2 || got[0].(map[string]any)["expires"] != nil || got[1].(map[string]any)["expires"] != "2028-01-01T00:00:00Z" {
		t.Errorf("certifications = %v, want forklift without expiry and first-aid unchanged", got)
	}
	u := getUser(t, h, id)
	want := map[string]bool{"forklift": true, "first-aid": false} // expiry cleared
	for _, c := range u.Certifications {
		if cleared, ok := want[c.Name]; !ok || cleared != c.Expires.IsZero() {
			t.Errorf("stored certification %s expires %v", c.Name, c.Expires)
		}
	}
	if len(u.Certifications) != 2 {
		t.Errorf("stored certifications = %v, want 2", u.Certifications)
	}

	// A required sub-attribute (a shift's start) cannot be blanked away
	// by the same route.
	r := h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(`{"op":"replace","path":"`+shiftgateUser+`:shifts[start pr].start","value":""},{"op":"add","path":"`+shiftgateUser+`:shifts","value":[{"start":"2026-03-01T06:00:00Z","end":"2026-03-01T14:00:00Z"}]}`))
	wantStatus(t, r, 200) // no shift yet: nothing matched, nothing to unassign
	r = h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(`{"op":"replace","path":"`+shiftgateUser+`:shifts[start pr].start","value":""}`))
	if m := wantSCIMError(t, "blank shift start", r, 400); m["scimType"] != "mutability" {
		t.Errorf("blanking a shift's required start: scimType %v, want mutability", m["scimType"])
	}
}

// TestCertificationPlaceholderExpiryHasExpired: a certification whose
// expiry is a placeholder from before 1900 (a spreadsheet's zero date
// 1899-12-30, Go's 0001-01-01) has expired. It was read as "no expiry",
// so a certification a role requires held for ever.
func TestCertificationPlaceholderExpiryHasExpired(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	id := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`","`+shiftgateUser+`"],"userName":"cert@example.com",
	  "`+shiftgateUser+`":{"certifications":[{"name":"forklift","expires":"1899-12-30T00:00:00Z"},{"name":"first-aid","expires":"0001-01-01T00:00:00Z"},
	  {"name":"degree"},{"name":"badge","expires":"9999-12-31T00:00:00Z"}]}}`), 201)["id"].(string)
	u := getUser(t, h, id)
	if len(u.Certifications) != 4 {
		t.Fatalf("certifications %+v, want 4", u.Certifications)
	}
	for _, c := range u.Certifications {
		placeholder := c.Name == "forklift" || c.Name == "first-aid"
		switch {
		case placeholder && (c.Expires.IsZero() || c.Expires.After(time.Now())):
			t.Errorf("%s expires %v: a placeholder expiry must mean expired", c.Name, c.Expires)
		case !placeholder && !c.Expires.IsZero():
			t.Errorf("%s expires %v, want no expiry", c.Name, c.Expires)
		}
	}
}

// A member's value (the user's id) is immutable: a remove or a null
// replace of members[value eq "<id>"].value, as a path or in a value
// object, is 400 mutability (RFC 7644 §3.5.2), and the member keeps the
// role. It was applied, and the hub then answered 400 invalidValue ("each
// member needs a value"). Removing the whole member still works.
func TestPatchRemoveMemberValueIsMutability(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	uid := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`"],"userName":"member.value@example.com"}`), 201)["id"].(string)
	gid := wantStatus(t, h.Do(t, "POST", "/scim/v2/Groups", `{"schemas":["`+coreGroup+`"],"displayName":"Forklift","members":[{"value":"`+uid+`"}]}`), 201)["id"].(string)
	path := `members[value eq \"` + uid + `\"]`
	for _, op := range []string{
		`{"op":"remove","path":"` + path + `.value"}`,
		`{"op":"replace","path":"` + path + `.value","value":null}`,
		`{"op":"replace","value":{"` + path + `.value":null}}`,
	} {
		r := h.Do(t, "PATCH", "/scim/v2/Groups/"+gid, patchBody(op))
		if m := wantSCIMError(t, op, r, 400); m["scimType"] != "mutability" {
			t.Errorf("%s: scimType %v, want mutability; body %s", op, m["scimType"], r.Body)
		}
		if g, err := h.Store().GetGroup(t.Context(), gid); err != nil || len(g.Members) != 1 || g.Members[0] != uid {
			t.Errorf("after %s: members %v (%v), want [%s]", op, g.Members, err, uid)
		}
	}
	if r := h.Do(t, "PATCH", "/scim/v2/Groups/"+gid, patchBody(`{"op":"remove","path":"`+path+`"}`)); r.Status != 204 {
		t.Fatalf("removing the whole member: status %d, want 204; body %s", r.Status, r.Body)
	}
	if g, err := h.Store().GetGroup(t.Context(), gid); err != nil || len(g.Members) != 0 {
		t.Errorf("after removing the member: members %v (%v), want none", g.Members, err)
	}
}

// TestPatchCannotRewriteAMember: a replace (or a merging add) of a whole
// member matched by a filter could change its value, making another user
// a member (and giving them the group's role) through a replace, or drop
// its id. 400 mutability; a replace that keeps the value still works.
func TestPatchCannotRewriteAMember(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	u1 := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`"],"userName":"one@example.com"}`), 201)["id"].(string)
	u5 := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`"],"userName":"five@example.com"}`), 201)["id"].(string)
	gid := wantStatus(t, h.Do(t, "POST", "/scim/v2/Groups", `{"schemas":["`+coreGroup+`"],"displayName":"Supervisor","members":[{"value":"`+u1+`"}]}`), 201)["id"].(string)
	path := `members[value eq \"` + u1 + `\"]`
	for _, op := range []string{
		`{"op":"replace","path":"` + path + `","value":{"value":"` + u5 + `"}}`,
		`{"op":"replace","path":"` + path + `","value":{"display":"x"}}`,
		`{"op":"add","path":"` + path + `","value":{"value":"` + u5 + `"}}`,
	} {
		r := h.Do(t, "PATCH", "/scim/v2/Groups/"+gid, patchBody(op))
		if m := wantSCIMError(t, op, r, 400); m["scimType"] != "mutability" {
			t.Errorf("%s: scimType %v, want mutability; body %s", op, m["scimType"], r.Body)
		}
		if g, err := h.Store().GetGroup(t.Context(), gid); err != nil || len(g.Members) != 1 || g.Members[0] != u1 {
			t.Errorf("after %s: members %v (%v), want [%s]", op, g.Members, err, u1)
		}
	}
	if r := h.Do(t, "PATCH", "/scim/v2/Groups/"+gid, patchBody(`{"op":"replace","path":"`+path+`","value":{"value":"`+u1+`","display":"One"}}`)); r.Status != 204 {
		t.Errorf("replace keeping the member's value: status %d, want 204; body %s", r.Status, r.Body)
	}
}
