package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// appendTestAudit appends n records after the head of db's audit trail.
func appendTestAudit(t *testing.T, db *DB, n int) {
	t.Helper()
	ctx := t.Context()
	seq, prev, err := db.AuditHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		seq++
		hash := fmt.Appendf(nil, "hash-%d", seq)
		r := store.AuditRecord{Seq: seq, Time: time.Unix(1_700_000_000, 0).Add(time.Duration(seq) * time.Second), Actor: "test", Action: "test.append",
			Subject: "s", System: "test", Detail: []byte(`{}`), Prev: prev, Hash: hash}
		if err := db.AppendAudit(ctx, r); err != nil {
			t.Fatal(err)
		}
		prev = hash
	}
}

// fileState is a directory's files with their bytes and modification times.
type fileState map[string]string

func dirState(t *testing.T, dir string) fileState {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	st := fileState{}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		st[e.Name()] = fmt.Sprintf("%d bytes, sum %x, mtime %s", len(b), bytesSum(b), fi.ModTime().Format(time.RFC3339Nano))
	}
	return st
}

func bytesSum(b []byte) uint64 {
	var h uint64 = 14695981039346656037 // FNV-1a: enough to tell a change
	for _, c := range b {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return h
}

func diffState(before, after fileState) string {
	var d []string
	for name, was := range before {
		if now, ok := after[name]; !ok {
			d = append(d, name+": removed")
		} else if now != was {
			d = append(d, fmt.Sprintf("%s: %s → %s", name, was, now))
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			d = append(d, name+": created")
		}
	}
	slices.Sort(d)
	return strings.Join(d, "; ")
}

// TestOpenReadOnlyLeavesFileAlone: a database without a write-ahead log
// (its hub stopped) is read without a byte of the directory changing: no
// migration, no log or index made and left next to it. Writes are
// refused. The directory's name has a '%', which a file: URI must escape.
func TestOpenReadOnlyLeavesFileAlone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "case%41")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "hub.db")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	appendTestAudit(t, db, 5)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-wal"); err == nil {
		t.Fatal("precondition: the log outlived the last connection")
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	before := dirState(t, dir)

	r, err := OpenReadOnly(t.Context(), path)
	if err != nil {
		t.Fatalf("open read-only: %v", err)
	}
	rs, err := r.ListAudit(t.Context(), store.AuditQuery{})
	if err != nil || len(rs) != 5 || string(rs[4].Hash) != "hash-5" {
		t.Errorf("ListAudit = %d records, %v; want the 5 written", len(rs), err)
	}
	err = r.AppendAudit(t.Context(), store.AuditRecord{Seq: 6, Time: time.Unix(1_800_000_000, 0), Prev: rs[4].Hash, Hash: []byte("x")})
	if !errors.Is(err, ErrReadOnly) {
		t.Errorf("AppendAudit on a read-only store = %v, want ErrReadOnly", err)
	}
	if err := r.Unchanged(); err != nil {
		t.Errorf("Unchanged = %v, nothing wrote the file", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if d := diffState(before, dirState(t, dir)); d != "" {
		t.Errorf("a read-only open changed the directory: %s", d)
	}
}

// TestOpenReadOnlyBesideWriter: with a hub's connection open (the log
// there), the read-only store reads what the hub commits after it was
// opened, and nothing is reported changed.
func TestOpenReadOnlyBesideWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	db := openTest(t, path)
	appendTestAudit(t, db, 2)
	r, err := OpenReadOnly(t.Context(), path)
	if err != nil {
		t.Fatalf("open read-only: %v", err)
	}
	defer r.Close()
	appendTestAudit(t, db, 3)
	rs, err := r.ListAudit(t.Context(), store.AuditQuery{})
	if err != nil || len(rs) != 5 {
		t.Errorf("ListAudit beside the writer = %d records, %v; want 5, the last 3 from the log", len(rs), err)
	}
	if err := r.Unchanged(); err != nil {
		t.Errorf("Unchanged = %v; SQLite reads the log consistently", err)
	}
}

// TestOpenReadOnlyChanged: a file opened without its log (immutable) is
// reported changed once a writer opens it, and after that writer wrote and
// closed it (the log gone again).
func TestOpenReadOnlyChanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	appendTestAudit(t, db, 1)
	db.Close()
	r, err := OpenReadOnly(t.Context(), path)
	if err != nil {
		t.Fatalf("open read-only: %v", err)
	}
	defer r.Close()
	db, err = Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Unchanged(); !errors.Is(err, ErrChanged) {
		t.Errorf("Unchanged with a writer open = %v, want ErrChanged", err)
	}
	appendTestAudit(t, db, 300)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-wal"); err == nil {
		t.Fatal("precondition: the log outlived the last connection")
	}
	if err := r.Unchanged(); !errors.Is(err, ErrChanged) {
		t.Errorf("Unchanged after a writer wrote the file = %v, want ErrChanged", err)
	}
}

// TestOpenReadOnlySchema: a read-only open cannot migrate, so a file with
// another schema version than this build's is refused, saying which way,
// and left as it was.
func TestOpenReadOnlySchema(t *testing.T) {
	want := len(migrations())
	for _, tc := range []struct {
		name    string
		version int // -1: an empty file
		msg     string
	}{
		{"older", want - 1, fmt.Sprintf("database schema version %d is older than this build's (%d)", want-1, want)},
		{"newer", want + 1, "newer than this build supports"},
		{"empty file", -1, "no hub schema"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "hub.db")
			if tc.version < 0 {
				if err := os.WriteFile(path, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			} else {
				db, err := Open(t.Context(), path)
				if err != nil {
					t.Fatal(err)
				}
				db.Close()
				setUserVersion(t.Context(), t, path, tc.version)
			}
			before := dirState(t, dir)
			r, err := OpenReadOnly(t.Context(), path)
			if err == nil {
				r.Close()
				t.Fatalf("opened a file of schema version %d", tc.version)
			}
			if !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q; want it to name %s and say %q", err, path, tc.msg)
			}
			if d := diffState(before, dirState(t, dir)); d != "" {
				t.Errorf("a refused read-only open changed the directory: %s", d)
			}
		})
	}
}

// setUserVersion sets the file's schema version behind the store's back.
func setUserVersion(ctx context.Context, t *testing.T, path string, v int) {
	t.Helper()
	c := sql.OpenDB(newConnector(path+"?"+commonParams, "PRAGMA mmap_size = 0"))
	defer c.Close()
	if _, err := c.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v)); err != nil {
		t.Fatal(err)
	}
	var got int
	if err := c.QueryRowContext(ctx, "PRAGMA user_version").Scan(&got); err != nil || got != v {
		t.Fatalf("user_version = %d, %v", got, err)
	}
}
