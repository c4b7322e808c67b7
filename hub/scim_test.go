package hub_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

const (
	coreUser   = "urn:ietf:params:scim:schemas:core:2.0:User"
	enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	frontline  = "urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User"
	coreGroup  = "urn:ietf:params:scim:schemas:core:2.0:Group"
	patchOp    = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	errorURN   = "urn:ietf:params:scim:api:messages:2.0:Error"
)

// want fails the test unless the response has the status, and returns its
// JSON object.
func want(t *testing.T, r hubtest.Response, status int) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Body)
	}
	if r.Status != http.StatusNoContent && r.Status != http.StatusNotModified {
		if ct := r.Header.Get("Content-Type"); ct != "application/scim+json" {
			t.Fatalf("Content-Type %q, want application/scim+json", ct)
		}
	}
	return r.JSON()
}

// wantError checks a SCIM error response (RFC 7644 §3.12).
func wantError(t *testing.T, r hubtest.Response, status int, scimType string) {
	t.Helper()
	m := want(t, r, status)
	if s, _ := m["schemas"].([]any); len(s) != 1 || s[0] != errorURN {
		t.Errorf("error schemas = %v, want [%s]", m["schemas"], errorURN)
	}
	if m["status"] != fmt.Sprint(status) {
		t.Errorf("error status = %#v, want the string %q", m["status"], fmt.Sprint(status))
	}
	if got, _ := m["scimType"].(string); got != scimType {
		t.Errorf("scimType = %q, want %q (detail %v)", got, scimType, m["detail"])
	}
	if d, _ := m["detail"].(string); d == "" {
		t.Error("error has no detail")
	}
}

func filterQuery(f string) string { return "filter=" + url.QueryEscape(f) }

