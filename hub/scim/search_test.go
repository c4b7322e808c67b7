package scim_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/hub/hubtest"
)

const searchRequest = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"

// searchFixture starts a hub with users and groups to search: six users,
// two of them named "Ward …", and three groups, two of them "Ward …".
func searchFixture(t *testing.T, opts hubtest.Options) (h *hubtest.Hub, users, groups []string) {
	t.Helper()
	h = hubtest.Start(t, opts)
	for i, name := range []string{"ann", "bob", "cat", "dan", "eve", "fay"} {
		display := "Worker " + name
		if i%3 == 0 {
			display = "Ward " + name
		}
		body := fmt.Sprintf(`{"schemas":[%q],"userName":"%s@example.com","displayName":%q,"title":"t%d","emails":[{"type":"work","value":"%s@example.com"}]}`,
			coreUser, name, display, i%2, name)
		users = append(users, wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", body), 201)["id"].(string))
	}
	for i, name := range []string{"Ward A", "Pickers", "Ward B"} {
		body := fmt.Sprintf(`{"schemas":[%q],"displayName":%q,"members":[{"value":%q}]}`, coreGroup, name, users[i])
		groups = append(groups, wantStatus(t, h.Do(t, "POST", "/scim/v2/Groups", body), 201)["id"].(string))
	}
	return h, users, groups
}

// searchBody is a SearchRequest with the given members besides schemas.
func searchBody(t *testing.T, members map[string]any) string {
	t.Helper()
	m := map[string]any{"schemas": []string{searchRequest}}
	for k, v := range members {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// POST /Users/.search and /Groups/.search answer exactly what GET /Users
// and /Groups answer for the same parameters, results and errors alike:
// the same filter, paging and projection rules, the same limits (count
// above 1000 is 1000, startIndex below 1 is 1), the same refusals.
func TestSearchAnswersAsGet(t *testing.T) {
	h, _, _ := searchFixture(t, hubtest.Options{})
	for _, tc := range []struct {
		name  string
		query url.Values
		body  map[string]any
	}{
		{"everything", url.Values{}, map[string]any{}},
		{"filter", url.Values{"filter": {`displayName sw "ward"`}}, map[string]any{"filter": `displayName sw "ward"`}},
		{"equality", url.Values{"filter": {`userName eq "BOB@example.com"`}}, map[string]any{"filter": `userName eq "BOB@example.com"`}},
		{"complex filter", url.Values{"filter": {`emails[type eq "work" and value ew "n@example.com"] or title eq "t1"`}},
			map[string]any{"filter": `emails[type eq "work" and value ew "n@example.com"] or title eq "t1"`}},
		{"paging", url.Values{"startIndex": {"2"}, "count": {"2"}}, map[string]any{"startIndex": 2, "count": 2}},
		{"filtered paging", url.Values{"filter": {`title pr`}, "startIndex": {"3"}, "count": {"3"}},
			map[string]any{"filter": `title pr`, "startIndex": 3, "count": 3}},
		{"count 0", url.Values{"filter": {`title eq "t0"`}, "count": {"0"}}, map[string]any{"filter": `title eq "t0"`, "count": 0}},
		{"count above the maximum", url.Values{"count": {"5000"}}, map[string]any{"count": 5000}},
		{"negative count", url.Values{"count": {"-3"}}, map[string]any{"count": -3}},
		{"startIndex below 1", url.Values{"startIndex": {"-7"}, "count": {"2"}}, map[string]any{"startIndex": -7, "count": 2}},
		{"startIndex past the end", url.Values{"startIndex": {"99"}}, map[string]any{"startIndex": 99}},
		{"attributes", url.Values{"attributes": {"userName,name.givenName,displayName"}},
			map[string]any{"attributes": []string{"userName", "name.givenName", "displayName"}}},
		{"excludedAttributes", url.Values{"excludedAttributes": {"emails,meta"}, "filter": {`title eq "t1"`}},
			map[string]any{"excludedAttributes": []string{"emails", "meta"}, "filter": `title eq "t1"`}},
		{"ignored sort", url.Values{"sortBy": {"userName"}, "sortOrder": {"descending"}},
			map[string]any{"sortBy": "userName", "sortOrder": "descending"}},
		{"bad filter", url.Values{"filter": {`userName eq`}}, map[string]any{"filter": `userName eq`}},
		{"empty filter", url.Values{"filter": {` `}}, map[string]any{"filter": ` `}},
		{"filter too long", url.Values{"filter": {`userName eq "` + strings.Repeat("x", 5000) + `"`}},
			map[string]any{"filter": `userName eq "` + strings.Repeat("x", 5000) + `"`}},
		{"filter of the wrong type", url.Values{"filter": {`title gt 5`}}, map[string]any{"filter": `title gt 5`}},
		{"count not an integer", url.Values{"count": {"1.5"}}, map[string]any{"count": 1.5}},
		{"startIndex not an integer", url.Values{"startIndex": {"x"}}, map[string]any{"startIndex": "x"}},
		{"count in exponent form", url.Values{"count": {"1e30"}}, map[string]any{"count": 1e30}},
		// Beyond an int64: a count is capped, a startIndex runs past the
		// end, as their values would have them (parsePaging).
		{"count beyond an integer", url.Values{"count": {"99999999999999999999"}},
			map[string]any{"count": json.Number("99999999999999999999")}},
		{"negative count beyond an integer", url.Values{"count": {"-99999999999999999999"}},
			map[string]any{"count": json.Number("-99999999999999999999")}},
		{"startIndex beyond an integer", url.Values{"startIndex": {"99999999999999999999"}, "count": {"5"}},
			map[string]any{"startIndex": json.Number("99999999999999999999"), "count": 5}},
		{"startIndex below an integer", url.Values{"startIndex": {"-99999999999999999999"}, "count": {"2"}},
			map[string]any{"startIndex": json.Number("-99999999999999999999"), "count": 2}},
	} {
		for _, endpoint := range []string{"/scim/v2/Users", "/scim/v2/Groups"} {
			t.Run(tc.name+endpoint, func(t *testing.T) {
				get := h.Do(t, "GET", endpoint+"?"+tc.query.Encode(), nil)
				post := h.Do(t, "POST", endpoint+"/.search", searchBody(t, tc.body))
				if post.Status != get.Status {
					t.Fatalf("POST .search: status %d, GET: %d\nPOST: %s\nGET: %s", post.Status, get.Status, post.Body, get.Body)
				}
				if diff := cmp.Diff(get.JSON(), post.JSON()); diff != "" {
					t.Errorf("POST .search answer differs from GET's (-GET +POST):\n%s", diff)
				}
			})
		}
	}
}

// The answers TestSearchAnswersAsGet compares are answers: the fixture
// matches what the filters say, so equal answers are not equally empty.
func TestSearchFindsResources(t *testing.T) {
	h, users, _ := searchFixture(t, hubtest.Options{})
	m := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users/.search", searchBody(t, map[string]any{
		"filter": `displayName sw "ward"`, "attributes": []string{"userName"}})), 200)
	if m["totalResults"] != 2.0 || len(m["Resources"].([]any)) != 2 {
		t.Fatalf("search: %v; want the two Ward users", m)
	}
	first := m["Resources"].([]any)[0].(map[string]any)
	if first["id"] != users[0] || first["userName"] != "ann@example.com" || first["displayName"] != nil {
		t.Errorf("first resource %v; want ann, with id and userName only", first)
	}
	// The SearchRequest's members are matched ignoring case, as SCIM
	// attribute names are.
	m = wantStatus(t, h.Do(t, "POST", "/scim/v2/Groups/.search", `{"SCHEMAS":["`+strings.ToUpper(searchRequest)+`"],"Filter":"displayName eq \"pickers\"","COUNT":5}`), 200)
	if m["totalResults"] != 1.0 || m["Resources"].([]any)[0].(map[string]any)["displayName"] != "Pickers" {
		t.Errorf("group search with upper-case members: %v; want Pickers", m)
	}
}

