package scim_test

import (
	"math/rand"
	"strconv"
	"testing"

	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// Review 22: a run of the PATCH shapes Microsoft Entra ID and Okta send
// (capitalised ops, string booleans, filtered paths that create values,
// members removed by value list and by filter, renames of the user and of
// its group), mixed in a fixed pseudo-random order. After each step the
// user as GET shows it must be what the server acts on:
//
//   - a filter on any value GET shows (userName, active, externalId, a
//     work email in Entra's emails[type eq "work"].value form and in RFC
//     form, each site, the end date as shown, employmentType,
//     manager.value, each group) finds the user, and the group's
//     membership check (Entra's id eq "<group>" and members[value eq
//     "<user>"]) agrees with the user's groups;
//   - a PUT of exactly what GET shows changes nothing: same version.
//
// Each PATCH is 200 and each group PATCH 204: every shape here is one an
// identity provider sends.
func TestEntraOktaSequenceKeepsRenderingFiltersAndVersionsConsistent(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	patch := func(ops string) string { return `{"schemas":["` + patchOp + `"],"Operations":[` + ops + `]}` }
	uid := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`"],"userName":"u@example.com"}`), 201)["id"].(string)
	gid := wantStatus(t, h.Do(t, "POST", "/scim/v2/Groups", `{"schemas":["`+coreGroup+`"],"displayName":"Nurse"}`), 201)["id"].(string)
	userOps := []string{
		`{"op":"Replace","path":"active","value":"False"}`,
		`{"op":"Replace","path":"active","value":"True"}`,
		`{"op":"replace","value":{"active":false}}`,
		`{"op":"replace","value":{"active":true}}`,
		`{"op":"Add","path":"emails[type eq \"work\"].value","value":"A@example.com"}`,
		`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"b@Example.com"}`,
		`{"op":"Add","path":"emails","value":[{"value":"h@example.org","type":"home","primary":"True"}]}`,
		`{"op":"Remove","path":"emails[type eq \"work\"]"}`,
		`{"op":"Replace","path":"` + shiftgateUser + `:sites","value":"North"}`,
		`{"op":"Add","path":"` + shiftgateUser + `:sites","value":["south","NORTH"]}`,
		`{"op":"Remove","path":"` + shiftgateUser + `:sites[value eq \"north\"]"}`,
		`{"op":"Remove","path":"` + shiftgateUser + `:sites","value":["SOUTH"]}`,
		`{"op":"Replace","path":"` + shiftgateUser + `:endDate","value":"2099-01-01"}`,
		`{"op":"Replace","path":"` + shiftgateUser + `:endDate","value":"2098-06-01T10:00:00+02:00"}`,
		`{"op":"Replace","path":"` + shiftgateUser + `:endDate","value":""}`,
		`{"op":"Replace","path":"` + shiftgateUser + `:employmentType","value":"Temp"}`,
		`{"op":"Add","path":"` + ent + `:manager","value":"m-1"}`,
		`{"op":"Remove","path":"` + ent + `:manager"}`,
		`{"op":"Replace","path":"title","value":"Nurse"}`,
		`{"op":"Replace","path":"externalId","value":"X-1"}`,
		`{"op":"Replace","path":"userName","value":"Renamed@example.com"}`,
		`{"op":"Replace","path":"userName","value":"u@example.com"}`,
	}
	groupOps := []string{
		`{"op":"Add","path":"members","value":[{"$ref":null,"value":"` + uid + `"}]}`,
		`{"op":"Remove","path":"members","value":[{"$ref":null,"value":"` + uid + `"}]}`,
		`{"op":"remove","path":"members[value eq \"` + uid + `\"]"}`,
		`{"op":"Replace","path":"displayName","value":"Charge Nurse"}`,
		`{"op":"replace","value":{"id":"` + gid + `","displayName":"Nurse"}}`,
	}
	count := func(t *testing.T, path, filter string) float64 {
		t.Helper()
		m := wantStatus(t, h.Do(t, "GET", path+"?attributes=id&"+filterQuery(filter), nil), 200)
		n, _ := m["totalResults"].(float64)
		return n
	}
	rng := rand.New(rand.NewSource(22))
	for step := range 150 {
		var sent string
		if rng.Intn(4) == 0 {
			sent = groupOps[rng.Intn(len(groupOps))]
			wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Groups/"+gid, patch(sent)), 204)
		} else {
			sent = userOps[rng.Intn(len(userOps))]
			if rng.Intn(2) == 0 {
				sent += "," + userOps[rng.Intn(len(userOps))]
			}
			wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+uid, patch(sent)), 200)
		}
		r := h.Do(t, "GET", "/scim/v2/Users/"+uid, nil)
		u := wantStatus(t, r, 200)
		var filters []string
		filters = append(filters, `userName eq "`+u["userName"].(string)+`"`, `active eq `+strconv.FormatBool(u["active"].(bool)))
		if v, ok := u["externalId"].(string); ok {
			filters = append(filters, `externalId eq "`+v+`"`)
		}
		for _, e := range asList(u["emails"]) {
			m := e.(map[string]any)
			if typ, ok := m["type"].(string); ok {
				filters = append(filters, `emails[type eq "`+typ+`" and value eq "`+m["value"].(string)+`"]`)
				if n := count(t, "/scim/v2/Users", `emails[type eq "`+typ+`"].value eq "`+m["value"].(string)+`"`); n != 1 {
					t.Fatalf("step %d (after %s): Entra's emails[type eq %q].value eq filter found %v users, want the one", step, sent, typ, n)
				}
			}
		}
		if x, ok := u[shiftgateUser].(map[string]any); ok {
			for _, s := range asList(x["sites"]) {
				filters = append(filters, shiftgateUser+`:sites eq "`+s.(string)+`"`)
			}
			for _, a := range []string{"endDate", "employmentType"} {
				if v, ok := x[a].(string); ok {
					filters = append(filters, shiftgateUser+":"+a+` eq "`+v+`"`)
				}
			}
		}
		if x, ok := u[ent].(map[string]any); ok {
			if m, ok := x["manager"].(map[string]any); ok {
				filters = append(filters, ent+`:manager.value eq "`+m["value"].(string)+`"`)
			}
		}
		groups := asList(u["groups"])
		for _, g := range groups {
			filters = append(filters, `groups[value eq "`+g.(map[string]any)["value"].(string)+`"]`)
		}
		for _, f := range filters {
			if n := count(t, "/scim/v2/Users", `id eq "`+uid+`" and `+f); n != 1 {
				t.Fatalf("step %d (after %s): filter %s found %v users, want the one; GET shows %v", step, sent, f, n, u)
			}
		}
		if n := count(t, "/scim/v2/Groups", `id eq "`+gid+`" and members[value eq "`+uid+`"]`); n != float64(len(groups)) {
			t.Fatalf("step %d (after %s): the group's membership check found %v, the user shows %d groups", step, sent, n, len(groups))
		}

		tag := r.Header.Get("ETag")
		delete(u, "meta")
		put := h.Do(t, "PUT", "/scim/v2/Users/"+uid, u, "If-Match", tag)
		wantStatus(t, put, 200)
		if got := put.Header.Get("ETag"); got != tag {
			t.Fatalf("step %d (after %s): a PUT of what GET shows moved the version from %s to %s", step, sent, tag, got)
		}
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
