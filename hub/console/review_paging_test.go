package console_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// pageItems returns the IDs of the review items a page lists, in order,
// and the href of its link with the id, "" for none.
func pageItems(body, link string) ([]string, string) {
	var ids []string
	for _, m := range regexp.MustCompile(`<tr class="review-item" data-item="([^"]+)"`).FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	href := ""
	if m := regexp.MustCompile(`<a href="([^"]*)" rel="[a-z]+" id="` + link + `"`).FindStringSubmatch(body); m != nil {
		href = html.UnescapeString(m[1])
	}
	return ids, href
}

// TestCampaignPagePages: the console's page of a campaign of 130 items
// lists a page of them, the pending ones first, and links to the next
// and previous pages; a decision filter (as GET /api/v1/reviews/{id}
// takes it) lists only the kept, the pending, ...; a decision made on a
// page comes back to that page and filter. Before, the page read every
// item of the campaign (50,000 over a large site), and listed them all up
// to a thousand, with no way to the others.
func TestCampaignPagePages(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ctx := t.Context()
	for i := range 130 {
		u := store.User{ID: fmt.Sprintf("u-p%03d", i), UserName: fmt.Sprintf("p%03d", i), Active: true, Sites: []string{"paged"}}
		if _, err := h.Engine().CreateUser(ctx, lifecycleActor, u); err != nil {
			t.Fatal(err)
		}
	}
	admin := bootstrapAdmin(t, h)
	due := time.Now().UTC().Add(7 * 24 * time.Hour).Format(time.DateOnly)
	r := admin.post("/console/reviews", url.Values{"name": {"paged"}, "due": {due}, "sites": {"paged"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("start campaign: %d %s", r.Status, r.Body)
	}
	campaign := strings.TrimPrefix(strings.SplitN(r.location(), "?", 2)[0], "/console/reviews/")
	all, err := h.Store().ListReviewItems(ctx, store.ReviewItemQuery{CampaignID: campaign})
	if err != nil || len(all) != 130 {
		t.Fatalf("campaign of %d items, %v; want 130", len(all), err)
	}
	var order []string // the campaign's order
	for _, it := range all {
		order = append(order, it.ID)
	}
	// Three kept, from the first page of the campaign's order and from
	// its end.
	kept := []string{order[0], order[1], order[128]}
	for _, id := range kept {
		if r := admin.post("/console/review-items/"+id, url.Values{"decision": {"keep"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("keep %s: %d %s", id, r.Status, r.Body)
		}
	}
	var pending []string
	for _, id := range order {
		if !slices.Contains(kept, id) {
			pending = append(pending, id)
		}
	}
	base := "/console/reviews/" + campaign

	first := admin.get(base)
	ids, next := pageItems(first.Body, "items-next")
	if first.Status != http.StatusOK || !slices.Equal(ids, pending[:100]) {
		t.Fatalf("first page: %d, %d items %v; want the first 100 pending ones %v", first.Status, len(ids), ids, pending[:100])
	}
	if _, prev := pageItems(first.Body, "items-prev"); prev != "" || next != base+"?startIndex=101" {
		t.Errorf("first page links to previous %q, next %q; want none and %s?startIndex=101", prev, next, base)
	}
	if !strings.Contains(first.Body, "Items 1 to 100 of 130.") {
		t.Errorf("the first page does not say which items of how many it lists")
	}
	second := admin.get(next)
	ids, next = pageItems(second.Body, "items-next")
	want := append(slices.Clone(pending[100:]), order[0], order[1], order[128]) // then the decided ones
	if second.Status != http.StatusOK || !slices.Equal(ids, want) {
		t.Fatalf("second page: %d, items %v; want %v", second.Status, ids, want)
	}
	if _, prev := pageItems(second.Body, "items-prev"); prev != base || next != "" {
		t.Errorf("second page links to previous %q, next %q; want %s and none", prev, next, base)
	}

	for _, tc := range []struct {
		query string
		want  []string
		next  string
	}{
		{"?decision=keep", kept, ""},
		{"?decision=decided", kept, ""},
		{"?decision=pending", pending[:100], base + "?decision=pending&startIndex=101"},
		{"?decision=pending&startIndex=101", pending[100:], ""},
		{"?decision=revoke", nil, ""},
	} {
		p := admin.get(base + tc.query)
		ids, next := pageItems(p.Body, "items-next")
		if p.Status != http.StatusOK || !slices.Equal(ids, tc.want) || next != tc.next {
			t.Errorf("%s: %d, items %v, next %q; want %v, %q", tc.query, p.Status, ids, next, tc.want, tc.next)
		}
	}
	if p := admin.get(base + "?decision=maybe"); p.Status != http.StatusBadRequest {
		t.Errorf("an unknown filter: %d, want 400", p.Status)
	}

	// A decision comes back to the page it was made on, with its filter;
	// a back that is not a page of the campaign comes to its first page.
	here := base + "?decision=pending&startIndex=101"
	if r := admin.post("/console/review-items/"+pending[110], url.Values{"decision": {"keep"}, "back": {here}}); r.Status != http.StatusSeeOther || r.location() != here+"&ok=review-kept" {
		t.Errorf("decision on a later page: %d, back to %q; want %s&ok=review-kept", r.Status, r.location(), here)
	}
	if r := admin.post("/console/review-items/"+pending[111], url.Values{"decision": {"keep"}, "back": {"https://evil.example/console/reviews/" + campaign}}); r.Status != http.StatusSeeOther || r.location() != base+"?ok=review-kept" {
		t.Errorf("decision with a foreign back: %d, back to %q; want %s?ok=review-kept", r.Status, r.location(), base)
	}
	if p := admin.get(here); !strings.Contains(p.Body, `name="back" value="`+html.EscapeString(here)+`"`) {
		t.Errorf("the page's decision forms do not come back to it (%s)", here)
	}
}
