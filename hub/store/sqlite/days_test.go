package sqlite

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestMigrateUserDays opens a file from before users had calendar days:
// its users keep their dates (the instants they were stored as) with no
// day, and from then on a day is stored and read back, and changing only
// a day is written.
func TestMigrateUserDays(t *testing.T) {
	ctx := t.Context()
	path, raw := dbBefore(t, schemaUserDays)
	end := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	old := store.User{ID: "u1", UserName: "ana", Active: true, State: store.UserActive, EndDate: end, Version: 1, Created: end, Modified: end}
	args, err := userArgs(old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, `INSERT INTO users (`+userCols+`, user_name_key)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, append(args, "ana")...); err != nil {
		t.Fatalf("insert user: %v", err)
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("open after the migration: %v", err)
	}
	defer db.Close()
	got, err := db.GetUser(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if got.StartDay != "" || got.EndDay != "" || !got.EndDate.Equal(end) {
		t.Errorf("migrated user: days %q, %q, end %s; want none, and the end as stored", got.StartDay, got.EndDay, got.EndDate)
	}
	if _, err := db.UpdateUser(ctx, "u1", func(u store.User) (store.User, error) {
		u.EndDay = "2026-12-01"
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, err := db.GetUser(ctx, "u1"); err != nil || got.EndDay != "2026-12-01" || got.Version != 2 {
		t.Errorf("after setting the end day: %q v%d, %v; want 2026-12-01 v2", got.EndDay, got.Version, err)
	}
}
