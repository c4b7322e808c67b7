package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

// emptyFile makes an empty file with mode 0600 in dir, as backup does
// before it copies.
func emptyFile(t *testing.T, dir string) string {
	t.Helper()
	f, err := os.CreateTemp(dir, "copy-*.db")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

// TestVacuumIntoBesideWriter: with a hub's connection open and records in
// its log only (no checkpoint ran), VacuumInto copies them too, though the
// ReadOnly's own connections are query_only; the source file and its log
// are left as they were (the log not folded in); the copy keeps the mode
// it was made with and the schema version, leaves no journal, and reads
// back whole. The directory's name has a '%', which a file: URI escapes.
func TestVacuumIntoBesideWriter(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "case%41")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "hub.db")
	db := openByHand(t, path)
	appendTestAudit(t, db, 20)
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() == 0 {
		t.Fatalf("precondition: the records are not in the log: %v", err)
	}
	r, err := OpenReadOnly(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	before := dirState(t, dir)
	delete(before, "hub.db-shm") // SQLite's shared index, not data

	outDir := t.TempDir()
	out := emptyFile(t, outDir)
	if err := r.VacuumInto(t.Context(), out); err != nil {
		t.Fatalf("VacuumInto: %v", err)
	}
	after := dirState(t, dir)
	delete(after, "hub.db-shm")
	if d := diffState(before, after); d != "" {
		t.Errorf("the copy changed the source: %s", d)
	}
	if entries, _ := os.ReadDir(outDir); len(entries) != 1 {
		t.Errorf("beside the copy: %v, want the copy alone", entries)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("copy mode %v, %v; want 0600 as it was made", fi.Mode(), err)
	}

	// OpenReadOnly refuses a file of any other schema version than this
	// build's: opening the copy checks that it kept the version.
	cp, err := OpenReadOnly(t.Context(), out)
	if err != nil {
		t.Fatalf("open the copy: %v", err)
	}
	defer cp.Close()
	if err := cp.QuickCheck(t.Context()); err != nil {
		t.Errorf("QuickCheck of the copy: %v", err)
	}
	rs, err := cp.ListAudit(t.Context(), store.AuditQuery{})
	if err != nil || len(rs) != 20 || string(rs[19].Hash) != "hash-20" {
		t.Errorf("the copy holds %d records, %v; want the 20 written", len(rs), err)
	}
}

// TestVacuumIntoRefuses: VacuumInto writes only into a new or empty file
// given by an absolute path, and stops when its context is cancelled: a
// file with content is left as it was.
func TestVacuumIntoRefuses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	db := openByHand(t, path)
	appendTestAudit(t, db, 3)
	r, err := OpenReadOnly(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	full := filepath.Join(t.TempDir(), "full.db")
	if err := os.WriteFile(full, []byte("last week"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.VacuumInto(t.Context(), full); err == nil {
		t.Error("VacuumInto a file with content succeeded")
	}
	if b, _ := os.ReadFile(full); string(b) != "last week" {
		t.Errorf("the file was changed: %q", b)
	}
	if err := r.VacuumInto(t.Context(), "file:copy.db"); err == nil {
		t.Error("VacuumInto a relative path (a URI) succeeded")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := r.VacuumInto(ctx, emptyFile(t, t.TempDir())); !errors.Is(err, context.Canceled) {
		t.Errorf("VacuumInto with its context cancelled = %v, want context.Canceled", err)
	}
}

// TestQuickCheckDamage: QuickCheck reports a file whose pages were
// overwritten as ErrDamaged.
func TestQuickCheckDamage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	db := openByHand(t, path)
	appendTestAudit(t, db, 500)
	r, err := OpenReadOnly(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := emptyFile(t, t.TempDir())
	if err := r.VacuumInto(t.Context(), out); err != nil {
		t.Fatal(err)
	}
	// Pages of the audit records are overwritten, found from the audit
	// table's root page: not the schema's, without which the file would
	// not open at all (the last pages of the file may be an index's, or
	// the schema's, as the migrations add to it).
	var root, pageSize int
	plain, err := sql.Open("sqlite3", "file:"+out+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	err = plain.QueryRow(`SELECT rootpage, (SELECT page_size FROM pragma_page_size) FROM sqlite_schema WHERE type = 'table' AND name = 'audit'`).Scan(&root, &pageSize)
	plain.Close()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	// Pages are numbered from 1: the root's is at (root-1)*pageSize; the
	// 8 after it hold audit records (VACUUM writes a table's pages
	// together, and 500 records fill dozens).
	from, to := root*pageSize, (root+8)*pageSize
	if to > len(b) {
		t.Fatalf("the copy has %d bytes, fewer than the audit table's root page %d and 8 more", len(b), root)
	}
	for i := from; i < to; i++ {
		b[i] = 0x5a
	}
	if err := os.WriteFile(out, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cp, err := OpenReadOnly(t.Context(), out)
	if err != nil {
		t.Fatalf("open the damaged copy: %v", err)
	}
	defer cp.Close()
	if err := cp.QuickCheck(t.Context()); !errors.Is(err, ErrDamaged) {
		t.Errorf("QuickCheck of a damaged file = %v, want ErrDamaged", err)
	}
}
