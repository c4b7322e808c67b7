package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/storetest"
)

func openTest(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	})
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	u := store.User{ID: "u1", UserName: "ana", State: store.UserActive}
	if _, err := db.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("create: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	// Opening again migrates nothing and keeps the data.
	for range 2 {
		db := openTest(t, path)
		got, err := db.GetUser(t.Context(), "u1")
		if err != nil || got.UserName != "ana" {
			t.Fatalf("after reopen: %+v, %v", got, err)
		}
		if v, err := schemaVersion(t.Context(), db.writer); err != nil || v != len(migrations()) {
			t.Errorf("schema version = %d, %v; want %d", v, err, len(migrations()))
		}
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	db := openTest(t, path)
	newer := len(migrations()) + 1
	if _, err := db.writer.ExecContext(t.Context(), "PRAGMA user_version = "+strconv.Itoa(newer)); err != nil {
		t.Fatal(err)
	}
	_, err := Open(t.Context(), path)
	if err == nil || !strings.Contains(err.Error(), "newer than this build supports") {
		t.Fatalf("open of a newer schema: err = %v, want a refusal", err)
	}
}

func TestPragmas(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	tests := []struct {
		name   string
		pool   *sql.DB
		pragma string
		want   string
	}{
		{"writer journal_mode", db.writer, "journal_mode", "wal"},
		{"writer foreign_keys", db.writer, "foreign_keys", "1"},
		{"writer synchronous", db.writer, "synchronous", "1"}, // NORMAL
		{"writer busy_timeout", db.writer, "busy_timeout", "5000"},
		{"writer mmap_size", db.writer, "mmap_size", "0"},
		{"writer wal_autocheckpoint", db.writer, "wal_autocheckpoint", "0"},
		{"reader mmap_size", db.reader, "mmap_size", "1073741824"},
		{"reader journal_mode", db.reader, "journal_mode", "wal"},
		{"reader query_only", db.reader, "query_only", "1"},
		{"reader busy_timeout", db.reader, "busy_timeout", "5000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			if err := tc.pool.QueryRowContext(t.Context(), "PRAGMA "+tc.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("PRAGMA %s = %s, want %s", tc.pragma, got, tc.want)
			}
		})
	}
	if _, err := db.reader.ExecContext(t.Context(), "DELETE FROM users"); err == nil {
		t.Error("reader pool accepted a write")
	}
}

func TestFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	db := openTest(t, path)
	if _, err := db.CreateUser(t.Context(), store.User{ID: "u1", UserName: "a", State: store.UserActive}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("stat: %v", err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s mode = %o, want 600", filepath.Base(p), mode)
		}
	}
}

func TestAuditAppendOnly(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	if err := db.AppendAudit(t.Context(), store.AuditRecord{Seq: 1, Action: "x"}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"UPDATE audit SET action = 'y'", "DELETE FROM audit"} {
		if _, err := db.writer.ExecContext(t.Context(), q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want append-only refusal", q, err)
		}
	}
}

func TestOpenBadPath(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db", filepath.Join(t.TempDir(), "a?b.db")} {
		if db, err := Open(t.Context(), p); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}