// TestOktaSequence replays the requests Okta's SCIM 2.0 integration sends
// for a user's lifecycle (Okta's SCIM 2.0 test specification).
func TestOktaSequence(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	// 1. Okta looks the user up before creating it.
	m := want(t, h.Do(t, "GET", "/scim/v2/Users?"+filterQuery(`userName eq "isabella.ruiz@example.com"`)+"&startIndex=1&count=100", nil), 200)
	if m["totalResults"] != 0.0 {
		t.Fatalf("totalResults = %v before create", m["totalResults"])
	}
	// 2. Create, with a password Okta may sync: Shiftgate has none and drops it.
	create := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"isabella.ruiz@example.com",
	  "name":{"givenName":"Isabella","familyName":"Ruiz"},"emails":[{"primary":true,"value":"isabella.ruiz@example.com","type":"work"}],
	  "displayName":"Isabella Ruiz","locale":"en-US","externalId":"00ujl29u0le5T6Aj10h7","groups":[],"password":"1mz050nq","active":true}`
	r := h.Do(t, "POST", "/scim/v2/Users", create)
	m = want(t, r, 201)
	id, _ := m["id"].(string)
	if id == "" || r.Header.Get("Location") != h.URL+"/scim/v2/Users/"+id || r.Header.Get("ETag") == "" {
		t.Fatalf("create: id %q Location %q ETag %q", id, r.Header.Get("Location"), r.Header.Get("ETag"))
	}
	if _, ok := m["password"]; ok {
		t.Error("password returned")
	}
	if m["active"] != true || m["externalId"] != "00ujl29u0le5T6Aj10h7" {
		t.Errorf("created user = %v", m)
	}
	meta, _ := m["meta"].(map[string]any)
	if meta["resourceType"] != "User" || meta["location"] != h.URL+"/scim/v2/Users/"+id || meta["version"] != r.Header.Get("ETag") {
		t.Errorf("meta = %v", meta)
	}
	// 3. Retrieve by id and by filter.
	want(t, h.Do(t, "GET", "/scim/v2/Users/"+id, nil), 200)
	m = want(t, h.Do(t, "GET", "/scim/v2/Users?"+filterQuery(`userName eq "ISABELLA.RUIZ@example.com"`), nil), 200)
	if m["totalResults"] != 1.0 {
		t.Fatalf("userName filter is case-insensitive: totalResults = %v", m["totalResults"])
	}
	// 4. Duplicate create → 409 uniqueness.
	wantError(t, h.Do(t, "POST", "/scim/v2/Users", create), 409, "uniqueness")
	// 5. Profile update by PUT.
	put := strings.Replace(create, `"familyName":"Ruiz"`, `"familyName":"Ruiz-Lopez"`, 1)
	m = want(t, h.Do(t, "PUT", "/scim/v2/Users/"+id, put), 200)
	if n, _ := m["name"].(map[string]any); n["familyName"] != "Ruiz-Lopez" {
		t.Errorf("PUT name = %v", m["name"])
	}
	// 6. Deactivation: PATCH replace with a value object.
	m = want(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"replace","value":{"active":false}}]}`), 200)
	if m["active"] != false {
		t.Fatalf("after deactivation active = %v", m["active"])
	}
	u, err := h.Store().GetUser(t.Context(), id)
	if err != nil || u.State != store.UserDisabled {
		t.Fatalf("stored user state %v, err %v; want disabled", u.State, err)
	}
	// A PUT that leaves active out keeps the user disabled: only an
	// explicit active=true brings a leaver back.
	m = want(t, h.Do(t, "PUT", "/scim/v2/Users/"+id, strings.Replace(put, `,"active":true`, "", 1)), 200)
	if u, err := h.Store().GetUser(t.Context(), id); m["active"] != false || err != nil || u.State != store.UserDisabled {
		t.Fatalf("after a PUT without active: active = %v, stored state %v (%v); want still disabled", m["active"], u.State, err)
	}
	// 7. Reactivation (Okta re-enables the same user).
	m = want(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"replace","value":{"active":true}}]}`), 200)
	if m["active"] != true {
		t.Fatalf("after reactivation active = %v", m["active"])
	}
	// 8. Groups: push a group, add and remove the member.
	m = want(t, h.Do(t, "POST", "/scim/v2/Groups", `{"schemas":["`+coreGroup+`"],"displayName":"Picker","members":[]}`), 201)
	gid, _ := m["id"].(string)
	want(t, h.Do(t, "PATCH", "/scim/v2/Groups/"+gid, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"add","path":"members","value":[{"value":"`+id+`","display":"isabella.ruiz@example.com"}]}]}`), 204)
	m = want(t, h.Do(t, "GET", "/scim/v2/Users/"+id, nil), 200)
	if gs, _ := m["groups"].([]any); len(gs) != 1 {
		t.Fatalf("user groups = %v, want the Picker group", m["groups"])
	}
	want(t, h.Do(t, "PATCH", "/scim/v2/Groups/"+gid, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"remove","path":"members[value eq \"`+id+`\"]"}]}`), 204)
	g, err := h.Store().GetGroup(t.Context(), gid)
	if err != nil || len(g.Members) != 0 {
		t.Fatalf("group members after remove = %v, %v", g.Members, err)
	}
	revs, _ := h.Store().ListRevocations(t.Context(), store.RevocationQuery{UserID: id})
	if !hasRevocation(revs, "entitlement_removed", "role:Picker") {
		t.Errorf("removing the member recorded no revocation of role:Picker: %+v", revs)
	}
}

func hasRevocation(revs []store.Revocation, reason, detail string) bool {
	for _, r := range revs {
		if r.Reason == reason && r.Detail == detail {
			return true
		}
	}
	return false
}

// TestEntraSequence replays the requests Microsoft Entra provisioning
// sends (Microsoft's "Develop a SCIM endpoint" request/response examples),
// with Entra's quirks: capitalised ops, string booleans, enterprise
// extension paths, members removed by value array.
func TestEntraSequence(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	want(t, h.Do(t, "GET", "/scim/v2/Users?"+filterQuery(`userName eq "Test_User_dfeef4c5-5681-4387-b016-bdf221e82081"`), nil), 200)
	create := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
	  "externalId":"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef","userName":"Test_User_dfeef4c5-5681-4387-b016-bdf221e82081","active":true,
	  "emails":[{"primary":true,"type":"work","value":"Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"}],
	  "meta":{"resourceType":"User"},"name":{"formatted":"givenName familyName","familyName":"familyName","givenName":"givenName"},"roles":[],
	  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"701984","department":"Ward 3"}}`
	m := want(t, h.Do(t, "POST", "/scim/v2/Users", create), 201)
	id := m["id"].(string)
	if m["displayName"] != nil && m["displayName"] != "givenName familyName" {
		t.Errorf("displayName = %v", m["displayName"])
	}
	m = want(t, h.Do(t, "GET", "/scim/v2/Users?"+filterQuery(`externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`), nil), 200)
	if m["totalResults"] != 1.0 {
		t.Fatalf("externalId filter: totalResults = %v", m["totalResults"])
	}
	// Attribute updates with value paths and capitalised ops.
	m = want(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, `{"schemas":["`+patchOp+`"],"Operations":[
	  {"op":"Replace","path":"emails[type eq \"work\"].value","value":"updatedEmail@microsoft.com"},
	  {"op":"Replace","path":"name.familyName","value":"updatedFamilyName"},
	  {"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Ward 4"}]}`), 200)
	if em, _ := m["emails"].([]any); len(em) != 1 || em[0].(map[string]any)["value"] != "updatedEmail@microsoft.com" {
		t.Errorf("emails = %v", m["emails"])
	}
	if ext, _ := m[enterprise].(map[string]any); ext["department"] != "Ward 4" || ext["employeeNumber"] != "701984" {
		t.Errorf("enterprise extension = %v", m[enterprise])
	}
	// A value object without a path, with dotted and URN-qualified keys.
	m = want(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"Replace","value":{
	  "name.givenName":"Gabriela","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"701985"}}]}`), 200)
	if n, _ := m["name"].(map[string]any); n["givenName"] != "Gabriela" {
		t.Errorf("name = %v", m["name"])
	}
	// Group with Entra's shapes.
	m = want(t, h.Do(t, "POST", "/scim/v2/Groups", `{"schemas":["`+coreGroup+`","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
	  "externalId":"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159","displayName":"Nurse","meta":{"resourceType":"Group"}}`), 201)
	gid := m["id"].(string)
	m = want(t, h.Do(t, "GET", "/scim/v2/Groups?excludedAttributes=members&"+filterQuery(`displayName eq "Nurse"`), nil), 200)
	if m["totalResults"] != 1.0 {
		t.Fatalf("group displayName filter: %v", m)
	}
	if res := m["Resources"].([]any)[0].(map[string]any); res["members"] != nil {
		t.Errorf("excludedAttributes=members still returned members")
	}
	want(t, h.Do(t, "PATCH", "/scim/v2/Groups/"+gid, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"Add","path":"members","value":[{"$ref":null,"value":"`+id+`"}]}]}`), 204)
	m = want(t, h.Do(t, "GET", "/scim/v2/Groups?excludedAttributes=members&"+filterQuery(`id eq "`+gid+`" and members[value eq "`+id+`"]`), nil), 200)
	if m["totalResults"] != 1.0 {
		t.Fatalf("membership check filter: totalResults = %v", m["totalResults"])
	}
	want(t, h.Do(t, "PATCH", "/scim/v2/Groups/"+gid, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"Remove","path":"members","value":[{"$ref":null,"value":"`+id+`"}]}]}`), 204)
	m = want(t, h.Do(t, "GET", "/scim/v2/Groups?"+filterQuery(`id eq "`+gid+`" and members[value eq "`+id+`"]`), nil), 200)
	if m["totalResults"] != 0.0 {
		t.Fatalf("member still present after Remove: %v", m)
	}
	want(t, h.Do(t, "PATCH", "/scim/v2/Groups/"+gid, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"Replace","path":"displayName","value":"Charge Nurse"}]}`), 204)
	// Disable with a string boolean, as Entra sends it.
	m = want(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`), 200)
	if m["active"] != false {
		t.Fatalf("active = %v after \"False\"", m["active"])
	}
	// Delete, then 404, then re-hire with the same userName.
	want(t, h.Do(t, "DELETE", "/scim/v2/Users/"+id, nil), 204)
	wantError(t, h.Do(t, "GET", "/scim/v2/Users/"+id, nil), 404, "")
	wantError(t, h.Do(t, "DELETE", "/scim/v2/Users/"+id, nil), 404, "")
	m = want(t, h.Do(t, "GET", "/scim/v2/Users?"+filterQuery(`userName eq "Test_User_dfeef4c5-5681-4387-b016-bdf221e82081"`), nil), 200)
	if m["totalResults"] != 0.0 {
		t.Fatalf("deleted user still listed: %v", m)
	}
	m = want(t, h.Do(t, "POST", "/scim/v2/Users", create), 201)
	if m["id"] == id {
		t.Fatal("re-hire reused the tombstone's id")
	}
	want(t, h.Do(t, "DELETE", "/scim/v2/Groups/"+gid, nil), 204)
	wantError(t, h.Do(t, "GET", "/scim/v2/Groups/"+gid, nil), 404, "")
}

