package scim_test

import (
	"testing"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// Second-pass conformance tests: requests that Microsoft Entra ID, Okta and
// HR connectors send, replayed against a complete hub.

const enterpriseUser = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

func patchBody(ops string) string {
	return `{"schemas":["` + patchOp + `"],"Operations":[` + ops + `]}`
}

func getUser(t *testing.T, h *hubtest.Hub, id string) store.User {
	t.Helper()
	u, err := h.Store().GetUser(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// An add or replace with a value filter whose value names no sub-attribute
// ({} or only unknown keys) changes nothing. It was a 500: the handler
// panicked on the value it could not merge.
func TestPatchFilteredValueNamingNothing(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	id := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`"],"userName":"nothing@example.com",
	  "emails":[{"type":"home","value":"n@home.example"}]}`), 201)["id"].(string)
	for _, tc := range []struct{ name, op string }{
		{"add empty object, no match", `{"op":"add","path":"emails[type eq \"work\"]","value":{}}`},
		{"add unknown sub-attribute, no match", `{"op":"Add","path":"emails[type eq \"work\"]","value":{"colour":"blue"}}`},
		{"replace empty object, no match", `{"op":"replace","path":"emails[type eq \"work\"]","value":{}}`},
		{"add empty object, a match", `{"op":"add","path":"emails[type eq \"home\"]","value":{}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(tc.op)), 200)
			emails, _ := m["emails"].([]any)
			if len(emails) != 1 || emails[0].(map[string]any)["value"] != "n@home.example" {
				t.Errorf("emails after a PATCH that names nothing = %v, want the home address alone", m["emails"])
			}
		})
	}
}

// Entra sends Replace for a value the target does not have as often as
// Add, and sends every changed attribute, a deactivation included, in one
// PATCH. A replace whose filter says which value it means creates it;
// it was noTarget, the whole PATCH was refused, and the leaver stayed
// active.
func TestEntraReplaceCreatesMissingFilteredValue(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	id := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`","`+enterpriseUser+`"],"userName":"adele@contoso.example","active":true,
	  "emails":[{"type":"other","value":"adele@home.example"}]}`), 201)["id"].(string)
	m := wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(`
	  {"op":"Replace","path":"emails[type eq \"work\"].value","value":"AdeleV@contoso.example"},
	  {"op":"Replace","path":"addresses[type eq \"work\"].formatted","value":"18/2111"},
	  {"op":"Replace","path":"addresses[type eq \"work\"].locality","value":"Redmond"},
	  {"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Retail"},
	  {"op":"Replace","path":"active","value":"False"}`)), 200)
	if m["active"] != false {
		t.Errorf("active = %v, want false", m["active"])
	}
	if u := getUser(t, h, id); u.Active || u.State != store.UserDisabled {
		t.Errorf("stored user: active %v, state %v; want disabled", u.Active, u.State)
	}
	emails, _ := m["emails"].([]any)
	if len(emails) != 2 {
		t.Fatalf("emails = %v, want the other address and a new work address", m["emails"])
	}
	if w := emails[1].(map[string]any); w["type"] != "work" || w["value"] != "AdeleV@contoso.example" {
		t.Errorf("created email = %v, want {type: work, value: AdeleV@contoso.example}", w)
	}
	addrs, _ := m["addresses"].([]any)
	if len(addrs) != 1 {
		t.Fatalf("addresses = %v, want one work address", m["addresses"])
	}
	if a := addrs[0].(map[string]any); a["type"] != "work" || a["formatted"] != "18/2111" || a["locality"] != "Redmond" {
		t.Errorf("address = %v, want one work address with both replaced sub-attributes", a)
	}

	// A replace whose filter does not say which value to create, and a
	// replace of a member (it would grant a role), stay noTarget.
	r := h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(`{"op":"replace","path":"emails[value co \"@nowhere\"].value","value":"x@y.example"}`))
	if m := wantStatus(t, r, 400); m["scimType"] != "noTarget" {
		t.Errorf("replace with a co filter matching nothing: scimType %v, want noTarget", m["scimType"])
	}
	other := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`"],"userName":"other@contoso.example"}`), 201)["id"].(string)
	gid := wantStatus(t, h.Do(t, "POST", "/scim/v2/Groups", `{"schemas":["`+coreGroup+`"],"displayName":"Nurse","members":[]}`), 201)["id"].(string)
	r = h.Do(t, "PATCH", "/scim/v2/Groups/"+gid, patchBody(`{"op":"replace","path":"members[value eq \"`+other+`\"]","value":{"display":"Other"}}`))
	if m := wantStatus(t, r, 400); m["scimType"] != "noTarget" {
		t.Errorf("replace of a member that is not one: scimType %v, want noTarget", m["scimType"])
	}
	if g, err := h.Store().GetGroup(t.Context(), gid); err != nil || len(g.Members) != 0 {
		t.Errorf("group members = %v (%v), want none: a replace never adds a member", g.Members, err)
	}
}

// In a path-less replace, a key whose value is null unassigns the
// attribute (RFC 7643 §2.5), as a PUT without it does. It answered 200 and
// kept the value: an end date cleared by the HR connector stayed, and the
// scheduler would have deprovisioned the worker on it.
func TestPatchReplaceNullUnassigns(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	id := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`","`+shiftgateUser+`","`+enterpriseUser+`"],"userName":"temp@example.com",
	  "title":"Picker","name":{"givenName":"Tem","familyName":"Porary"},
	  "`+enterpriseUser+`":{"department":"Ward 3","costCenter":"4711"},
	  "`+shiftgateUser+`":{"sites":["north"],"employmentType":"temp","endDate":"2099-06-30"}}`), 201)["id"].(string)
	if u := getUser(t, h, id); u.EndDate.IsZero() {
		t.Fatal("the end date was not stored")
	}
	m := wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(`{"op":"replace","value":{
	  "urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:endDate":null,
	  "title":null,"name.givenName":null,
	  "`+enterpriseUser+`":{"department":null}}}`)), 200)
	if u := getUser(t, h, id); !u.EndDate.IsZero() || u.EndDay != "" {
		t.Errorf("stored end date %v (day %q) after replacing it with null, want none", u.EndDate, u.EndDay)
	}
	ext, _ := m[shiftgateUser].(map[string]any)
	if _, ok := ext["endDate"]; ok || ext["employmentType"] != "temp" {
		t.Errorf("frontline extension = %v, want employmentType kept and no endDate", ext)
	}
	if _, ok := m["title"]; ok {
		t.Errorf("title = %v after replacing it with null, want none", m["title"])
	}
	if n, _ := m["name"].(map[string]any); n["givenName"] != nil || n["familyName"] != "Porary" {
		t.Errorf("name = %v, want only familyName", m["name"])
	}
	if e, _ := m[enterpriseUser].(map[string]any); e["department"] != nil || e["costCenter"] != "4711" {
		t.Errorf("enterprise extension = %v, want only costCenter", m[enterpriseUser])
	}
	// null for a required attribute is a mutability error, not a silent 200.
	r := h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(`{"op":"replace","value":{"userName":null}}`))
	if m := wantStatus(t, r, 400); m["scimType"] != "mutability" {
		t.Errorf("replacing userName with null: scimType %v, want mutability", m["scimType"])
	}
	// null for active keeps the user's state, as a remove of active does.
	wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(`{"op":"replace","value":{"active":null,"title":"Lead"}}`)), 200)
	if u := getUser(t, h, id); !u.Active {
		t.Error("active: null disabled the user")
	}
}