// POST /.search at the root searches Users and Groups: every match of
// both counted, users first, the page running over both, each resource
// projected by its type.
func TestSearchRoot(t *testing.T) {
	h, users, groups := searchFixture(t, hubtest.Options{})
	ids := func(m map[string]any) []string {
		var out []string
		for _, r := range m["Resources"].([]any) {
			out = append(out, r.(map[string]any)["id"].(string))
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		body  map[string]any
		total int
		want  []string
	}{
		{"everything", map[string]any{}, 9, append(append([]string{}, users...), groups...)},
		{"both types match", map[string]any{"filter": `displayName sw "Ward"`}, 4, []string{users[0], users[3], groups[0], groups[2]}},
		{"an attribute only users have", map[string]any{"filter": `userName eq "cat@example.com"`}, 1, []string{users[2]}},
		{"by resource type", map[string]any{"filter": `meta.resourceType eq "Group"`}, 3, groups},
		{"a page across the types", map[string]any{"startIndex": 6, "count": 2}, 9, []string{users[5], groups[0]}},
		{"a filtered page across the types", map[string]any{"filter": `displayName sw "Ward"`, "startIndex": 2, "count": 2}, 4, []string{users[3], groups[0]}},
		{"a page of groups only", map[string]any{"startIndex": 8, "count": 5}, 9, []string{groups[1], groups[2]}},
		{"past the end", map[string]any{"startIndex": 10}, 9, nil},
		{"count 0", map[string]any{"count": 0}, 9, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := wantStatus(t, h.Do(t, "POST", "/scim/v2/.search", searchBody(t, tc.body)), 200)
			if m["totalResults"] != float64(tc.total) || m["itemsPerPage"] != float64(len(tc.want)) {
				t.Errorf("totalResults %v, itemsPerPage %v; want %d, %d", m["totalResults"], m["itemsPerPage"], tc.total, len(tc.want))
			}
			if diff := cmp.Diff(tc.want, ids(m)); diff != "" {
				t.Errorf("resources (-want +got):\n%s", diff)
			}
		})
	}

	// Each resource is projected by its own type: a user keeps userName,
	// a group members; both keep id and schemas (returned always).
	m := wantStatus(t, h.Do(t, "POST", "/scim/v2/.search", searchBody(t, map[string]any{
		"filter": `displayName sw "Ward"`, "attributes": []string{"userName", "members"}})), 200)
	var got []map[string]any
	for _, r := range m["Resources"].([]any) {
		got = append(got, r.(map[string]any))
	}
	if len(got) != 4 || got[0]["userName"] != "ann@example.com" || got[0]["displayName"] != nil ||
		got[2]["members"] == nil || got[2]["displayName"] != nil || got[2]["schemas"] == nil {
		t.Errorf("projected resources %v; want users with userName, groups with members, no displayName", got)
	}

	// A filter that does not hold for one of the types is refused.
	wantSCIMError(t, "filter invalid for groups", h.Do(t, "POST", "/scim/v2/.search", searchBody(t, map[string]any{"filter": `members.value gt 5`})), 400)
	wantSCIMError(t, "GET /.search", h.Do(t, "GET", "/scim/v2/.search", nil), 405)
}

