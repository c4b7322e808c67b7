package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestNobodyGrantsThemselves: a console account is the hub user of its
// name (as for access reviews), and nobody grants themselves access: a
// supervisor who works at its own site, and an admin, from the console
// and through the JSON API with the admin's console session, get 403, and
// nothing is stored or audited. Granting another worker works as before,
// and an API token, which is no person, may grant the admin's hub user.
func TestNobodyGrantsThemselves(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ctx := t.Context()
	w := makeWorld(t, h)
	for _, u := range []store.User{
		{ID: "u-sam", UserName: "Sam", Sites: []string{"north"}},             // the supervisor sam, as HR spells it
		{ID: "u-ada", UserName: "ada@example.org", Sites: []string{"north"}}, // the console admin
	} {
		u.Active = true
		if _, err := h.Engine().CreateUser(ctx, lifecycleActor, u); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.Engine().CreateGroup(ctx, lifecycleActor, store.Group{ID: "g-nurse", DisplayName: "Nurse"}); err != nil {
		t.Fatal(err)
	}
	admin := bootstrapAdmin(t, h)
	sup := admin.supervisor("sam", "north")
	form := func(user string) url.Values {
		return url.Values{"user": {user}, "role": {"Nurse"}, "site": {"north"}, "until": {"4h"}, "reason": {"cover"}}
	}
	before := actionCount(t, h, "grant.create")

	for _, tc := range []struct {
		name string
		send func() resp
	}{
		{"supervisor in the console", func() resp { return sup.post("/console/site/grants", form("sam")) }},
		{"admin in the console", func() resp { return admin.post("/console/site/grants", form("ADA@example.org")) }},
		{"admin through the API with the console session", func() resp {
			return admin.do("POST", "/api/v1/grants", map[string]any{"user": "ada@example.org", "role": "Nurse", "site": "north",
				"end": time.Now().Add(time.Hour), "reason": "cover"}, console.CSRFHeader, admin.csrf)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := tc.send(); r.Status != http.StatusForbidden || !strings.Contains(r.Body, "yourself") {
				t.Errorf("%d %s, want 403 about granting yourself", r.Status, r.Body)
			}
		})
	}
	for _, id := range []string{"u-sam", "u-ada"} {
		if gs, err := h.Store().ListGrants(ctx, id); err != nil || len(gs) != 0 {
			t.Errorf("grants of %s after refused requests: %+v (%v)", id, gs, err)
		}
	}
	if n := actionCount(t, h, "grant.create"); n != before {
		t.Errorf("refused grants wrote %d grant.create records", n-before)
	}

	if r := sup.post("/console/site/grants", form(w.northUser.UserName)); r.Status != http.StatusSeeOther {
		t.Errorf("supervisor grants a worker: %d %s", r.Status, r.Body)
	}
	if r := h.API(t, "POST", "/api/v1/grants", map[string]any{"user": "ada@example.org", "role": "Nurse", "site": "north",
		"end": time.Now().Add(time.Hour), "reason": "cover"}); r.Status != http.StatusCreated {
		t.Errorf("API token grants the admin's hub user: %d %s", r.Status, r.Body)
	}
}

// actionCount is the number of audit records of action.
func actionCount(t testing.TB, h *hubtest.Hub, action string) int {
	t.Helper()
	return len(auditRecords(t, h, action))
}

// TestNobodyExtendsTheirOwnShift: more time at the kiosk is access, as a
// grant is: a supervisor who works at its own site cannot extend its own
// shift, nor an admin through the API with its console session (403,
// nothing stored); extending a worker's works.
func TestNobodyExtendsTheirOwnShift(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ctx := t.Context()
	makeWorld(t, h)
	now := time.Now().UTC()
	shift := []store.Shift{{Start: now.Add(-time.Hour), End: now.Add(time.Hour)}}
	for _, u := range []store.User{
		{ID: "u-sam", UserName: "Sam", Sites: []string{"north"}, Shifts: shift},
		{ID: "u-kim", UserName: "kim", Sites: []string{"north"}, Shifts: shift},
		{ID: "u-ada", UserName: "ada@example.org", Sites: []string{"north"}, Shifts: shift}, // the console admin
	} {
		u.Active = true
		if _, err := h.Engine().CreateUser(ctx, lifecycleActor, u); err != nil {
			t.Fatal(err)
		}
	}
	admin := bootstrapAdmin(t, h)
	sup := admin.supervisor("sam", "north")
	form := func(user string) url.Values {
		return url.Values{"user": {user}, "site": {"north"}, "until": {"3h"}, "reason": {"late handover"}}
	}
	if r := sup.post("/console/site/extensions", form("sam")); r.Status != http.StatusForbidden || !strings.Contains(r.Body, "your own shift") {
		t.Errorf("supervisor extends their own shift: %d %s, want 403", r.Status, r.Body)
	}
	if r := admin.do("POST", "/api/v1/users/ada@example.org/extend", map[string]any{"site": "north", "until": now.Add(3 * time.Hour), "reason": "late"},
		console.CSRFHeader, admin.csrf); r.Status != http.StatusForbidden || !strings.Contains(r.Body, "your own shift") {
		t.Errorf("admin extends their own shift through the API with the console session: %d %s, want 403", r.Status, r.Body)
	}
	for _, id := range []string{"u-sam", "u-ada"} {
		if xs, err := h.Store().ListShiftExtensions(ctx, id); err != nil || len(xs) != 0 {
			t.Errorf("extensions of %s after a refused request: %+v (%v)", id, xs, err)
		}
	}
	if r := sup.post("/console/site/extensions", form("kim")); r.Status != http.StatusSeeOther {
		t.Errorf("supervisor extends a worker's shift: %d %s", r.Status, r.Body)
	}
}
