package sqlite

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestReviewWorklist: a reviewer's pending items (ReviewerKind, Sites)
// are read a page at a time (AfterCreated, AfterID, Limit) from
// review_items_pending_kind, not by reading every item of every campaign:
// the pages are the matches of the whole list, in its order, and the
// query's plan searches the index.
func TestReviewWorklist(t *testing.T) {
	ctx := t.Context()
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	base := time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC)
	for _, u := range []store.User{
		{ID: "u-north", UserName: "north.worker", Active: true, State: store.UserActive, Sites: []string{"NORTH"}},
		{ID: "u-south", UserName: "south.worker", Active: true, State: store.UserActive, Sites: []string{"south"}},
	} {
		u.Created, u.Modified = base, base
		if _, err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range []store.Grant{
		{ID: "g-north", UserID: "u-south", Role: "Picker", Site: "north", Reason: "cover", Start: base, End: base.Add(time.Hour), Created: base},
		{ID: "g-south", UserID: "u-north", Role: "Picker", Site: "south", Reason: "cover", Start: base, End: base.Add(time.Hour), Created: base},
	} {
		if _, err := db.CreateGrant(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	c := store.Campaign{ID: "c", Name: "q", Due: base.Add(time.Hour), Created: base, CreatedBy: "cli"}
	var items []store.ReviewItem
	add := func(kind, ent, user, reviewerKind string, d store.ReviewDecision) {
		i := len(items)
		items = append(items, store.ReviewItem{ID: fmt.Sprintf("i%02d", 40-i), CampaignID: c.ID, UserID: user, Kind: kind, Entitlement: ent,
			ReviewerKind: reviewerKind, Decision: d, Created: base.Add(time.Duration(i/2) * time.Second)})
	}
	for range 3 {
		add(store.ReviewItemSite, "North", "u-north", "supervisor", store.ReviewPending) // at north
		add(store.ReviewItemSite, "south", "u-south", "supervisor", store.ReviewPending)
		add(store.ReviewItemRole, "Picker", "u-north", "supervisor", store.ReviewPending) // its user at north
		add(store.ReviewItemRole, "Picker", "u-south", "supervisor", store.ReviewPending)
		add(store.ReviewItemGrant, "g-north", "u-south", "supervisor", store.ReviewPending) // its grant at north
		add(store.ReviewItemGrant, "g-south", "u-north", "supervisor", store.ReviewPending)
		add(store.ReviewItemSite, "north", "u-north", "supervisor", store.ReviewKeep) // decided
		add(store.ReviewItemSite, "north", "u-north", "admins", store.ReviewPending)  // another kind
	}
	if _, err := db.CreateCampaign(ctx, c, items); err != nil {
		t.Fatal(err)
	}
	all, err := db.ListReviewItems(ctx, store.ReviewItemQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var want []store.ReviewItem
	for _, it := range all {
		if it.Decision == store.ReviewPending && it.ReviewerKind == "supervisor" && (it.Entitlement == "North" || it.Entitlement == "g-north" ||
			it.Kind == store.ReviewItemRole && it.UserID == "u-north") {
			want = append(want, it)
		}
	}
	if len(want) != 9 {
		t.Fatalf("%d items at north in the fixture, want 9", len(want))
	}

	q := store.ReviewItemQuery{PendingOnly: true, ReviewerKind: "supervisor", Sites: []string{"north"}, Limit: 2}
	var got []store.ReviewItem
	for {
		page, err := db.ListReviewItems(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > q.Limit {
			t.Fatalf("a page of %d items, limit %d", len(page), q.Limit)
		}
		got = append(got, page...)
		if len(page) < q.Limit {
			break
		}
		q.AfterCreated, q.AfterID = page[len(page)-1].Created, page[len(page)-1].ID
	}
	if d := gocmp.Diff(want, got); d != "" {
		t.Errorf("the north supervisors' pending items, paged (-want +got):\n%s", d)
	}

	var plans []string
	o := ops{read: planner{querier: db.reader, plans: &plans}, write: db.writeTx}
	if _, err := o.ListReviewItems(ctx, store.ReviewItemQuery{PendingOnly: true, ReviewerKind: "admins", AfterCreated: base, AfterID: "i10", Limit: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := o.ListReviewItems(ctx, q); err != nil {
		t.Fatal(err)
	}
	for _, p := range plans {
		if !strings.Contains(p, "review_items") {
			continue
		}
		if strings.HasPrefix(p, "SEARCH review_items USING INDEX review_items_pending_kind (reviewer_kind=?") {
			continue
		}
		if strings.Contains(p, "SCAN review_items") || strings.Contains(p, "USE TEMP B-TREE") || strings.Contains(p, "SEARCH review_items") {
			t.Errorf("a worklist query's plan: %q; want it to search review_items_pending_kind by kind and from the page on", p)
		}
	}
	if len(plans) == 0 {
		t.Fatal("no plans recorded")
	}
	t.Logf("plans: %q", plans)
}
