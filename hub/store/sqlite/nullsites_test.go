package sqlite

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestSiteFiltersUserWithoutSites: a user stored with no sites at all (a
// SCIM user sent without the Shiftgate extension has nil Sites, stored as
// JSON null) does not break the reads that match users' sites: the
// supervisors' review worklist (ListReviewItems with Sites, which reads
// the sites of each pending role item's user) and SearchUsers with
// Sites. json_each of null gives one row whose value is NULL, and the
// site filters folded it with shiftgate_fold_name, which refused it
// ("argument must be BLOB or TEXT"): every supervisor's My reviews page
// answered 500 once a user under review lost the extension.
func TestSiteFiltersUserWithoutSites(t *testing.T) {
	ctx := t.Context()
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	base := time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC)
	for _, u := range []store.User{
		{ID: "u-north", UserName: "north.worker", Active: true, State: store.UserActive, Sites: []string{"North"}},
		{ID: "u-nowhere", UserName: "hq.worker", Active: true, State: store.UserActive, Sites: []string{"North"}},
	} {
		u.Created, u.Modified = base, base
		if _, err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	c := store.Campaign{ID: "c", Name: "q", Due: base.Add(time.Hour), Created: base, CreatedBy: "cli"}
	items := []store.ReviewItem{
		{ID: "i1", CampaignID: c.ID, UserID: "u-north", Kind: store.ReviewItemRole, Entitlement: "Picker",
			ReviewerKind: "supervisor", Decision: store.ReviewPending, Created: base},
		{ID: "i2", CampaignID: c.ID, UserID: "u-nowhere", Kind: store.ReviewItemRole, Entitlement: "Picker",
			ReviewerKind: "supervisor", Decision: store.ReviewPending, Created: base.Add(time.Second)},
	}
	if _, err := db.CreateCampaign(ctx, c, items); err != nil {
		t.Fatal(err)
	}
	// The identity provider sends the user again without the extension,
	// while its item is still pending.
	if _, err := db.UpdateUser(ctx, "u-nowhere", func(u store.User) (store.User, error) {
		u.Sites = nil
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}

	its, err := db.ListReviewItems(ctx, store.ReviewItemQuery{PendingOnly: true, ReviewerKind: "supervisor", Sites: []string{"north"}})
	if err != nil {
		t.Fatalf("worklist of north: %v", err)
	}
	if len(its) != 1 || its[0].ID != "i1" {
		t.Errorf("worklist of north = %v, want item i1 only", its)
	}

	us, err := db.SearchUsers(ctx, store.UserSearch{Sites: []string{"NORTH"}})
	if err != nil {
		t.Fatalf("search users at north: %v", err)
	}
	if len(us) != 1 || us[0].ID != "u-north" {
		t.Errorf("users at north = %v, want u-north only", us)
	}
}

// TestReadOnlySiteFilters: a read-only store (the CLI's reports, beside
// a running hub or on a copy) answers the reads that compare site names
// under store.FoldName as the hub's store does. Its connections had no
// shiftgate_fold_name, so each such read failed with "no such function".
func TestReadOnlySiteFilters(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hub.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC)
	if _, err := db.CreateDevice(ctx, store.Device{ID: "k1", Name: "Kiosk 1", Site: "Zürich", State: store.DeviceActive, Created: base, Modified: base}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateUser(ctx, store.User{ID: "u1", UserName: "w", Active: true, State: store.UserActive, Sites: []string{"ZÜRICH"},
		Created: base, Modified: base}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if ds, err := r.ListDevices(ctx, "ZÜRICH"); err != nil || len(ds) != 1 {
		t.Errorf("ListDevices(ZÜRICH) on a read-only store = %v, %v; want k1", ds, err)
	}
	if ds, err := r.ListSiteDevices(ctx, []string{"zürich"}); err != nil || len(ds) != 1 {
		t.Errorf("ListSiteDevices(zürich) on a read-only store = %v, %v; want k1", ds, err)
	}
	if us, err := r.SearchUsers(ctx, store.UserSearch{Sites: []string{"Zürich"}}); err != nil || len(us) != 1 {
		t.Errorf("SearchUsers(Zürich) on a read-only store = %v, %v; want u1", us, err)
	}
}
