package hub_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// pagedItems returns the IDs and decisions of a campaign answer's items,
// and its paging fields.
func pagedItems(t *testing.T, m map[string]any) (ids, decisions []string, total, start, perPage float64) {
	t.Helper()
	items, ok := m["items"].([]any)
	if !ok {
		t.Fatalf("answer without an items array: %v", m["items"])
	}
	for _, it := range items {
		it := it.(map[string]any)
		ids = append(ids, it["id"].(string))
		decisions = append(decisions, it["decision"].(string))
	}
	total, _ = m["totalResults"].(float64)
	start, _ = m["startIndex"].(float64)
	perPage, _ = m["itemsPerPage"].(float64)
	return ids, decisions, total, start, perPage
}

// TestReviewItemsPaged: GET /api/v1/reviews/{id} pages a campaign's items
// as SCIM pages its lists (startIndex, count; totalResults, startIndex,
// itemsPerPage), at most 1000 at a time, which is also what a client
// that does not page gets; progress still counts every item. ?decision=
// selects pending, decided, kept or revoked items. The answer to starting
// a campaign is its first page.
func TestReviewItemsPaged(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	const users, sitesEach = 20, 55 // 1100 site items
	var sites []string
	for i := range sitesEach {
		sites = append(sites, fmt.Sprintf("%q", fmt.Sprintf("site-%02d", i)))
	}
	for i := range users {
		createUser(t, h, fmt.Sprintf("w%02d", i), `{"sites":[`+strings.Join(sites, ",")+`]}`)
	}
	const total = users * sitesEach
	due := time.Now().Add(7 * 24 * time.Hour).UTC().Format(time.RFC3339)
	started := wantAPI(t, h.API(t, "POST", "/api/v1/reviews", `{"name":"all","due":"`+due+`"}`), http.StatusCreated)
	id := started["id"].(string)
	if ids, _, n, start, per := pagedItems(t, started); len(ids) != 1000 || n != total || start != 1 || per != 1000 {
		t.Errorf("start answer: %d items, totalResults %v, startIndex %v, itemsPerPage %v; want the first 1000 of %d", len(ids), n, start, per, total)
	}

	stored, err := h.Store().ListReviewItems(t.Context(), store.ReviewItemQuery{CampaignID: id})
	if err != nil || len(stored) != total {
		t.Fatalf("stored items: %d, %v; want %d", len(stored), err, total)
	}
	var all []string
	for _, it := range stored {
		all = append(all, it.ID)
	}
	get := func(query string) map[string]any {
		t.Helper()
		return wantAPI(t, h.API(t, "GET", "/api/v1/reviews/"+id+query, nil), http.StatusOK)
	}

	for _, tc := range []struct {
		name, query          string
		from, to             int // the slice of all the page holds
		wantStart, wantTotal int
	}{
		{"no paging", "", 0, 1000, 1, total},
		{"empty count", "?count=", 0, 1000, 1, total},
		{"second page", "?startIndex=1001", 1000, total, 1001, total},
		{"middle", "?startIndex=301&count=300", 300, 600, 301, total},
		{"count over the cap", "?count=5000", 0, 1000, 1, total},
		{"count beyond an int", "?count=99999999999999999999", 0, 1000, 1, total},
		{"count zero: totals only", "?count=0", 0, 0, 1, total},
		{"negative count", "?count=-3", 0, 0, 1, total},
		{"startIndex below 1", "?startIndex=0&count=2", 0, 2, 1, total},
		{"past the end", "?startIndex=5000", total, total, 5000, total},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := get(tc.query)
			ids, _, n, start, per := pagedItems(t, m)
			if !slices.Equal(ids, all[tc.from:tc.to]) || n != float64(tc.wantTotal) || start != float64(tc.wantStart) || per != float64(tc.to-tc.from) {
				t.Errorf("%d items (want items %d to %d of the campaign's order), totalResults %v, startIndex %v, itemsPerPage %v", len(ids), tc.from, tc.to, n, start, per)
			}
			if p := m["progress"].(map[string]any); p["total"] != float64(total) || p["pending"] != float64(total) {
				t.Errorf("progress = %v, want every item counted", p)
			}
		})
	}
	for _, q := range []string{"?count=ten", "?startIndex=1.5", "?decision=maybe"} {
		if r := h.API(t, "GET", "/api/v1/reviews/"+id+q, nil); r.Status != http.StatusBadRequest || r.JSON()["error"] == nil {
			t.Errorf("GET %s: %d, want 400 with an error", q, r.Status)
		}
	}

	// Decide three: the filters select by decision.
	for i, d := range []string{"keep", "keep", "revoke"} {
		wantAPI(t, h.API(t, "POST", "/api/v1/reviews/"+id+"/items/"+all[500+i], `{"decision":"`+d+`"}`), http.StatusOK)
	}
	for _, tc := range []struct {
		query string
		want  []string // the decisions of the page, in order
		total int
	}{
		{"?decision=decided", []string{"keep", "keep", "revoke"}, 3},
		{"?decision=keep", []string{"keep", "keep"}, 2},
		{"?decision=REVOKE", []string{"revoke"}, 1},
		{"?decision=pending&count=4", []string{"pending", "pending", "pending", "pending"}, total - 3},
		{"?decision=decided&startIndex=3", []string{"revoke"}, 3},
	} {
		ids, decisions, n, _, _ := pagedItems(t, get(tc.query))
		if !slices.Equal(decisions, tc.want) || n != float64(tc.total) {
			t.Errorf("%s: %d items, decided %d, totalResults %v; want %v of %d", tc.query, len(decisions), len(decisions)-countOf(decisions, "pending"), n, tc.want, tc.total)
		}
		if strings.Contains(tc.query, "decided") && !slices.Contains(ids, all[502]) {
			t.Errorf("%s: the items lack the revoked %s", tc.query, all[502])
		}
	}
}

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}
