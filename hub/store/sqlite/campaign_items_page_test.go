package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/shiftgate/shiftgate/hub/store"
)

// statementPlans is a querier that records, for each query it runs, its
// plan (EXPLAIN QUERY PLAN's steps joined by "; "), by the query's text.
type statementPlans struct {
	querier
	plans map[string]string
}

func (p statementPlans) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	p.explain(ctx, query, args)
	return p.querier.QueryContext(ctx, query, args...)
}

func (p statementPlans) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	p.explain(ctx, query, args)
	return p.querier.QueryRowContext(ctx, query, args...)
}

func (p statementPlans) explain(ctx context.Context, query string, args []any) {
	var steps []string
	defer func() { p.plans[query] = strings.Join(steps, "; ") }()
	rows, err := p.querier.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		steps = append(steps, "error: "+err.Error())
		return
	}
	defer rows.Close()
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			steps = append(steps, "error: "+err.Error())
			return
		}
		steps = append(steps, detail)
	}
}

// bigCampaign stores a campaign of n items, and a second campaign beside
// it, in a real database file, and returns the first's items in the
// order they are paged (Created, then ID). Items share their Created by
// threes, and their IDs do not follow it, so the order is the store's
// doing; some are kept, revoked (on time or late), escalated (from one
// reviewer to another, or to the same), or in the admins' hands.
func bigCampaign(t *testing.T, db *DB, n int) (store.Campaign, []store.ReviewItem) {
	t.Helper()
	base := time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC)
	c := store.Campaign{ID: "big", Name: "every site", Due: base.Add(14 * 24 * time.Hour), Created: base, CreatedBy: "cli"}
	items := make([]store.ReviewItem, n)
	for i := range items {
		it := store.ReviewItem{ID: fmt.Sprintf("item-%05d", (i*7919)%n), CampaignID: c.ID, UserID: fmt.Sprintf("u%d", i%997),
			Kind: store.ReviewItemSite, Entitlement: fmt.Sprintf("site-%02d", i%40), Detail: "site", ReviewerID: fmt.Sprintf("r%d", i%5),
			ReviewerKind: "manager", Decision: store.ReviewPending, Created: base.Add(time.Duration(i/3) * time.Millisecond)}
		if i%6 == 5 {
			it.ReviewerID, it.ReviewerKind = "", "admins"
		}
		switch {
		case i%10 == 3:
			it.Decision, it.Decided, it.DecidedBy = store.ReviewKeep, c.Due, "r9" // to the nanosecond: on time
		case i%10 == 7:
			it.Decision, it.Decided, it.DecidedBy = store.ReviewRevoke, c.Due.Add(time.Nanosecond), "r9" // late
		case i%10 == 8:
			it.Decision, it.Decided, it.DecidedBy = store.ReviewKeep, base.Add(time.Hour), "r9"
		}
		switch {
		case i%13 == 0:
			it.EscalatedFrom, it.ReviewerID, it.ReviewerKind, it.Escalated = it.ReviewerID, "r-up", "escalated", c.Due.Add(time.Hour)
		case i%17 == 0:
			it.EscalatedFrom, it.Escalated = it.ReviewerID, c.Due.Add(time.Hour) // escalated back to the same reviewer
		}
		items[i] = it
	}
	if _, err := db.CreateCampaign(t.Context(), c, items); err != nil {
		t.Fatal(err)
	}
	other := store.Campaign{ID: "other", Name: "other", Due: c.Due, Created: base.Add(-time.Hour), CreatedBy: "cli"}
	var others []store.ReviewItem
	for i := range 500 {
		others = append(others, store.ReviewItem{ID: fmt.Sprintf("other-%04d", i), CampaignID: other.ID, UserID: "u1", Kind: store.ReviewItemSite,
			Entitlement: "north", ReviewerID: "r1", ReviewerKind: "manager", Decision: store.ReviewRevoke, Decided: base, Created: base.Add(-time.Hour)})
	}
	if _, err := db.CreateCampaign(t.Context(), other, others); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(items, func(a, b store.ReviewItem) int {
		return cmp.Or(a.Created.Compare(b.Created), strings.Compare(a.ID, b.ID))
	})
	return c, items
}

