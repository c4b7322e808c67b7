package console

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// worklistReads is the hub's store, recording the review-item lists read.
type worklistReads struct {
	store.Store
	mu      sync.Mutex
	queries []store.ReviewItemQuery
}

func (s *worklistReads) ListReviewItems(ctx context.Context, q store.ReviewItemQuery) ([]store.ReviewItem, error) {
	s.mu.Lock()
	s.queries = append(s.queries, q)
	s.mu.Unlock()
	return s.Store.ListReviewItems(ctx, q)
}

// TestMyReviewsReadsTheWorklistOnly: My reviews reads the viewer's pending
// items a page at a time (the admins' items for an admin; the site
// supervisors' at the supervisor's sites for a supervisor), never every
// pending item of every campaign, and shows what it showed: the first
// maxItemRows of the viewer's items, in the campaign's order, and how many
// more there are.
func TestMyReviewsReadsTheWorklistOnly(t *testing.T) {
	ctx := t.Context()
	r := newSelfRace(t)
	reads := &worklistReads{Store: r.st}
	r.c.st = reads
	if _, err := r.st.CreateSite(ctx, store.Site{ID: "south", Name: "south", TimeZone: "UTC", Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	sue, err := r.eng.CreateUser(ctx, scimActor, store.User{ID: "u-sue", UserName: "sue", Active: true, Sites: []string{"south"}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	var items []store.ReviewItem
	add := func(n int, user, site, kind string) {
		for range n {
			items = append(items, store.ReviewItem{ID: fmt.Sprintf("item-%05d", len(items)), CampaignID: "camp", UserID: user, Kind: store.ReviewItemSite,
				Entitlement: site, ReviewerKind: kind, Decision: store.ReviewPending, Created: now.Add(time.Duration(len(items)) * time.Microsecond)})
		}
	}
	add(3, sue.ID, "south", governance.ReviewerSupervisor) // another site's supervisor's
	add(maxItemRows+3, r.bob.ID, "north", governance.ReviewerAdmins)
	add(worklistPage+7, r.bob.ID, "north", governance.ReviewerSupervisor)
	add(2, r.bob.ID, "north", governance.ReviewerManager) // a manager's: the admins' page does not show it
	if _, err := r.st.CreateCampaign(ctx, store.Campaign{ID: "camp", Name: "Q", Due: now.Add(14 * 24 * time.Hour), Created: now, CreatedBy: "test"}, items); err != nil {
		t.Fatal(err)
	}

	page := func(v *viewer) string {
		t.Helper()
		reads.queries = nil
		w := httptest.NewRecorder()
		if err := r.c.myReviewsPage(w, httptest.NewRequest(http.MethodGet, "/console/my-reviews", nil), v); err != nil {
			t.Fatal(err)
		}
		if w.Code != http.StatusOK {
			t.Fatalf("my reviews: %d", w.Code)
		}
		for _, q := range reads.queries {
			if !q.PendingOnly || q.ReviewerKind == "" || q.Limit <= 0 || q.Limit > worklistPage {
				t.Errorf("my reviews read %+v: want a page of one reviewer kind's pending items", q)
			}
		}
		return w.Body.String()
	}
	rows := func(body string) []string {
		var ids []string
		for _, part := range strings.Split(body, `data-item="`)[1:] {
			ids = append(ids, part[:strings.IndexByte(part, '"')])
		}
		return ids
	}

	admin := page(r.account(t, "ada", store.ConsoleAdmin))
	got := rows(admin)
	if len(got) != maxItemRows || got[0] != "item-00003" || got[len(got)-1] != fmt.Sprintf("item-%05d", maxItemRows+2) {
		t.Errorf("admin's rows: %d, from %v; want the first %d admins' items from item-00003", len(got), got[:min(len(got), 2)], maxItemRows)
	}
	if !strings.Contains(admin, ">3 more items are not shown here") {
		t.Errorf("admin's page does not say 3 more items are not shown")
	}
	if len(reads.queries) > 4 {
		t.Errorf("admin's page read %d pages, want at most 3", len(reads.queries))
	}

	sup := page(r.account(t, "sam", store.ConsoleSupervisor, "north"))
	got = rows(sup)
	first := maxItemRows + 6
	if len(got) != worklistPage+7 || got[0] != fmt.Sprintf("item-%05d", first) || got[len(got)-1] != fmt.Sprintf("item-%05d", first+worklistPage+6) {
		t.Errorf("supervisor's rows: %d; want the %d supervisors' items at north", len(got), worklistPage+7)
	}
	if strings.Contains(sup, "items-truncated") || strings.Contains(sup, "item-00000") {
		t.Errorf("supervisor's page shows another site's item, or a truncation")
	}
}
