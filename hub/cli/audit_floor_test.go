package cli_test

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3" // the tamperer's own SQLite client

	"github.com/shiftgate/shiftgate/hub"
)

// TestAuditVerifyRecordNumberedZero: a row numbered 0, added to the trail
// with a plain INSERT (the guards refuse only UPDATE and DELETE), is no
// record the hub sealed, yet the console's audit page lists it with the
// others. audit verify must exit 1 naming it, not print OK.
func TestAuditVerifyRecordNumberedZero(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := run(t, "device", "code", "--data", dir, "--site", "north", "--name", "north-1"); code != 0 {
		t.Fatalf("device code: %d %s", code, errs)
	}
	if code, out, errs := run(t, "audit", "verify", "--data", dir); code != 0 || !strings.HasPrefix(out, "OK: ") {
		t.Fatalf("verify before: %d %q %q", code, out, errs)
	}
	db, err := sql.Open("sqlite3", filepath.Join(dir, hub.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DROP TRIGGER audit_seq_from_one`); err != nil { // whoever holds the file can
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO audit SELECT 0, time, 'console:admin', 'token.revoke', 'token:x', 'console', detail, NULL, hash FROM audit WHERE seq = 1`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, out, errs := run(t, "audit", "verify", "--data", dir)
	if code != 1 || !strings.HasPrefix(out, "BROKEN at record 0:") || !strings.Contains(out, "outside the hub") {
		t.Errorf("verify with a record numbered 0: %d %q %q; want exit 1, BROKEN at record 0", code, out, errs)
	}
}