// tallies counts items as store.ReviewTally says, one item at a time.
func tallies(items []store.ReviewItem, due time.Time) []store.ReviewTally {
	by := map[string]*store.ReviewTally{}
	of := func(id string) *store.ReviewTally {
		if by[id] == nil {
			by[id] = &store.ReviewTally{ReviewerID: id}
		}
		return by[id]
	}
	for _, it := range items {
		t := of(it.ReviewerID)
		t.Items++
		switch it.Decision {
		case store.ReviewKeep:
			t.Kept++
		case store.ReviewRevoke:
			t.Revoked++
		}
		if it.Decision != store.ReviewPending {
			t.Decided++
			if !it.Decided.After(due) {
				t.DecidedOnTime++
			}
		}
		if !it.Escalated.IsZero() {
			t.Escalated++
			if it.EscalatedFrom != it.ReviewerID {
				of(it.EscalatedFrom).EscalatedAway++
			}
		}
	}
	out := []store.ReviewTally{}
	for _, t := range by {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b store.ReviewTally) int { return strings.Compare(a.ReviewerID, b.ReviewerID) })
	return out
}

// TestCampaignItemsPaged: ListCampaignItems answers, from a real database
// file, the page of a campaign's items that the query asks for, in the
// campaign's order (Created, then ID), filtered by decision, with the
// number of all the items the filter selects and the whole campaign's
// tallies, whatever the page; and the items of another campaign are in
// none of them.
func TestCampaignItemsPaged(t *testing.T) {
	const n = 6000
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	c, all := bigCampaign(t, db, n)
	wantTallies := tallies(all, c.Due)
	selected := func(keep func(store.ReviewItem) bool) []store.ReviewItem {
		var out []store.ReviewItem
		for _, it := range all {
			if keep(it) {
				out = append(out, it)
			}
		}
		return out
	}
	pending := selected(func(it store.ReviewItem) bool { return it.Decision == store.ReviewPending })
	kept := selected(func(it store.ReviewItem) bool { return it.Decision == store.ReviewKeep })
	revoked := selected(func(it store.ReviewItem) bool { return it.Decision == store.ReviewRevoke })
	decided := selected(func(it store.ReviewItem) bool { return it.Decision != store.ReviewPending })
	if len(pending) < 1000 || len(revoked) >= 1000 || len(kept) < 1000 {
		t.Fatalf("fixture: %d pending, %d kept, %d revoked", len(pending), len(kept), len(revoked))
	}
	for _, tc := range []struct {
		name     string
		q        store.CampaignItemQuery
		of       []store.ReviewItem // the items the query selects
		from, to int                // the page: of[from:to]
	}{
		{"first page", store.CampaignItemQuery{Limit: 1000}, all, 0, 1000},
		{"middle", store.CampaignItemQuery{Offset: 2500, Limit: 100}, all, 2500, 2600},
		{"last page, cut short", store.CampaignItemQuery{Offset: n - 37, Limit: 100}, all, n - 37, n},
		{"past the end", store.CampaignItemQuery{Offset: n + 10, Limit: 10}, all, n, n},
		{"counts only", store.CampaignItemQuery{Limit: 0}, all, 0, 0},
		{"counts only, past an offset", store.CampaignItemQuery{Offset: 50}, all, 0, 0},
		{"pending", store.CampaignItemQuery{Decision: store.ReviewPending, Offset: 1000, Limit: 250}, pending, 1000, 1250},
		{"pending, first", store.CampaignItemQuery{Decision: store.ReviewPending, Limit: 10}, pending, 0, 10},
		{"kept", store.CampaignItemQuery{Decision: store.ReviewKeep, Offset: 100, Limit: 50}, kept, 100, 150},
		{"revoked, one page holds them all", store.CampaignItemQuery{Decision: store.ReviewRevoke, Limit: 1000}, revoked, 0, len(revoked)},
		{"decided", store.CampaignItemQuery{Decided: true, Offset: 700, Limit: 300}, decided, 700, 1000},
		{"decided, counts only", store.CampaignItemQuery{Decided: true}, decided, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.CampaignID = c.ID
			got, err := db.ListCampaignItems(t.Context(), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if d := gocmp.Diff(tc.of[tc.from:tc.to], got.Items, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("items (-want +got):\n%s", d)
			}
			if got.Items == nil {
				t.Error("items: nil, want an empty page")
			}
			if got.Total != len(tc.of) {
				t.Errorf("total = %d, want %d", got.Total, len(tc.of))
			}
			if d := gocmp.Diff(wantTallies, got.Tallies); d != "" {
				t.Errorf("tallies (-want +got):\n%s", d)
			}
		})
	}

	got, err := db.ListCampaignItems(t.Context(), store.CampaignItemQuery{CampaignID: "nope", Limit: 10})
	if err != nil || len(got.Items) != 0 || got.Total != 0 || len(got.Tallies) != 0 {
		t.Errorf("unknown campaign: %+v, %v; want nothing", got, err)
	}
	if _, err := db.ListCampaignItems(t.Context(), store.CampaignItemQuery{CampaignID: c.ID, Decided: true, Decision: store.ReviewKeep, Limit: 1}); err == nil {
		t.Error("Decided with a Decision: no error")
	}
	// Inside a transaction the page reads the transaction's state.
	err = db.InTx(t.Context(), func(tx store.Ops) error {
		if _, err := tx.UpdateReviewItem(t.Context(), pending[0].ID, func(it store.ReviewItem) (store.ReviewItem, error) {
			it.Decision, it.Decided, it.DecidedBy = store.ReviewRevoke, c.Due, "r9"
			return it, nil
		}); err != nil {
			return err
		}
		got, err := tx.ListCampaignItems(t.Context(), store.CampaignItemQuery{CampaignID: c.ID, Decision: store.ReviewPending, Limit: 1})
		if err != nil {
			return err
		}
		if len(got.Items) != 1 || got.Items[0].ID != pending[1].ID || got.Total != len(pending)-1 {
			t.Errorf("in the transaction that decided %s: first pending %v of %d; want %s of %d", pending[0].ID, got.Items, got.Total, pending[1].ID, len(pending)-1)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCampaignItemsPagePlans: a page of a campaign's items, whatever the
// decision it selects, searches an index that holds the campaign's items
// in the order they are paged, from the page on: no scan of the table or
// of an index, and no sort of the items the filter selects (which would
// read every one of them for each page). The count searches a covering
// index, and the tallies the campaign's own range.
func TestCampaignItemsPagePlans(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	c, _ := bigCampaign(t, db, 3000)
	for _, tc := range []struct {
		name string
		q    store.CampaignItemQuery
		want string // how the page is read
	}{
		{"every item", store.CampaignItemQuery{}, "SEARCH review_items USING INDEX review_items_campaign (campaign_id=?)"},
		{"pending", store.CampaignItemQuery{Decision: store.ReviewPending}, "SEARCH review_items USING INDEX review_items_campaign_decision (campaign_id=? AND decision=?)"},
		{"kept", store.CampaignItemQuery{Decision: store.ReviewKeep}, "SEARCH review_items USING INDEX review_items_campaign_decision (campaign_id=? AND decision=?)"},
		{"revoked", store.CampaignItemQuery{Decision: store.ReviewRevoke}, "SEARCH review_items USING INDEX review_items_campaign_decision (campaign_id=? AND decision=?)"},
		{"decided", store.CampaignItemQuery{Decided: true}, "SEARCH review_items USING INDEX review_items_campaign_decided (campaign_id=?)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.CampaignID, tc.q.Offset, tc.q.Limit = c.ID, 200, 100
			plans := map[string]string{}
			o := ops{read: statementPlans{querier: db.reader, plans: plans}, write: db.writeTx}
			if _, err := o.ListCampaignItems(t.Context(), tc.q); err != nil {
				t.Fatal(err)
			}
			var read []string // what each statement reads
			for query, plan := range plans {
				read = append(read, plan)
				switch {
				case strings.HasPrefix(query, "SELECT id, campaign_id"):
					if plan != tc.want {
						t.Errorf("page: plan %q, want %q", plan, tc.want)
					}
				case strings.HasPrefix(query, "SELECT COUNT(*)"):
					if !strings.HasPrefix(plan, "SEARCH review_items USING COVERING INDEX") {
						t.Errorf("count: plan %q, want a search of a covering index", plan)
					}
				}
				if strings.Contains(plan, "SCAN review_items") || strings.Contains(plan, "error") {
					t.Errorf("%s\nplan %q scans every item", query, plan)
				}
			}
			if len(plans) != 3 {
				t.Errorf("%d statements, want the page, the count and the tallies: %q", len(plans), read)
			}
		})
	}
}
