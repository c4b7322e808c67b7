package scim_test

import (
	"encoding/json"
	"testing"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// A group PATCH or PUT that changes nothing (Entra's Add of a member the
// group has, a Remove of one it has not, by filter or by value list; a
// rename to the same name; the same PUT again) writes nothing, as for
// users (TestNoOpUpdateWritesNothing): the group keeps its version, so an
// ETag a client holds stays good, and no group.update is recorded. Each
// of them was a new version and an audit record of an update with no
// change in it.
func TestNoOpGroupUpdateWritesNothing(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	member := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`"],"userName":"member@example.com"}`), 201)["id"].(string)
	other := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`"],"userName":"other@example.com"}`), 201)["id"].(string)
	body := `{"schemas":["` + coreGroup + `"],"displayName":"Nurse","externalId":"g-1","members":[{"value":"` + member + `"}]}`
	r := h.Do(t, "POST", "/scim/v2/Groups", body)
	gid := wantStatus(t, r, 201)["id"].(string)
	etag := r.Header.Get("ETag")
	updates := func() int {
		t.Helper()
		recs, err := h.Store().ListAudit(t.Context(), store.AuditQuery{Subject: "group:" + gid, Action: "group.update"})
		if err != nil {
			t.Fatal(err)
		}
		return len(recs)
	}
	for _, tc := range []struct{ name, method, body string }{
		{"add a member the group has", "PATCH", patchBody(`{"op":"Add","path":"members","value":[{"value":"` + member + `"}]}`)},
		{"remove a member it has not, by filter", "PATCH", patchBody(`{"op":"Remove","path":"members[value eq \"` + other + `\"]"}`)},
		{"remove a member it has not, by value list", "PATCH", patchBody(`{"op":"Remove","path":"members","value":[{"value":"` + other + `"}]}`)},
		{"replace displayName with its value", "PATCH", patchBody(`{"op":"Replace","path":"displayName","value":"Nurse"}`)},
		{"Okta path-less replace with id and name", "PATCH", patchBody(`{"op":"replace","value":{"id":"` + gid + `","displayName":"Nurse"}}`)},
		{"PUT of the same group", "PUT", body},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.Do(t, tc.method, "/scim/v2/Groups/"+gid, tc.body)
			if r.Status != 200 && r.Status != 204 {
				t.Fatalf("status %d, body %s", r.Status, r.Body)
			}
			if got := r.Header.Get("ETag"); got != etag {
				t.Errorf("ETag %s after a request that changed nothing, want %s", got, etag)
			}
			if g, err := h.Store().GetGroup(t.Context(), gid); err != nil || g.Version != 1 {
				t.Errorf("stored group version %d (%v), want 1", g.Version, err)
			}
			if n := updates(); n != 0 {
				t.Errorf("%d group.update records for a request that changed nothing", n)
			}
		})
	}
	// The If-Match a client took at the create still holds.
	r = h.Do(t, "PATCH", "/scim/v2/Groups/"+gid, patchBody(`{"op":"add","path":"members","value":[{"value":"`+other+`"}]}`), "If-Match", etag)
	if r.Status != 204 {
		t.Fatalf("PATCH with the create's ETag after no-op requests: status %d, body %s; want 204", r.Status, r.Body)
	}
	if got := r.Header.Get("ETag"); got == etag {
		t.Errorf("ETag %s unchanged after a real change", got)
	}
	if n := updates(); n != 1 {
		t.Errorf("%d group.update records after one real change, want 1", n)
	}
}

// A user whose shifts changed outside SCIM (the shift API, an HR/WFM
// import) renders them from the hub's own record, while its stored SCIM
// document still holds what the identity provider sent. The next PATCH
// or PUT that changed nothing wrote the document afresh: a new version
// and a user.update record with nothing changed in it, after every
// import.
func TestNoOpUpdateAfterShiftChangeWritesNothing(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	for _, tc := range []struct{ name, create string }{
		{"created with the frontline extension", `{"schemas":["` + coreUser + `","` + shiftgateUser + `"],"userName":"ext@example.com",
		  "` + shiftgateUser + `":{"sites":["north"],"shifts":[{"start":"2030-01-01T06:00:00Z","end":"2030-01-01T14:00:00Z"}]}}`},
		{"created without it", `{"schemas":["` + coreUser + `"],"userName":"plain@example.com"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", tc.create), 201)
			id, name := m["id"].(string), m["userName"].(string)
			wantStatus(t, h.API(t, "PUT", "/api/v1/users/"+name+"/shifts", `[{"start":"2030-01-02T08:00:00Z","end":"2030-01-02T16:00:00Z"}]`), 200)
			got := wantStatus(t, h.Do(t, "GET", "/scim/v2/Users/"+id, nil), 200)
			version := got["meta"].(map[string]any)["version"]
			delete(got, "meta")
			delete(got, "groups")
			put, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			for _, req := range []struct{ method, body string }{
				{"PATCH", patchBody(`{"op":"Replace","path":"active","value":"True"}`)},
				{"PUT", string(put)}, // the user as GET shows it
			} {
				m := wantStatus(t, h.Do(t, req.method, "/scim/v2/Users/"+id, req.body), 200)
				if v := m["meta"].(map[string]any)["version"]; v != version {
					t.Errorf("%s that changed nothing: version %v, want %v", req.method, v, version)
				}
				ext, _ := m[shiftgateUser].(map[string]any)
				if shifts, _ := ext["shifts"].([]any); len(shifts) != 1 || shifts[0].(map[string]any)["start"] != "2030-01-02T08:00:00Z" {
					t.Errorf("%s answer: shifts %v, want the one the API set", req.method, ext["shifts"])
				}
			}
			recs, err := h.Store().ListAudit(t.Context(), store.AuditQuery{Subject: "user:" + id, Action: "user.update"})
			if err != nil || len(recs) != 0 {
				t.Errorf("%d user.update records (%v) for requests that changed nothing", len(recs), err)
			}
			// A real change after them is written, and keeps the shifts.
			m = wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(`{"op":"replace","path":"displayName","value":"Changed"}`)), 200)
			if v := m["meta"].(map[string]any)["version"]; v == version {
				t.Errorf("version %v unchanged after a real change", v)
			}
			if u := getUser(t, h, id); len(u.Shifts) != 1 || u.DisplayName != "Changed" {
				t.Errorf("stored user after a real change: displayName %q, shifts %v", u.DisplayName, u.Shifts)
			}
		})
	}
}