func TestDiscovery(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	m := want(t, h.Do(t, "GET", "/scim/v2/ServiceProviderConfig", nil), 200)
	if p, _ := m["patch"].(map[string]any); p["supported"] != true {
		t.Errorf("patch not advertised: %v", m)
	}
	if e, _ := m["etag"].(map[string]any); e["supported"] != true {
		t.Errorf("etag not advertised: %v", m)
	}
	m = want(t, h.Do(t, "GET", "/scim/v2/Schemas", nil), 200)
	ids := map[string]bool{}
	for _, r := range m["Resources"].([]any) {
		ids[r.(map[string]any)["id"].(string)] = true
	}
	for _, id := range []string{coreUser, enterprise, frontline, coreGroup} {
		if !ids[id] {
			t.Errorf("/Schemas lacks %s", id)
		}
		want(t, h.Do(t, "GET", "/scim/v2/Schemas/"+id, nil), 200)
	}
	m = want(t, h.Do(t, "GET", "/scim/v2/ResourceTypes", nil), 200)
	if m["totalResults"] != 2.0 {
		t.Errorf("ResourceTypes totalResults = %v, want 2", m["totalResults"])
	}
	m = want(t, h.Do(t, "GET", "/scim/v2/ResourceTypes/User", nil), 200)
	if m["endpoint"] != "/Users" || m["schema"] != coreUser {
		t.Errorf("User resource type = %v", m)
	}
	wantError(t, h.Do(t, "GET", "/scim/v2/Schemas/urn:nope", nil), 404, "")
}

