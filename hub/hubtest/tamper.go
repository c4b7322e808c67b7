package hubtest

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	_ "github.com/mattn/go-sqlite3" // the tamperer's own SQLite client

	"github.com/shiftgate/shiftgate/hub"
)

// CutAuditTrail deletes the audit records after seq from the database in
// dir, as someone with write access to the file does, the append-only
// guard dropped first; a running hub's connections see it at once.
func CutAuditTrail(t testing.TB, dir string, seq int64) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, hub.DBFile)+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{`DROP TRIGGER IF EXISTS audit_no_delete`, fmt.Sprintf(`DELETE FROM audit WHERE seq > %d`, seq)} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}