// A SearchRequest that is not one is refused with 400 in the SCIM error
// schema, naming what is wrong: bodies that are not a JSON object, a
// missing or wrong schema, members of the wrong type; filters as GET
// refuses them. Every search endpoint needs the SCIM token.
func TestSearchRefusesBadRequests(t *testing.T) {
	h, _, _ := searchFixture(t, hubtest.Options{})
	for _, tc := range []struct {
		name, body, scimType string
	}{
		{"not JSON", `schemas=x`, "invalidSyntax"},
		{"empty", ``, "invalidSyntax"},
		{"an array", `[]`, "invalidSyntax"},
		{"null", `null`, "invalidSyntax"},
		{"trailing data", `{"schemas":["` + searchRequest + `"]} {}`, "invalidSyntax"},
		{"no schemas", `{"filter":"userName pr"}`, "invalidSyntax"},
		{"wrong schema", `{"schemas":["` + patchOp + `"],"filter":"userName pr"}`, "invalidSyntax"},
		{"a resource's schema", `{"schemas":["` + coreUser + `"]}`, "invalidSyntax"},
		{"schemas not a list", `{"schemas":"` + searchRequest + `"}`, "invalidSyntax"},
		{"filter not a string", `{"schemas":["` + searchRequest + `"],"filter":5}`, "invalidSyntax"},
		{"attributes not a list", `{"schemas":["` + searchRequest + `"],"attributes":"userName"}`, "invalidSyntax"},
		{"sortOrder not a string", `{"schemas":["` + searchRequest + `"],"sortOrder":true}`, "invalidSyntax"},
		{"count a string", `{"schemas":["` + searchRequest + `"],"count":"10"}`, "invalidValue"},
		{"startIndex a fraction", `{"schemas":["` + searchRequest + `"],"startIndex":1.5}`, "invalidValue"},
		{"bad filter", `{"schemas":["` + searchRequest + `"],"filter":"userName eq bjensen"}`, "invalidFilter"},
		{"unknown operator", `{"schemas":["` + searchRequest + `"],"filter":"userName xx \"a\""}`, "invalidFilter"},
		{"filter type mismatch", `{"schemas":["` + searchRequest + `"],"filter":"meta.lastModified gt 5"}`, "invalidFilter"},
	} {
		for _, path := range []string{"/scim/v2/Users/.search", "/scim/v2/Groups/.search", "/scim/v2/.search"} {
			t.Run(tc.name+path, func(t *testing.T) {
				m := wantSCIMError(t, tc.name, h.Do(t, "POST", path, tc.body), 400)
				if m["scimType"] != tc.scimType {
					t.Errorf("scimType %v, want %s; detail %v", m["scimType"], tc.scimType, m["detail"])
				}
			})
		}
	}
	body := searchBody(t, nil)
	for _, path := range []string{"/scim/v2/Users/.search", "/scim/v2/Groups/.search", "/scim/v2/.search"} {
		wantSCIMError(t, "no token "+path, h.DoToken(t, "", "POST", path, body), 401)
		wantSCIMError(t, "admin token "+path, h.DoToken(t, h.AdminToken(t), "POST", path, body), 401)
		wantSCIMError(t, "form body "+path, h.Do(t, "POST", path, body, "Content-Type", "application/x-www-form-urlencoded"), 415)
	}
}

