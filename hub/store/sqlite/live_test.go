package sqlite

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/hub/store"
)

// liveHub fills db with kiosks at sites spelled in several cases and a
// session on each, every third one ended, and returns the IDs of the
// kiosks and live sessions of north (North, NORTH) in the stores' order.
func liveHub(t *testing.T, db *DB, kiosks int) (northKiosks, northLive []string) {
	t.Helper()
	base := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	sites := []string{"north", "North", "NORTH", "south", "Zürich", "ZÜRICH", "east"}
	err := db.InTx(t.Context(), func(tx store.Ops) error {
		for i := range kiosks {
			site := sites[i%len(sites)]
			if i >= len(sites) && i%len(sites) != 0 && site != "south" {
				// Most kiosks at sites of their own: a hub of many sites.
				site = fmt.Sprintf("site-%03d", i%97)
			}
			id := fmt.Sprintf("k%05d", i)
			if _, err := tx.CreateDevice(t.Context(), store.Device{ID: id, Name: id, Site: site, Profile: "p",
				State: store.DeviceActive, Created: base.Add(time.Duration(kiosks-i) * time.Second)}); err != nil {
				return err
			}
			s := store.Session{ID: fmt.Sprintf("s%05d", i), UserID: fmt.Sprintf("u%d", i%5), DeviceID: id, Role: "picker",
				Started: base.Add(time.Duration((i*37)%101) * time.Minute), Expires: base.Add(12 * time.Hour)}
			if i%3 == 1 {
				s.Ended, s.EndReason = base.Add(13*time.Hour), "signout"
			}
			if _, err := tx.CreateSession(t.Context(), s); err != nil {
				return err
			}
			if strings.EqualFold(site, "north") {
				northKiosks = append(northKiosks, id)
				if s.Ended.IsZero() {
					northLive = append(northLive, s.ID)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The stores' orders: kiosks by Created (later IDs were created
	// earlier), sessions by Started, then ID.
	slices.Reverse(northKiosks)
	all, err := db.ListSessions(t.Context(), store.SessionQuery{LiveOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var ordered []string
	for _, s := range all {
		if slices.Contains(northLive, s.ID) {
			ordered = append(ordered, s.ID)
		}
	}
	return northKiosks, ordered
}

// TestListSiteLive: the kiosks and live sessions of some sites are those
// of every spelling of the sites' names (as logins match them), and only
// those; ended sessions are not live.
func TestListSiteLive(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	ctx := t.Context()
	northKiosks, northLive := liveHub(t, db, 300)
	if len(northKiosks) < 3 || len(northLive) < 2 {
		t.Fatalf("the fixture has %d kiosks and %d live sessions at north, want some", len(northKiosks), len(northLive))
	}
	ids := func(ds []store.Device, ss []store.Session) []string {
		out := []string{}
		for _, d := range ds {
			out = append(out, d.ID)
		}
		for _, s := range ss {
			out = append(out, s.ID)
		}
		return out
	}
	for _, tt := range []struct {
		name    string
		sites   []string
		kiosks  []string
		live    []string
		anyZuri bool
	}{
		{name: "one site, every spelling", sites: []string{"north"}, kiosks: northKiosks, live: northLive},
		{name: "asked in another case", sites: []string{"NoRtH"}, kiosks: northKiosks, live: northLive},
		{name: "no sites", sites: nil, kiosks: []string{}, live: []string{}},
		{name: "unknown site", sites: []string{"west"}, kiosks: []string{}, live: []string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := db.ListSiteDevices(ctx, tt.sites)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.kiosks, ids(ds, nil)); diff != "" {
				t.Errorf("ListSiteDevices(%q) (-want +got):\n%s", tt.sites, diff)
			}
			ss, err := db.ListSiteSessions(ctx, tt.sites)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.live, ids(nil, ss)); diff != "" {
				t.Errorf("ListSiteSessions(%q) (-want +got):\n%s", tt.sites, diff)
			}
		})
	}

	// Two sites, one with a non-ASCII fold: the union of both.
	ss, err := db.ListSiteSessions(ctx, []string{"zürich", "north"})
	if err != nil {
		t.Fatal(err)
	}
	zurich := 0
	for _, s := range ss {
		d, err := db.GetDevice(ctx, s.DeviceID)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case store.FoldName(d.Site) == store.FoldName("zürich"):
			zurich++
		case !strings.EqualFold(d.Site, "north"):
			t.Errorf("session %s at %s, not at north or Zürich", s.ID, d.Site)
		}
		if !s.Ended.IsZero() {
			t.Errorf("session %s ended, not live", s.ID)
		}
	}
	if zurich == 0 || len(ss) != zurich+len(northLive) {
		t.Errorf("%d sessions, %d of them at Zürich; want Zürich's and north's %d", len(ss), zurich, len(northLive))
	}
}

// TestListSiteLivePlan: a site's kiosks and their live sessions are found
// through devices_site and sessions_device_live, never by a scan of the
// devices or the sessions: the console's live-update stream reads them
// for every open supervisor page every second, and a hub of 10,000 kiosks
// should cost a supervisor what its sites hold.
func TestListSiteLivePlan(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	liveHub(t, db, 2000)
	var plans []string
	o := ops{read: planner{querier: db.reader, plans: &plans}, write: db.writeTx}
	if _, err := o.ListSiteDevices(t.Context(), []string{"north", "south"}); err != nil {
		t.Fatal(err)
	}
	if _, err := o.ListSiteSessions(t.Context(), []string{"north", "south"}); err != nil {
		t.Fatal(err)
	}
	plan := strings.Join(plans, "\n")
	if strings.Contains(plan, "error") {
		t.Fatalf("no plan:\n%s", plan)
	}
	for _, line := range plans {
		if strings.HasPrefix(line, "SCAN devices") || strings.HasPrefix(line, "SCAN d") || strings.HasPrefix(line, "SCAN sessions") {
			t.Errorf("a table scanned: %q in\n%s", line, plan)
		}
	}
	// The loose scan of the sites' spellings: a search for the first, then
	// for the next after each.
	for _, want := range []string{"SEARCH devices USING COVERING INDEX devices_site (site>?)",
		"SEARCH d USING COVERING INDEX devices_site (site=?)", "SEARCH sessions USING INDEX sessions_device_live (device_id=?)"} {
		if !strings.Contains(plan, want) {
			t.Errorf("no %q in the plan:\n%s", want, plan)
		}
	}
}

// TestListRecentSessions: a user's latest sessions, newest first, from
// the indexed history and the sessions not yet moved there alike, and no
// more than asked.
func TestListRecentSessions(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	// The test decides when the history catches up (as in
	// TestDeferredIndexes).
	db.stop()
	<-db.indexed
	ctx := t.Context()
	check := func(t *testing.T, user string, limit int) {
		t.Helper()
		all, err := db.ListSessions(ctx, store.SessionQuery{UserID: user})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{}
		for i := len(all) - 1; i >= 0 && len(want) < limit; i-- {
			want = append(want, all[i].ID)
		}
		got, err := db.ListRecentSessions(ctx, user, limit)
		if err != nil {
			t.Fatal(err)
		}
		ids := []string{}
		for _, s := range got {
			ids = append(ids, s.ID)
		}
		if diff := cmp.Diff(want, ids); diff != "" {
			t.Errorf("ListRecentSessions(%s, %d) (-want +got):\n%s", user, limit, diff)
		}
	}
	createSessions(t, db, 0, 60)
	for _, limit := range []int{1, 7, 100} {
		check(t, "u1", limit) // all queued
	}
	if err := db.catchUp(ctx, 0); err != nil {
		t.Fatal(err)
	}
	createSessions(t, db, 60, 30)
	for _, limit := range []int{1, 7, 25, 100} {
		check(t, "u1", limit) // indexed and queued
		check(t, "u2", limit)
	}
	check(t, "nobody", 10)
	if got, err := db.ListRecentSessions(ctx, "u1", 0); err != nil || len(got) != 0 {
		t.Errorf("limit 0: %d sessions, %v; want none", len(got), err)
	}
}

// TestListRecentSessionsPlan: a user's latest sessions are read through
// the history index, newest first, and only the page of them is read
// from the sessions table: a worker's history grows by a session or more
// every shift, and the console shows the latest hundred.
func TestListRecentSessionsPlan(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	createSessions(t, db, 0, 500)
	var plans []string
	o := ops{read: planner{querier: db.reader, plans: &plans}, write: db.writeTx}
	if _, err := o.ListRecentSessions(t.Context(), "u1", 100); err != nil {
		t.Fatal(err)
	}
	plan := strings.Join(plans, "\n")
	if strings.Contains(plan, "error") {
		t.Fatalf("no plan:\n%s", plan)
	}
	for _, line := range plans {
		if strings.HasPrefix(line, "SCAN sessions") || strings.HasPrefix(line, "SCAN session_history ") || line == "SCAN session_history" {
			t.Errorf("a table scanned: %q in\n%s", line, plan)
		}
	}
	for _, want := range []string{"SEARCH session_history USING PRIMARY KEY (user_id=?)", "SEARCH sessions USING INDEX sqlite_autoindex_sessions_1 (id=?)"} {
		if !strings.Contains(plan, want) {
			t.Errorf("no %q in the plan:\n%s", want, plan)
		}
	}
}
