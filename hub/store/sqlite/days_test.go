package sqlite

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestMigrateUserDays opens a file from before users had calendar days:
// its users keep their dates (the instants they were stored as) with no
// day, and from then on a day is stored and read back, and changing only
// a day is written.
func TestMigrateUserDays(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hub.db")
	cn := newConnector(path+"?"+writerParams, writerInit)
	cn.opened = func(c *sqlite3.SQLiteConn) error { return c.RegisterFunc(foldNameFunc, store.FoldName, true) }
	raw := sql.OpenDB(cn) // the earlier migrations need the name folding
	raw.SetMaxOpenConns(1)
	defer raw.Close()
	before := slices.IndexFunc(migrations(), func(m migration) bool { return m.sql == schemaUserDays })
	if before < 0 {
		t.Fatal("schemaUserDays is not a migration")
	}
	for _, m := range migrations()[:before] {
		if _, err := raw.ExecContext(ctx, m.sql); err != nil {
			t.Fatalf("migration %s: %v", m.name, err)
		}
	}
	if _, err := raw.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", before)); err != nil {
		t.Fatal(err)
	}
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