func TestAuthentication(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{Clock: hubtest.NewClock(time.Now())})
	admin := h.Token(t, "api", store.ScopeAdmin)
	for _, tc := range []struct{ name, token string }{
		{"none", ""},
		{"malformed", "hello"},
		{"wrong secret", h.SCIMToken[:len(h.SCIMToken)-2] + "xx"},
		{"other scope", admin},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.DoToken(t, tc.token, "GET", "/scim/v2/Users", nil)
			wantError(t, r, 401, "")
			if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q", r.Header.Get("WWW-Authenticate"))
			}
			wantError(t, h.DoToken(t, tc.token, "GET", "/scim/v2/Nope", nil), 401, "")
		})
	}
	// A token revoked by another process (the CLI writes the database file
	// directly) stops working once the hub's verification cache expires.
	// The console's revocation applies at once (hub/console's tests).
	tok := h.Token(t, "to-revoke", store.ScopeSCIM)
	want(t, h.DoToken(t, tok, "GET", "/scim/v2/Users", nil), 200)
	ts, _ := h.Store().ListTokens(t.Context())
	for _, tk := range ts {
		if tk.Name == "to-revoke" {
			h.Store().UpdateToken(t.Context(), tk.ID, func(old store.Token) (store.Token, error) {
				old.Revoked = time.Now()
				return old, nil
			})
		}
	}
	h.Clock.Advance(time.Minute) // well past the cache time (seconds)
	wantError(t, h.DoToken(t, tok, "GET", "/scim/v2/Users", nil), 401, "")
}

