package sqlite

import (
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestMigrateExtensionSite opens a file from before extensions had a site:
// an extension still in force of a worker with exactly one site is placed
// at that site; one of a worker of several sites, of a worker whose sites
// the step cannot read, of no user, or already marked expired keeps no
// site (it counts at no site). A stored sites value that is not JSON does
// not fail the upgrade.
func TestMigrateExtensionSite(t *testing.T) {
	ctx := t.Context()
	path, raw := dbBefore(t, schemaExtensionSite)
	for _, u := range []store.User{
		{ID: "u-one", UserName: "one", Sites: []string{"North Ward"}},
		{ID: "u-two", UserName: "two", Sites: []string{"north", "south"}},
		{ID: "u-none", UserName: "none"},
		{ID: "u-bad", UserName: "bad"},
	} {
		u.State, u.Active = store.UserActive, true
		args, err := userArgs(u)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.ExecContext(ctx, `INSERT INTO users (`+userCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...); err != nil {
			t.Fatalf("insert user %s: %v", u.ID, err)
		}
	}
	if _, err := raw.ExecContext(ctx, `UPDATE users SET sites = 'not json' WHERE id = 'u-bad'`); err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		id, user string
		expired  int64
	}{
		{"x-one", "u-one", 0},
		{"x-one-done", "u-one", 5e9},
		{"x-two", "u-two", 0},
		{"x-none", "u-none", 0},
		{"x-bad", "u-bad", 0},
		{"x-gone", "u-gone", 0},
	} {
		if _, err := raw.ExecContext(ctx, `INSERT INTO shift_extensions (id, user_id, start_at, end_at, reason, approver, created, expired)
			VALUES (?, ?, 1e9, 4e9, 'handover', 'console:sam', 1e9, ?)`, x.id, x.user, x.expired); err != nil {
			t.Fatalf("insert extension %s: %v", x.id, err)
		}
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("open after the migration: %v", err)
	}
	defer db.Close()
	want := map[string]string{"x-one": "North Ward", "x-one-done": "", "x-two": "", "x-none": "", "x-bad": "", "x-gone": ""}
	got := map[string]string{}
	for _, u := range []string{"u-one", "u-two", "u-none", "u-bad", "u-gone"} {
		xs, err := db.ListShiftExtensions(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range xs {
			got[x.ID] = x.Site
		}
	}
	for id, site := range want {
		if s, ok := got[id]; !ok || s != site {
			t.Errorf("site of %s after the upgrade = %q (found %v), want %q", id, s, ok, site)
		}
	}
}