// The writer never checkpoints; the background checkpointer copies the
// write-ahead log into the database file within a few ticks.
func TestBackgroundCheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	before, _ := os.Stat(path)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 500 {
		u := store.User{ID: fmt.Sprintf("u%04d", i), UserName: fmt.Sprintf("user%04d", i), State: store.UserActive, Created: now, Modified: now}
		if _, err := db.CreateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		after, _ := os.Stat(path)
		if after.Size() > before.Size() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("database file still %d bytes: the log was never checkpointed", after.Size())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestParseUserGroups covers what the conformance suite cannot reach: a
// malformed groups column is an error, not a wrong group.
func TestParseUserGroups(t *testing.T) {
	gs, err := parseUserGroups("")
	if err != nil || gs != nil {
		t.Errorf("empty: %v, %v; want no groups", gs, err)
	}
	gs, err = parseUserGroups("6131:41::2:3:4,6232:42:78:1:0:0")
	if err != nil || len(gs) != 2 || gs[0].ID != "a1" || gs[0].DisplayName != "A" || gs[0].ExternalID != "" ||
		gs[0].Version != 2 || !gs[0].Created.Equal(time.Unix(0, 3)) || !gs[0].Modified.Equal(time.Unix(0, 4)) ||
		gs[1].ID != "b2" || gs[1].ExternalID != "x" || !gs[1].Created.IsZero() {
		t.Errorf("two groups: %+v, %v", gs, err)
	}
	for _, bad := range []string{
		"6131:41::2:3",     // a field short
		"6131:41::2:3:4:5", // a field too many
		"6131:4G::2:3:4",   // not hex
		"6131:413::2:3:4",  // odd hex
		"6131:41::x:3:4",   // not a number
		"6131:41::2:3:4,",  // an empty group
	} {
		if gs, err := parseUserGroups(bad); err == nil {
			t.Errorf("%q: %+v, want an error", bad, gs)
		}
	}
}

// TestFillWAL: the filled log is walPrealloc long, the data written before
// and after the fill is intact, and the database reopens with it.
func TestFillWAL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := db.CreateSite(ctx, store.Site{ID: "s1", Name: "before"}); err != nil {
		t.Fatal(err)
	}
	if err := db.FillWAL(ctx); err != nil {
		t.Fatalf("FillWAL: %v", err)
	}
	if st, err := os.Stat(path + "-wal"); err != nil || st.Size() != walPrealloc {
		t.Fatalf("log after the fill: %v, %v; want %d bytes", st, err, walPrealloc)
	}
	for i := range 200 {
		if _, err := db.CreateSite(ctx, store.Site{ID: fmt.Sprintf("a%d", i), Name: fmt.Sprintf("after-%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	// A second fill finds the log long enough and changes nothing.
	if err := db.FillWAL(ctx); err != nil {
		t.Fatalf("second FillWAL: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTest(t, path)
	sites, err := db.ListSites(ctx)
	if err != nil || len(sites) != 201 {
		t.Fatalf("after reopening: %d sites, %v; want 201", len(sites), err)
	}
}

// TestCloseWaitsForReads: a read still streaming rows when the store is
// closed keeps SQLite's connection, and with it its file locks; Close
// returns only once that read is over, so the descriptor it closes last
// cannot drop the locks under it.
func TestCloseWaitsForReads(t *testing.T) {
	ctx := t.Context()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if _, err := db.CreateDevice(ctx, store.Device{ID: "d1", Name: "k1", Site: "north", Profile: "generic-x86", State: store.DeviceActive, Created: now, Modified: now}); err != nil {
		t.Fatal(err)
	}
	u, err := db.CreateUser(ctx, store.User{ID: "u1", UserName: "ann", Active: true, State: store.UserActive, Created: now, Modified: now})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"s1", "s2"} {
		if _, err := db.CreateSession(ctx, store.Session{ID: id, UserID: u.ID, DeviceID: "d1", Role: "Nurse", Started: now, Expires: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	started, release, read := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		first := true
		read <- db.EachLiveSession(context.Background(), func(store.LiveSession) error {
			if first {
				first = false
				close(started)
				<-release
			}
			return nil
		})
	}()
	<-started
	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a read was still streaming rows", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if err := <-read; err != nil {
		t.Errorf("the read: %v", err)
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("close: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Close did not return after the read ended")
	}
}

// dbBefore creates a database file with the schema of the migrations
// before the one whose SQL is schema, as a hub of that version left it,
// for a test of that migration: its path, and a connection to it (one,
// with the name folding functions the earlier migrations need) that the
// test closes before it opens the file with Open.
func dbBefore(t *testing.T, schema string) (path string, raw *sql.DB) {
	t.Helper()
	ctx := t.Context()
	path = filepath.Join(t.TempDir(), "hub.db")
	cn := newConnector(path+"?"+writerParams, writerInit)
	cn.opened = func(c *sqlite3.SQLiteConn) error {
		if err := c.RegisterFunc(foldNameFunc, store.FoldName, true); err != nil {
			return err
		}
		return c.RegisterFunc(consoleNameKeyFunc, store.ConsoleNameKey, true)
	}
	raw = sql.OpenDB(cn)
	raw.SetMaxOpenConns(1)
	t.Cleanup(func() { raw.Close() })
	before := slices.IndexFunc(migrations(), func(m migration) bool { return m.sql == schema })
	if before < 0 {
		t.Fatal("the schema is not a migration")
	}
	for _, m := range migrations()[:before] {
		if _, err := raw.ExecContext(ctx, m.sql); err != nil {
			t.Fatalf("migration %s: %v", m.name, err)
		}
	}
	if _, err := raw.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", before)); err != nil {
		t.Fatal(err)
	}
	return path, raw
}