// TestClientErrors drives every error path a client can reach: each must
// be a 4xx in the SCIM error schema with the right scimType.
func TestClientErrors(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{MaxBodyBytes: 4096})
	m := want(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`"],"userName":"ok.user"}`), 201)
	id := m["id"].(string)
	etag := m["meta"].(map[string]any)["version"].(string)
	m = want(t, h.Do(t, "POST", "/scim/v2/Groups", `{"schemas":["`+coreGroup+`"],"displayName":"Nurse"}`), 201)
	gid := m["id"].(string)
	patch := func(ops string) string { return `{"schemas":["` + patchOp + `"],"Operations":[` + ops + `]}` }
	cases := []struct {
		name, method, path, body string
		headers                  []string
		status                   int
		scimType                 string
	}{
		{"not json", "POST", "/scim/v2/Users", `{"userName":`, nil, 400, "invalidSyntax"},
		{"json array", "POST", "/scim/v2/Users", `[]`, nil, 400, "invalidSyntax"},
		{"no userName", "POST", "/scim/v2/Users", `{"schemas":["` + coreUser + `"],"active":true}`, nil, 400, "invalidValue"},
		{"userName wrong type", "POST", "/scim/v2/Users", `{"schemas":["` + coreUser + `"],"userName":42}`, nil, 400, "invalidValue"},
		{"active not boolean", "POST", "/scim/v2/Users", `{"schemas":["` + coreUser + `"],"userName":"x1","active":"maybe"}`, nil, 400, "invalidValue"},
		{"bad employmentType", "POST", "/scim/v2/Users", `{"schemas":["` + coreUser + `","` + frontline + `"],"userName":"x2","` + frontline + `":{"employmentType":"pirate"}}`, nil, 400, "invalidValue"},
		{"bad endDate", "POST", "/scim/v2/Users", `{"schemas":["` + coreUser + `","` + frontline + `"],"userName":"x3","` + frontline + `":{"endDate":"next tuesday"}}`, nil, 400, "invalidValue"},
		{"end before start", "POST", "/scim/v2/Users", `{"schemas":["` + coreUser + `","` + frontline + `"],"userName":"x4","` + frontline + `":{"startDate":"2027-01-02T00:00:00Z","endDate":"2027-01-01T00:00:00Z"}}`, nil, 400, "invalidValue"},
		{"duplicate userName", "POST", "/scim/v2/Users", `{"schemas":["` + coreUser + `"],"userName":"OK.USER"}`, nil, 409, "uniqueness"},
		{"duplicate group", "POST", "/scim/v2/Groups", `{"schemas":["` + coreGroup + `"],"displayName":"nurse"}`, nil, 409, "uniqueness"},
		{"unknown member", "POST", "/scim/v2/Groups", `{"schemas":["` + coreGroup + `"],"displayName":"Picker","members":[{"value":"no-such-user"}]}`, nil, 400, "invalidValue"},
		{"wrong content type", "POST", "/scim/v2/Users", `userName=x`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, ""},
		{"body too large", "POST", "/scim/v2/Users", `{"schemas":["` + coreUser + `"],"userName":"` + strings.Repeat("a", 5000) + `"}`, nil, 413, ""},
		{"bad filter", "GET", "/scim/v2/Users?" + filterQuery(`userName eq`), "", nil, 400, "invalidFilter"},
		{"bad filter operator", "GET", "/scim/v2/Users?" + filterQuery(`userName xx "a"`), "", nil, 400, "invalidFilter"},
		{"bad startIndex", "GET", "/scim/v2/Users?startIndex=one", "", nil, 400, "invalidValue"},
		{"unknown user", "GET", "/scim/v2/Users/nope", "", nil, 404, ""},
		{"unknown group", "GET", "/scim/v2/Groups/nope", "", nil, 404, ""},
		{"patch unknown user", "PATCH", "/scim/v2/Users/nope", patch(`{"op":"replace","path":"active","value":false}`), nil, 404, ""},
		{"patch wrong schema", "PATCH", "/scim/v2/Users/" + id, `{"schemas":["urn:x"],"Operations":[{"op":"replace","path":"active","value":false}]}`, nil, 400, "invalidSyntax"},
		{"patch bad op", "PATCH", "/scim/v2/Users/" + id, patch(`{"op":"explode","path":"active","value":false}`), nil, 400, "invalidSyntax"},
		{"patch bad path", "PATCH", "/scim/v2/Users/" + id, patch(`{"op":"replace","path":"emails[type eq","value":"x"}`), nil, 400, "invalidPath"},
		{"patch remove without path", "PATCH", "/scim/v2/Users/" + id, patch(`{"op":"remove"}`), nil, 400, "noTarget"},
		{"patch readOnly id", "PATCH", "/scim/v2/Users/" + id, patch(`{"op":"replace","path":"id","value":"other"}`), nil, 400, "mutability"},
		{"patch bad value type", "PATCH", "/scim/v2/Users/" + id, patch(`{"op":"replace","path":"active","value":{"a":1}}`), nil, 400, "invalidValue"},
		{"patch member unknown", "PATCH", "/scim/v2/Groups/" + gid, patch(`{"op":"add","path":"members","value":[{"value":"ghost"}]}`), nil, 400, "invalidValue"},
		{"put id mismatch", "PUT", "/scim/v2/Users/" + id, `{"schemas":["` + coreUser + `"],"id":"other","userName":"ok.user"}`, nil, 400, "mutability"},
		{"stale If-Match", "PUT", "/scim/v2/Users/" + id, `{"schemas":["` + coreUser + `"],"userName":"ok.user"}`, []string{"If-Match", `W/"999"`}, 412, ""},
		{"stale If-Match patch", "PATCH", "/scim/v2/Users/" + id, patch(`{"op":"replace","path":"active","value":false}`), []string{"If-Match", `W/"999"`}, 412, ""},
		{"stale If-Match delete", "DELETE", "/scim/v2/Users/" + id, "", []string{"If-Match", `W/"999"`}, 412, ""},
		{"unknown endpoint", "GET", "/scim/v2/Nope", "", nil, 404, ""},
		{"bulk not implemented", "POST", "/scim/v2/Bulk", `{}`, nil, 501, ""},
		{"wrong method", "DELETE", "/scim/v2/Users", "", nil, 405, ""},
		{"bad search body", "POST", "/scim/v2/Users/.search", `{"filter":5}`, nil, 400, "invalidSyntax"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, h.Do(t, tc.method, tc.path, tc.body, tc.headers...), tc.status, tc.scimType)
		})
	}
	// Nothing of the failed requests was written: the user is unchanged
	// and no stray users or groups exist.
	m = want(t, h.Do(t, "GET", "/scim/v2/Users/"+id, nil), 200)
	if m["meta"].(map[string]any)["version"] != etag || m["active"] != true {
		t.Errorf("a failed request changed the user: %v", m)
	}
	m = want(t, h.Do(t, "GET", "/scim/v2/Users", nil), 200)
	if m["totalResults"] != 1.0 {
		t.Errorf("users after failed requests = %v, want 1", m["totalResults"])
	}
	m = want(t, h.Do(t, "GET", "/scim/v2/Groups", nil), 200)
	if m["totalResults"] != 1.0 {
		t.Errorf("groups after failed requests = %v, want 1", m["totalResults"])
	}
	// A PATCH whose second operation fails applies neither.
	wantError(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, patch(`{"op":"replace","path":"displayName","value":"Changed"},{"op":"replace","path":"id","value":"x"}`)), 400, "mutability")
	m = want(t, h.Do(t, "GET", "/scim/v2/Users/"+id, nil), 200)
	if m["displayName"] == "Changed" {
		t.Error("half of a failed PATCH was applied")
	}
}

