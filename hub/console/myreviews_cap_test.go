package console

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestMyReviewsCapCountsOnlyPastTheRows: the cap on the items My reviews
// reads (maxWorklistRead) bounds only the counting of those past the
// page's rows. The worklist's query selects a supervisor's items by any
// of the worker's sites, and the rule (authz.go) keeps a worker of
// several sites to a supervisor of all of them: maxWorklistRead items
// of such workers ahead of the supervisor's own ended the read with no
// row, and the page said "No review items" to a supervisor who had some.
func TestMyReviewsCapCountsOnlyPastTheRows(t *testing.T) {
	ctx := t.Context()
	r := newSelfRace(t)
	if _, err := r.st.CreateSite(ctx, store.Site{ID: "south", Name: "south", TimeZone: "UTC", Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	flo, err := r.eng.CreateUser(ctx, scimActor, store.User{ID: "u-flo", UserName: "flo", Active: true, Sites: []string{"north", "south"}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	var items []store.ReviewItem
	add := func(n int, user, kind, entitlement string) {
		for range n {
			items = append(items, store.ReviewItem{ID: fmt.Sprintf("item-%05d", len(items)), CampaignID: "camp", UserID: user, Kind: kind,
				Entitlement: entitlement, ReviewerKind: governance.ReviewerSupervisor, Decision: store.ReviewPending,
				Created: now.Add(time.Duration(len(items)) * time.Microsecond)})
		}
	}
	// flo's role items: at north too, so the query reads them, but
	// flo is at south as well, which sam does not supervise.
	add(maxWorklistRead, flo.ID, store.ReviewItemRole, "picker")
	add(2, r.bob.ID, store.ReviewItemSite, "north") // sam's
	if _, err := r.st.CreateCampaign(ctx, store.Campaign{ID: "camp", Name: "Q", Due: now.Add(14 * 24 * time.Hour), Created: now, CreatedBy: "test"}, items); err != nil {
		t.Fatal(err)
	}

	w := httptest.NewRecorder()
	if err := r.c.myReviewsPage(w, httptest.NewRequest(http.MethodGet, "/console/my-reviews", nil), r.account(t, "sam", store.ConsoleSupervisor, "north")); err != nil {
		t.Fatal(err)
	}
	body := w.Body.String()
	for _, id := range []string{fmt.Sprintf("item-%05d", maxWorklistRead), fmt.Sprintf("item-%05d", maxWorklistRead+1)} {
		if !strings.Contains(body, `data-item="`+id+`"`) {
			t.Errorf("my reviews of sam does not list %s, sam's to decide", id)
		}
	}
	if strings.Contains(body, `id="no-items"`) {
		t.Errorf("my reviews of sam says there are no review items")
	}
}