// A SearchRequest is at most 64 KiB: its filter is at most 4 KiB, and the
// rest a few names. A larger body is 413 before it is decoded; so is one
// larger than the hub's own limit, when that is lower.
func TestSearchBodyLimit(t *testing.T) {
	h, _, _ := searchFixture(t, hubtest.Options{})
	padded := func(size int) string {
		b := `{"schemas":["` + searchRequest + `"],"filter":"userName pr"}`
		return b[:len(b)-1] + strings.Repeat(" ", size-len(b)) + "}"
	}
	for _, path := range []string{"/scim/v2/Users/.search", "/scim/v2/Groups/.search", "/scim/v2/.search"} {
		wantStatus(t, h.Do(t, "POST", path, padded(64<<10)), 200)
		wantSCIMError(t, "64 KiB + 1 "+path, h.Do(t, "POST", path, padded(64<<10+1)), 413)
	}
	small, _, _ := searchFixture(t, hubtest.Options{MaxBodyBytes: 4096})
	wantStatus(t, small.Do(t, "POST", "/scim/v2/Users/.search", padded(4096)), 200)
	wantSCIMError(t, "above the hub's limit", small.Do(t, "POST", "/scim/v2/Users/.search", padded(4097)), 413)
}

// A startIndex or count with more digits than an int holds means what its
// value says (RFC 7644 §3.4.2.4): a huge count is the server's maximum, a
// huge startIndex a page past the end, a hugely negative one the first;
// neither is a 400, in the URL or in a SearchRequest.
func TestPagingBeyondAnInteger(t *testing.T) {
	h, users, _ := searchFixture(t, hubtest.Options{})
	const huge = "99999999999999999999"
	for _, tc := range []struct {
		name      string
		query     url.Values
		body      map[string]any
		wantItems int
	}{
		{"huge count", url.Values{"count": {huge}}, map[string]any{"count": json.Number(huge)}, len(users)},
		{"hugely negative count", url.Values{"count": {"-" + huge}}, map[string]any{"count": json.Number("-" + huge)}, 0},
		{"huge startIndex", url.Values{"startIndex": {huge}}, map[string]any{"startIndex": json.Number(huge)}, 0},
		{"hugely negative startIndex", url.Values{"startIndex": {"-" + huge}, "count": {"2"}},
			map[string]any{"startIndex": json.Number("-" + huge), "count": 2}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, r := range []hubtest.Response{
				h.Do(t, "GET", "/scim/v2/Users?"+tc.query.Encode(), nil),
				h.Do(t, "POST", "/scim/v2/Users/.search", searchBody(t, tc.body)),
			} {
				m := wantStatus(t, r, 200)
				got, _ := m["Resources"].([]any)
				if m["totalResults"] != float64(len(users)) || len(got) != tc.wantItems {
					t.Errorf("totalResults %v, %d resources; want %d, %d", m["totalResults"], len(got), len(users), tc.wantItems)
				}
			}
		})
	}
}