func TestETags(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	r := h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`"],"userName":"etag.user"}`)
	m := want(t, r, 201)
	id, tag := m["id"].(string), r.Header.Get("ETag")
	want(t, h.Do(t, "GET", "/scim/v2/Users/"+id, nil, "If-None-Match", tag), 304)
	r = h.Do(t, "PATCH", "/scim/v2/Users/"+id, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"replace","path":"displayName","value":"E"}]}`, "If-Match", tag)
	want(t, r, 200)
	if r.Header.Get("ETag") == tag {
		t.Fatal("ETag did not change with the resource")
	}
	want(t, h.Do(t, "GET", "/scim/v2/Users/"+id, nil, "If-None-Match", tag), 200)
	want(t, h.Do(t, "DELETE", "/scim/v2/Users/"+id, nil, "If-Match", r.Header.Get("ETag")), 204)
}

func TestListPagingAndProjection(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	for i := range 25 {
		want(t, h.Do(t, "POST", "/scim/v2/Users", fmt.Sprintf(`{"schemas":["%s","%s"],"userName":"worker%02d","emails":[{"value":"w%02d@example.org","type":"work"}],"%s":{"sites":["%s"]}}`,
			coreUser, frontline, i, i, frontline, []string{"north", "south"}[i%2])), 201)
	}
	m := want(t, h.Do(t, "GET", "/scim/v2/Users?startIndex=11&count=10", nil), 200)
	if m["totalResults"] != 25.0 || m["startIndex"] != 11.0 || m["itemsPerPage"] != 10.0 {
		t.Fatalf("page = total %v start %v items %v", m["totalResults"], m["startIndex"], m["itemsPerPage"])
	}
	if first := m["Resources"].([]any)[0].(map[string]any); first["userName"] != "worker10" {
		t.Errorf("page 2 starts at %v, want worker10", first["userName"])
	}
	m = want(t, h.Do(t, "GET", "/scim/v2/Users?count=0", nil), 200)
	if m["totalResults"] != 25.0 || len(m["Resources"].([]any)) != 0 {
		t.Errorf("count=0: %v", m)
	}
	m = want(t, h.Do(t, "GET", "/scim/v2/Users?startIndex=21&count=10", nil), 200)
	if m["itemsPerPage"] != 5.0 {
		t.Errorf("last page has %v items, want 5", m["itemsPerPage"])
	}
	// Filters that need the full evaluator, with paging on the result.
	for _, tc := range []struct {
		filter string
		total  float64
	}{
		{`userName sw "worker1"`, 10},
		{`userName co "er2"`, 5},
		{`userName ew "4"`, 3},
		{`emails[type eq "work" and value ew "@example.org"]`, 25},
		{`emails.value eq "W03@EXAMPLE.ORG"`, 1},
		{`not (userName sw "worker1")`, 15},
		{`userName gt "worker20" or userName eq "worker00"`, 5},
		{frontline + `:sites eq "north"`, 13},
		{`meta.created gt "2000-01-01T00:00:00Z"`, 25},
		{`title pr`, 0},
	} {
		t.Run(tc.filter, func(t *testing.T) {
			m := want(t, h.Do(t, "GET", "/scim/v2/Users?count=3&"+filterQuery(tc.filter), nil), 200)
			if m["totalResults"] != tc.total {
				t.Errorf("totalResults = %v, want %v", m["totalResults"], tc.total)
			}
			if n := len(m["Resources"].([]any)); n != min(3, int(tc.total)) {
				t.Errorf("page holds %d, want %d", n, min(3, int(tc.total)))
			}
		})
	}
	// POST .search is the same query.
	m = want(t, h.Do(t, "POST", "/scim/v2/Users/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"userName sw \"worker2\"","attributes":["userName"],"count":2}`), 200)
	if m["totalResults"] != 5.0 || len(m["Resources"].([]any)) != 2 {
		t.Errorf(".search: %v", m)
	}
	// attributes keeps id and schemas (returned always) plus what was asked.
	m = want(t, h.Do(t, "GET", "/scim/v2/Users?attributes=userName&"+filterQuery(`userName eq "worker07"`), nil), 200)
	res := m["Resources"].([]any)[0].(map[string]any)
	if res["id"] == nil || res["userName"] != "worker07" || res["emails"] != nil || res["meta"] != nil {
		t.Errorf("attributes=userName gave %v", res)
	}
	m = want(t, h.Do(t, "GET", "/scim/v2/Users?excludedAttributes=emails&"+filterQuery(`userName eq "worker07"`), nil), 200)
	res = m["Resources"].([]any)[0].(map[string]any)
	if res["emails"] != nil || res["userName"] != "worker07" {
		t.Errorf("excludedAttributes=emails gave %v", res)
	}
}

