package console_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestUnlinkedAdminOfSharedNameThroughAPI: an admin account linked to
// nobody while two hub users share its name (from before names were
// folded) may decide the access of neither through the JSON API with its
// session. Read before the decision, its hub user is ambiguous (no one
// user); inside the decision's transaction both stand for it.
func TestUnlinkedAdminOfSharedNameThroughAPI(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ctx := t.Context()
	makeReviewWorld(t, h)
	admin := bootstrapAdmin(t, h)
	// Stored past the lifecycle engine (which would link the account):
	// the admin account stays linked to nobody.
	now := time.Now().UTC()
	if _, err := h.Store().CreateUser(ctx, store.User{ID: "u-ada", UserName: "Ada@Example.org", Active: true, State: store.UserActive,
		Sites: []string{"north"}, Created: now, Modified: now}); err != nil {
		t.Fatal(err)
	}
	twin(t, h, "u-ada", "ADA@example.org")
	if a := account(t, h, "ada@example.org"); a.UserID != "" {
		t.Fatalf("admin linked to %q, want nobody", a.UserID)
	}
	campaign := startCampaign(t, admin)
	for _, id := range []string{"u-ada", "u-ada-twin"} {
		it := item(t, h, campaign, id, store.ReviewItemSite, "north")
		if r := admin.do("POST", "/api/v1/reviews/"+campaign+"/items/"+it.ID, map[string]string{"decision": "keep"}, console.CSRFHeader, admin.csrf); r.Status != http.StatusForbidden {
			t.Errorf("admin keeping the access of %s, one of its two namesakes, through the API: %d %s, want 403", id, r.Status, r.Body)
		}
		if got := reviewItem(t, h, it.ID); got.Decision != store.ReviewPending {
			t.Errorf("refused decision changed item %+v", got)
		}
	}
}