// A blank string for a date or for employmentType is no value: identity
// providers and HR connectors send "" for an unset source attribute. It
// was invalidValue, and the joiner was never provisioned; a PATCH or PUT
// with "" could not clear an end date.
func TestBlankDateAndEmploymentTypeAreUnassigned(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	m := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`","`+shiftgateUser+`"],"userName":"blank@example.com","active":true,
	  "`+shiftgateUser+`":{"sites":["north"],"employmentType":"","startDate":"","endDate":" "}}`), 201)
	id := m["id"].(string)
	if u := getUser(t, h, id); !u.Active || u.State != store.UserActive || u.EmploymentType != "" || !u.StartDate.IsZero() || !u.EndDate.IsZero() {
		t.Errorf("stored joiner: active %v, state %v, type %q, start %v, end %v; want active, no type, no dates", u.Active, u.State, u.EmploymentType, u.StartDate, u.EndDate)
	}
	if ext, _ := m[shiftgateUser].(map[string]any); len(ext) != 1 {
		t.Errorf("frontline extension = %v, want sites only", ext)
	}

	// A replace with "" clears an end date, by path and in a value object.
	for _, op := range []string{
		`{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:endDate","value":""}`,
		`{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:endDate":"","urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:employmentType":""}}`,
	} {
		wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(`{"op":"replace","value":{"`+shiftgateUser+`":{"endDate":"2099-06-30","employmentType":"temp"}}}`)), 200)
		if u := getUser(t, h, id); u.EndDate.IsZero() || u.EmploymentType != "temp" {
			t.Fatalf("setup: end date %v, type %q", u.EndDate, u.EmploymentType)
		}
		wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(op)), 200)
		if u := getUser(t, h, id); !u.EndDate.IsZero() || u.EndDay != "" {
			t.Errorf("%s: end date %v (day %q), want none", op, u.EndDate, u.EndDay)
		}
	}
	if u := getUser(t, h, id); u.EmploymentType != "" {
		t.Errorf("employmentType %q after replacing it with \"\", want none", u.EmploymentType)
	}
	// A value that is neither blank nor valid is still refused.
	r := h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(`{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:endDate","value":"soon"}`))
	if m := wantStatus(t, r, 400); m["scimType"] != "invalidValue" {
		t.Errorf("endDate \"soon\": scimType %v, want invalidValue", m["scimType"])
	}
}