// TestUserGroups: a user's groups show in GET by id, in a lookup by
// userName and in list pages, ordered by the groups' creation, and filters
// can test them.
func TestUserGroups(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	var ids []string
	for _, name := range []string{"ann", "bob", "cat"} {
		m := want(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`"],"userName":"`+name+`"}`), 201)
		ids = append(ids, m["id"].(string))
	}
	group := func(name string, members ...string) string {
		var ms []string
		for _, id := range members {
			ms = append(ms, `{"value":"`+id+`"}`)
		}
		m := want(t, h.Do(t, "POST", "/scim/v2/Groups", `{"schemas":["`+coreGroup+`"],"displayName":"`+name+`","members":[`+strings.Join(ms, ",")+`]}`), 201)
		return m["id"].(string)
	}
	picker := group("Picker", ids[0])
	driver := group("Driver", ids[0], ids[1])
	groupsOf := func(res map[string]any) []string {
		var out []string
		gs, _ := res["groups"].([]any)
		for _, g := range gs {
			g := g.(map[string]any)
			if g["$ref"] != h.URL+"/scim/v2/Groups/"+g["value"].(string) {
				t.Errorf("group %v: $ref %v", g["value"], g["$ref"])
			}
			out = append(out, g["display"].(string)+"="+g["value"].(string))
		}
		return out
	}
	wantGroups := map[string][]string{
		ids[0]: {"Picker=" + picker, "Driver=" + driver},
		ids[1]: {"Driver=" + driver},
		ids[2]: nil,
	}
	check := func(what string, res map[string]any) {
		t.Helper()
		id := res["id"].(string)
		if got := groupsOf(res); !slices.Equal(got, wantGroups[id]) {
			t.Errorf("%s: groups of %v = %v, want %v", what, res["userName"], got, wantGroups[id])
		}
	}
	for _, id := range ids {
		check("GET by id", want(t, h.Do(t, "GET", "/scim/v2/Users/"+id, nil), 200))
	}
	for _, name := range []string{"ann", "bob", "cat"} {
		m := want(t, h.Do(t, "GET", "/scim/v2/Users?"+filterQuery(`userName eq "`+name+`"`), nil), 200)
		check("lookup", m["Resources"].([]any)[0].(map[string]any))
	}
	m := want(t, h.Do(t, "GET", "/scim/v2/Users", nil), 200)
	for _, res := range m["Resources"].([]any) {
		check("list", res.(map[string]any))
	}
	m = want(t, h.Do(t, "GET", "/scim/v2/Users?"+filterQuery(`groups.display eq "Driver"`), nil), 200)
	if m["totalResults"] != 2.0 {
		t.Errorf("members of Driver: %v, want 2", m["totalResults"])
	}
	m = want(t, h.Do(t, "GET", "/scim/v2/Users?excludedAttributes=groups&"+filterQuery(`userName eq "ann"`), nil), 200)
	if res := m["Resources"].([]any)[0].(map[string]any); res["groups"] != nil {
		t.Errorf("excludedAttributes=groups gave groups %v", res["groups"])
	}
	m = want(t, h.Do(t, "GET", "/scim/v2/Users?attributes=groups", nil), 200)
	for _, res := range m["Resources"].([]any) {
		check("attributes=groups", res.(map[string]any))
	}
	// A deleted user is gone from GET by id too.
	want(t, h.Do(t, "DELETE", "/scim/v2/Users/"+ids[2], nil), 204)
	wantError(t, h.Do(t, "GET", "/scim/v2/Users/"+ids[2], nil), 404, "")
	wantError(t, h.Do(t, "GET", "/scim/v2/Users/no-such-user", nil), 404, "")
}

