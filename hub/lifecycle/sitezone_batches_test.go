package lifecycle_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestSetSiteTimeZoneRedatesEveryBatch: a site's new time zone redates
// every user of the site with a calendar day, over more than two of the
// batches the users are read in, each exactly once, also when they were
// all created at the same instant (the list order then goes by ID alone).
func TestSetSiteTimeZoneRedatesEveryBatch(t *testing.T) {
	const n = 1100 // over two batches of siteUsersBatch
	now := midnight(20, time.UTC).Add(10 * time.Hour)
	users := make([]store.User, n)
	want := make([]string, n)
	for i := range users {
		id := fmt.Sprintf("u-%04d", i)
		users[i] = store.User{ID: id, UserName: fmt.Sprintf("w%04d", i), Sites: []string{"north"}, EndDay: "2026-12-20"}
		want[i] = id
	}
	w := newSiteWorld(t, now, map[string]string{"north": "UTC"}, users)
	ch, err := w.eng.SetSiteTimeZone(t.Context(), w.a, "north", "America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(slices.Values(ch.UsersRedated))
	if !slices.Equal(got, want) {
		t.Fatalf("redated %d users (%d distinct), want each of the %d once", len(ch.UsersRedated), len(slices.Compact(got)), n)
	}
	la := zone(t, "America/Los_Angeles")
	for _, id := range []string{want[0], want[499], want[500], want[n-1]} {
		if u := w.user(t, id); !u.EndDate.Equal(midnight(21, la)) {
			t.Errorf("%s ends %s, want %s", id, u.EndDate, midnight(21, la))
		}
	}
}
