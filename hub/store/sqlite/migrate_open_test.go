package sqlite

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestOpenUpToDateBesideWriter: a file whose schema is up to date opens
// at once while another connection (a hub, or another CLI command) holds
// the write lock, and reads through it. Open used to take the write lock
// once per migration just to find nothing to do, so it waited out the
// busy timeout and failed with "migrate schema to version 1 (initial
// schema): database is locked".
func TestOpenUpToDateBesideWriter(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hub.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateUser(ctx, store.User{ID: "u1", UserName: "ana", State: store.UserActive, Active: true}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	other := rawWriter(t, path)
	tx, err := other.BeginTx(ctx, nil) // BEGIN IMMEDIATE: the write lock
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // released below; a no-op then
	if _, err := tx.ExecContext(ctx, `UPDATE users SET display_name = 'held' WHERE id = 'u1'`); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	db, err = Open(ctx, path)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("open beside a writer: %v (after %v)", err, took.Round(time.Millisecond))
	}
	if took >= busyTimeout/2 {
		t.Errorf("open beside a writer took %v: it waited for the write lock", took.Round(time.Millisecond))
	}
	if u, err := db.GetUser(ctx, "u1"); err != nil || u.UserName != "ana" || u.DisplayName == "held" {
		t.Errorf("read beside a writer: %+v, %v; want ana as committed", u, err)
	}
	// Let the store's own writes (the background index passes) through
	// before it closes.
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

// TestOpenNotADatabase: a file that is not a SQLite database is refused
// with SQLite's verdict, not as a failed migration, and left as it was.
func TestOpenNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	junk := bytes.Repeat([]byte("not a database, just text. "), 200)
	if err := os.WriteFile(path, junk, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := Open(t.Context(), path)
	if err == nil {
		db.Close()
		t.Fatal("opened a file that is not a database")
	}
	if !strings.Contains(err.Error(), "not a database") || strings.Contains(err.Error(), "migrate") {
		t.Errorf("err = %q; want SQLite's \"not a database\", and no word of a migration", err)
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, junk) {
		t.Errorf("the file was changed (%v)", err)
	}
}

// TestMigrateFromEveryVersion: a file left at any earlier schema version
// (as a hub of that version made it) is brought to the current version,
// with the same tables, indexes and triggers as a new file.
func TestMigrateFromEveryVersion(t *testing.T) {
	ctx := t.Context()
	want := schemaOf(t, openTest(t, filepath.Join(t.TempDir(), "hub.db")))
	for before, m := range migrations() {
		t.Run(fmt.Sprintf("from %d", before), func(t *testing.T) {
			path, raw := dbBefore(t, m.sql)
			raw.Close()
			db := openTest(t, path)
			if v, err := schemaVersion(ctx, db.writer); err != nil || v != len(migrations()) {
				t.Errorf("schema version = %d, %v; want %d", v, err, len(migrations()))
			}
			if got := schemaOf(t, db); got != want {
				t.Errorf("schema after the upgrade differs from a new file's:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// schemaOf returns the definitions of db's tables, indexes and triggers,
// in name order.
func schemaOf(t *testing.T, db *DB) string {
	t.Helper()
	defs, err := queryAll(t.Context(), db.reader, func(s scanner) (string, error) {
		var typ, name, sql string
		err := s.Scan(&typ, &name, &sql)
		return typ + " " + name + ": " + sql, err
	}, `SELECT type, name, COALESCE(sql, '') FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name`)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(defs, "\n")
}
