package cli_test

import (
	"database/sql"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/audit"
)

// TestRestoreOlderBackupQuickChecked: a backup of an older schema is
// checked as any other before it replaces the database, quick_check
// included (hub/README.md: "upgraded and checked beside it first"), not
// only its audit chain: a damaged page in a table that neither the
// upgrade nor the audit chain reads is refused, and the database in
// place is left as it was.
func TestRestoreOlderBackupQuickChecked(t *testing.T) {
	src, old, _ := olderHubWithTrail(t)
	damaged := filepath.Join(old, hub.DBFile)
	damagePage(t, damaged, "shift_extensions")

	live := t.TempDir()
	seedBackupHub(t, live)
	copyFiles(t, src, live, audit.KeyFile) // the older hub's trail's key
	before := snapshotBesideLock(t, live)
	code, stdout, stderr := run(t, "restore", "--data", live, "--from", damaged)
	if code != 1 || stdout != "" || !strings.Contains(stderr, "fails SQLite's check") || !strings.Contains(stderr, "nothing was changed") {
		t.Errorf("restore of a damaged older backup: exit %d, stdout %q, stderr %q; want it refused by quick_check", code, stdout, stderr)
	}
	if after := snapshotBesideLock(t, live); !maps(before, after) {
		t.Errorf("the refused restore changed the directory:\nbefore %v\nafter  %v", before, after)
	}
}

// damagePage makes the root page of table in the database at path (no
// write-ahead log) claim a cell outside the page, as a failed disk may
// leave it: the table is unreadable, which quick_check reports.
func damagePage(t *testing.T, path, table string) {
	t.Helper()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	var root, size int64
	err = db.QueryRow(`SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&root)
	if err == nil {
		err = db.QueryRow(`PRAGMA page_size`).Scan(&size)
	}
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		t.Fatalf("precondition: %s has a write-ahead log", path)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// A table leaf with one cell, whose pointer is past the page's end.
	hdr := make([]byte, 10)
	hdr[0] = 0x0d
	binary.BigEndian.PutUint16(hdr[3:], 1)
	binary.BigEndian.PutUint16(hdr[5:], uint16(size-16))
	binary.BigEndian.PutUint16(hdr[8:], 0xfff0)
	if _, err := f.WriteAt(hdr, (root-1)*size); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}
