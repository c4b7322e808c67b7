package scim_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/scim"
)

// Third-pass review: conformance to RFC 7643/7644 and robustness against
// what a client with a SCIM token can send.

// excludedAttributes naming a sub-attribute of groups (groups.display)
// leaves the other sub-attributes in, in an unfiltered list as in a GET of
// the user and in a filtered list (RFC 7644 §3.4.2.5). The unfiltered list
// read the users without their groups, and answered no groups at all.
func TestListExcludedGroupsSubAttributeKeepsGroups(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	uid := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`"],"userName":"grouped@example.com"}`), 201)["id"].(string)
	gid := wantStatus(t, h.Do(t, "POST", "/scim/v2/Groups", `{"schemas":["`+coreGroup+`"],"displayName":"Picker","members":[{"value":"`+uid+`"}]}`), 201)["id"].(string)

	check := func(t *testing.T, what string, res map[string]any) {
		t.Helper()
		groups, _ := res["groups"].([]any)
		if len(groups) != 1 {
			t.Fatalf("%s: groups = %v, want the one group without display", what, res["groups"])
		}
		g := groups[0].(map[string]any)
		if g["value"] != gid || g["display"] != nil {
			t.Errorf("%s: group %v, want value %s and no display", what, g, gid)
		}
	}
	for _, tc := range []struct{ name, query string }{
		{"unfiltered list", "excludedAttributes=groups.display"},
		{"unfiltered list, URN-qualified", "excludedAttributes=" + url.QueryEscape(coreUser+":groups.display")},
		{"unfiltered list, attributes", "attributes=userName,groups.value,groups.type"},
		{"filtered list", "excludedAttributes=groups.display&filter=" + url.QueryEscape(`userName eq "grouped@example.com"`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := wantStatus(t, h.Do(t, "GET", "/scim/v2/Users?"+tc.query, nil), 200)
			res, _ := m["Resources"].([]any)
			if len(res) != 1 {
				t.Fatalf("Resources = %v, want the one user", m["Resources"])
			}
			check(t, tc.query, res[0].(map[string]any))
		})
	}
	check(t, "GET the user", wantStatus(t, h.Do(t, "GET", "/scim/v2/Users/"+uid+"?excludedAttributes=groups.display", nil), 200))

	// Excluding groups as a whole still leaves them out.
	m := wantStatus(t, h.Do(t, "GET", "/scim/v2/Users?excludedAttributes=groups", nil), 200)
	if res := m["Resources"].([]any); len(res) != 1 || res[0].(map[string]any)["groups"] != nil {
		t.Errorf("excludedAttributes=groups: Resources = %v, want the user without groups", m["Resources"])
	}
}

// RFC 7644 §4: /Schemas and /ResourceTypes ignore filtering and paging,
// and a service provider SHOULD answer a filter with 403, so that a client
// does not take every schema for a match. It answered 200 with all of
// them. Paging parameters are still ignored.
func TestDiscoveryListRefusesFilter(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	for _, ep := range []string{"/Schemas", "/ResourceTypes"} {
		t.Run(ep, func(t *testing.T) {
			r := h.Do(t, "GET", "/scim/v2"+ep+"?filter="+url.QueryEscape(`id eq "urn:ietf:params:scim:schemas:core:2.0:Group"`), nil)
			wantSCIMError(t, ep+" with a filter", r, 403)

			m := wantStatus(t, h.Do(t, "GET", "/scim/v2"+ep+"?startIndex=2&count=1", nil), 200)
			res, _ := m["Resources"].([]any)
			if len(res) < 2 || m["totalResults"] != float64(len(res)) {
				t.Errorf("%s with paging parameters: totalResults %v, %d resources; want every one (paging is ignored)", ep, m["totalResults"], len(res))
			}
		})
	}
	// A single schema or resource type is not a list: no filter to refuse.
	wantStatus(t, h.Do(t, "GET", "/scim/v2/ResourceTypes/User", nil), 200)
}