// A site an access review revoked stays revoked: SCIM shows the user's
// sites as the hub holds them, so the identity provider sees the change,
// and a PATCH of an unrelated attribute (which starts from that view)
// does not write the site back.
func TestReviewRevokedSiteStaysRevoked(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ctx := t.Context()
	id := createUser(t, h, "rosa", `{"sites":["north","south"]}`)
	if err := h.Engine().Do(ctx, func(tx *lifecycle.Tx) error {
		return tx.RemoveSite(ctx, lifecycle.Actor{Name: "reviewer", System: "api"}, id, "south")
	}); err != nil {
		t.Fatal(err)
	}
	m := want(t, h.Do(t, "GET", "/scim/v2/Users/"+id, nil), 200)
	ext, _ := m[frontline].(map[string]any)
	if sites, _ := ext["sites"].([]any); len(sites) != 1 || sites[0] != "north" {
		t.Errorf("SCIM GET after the review revoked south shows sites %v, want [north]", ext["sites"])
	}
	want(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"replace","path":"displayName","value":"Rosa M."}]}`), 200)
	if u := user(t, h, id); !slices.Equal(u.Sites, []string{"north"}) {
		t.Errorf("a displayName PATCH granted the revoked site back: sites %v, want [north]", u.Sites)
	}
}

// PATCH "remove" of active keeps the user's state, as a PUT without it
// does: read as true, it brought a disabled leaver back.
func TestPatchRemoveActiveKeepsLeaverDisabled(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	id := createUser(t, h, "leo", `{"sites":["north"]}`)
	want(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"replace","path":"active","value":false}]}`), 200)
	want(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"remove","path":"active"}]}`), 200)
	if u := user(t, h, id); u.State != store.UserDisabled || u.Active {
		t.Errorf("after PATCH remove active: state %v, active %v; want disabled", u.State, u.Active)
	}
}

// A disabled user put back in a group and then deleted is a member of no
// group: a tombstone holds no role.
func TestDeletedUserLeavesGroups(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	id := createUser(t, h, "gus", `{"sites":["north"]}`)
	gid := createGroup(t, h, "Picker")
	want(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"replace","path":"active","value":false}]}`), 200)
	want(t, h.Do(t, "PATCH", "/scim/v2/Groups/"+gid, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"add","path":"members","value":[{"value":"`+id+`"}]}]}`), 204)
	want(t, h.Do(t, "DELETE", "/scim/v2/Users/"+id, nil), 204)
	m := want(t, h.Do(t, "GET", "/scim/v2/Groups/"+gid, nil), 200)
	if ms, _ := m["members"].([]any); len(ms) != 0 {
		t.Errorf("the group still lists the deleted user: members %v", ms)
	}
}

// A user's ETag changes when its groups do: the resource lists them
// (RFC 7644 §3.14), so a GET with the ETag from before the user left a
// group is not "304 Not Modified".
func TestUserETagMovesWithGroups(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	id := createUser(t, h, "vera", "")
	gid := createGroup(t, h, "Nurse", id)
	r := h.Do(t, "GET", "/scim/v2/Users/"+id, nil)
	want(t, r, 200)
	tag := r.Header.Get("ETag")
	want(t, h.Do(t, "PATCH", "/scim/v2/Groups/"+gid, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"remove","path":"members[value eq \"`+id+`\"]"}]}`), 204)
	r = h.Do(t, "GET", "/scim/v2/Users/"+id, nil, "If-None-Match", tag)
	if r.Status == http.StatusNotModified {
		t.Errorf("GET with the ETag from before the user left Nurse (%s): 304, but its groups changed", tag)
	}
}