// A PATCH or PUT that changes nothing (Entra resends what it believes the
// hub holds; a remove that matches nothing; an add of a value present)
// writes nothing: the version stays, so an ETag a client holds stays
// good, and the audit trail records no update that changed nothing. A
// real change after them still counts.
func TestNoOpUpdateWritesNothing(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	body := `{"schemas":["` + coreUser + `"],"userName":"same@example.com","active":true,"displayName":"Sam",
	  "emails":[{"type":"work","value":"same@example.com"}]}`
	m := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", body), 201)
	id := m["id"].(string)
	version := m["meta"].(map[string]any)["version"]
	updates := func() int {
		t.Helper()
		recs, err := h.Store().ListAudit(t.Context(), store.AuditQuery{Subject: "user:" + id, Action: "user.update"})
		if err != nil {
			t.Fatal(err)
		}
		return len(recs)
	}
	for _, tc := range []struct{ name, method, body string }{
		{"replace active with its value", "PATCH", patchBody(`{"op":"Replace","path":"active","value":"True"}`)},
		{"replace displayName with its value", "PATCH", patchBody(`{"op":"replace","value":{"displayName":"Sam"}}`)},
		{"remove a value that matches nothing", "PATCH", patchBody(`{"op":"remove","path":"emails[type eq \"home\"]"}`)},
		{"add a value present", "PATCH", patchBody(`{"op":"add","path":"emails","value":[{"type":"work","value":"same@example.com"}]}`)},
		{"PUT of the same user", "PUT", body},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := wantStatus(t, h.Do(t, tc.method, "/scim/v2/Users/"+id, tc.body), 200)
			if got := m["meta"].(map[string]any)["version"]; got != version {
				t.Errorf("version %v after a request that changed nothing, want %v", got, version)
			}
			if n := updates(); n != 0 {
				t.Errorf("%d user.update records for a request that changed nothing", n)
			}
		})
	}
	m = wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(`{"op":"replace","path":"displayName","value":"Samuel"}`)), 200)
	if got := m["meta"].(map[string]any)["version"]; got == version {
		t.Errorf("version %v unchanged after a real change", got)
	}
	if n := updates(); n != 1 {
		t.Errorf("%d user.update records after one real change, want 1", n)
	}
}
