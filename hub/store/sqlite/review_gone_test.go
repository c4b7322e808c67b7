package sqlite

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestReviewerGoneItems: ReviewItemQuery.ReviewerGone lists the pending
// items, not escalated, of reviewers that are disabled, deleted or
// unknown, in the list's order and a page at a time; not those of an
// active or pending reviewer, of the hub admins, decided or escalated
// ones. The reviewers are found one step each over
// review_items_pending_reviewer, not by reading every item, and their
// items over the same index.
func TestReviewerGoneItems(t *testing.T) {
	ctx := t.Context()
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	users := map[string]store.UserState{"live": store.UserActive, "joiner": store.UserPending, "left": store.UserDisabled, "deleted": store.UserDeleted}
	for id, state := range users {
		if _, err := db.CreateUser(ctx, store.User{ID: id, UserName: id, State: state, Created: now, Modified: now}); err != nil {
			t.Fatal(err)
		}
	}
	var items []store.ReviewItem
	add := func(id, reviewer string, decision store.ReviewDecision, escalated bool) {
		it := store.ReviewItem{ID: id, CampaignID: "c", UserID: "live", Kind: store.ReviewItemSite, Entitlement: "north",
			ReviewerID: reviewer, ReviewerKind: "manager", Decision: decision, Created: now.Add(time.Duration(len(items)) * time.Second)}
		if decision != store.ReviewPending {
			it.Decided, it.DecidedBy = now, "x"
		}
		if escalated {
			it.Escalated, it.EscalatedFrom = now, "someone"
		}
		items = append(items, it)
	}
	add("i01", "left", store.ReviewPending, false)
	add("i02", "live", store.ReviewPending, false)
	add("i03", "deleted", store.ReviewPending, false)
	add("i04", "left", store.ReviewKeep, false)
	add("i05", "left", store.ReviewPending, true)
	add("i06", "", store.ReviewPending, false)
	add("i07", "joiner", store.ReviewPending, false)
	add("i08", "unknown", store.ReviewPending, false)
	add("i09", "left", store.ReviewPending, false)
	add("i10", "deleted", store.ReviewRevoke, false)
	if _, err := db.CreateCampaign(ctx, store.Campaign{ID: "c", Name: "c", Due: now.Add(time.Hour), Created: now}, items); err != nil {
		t.Fatal(err)
	}
	var got []string
	q := store.ReviewItemQuery{ReviewerGone: true, Limit: 2}
	for {
		its, err := db.ListReviewItems(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range its {
			got = append(got, it.ID)
		}
		if len(its) < q.Limit {
			break
		}
		q.AfterCreated, q.AfterID = its[len(its)-1].Created, its[len(its)-1].ID
	}
	if want := []string{"i01", "i03", "i08", "i09"}; !slices.Equal(got, want) {
		t.Errorf("items of reviewers gone: %v, want %v", got, want)
	}

	var plans []string
	o := ops{read: planner{querier: db.reader, plans: &plans}, write: db.writeTx}
	if _, err := o.ListReviewItems(ctx, store.ReviewItemQuery{ReviewerGone: true, Limit: 200}); err != nil {
		t.Fatal(err)
	}
	plan := strings.Join(plans, "\n")
	if n := strings.Count(plan, "USING COVERING INDEX review_items_pending_reviewer (reviewer_id>?)"); n < 2 {
		t.Errorf("the reviewers are not found one seek each over review_items_pending_reviewer:\n%s", plan)
	}
	if !strings.Contains(plan, "review_items USING INDEX review_items_pending_reviewer (reviewer_id=?)") {
		t.Errorf("the items are not read by their reviewer over review_items_pending_reviewer:\n%s", plan)
	}
	for _, line := range plans {
		if strings.HasPrefix(line, "SCAN review_items") || strings.HasPrefix(line, "SCAN users") {
			t.Errorf("a table scanned: %q in\n%s", line, plan)
		}
	}
}