// A filter or a PATCH path that nests parentheses or brackets more than
// 32 deep is refused before it is parsed: the parser's time grows with
// the square of the nesting (0.2-0.4 s for one 4 KiB path), and a PATCH
// body holds hundreds of paths. Nesting up to the limit works, and
// parentheses inside a quoted value do not count.
func TestFilterAndPathNestingLimit(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	uid := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`"],"userName":"nested@example.com",
	  "emails":[{"type":"work","value":"nested@example.com"}]}`), 201)["id"].(string)
	nest := func(n int, inner string) string {
		return strings.Repeat("(", n) + inner + strings.Repeat(")", n)
	}
	list := func(filter string) hubtest.Response {
		return h.Do(t, "GET", "/scim/v2/Users?attributes=userName&filter="+url.QueryEscape(filter), nil)
	}

	m := wantStatus(t, list(nest(32, `userName eq "nested@example.com"`)), 200)
	if m["totalResults"] != float64(1) {
		t.Errorf("filter nested 32 deep: totalResults %v, want 1", m["totalResults"])
	}
	m = wantStatus(t, list(`userName eq "`+strings.Repeat("(", 100)+`"`), 200)
	if m["totalResults"] != float64(0) {
		t.Errorf("filter with parentheses in its value: totalResults %v, want 0", m["totalResults"])
	}
	for _, f := range []string{
		nest(33, `userName eq "nested@example.com"`),
		"emails[" + nest(40, `value eq "nested@example.com"`) + "]",
		strings.Repeat("not (", 40) + `userName pr` + strings.Repeat(")", 40),
	} {
		if e := wantSCIMError(t, "filter nested too deep", list(f), 400); e["scimType"] != "invalidFilter" {
			t.Errorf("filter nested too deep: scimType %v, want invalidFilter", e["scimType"])
		}
	}

	deep := `emails[` + nest(40, `value eq \"nested@example.com\"`) + `].value`
	r := h.Do(t, "PATCH", "/scim/v2/Users/"+uid, patchBody(`{"op":"replace","path":"title","value":"Lead"},{"op":"replace","path":"`+deep+`","value":"x@example.com"}`))
	if e := wantSCIMError(t, "PATCH path nested too deep", r, 400); e["scimType"] != "invalidPath" || !strings.Contains(e["detail"].(string), "operation 2") {
		t.Errorf("PATCH path nested too deep: %v, want invalidPath naming operation 2", e)
	}
	if u := getUser(t, h, uid); strings.Contains(string(u.Document), "Lead") {
		t.Errorf("the refused PATCH changed the user: %s", u.Document)
	}
	ok := `emails[` + nest(31, `value eq \"nested@example.com\"`) + `].value`
	m = wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+uid, patchBody(`{"op":"replace","path":"`+ok+`","value":"x@example.com"}`)), 200)
	if emails, _ := m["emails"].([]any); len(emails) != 1 || emails[0].(map[string]any)["value"] != "x@example.com" {
		t.Errorf("PATCH at a path nested 32 deep: emails %v, want x@example.com", m["emails"])
	}
}

// attributes and excludedAttributes names are resolved without the filter
// parser, and once per list: the parser took some 100 µs (250 allocations)
// a name, for every resource, so a page of 1,000 users asked for with a
// few dozen dotted or URN-qualified names kept a core busy for seconds.
// The names still resolve as before: case-insensitive, dotted, $ref,
// URN-qualified with the core or an extension URN, a whole extension.
func TestProjectionNamesResolveCheaply(t *testing.T) {
	rt := scim.UserResourceType()
	res := map[string]any{
		"schemas": []any{scim.UserURN, scim.EnterpriseUserURN}, "id": "u1", "userName": "ann",
		"name":                 map[string]any{"givenName": "Ann", "familyName": "Lee"},
		"groups":               []any{map[string]any{"value": "g1", "$ref": "https://hub/scim/v2/Groups/g1", "display": "Picker"}},
		scim.EnterpriseUserURN: map[string]any{"department": "Cold store", "costCenter": "4711"},
	}
	for _, tc := range []struct {
		name        string
		attrs, excl []string
		want        string
	}{
		{"dotted, any case", []string{"NAME.givenname"}, nil,
			`{"id":"u1","name":{"givenName":"Ann"},"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]}`},
		{"$ref and URN-qualified core", []string{"groups.$ref", "URN:ietf:params:scim:schemas:core:2.0:User:userName"}, nil,
			`{"groups":[{"$ref":"https://hub/scim/v2/Groups/g1"}],"id":"u1","schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"userName":"ann"}`},
		{"extension attribute", []string{scim.EnterpriseUserURN + ":department"}, nil,
			`{"id":"u1","schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Cold store"}}`},
		{"unknown names are ignored", []string{"name.givenName.x", "urn:acme:User:userName", scim.EnterpriseUserURN + ":userName", "emails[type eq \"work\"].value"}, nil,
			`{"id":"u1","schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]}`},
		{"excluded extension and sub-attribute", nil, []string{scim.EnterpriseUserURN, "name.familyName", "groups", "meta"},
			`{"id":"u1","name":{"givenName":"Ann"},"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"userName":"ann"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := json.Marshal(scim.Project(rt, res, tc.attrs, tc.excl))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("Project(%q, %q) =\n%s\nwant\n%s", tc.attrs, tc.excl, got, tc.want)
			}
		})
	}

	names := []string{"name.givenName", "emails.value", scim.EnterpriseUserURN + ":department", scim.UserURN + ":userName", "groups.$ref"}
	if n := testing.AllocsPerRun(20, func() { scim.Project(rt, res, names, names) }); n > 500 {
		t.Errorf("Project with %d names in each list: %.0f allocations, want at most 500 (the parser made some 10,000)", len(names), n)
	}
}
