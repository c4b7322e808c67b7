package storetest

import (
	"fmt"
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

// pageAll reads every page of size n of a list through read, checking
// that each reports total as the list's length, and returns the pages
// joined.
func pageAll[T any](t *testing.T, what string, n, total int, read func(store.ListPage) ([]T, int, error)) []T {
	t.Helper()
	var out []T
	for off := 0; off < total+n; off += n {
		page, got, err := read(store.ListPage{Offset: off, Limit: n})
		if err != nil {
			t.Fatalf("%s from %d: %v", what, off, err)
		}
		if got != total || len(page) != min(n, max(total-off, 0)) {
			t.Errorf("%s from %d: %d entries of %d, want %d of %d", what, off, len(page), got, min(n, max(total-off, 0)), total)
		}
		out = append(out, page...)
	}
	// A limit of 0 reads the total only.
	if page, got, err := read(store.ListPage{Limit: 0}); err != nil || len(page) != 0 || page == nil || got != total {
		t.Errorf("%s, limit 0: %d entries (nil %v) of %d, %v; want none of %d", what, len(page), page == nil, got, err, total)
	}
	return out
}

func testListPages(t *testing.T, s store.Store) {
	// Grants and extensions page in their List order, Start then ID (two
	// start at one instant), one user's only.
	for i, h := range []int{4, 1, 7, 1, 3} {
		g := store.Grant{ID: fmt.Sprintf("g%d", i), UserID: "u1", Role: "Nurse", Site: "north", Reason: "cover",
			Approver: "admin:kim", Start: at(h), End: at(h + 8), Created: at(0)}
		must[store.Grant](t, "create grant")(s.CreateGrant(t.Context(), g))
		must[store.ShiftExtension](t, "create extension")(s.CreateShiftExtension(t.Context(), extension(fmt.Sprintf("x%d", i), "u1", "north", h, h+1)))
	}
	must[store.Grant](t, "create other grant")(s.CreateGrant(t.Context(), store.Grant{ID: "g9", UserID: "u2", Role: "Nurse", Site: "north", Start: at(0), End: at(1), Created: at(0)}))
	must[store.ShiftExtension](t, "create other extension")(s.CreateShiftExtension(t.Context(), extension("x9", "u2", "north", 0, 1)))
	grants := must[[]store.Grant](t, "list grants")(s.ListGrants(t.Context(), "u1"))
	diff(t, "grants paged by 2", grants, pageAll(t, "grants", 2, 5, func(p store.ListPage) ([]store.Grant, int, error) {
		return s.PageGrants(t.Context(), "u1", p)
	}))
	exts := must[[]store.ShiftExtension](t, "list extensions")(s.ListShiftExtensions(t.Context(), "u1"))
	diff(t, "extensions paged by 2", exts, pageAll(t, "extensions", 2, 5, func(p store.ListPage) ([]store.ShiftExtension, int, error) {
		return s.PageShiftExtensions(t.Context(), "u1", p)
	}))
	if gs, n, err := s.PageGrants(t.Context(), "nobody", store.ListPage{Limit: 10}); err != nil || len(gs) != 0 || n != 0 {
		t.Errorf("grants of nobody: %v of %d, %v", gs, n, err)
	}

	// Campaigns page by Created, then ID. The reviewers' tallies over all
	// campaigns are the sums of each campaign's.
	for i, h := range []int{2, 0, 2, 1} {
		id := fmt.Sprintf("c%d", i)
		items := []store.ReviewItem{reviewItem(id+"a", id, "u1", "m1", h), reviewItem(id+"b", id, "u2", "", h), reviewItem(id+"c", id, "u3", "m2", h)}
		switch i {
		case 1:
			items[0].Decision, items[0].Decided = store.ReviewKeep, at(h+1)   // on time
			items[1].Decision, items[1].Decided = store.ReviewRevoke, at(h+3) // on time
		case 2:
			// Escalated from m2 to the admins.
			items[2].ReviewerID, items[2].Escalated, items[2].EscalatedFrom = "", at(h+25), "m2"
			items[2].Decision, items[2].Decided = store.ReviewRevoke, at(h+26) // late: due is h+24
		}
		must[store.Campaign](t, "create campaign")(s.CreateCampaign(t.Context(), campaign(id, "", h), items))
	}
	cs := must[[]store.Campaign](t, "list campaigns")(s.ListCampaigns(t.Context()))
	diff(t, "campaigns paged by 3", cs, pageAll(t, "campaigns", 3, 4, func(p store.ListPage) ([]store.Campaign, int, error) {
		return s.PageCampaigns(t.Context(), p)
	}))
	sum := map[string]store.ReviewTally{}
	for _, c := range cs {
		for _, x := range must[store.CampaignItems](t, "tally campaign")(s.ListCampaignItems(t.Context(), store.CampaignItemQuery{CampaignID: c.ID})).Tallies {
			y := sum[x.ReviewerID]
			y.ReviewerID, y.Items, y.Kept, y.Revoked, y.Decided = x.ReviewerID, y.Items+x.Items, y.Kept+x.Kept, y.Revoked+x.Revoked, y.Decided+x.Decided
			y.DecidedOnTime, y.Escalated, y.EscalatedAway = y.DecidedOnTime+x.DecidedOnTime, y.Escalated+x.Escalated, y.EscalatedAway+x.EscalatedAway
			sum[x.ReviewerID] = y
		}
	}
	want := []store.ReviewTally{sum[""], sum["m1"], sum["m2"]}
	if len(sum) != 3 || want[0].DecidedOnTime != 1 || want[0].Decided != 2 || want[2].EscalatedAway != 1 {
		t.Fatalf("the campaigns' tallies %+v are not what the test means them to be", sum)
	}
	diff(t, "reviewer tallies", want, must[[]store.ReviewTally](t, "reviewer tallies")(s.ReviewerTallies(t.Context())))
}
