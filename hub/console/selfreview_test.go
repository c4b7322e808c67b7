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

// TestAdminCannotReviewOwnAccess: a console admin is the hub user of its
// name (as a supervisor is for the review rule): it may not keep, revoke
// or comment on an item about its own access, neither from the console
// nor through the JSON API with its console session (403, the item stays
// pending), and My reviews does not offer it. It decides others' items as
// before, and an API token, which is no person, may decide the admin's
// item, the audit naming the token.
func TestAdminCannotReviewOwnAccess(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ctx := t.Context()
	for _, u := range []store.User{
		{ID: "u-ada", UserName: "ADA@example.org", Sites: []string{"north"}}, // the console admin ada@example.org, as HR spells it
		{ID: "u-nia", UserName: "nia", Sites: []string{"north"}},
	} {
		u.Active = true
		if _, err := h.Engine().CreateUser(ctx, lifecycleActor, u); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.Engine().CreateGroup(ctx, lifecycleActor, store.Group{ID: "g-nurse", DisplayName: "Nurse", Members: []string{"u-ada", "u-nia"}}); err != nil {
		t.Fatal(err)
	}
	admin := bootstrapAdmin(t, h)
	campaign := startCampaign(t, admin)
	adaRole := item(t, h, campaign, "u-ada", store.ReviewItemRole, "Nurse")
	adaSite := item(t, h, campaign, "u-ada", store.ReviewItemSite, "north")
	niaRole := item(t, h, campaign, "u-nia", store.ReviewItemRole, "Nurse")
	if adaRole.ReviewerKind != "admins" {
		t.Fatalf("ada's role item goes to %s, want the admins", adaRole.ReviewerKind)
	}

	my := admin.get("/console/my-reviews")
	if my.Status != 200 || !strings.Contains(my.Body, `data-item="`+niaRole.ID+`"`) || strings.Contains(my.Body, `data-item="`+adaRole.ID+`"`) {
		t.Errorf("My reviews of the admin: %d; want nia's item and not the admin's own", my.Status)
	}

	for _, tc := range []struct {
		name string
		send func() resp
	}{
		{"console keep", func() resp {
			return admin.post("/console/review-items/"+adaRole.ID, url.Values{"decision": {"keep"}})
		}},
		{"console revoke", func() resp {
			return admin.post("/console/review-items/"+adaSite.ID, url.Values{"decision": {"revoke"}})
		}},
		{"console comment", func() resp {
			return admin.post("/console/review-items/"+adaRole.ID, url.Values{"decision": {"comment"}, "comment": {"fine"}})
		}},
		{"API keep with the console session", func() resp {
			return admin.do("POST", "/api/v1/reviews/"+campaign+"/items/"+adaRole.ID, map[string]string{"decision": "keep"}, console.CSRFHeader, admin.csrf)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := tc.send(); r.Status != http.StatusForbidden || !strings.Contains(r.Body, "own access") {
				t.Errorf("%d %s, want 403 about own access", r.Status, r.Body)
			}
		})
	}
	for _, id := range []string{adaRole.ID, adaSite.ID} {
		if it := reviewItem(t, h, id); it.Decision != store.ReviewPending || it.Comment != "" {
			t.Errorf("refused decisions changed item %+v", it)
		}
	}
	if g, _ := h.Store().GetGroup(ctx, "g-nurse"); len(g.Members) != 2 {
		t.Errorf("Nurse members after refused decisions = %v", g.Members)
	}

	// Others' items as before.
	if r := admin.post("/console/review-items/"+niaRole.ID, url.Values{"decision": {"keep"}}); r.Status != http.StatusSeeOther {
		t.Errorf("admin keeps nia's role: %d %s", r.Status, r.Body)
	}
	// A token is no person: it decides the admin's item, as itself.
	if r := h.API(t, "POST", "/api/v1/reviews/"+campaign+"/items/"+adaRole.ID, `{"decision":"keep"}`); r.Status != 200 {
		t.Fatalf("token keeps ada's role: %d %s", r.Status, r.Body)
	}
	it := reviewItem(t, h, adaRole.ID)
	recs, err := h.Store().ListAudit(ctx, store.AuditQuery{Subject: "user:u-ada"})
	if err != nil {
		t.Fatal(err)
	}
	var by []string
	for _, rec := range recs {
		if rec.Action == "review.decide" {
			by = append(by, rec.Actor+"/"+rec.System)
		}
	}
	if it.Decision != store.ReviewKeep || !strings.HasPrefix(it.DecidedBy, "token:") || len(by) != 1 || by[0] != it.DecidedBy+"/api" {
		t.Errorf("token decision: item %+v, review.decide by %v; want the token, system api", it, by)
	}
}

// TestKeepOfLeaverConflicts: keeping the access of a worker disabled
// while the campaign runs is 409 from the console and from the API, with
// the reason; revoking it records "already gone".
func TestKeepOfLeaverConflicts(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ctx := t.Context()
	if _, err := h.Engine().CreateUser(ctx, lifecycleActor, store.User{ID: "u-nia", UserName: "nia", Active: true, Sites: []string{"north"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Engine().CreateGroup(ctx, lifecycleActor, store.Group{ID: "g-nurse", DisplayName: "Nurse", Members: []string{"u-nia"}}); err != nil {
		t.Fatal(err)
	}
	admin := bootstrapAdmin(t, h)
	campaign := startCampaign(t, admin)
	role := item(t, h, campaign, "u-nia", store.ReviewItemRole, "Nurse")
	if _, err := h.Engine().UpdateUser(ctx, lifecycleActor, "u-nia", func(u store.User) (store.User, error) { u.Active = false; return u, nil }); err != nil {
		t.Fatal(err)
	}
	if r := admin.post("/console/review-items/"+role.ID, url.Values{"decision": {"keep"}}); r.Status != http.StatusConflict || !strings.Contains(r.Body, "nia is disabled") {
		t.Errorf("console keep: %d %s, want 409 saying nia is disabled", r.Status, r.Body)
	}
	if r := h.API(t, "POST", "/api/v1/reviews/"+campaign+"/items/"+role.ID, `{"decision":"keep"}`); r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "no access left to keep") {
		t.Errorf("API keep: %d %s, want 409", r.Status, r.Body)
	}
	if r := admin.post("/console/review-items/"+role.ID, url.Values{"decision": {"revoke"}}); r.Status != http.StatusSeeOther || !strings.Contains(r.location(), "ok=review-gone") {
		t.Errorf("console revoke: %d %q %s, want already gone", r.Status, r.location(), r.Body)
	}
}

// startCampaign starts a campaign over everything, due in a week, as the
// admin, and returns its ID.
func startCampaign(t *testing.T, admin *client) string {
	t.Helper()
	due := time.Now().UTC().Add(7 * 24 * time.Hour).Format(time.DateOnly)
	r := admin.post("/console/reviews", url.Values{"name": {"Q4"}, "due": {due}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("start campaign: %d %s", r.Status, r.Body)
	}
	return strings.TrimPrefix(strings.SplitN(r.location(), "?", 2)[0], "/console/reviews/")
}
