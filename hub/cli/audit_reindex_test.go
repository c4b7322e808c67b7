package cli_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub"
)

// indexState is what the deferred audit indexes of the database db hold:
// their mark and every entry, to compare a copy with what it was made of.
func indexState(t *testing.T, db *sql.DB) string {
	t.Helper()
	var s string
	if err := db.QueryRow(`SELECT COALESCE((SELECT group_concat(name || '=' || done) FROM index_marks), '-') || ' | ' ||
		COALESCE((SELECT group_concat(val || '@' || seq) FROM (SELECT * FROM audit_by_subject ORDER BY val, seq)), '') || ' | ' ||
		COALESCE((SELECT group_concat(val || '@' || seq) FROM (SELECT * FROM audit_by_action ORDER BY val, seq)), '')`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// keptCopy is the copy audit reindex printed on stdout that it kept.
func keptCopy(t *testing.T, stdout string) string {
	t.Helper()
	_, rest, ok := strings.Cut(stdout, "copy before the rebuild: ")
	if !ok {
		t.Fatalf("audit reindex names no copy: %q", stdout)
	}
	return strings.TrimSpace(rest)
}

// TestAuditReindexRepairsSearchIndexes: audit reindex rebuilds the audit
// trail's search indexes from the records after someone removed and added
// entries, or removed or moved their mark, in hub.db; audit verify, which
// found them BROKEN, then says OK. Before the rebuild it keeps a copy of
// hub.db beside it (0600, a database SQLite checks as sound, holding the
// indexes as they were found: the evidence), and it seals the rebuild in
// the trail as an audit.reindex record of the CLI, naming the copy and
// what was found. (The only repair before was SQL to run by hand.)
func TestAuditReindexRepairsSearchIndexes(t *testing.T) {
	tests := []struct {
		name   string
		tamper string
	}{
		{name: "entries removed and added", tamper: `
			DELETE FROM audit_by_subject WHERE seq = (SELECT MIN(seq) FROM audit);
			DELETE FROM audit_by_action WHERE seq = (SELECT MAX(seq) FROM audit);
			INSERT INTO audit_by_subject (val, seq) VALUES ('user:someone-else', (SELECT MAX(seq) FROM audit));
			INSERT INTO audit_by_action (val, seq) VALUES ('user.create', 1000)`},
		{name: "mark missing", tamper: `DELETE FROM index_marks WHERE name = 'audit'`},
		{name: "mark past the newest record", tamper: `UPDATE index_marks SET done = done + 1000 WHERE name = 'audit'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := indexedHub(t)
			db := openDB(t, dir)
			if _, err := db.Exec(tt.tamper); err != nil {
				t.Fatal(err)
			}
			found := indexState(t, db)
			code, stdout, stderr := run(t, "audit", "verify", "--data", dir)
			if code != 1 || !strings.HasPrefix(stdout, "BROKEN: audit search index ") {
				t.Fatalf("verify of the tampered indexes: %d %q %q", code, stdout, stderr)
			}
			var records int64
			if err := db.QueryRow(`SELECT COUNT(*) FROM audit`).Scan(&records); err != nil {
				t.Fatal(err)
			}

			code, stdout, stderr = run(t, "audit", "reindex", "--data", dir)
			if code != 0 || !strings.HasPrefix(stdout, fmt.Sprintf("OK: audit search indexes rebuilt from %d records and checked\n", records+1)) {
				t.Fatalf("audit reindex: exit %d, stdout %q, stderr %q; want 0 and OK", code, stdout, stderr)
			}
			if code, stdout, stderr := run(t, "audit", "verify", "--data", dir); code != 0 || !strings.HasPrefix(stdout, "OK: ") {
				t.Errorf("verify after audit reindex: %d %q %q", code, stdout, stderr)
			}

			// The copy: beside hub.db, the owner's only, sound, and the
			// database as it was found.
			cp := keptCopy(t, stdout)
			if filepath.Dir(cp) != mustAbs(t, dir) || !strings.HasPrefix(filepath.Base(cp), hub.DBFile+".before-reindex-") {
				t.Errorf("copy %s: want hub.db.before-reindex-TIME in %s", cp, dir)
			}
			fi, err := os.Stat(cp)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("copy mode %v, want 0600", fi.Mode().Perm())
			}
			cdb, err := sql.Open("sqlite3", "file:"+cp+"?mode=ro")
			if err != nil {
				t.Fatal(err)
			}
			defer cdb.Close()
			var check string
			if err := cdb.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
				t.Errorf("integrity_check of the copy: %q, %v", check, err)
			}
			if got := indexState(t, cdb); got != found {
				t.Errorf("the copy's indexes:\n%s\nwant them as found:\n%s", got, found)
			}
			if got := indexState(t, db); got == found {
				t.Error("the indexes are as they were found")
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".shiftgate-reindex-") {
					t.Errorf("left behind: %s", e.Name())
				}
			}

			// The trail records the rebuild, newest.
			var actor, system, subject, action string
			var detail []byte
			if err := db.QueryRow(`SELECT actor, system, subject, action, detail FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&actor, &system, &subject, &action, &detail); err != nil {
				t.Fatal(err)
			}
			var d struct{ Copy, Found string }
			if err := json.Unmarshal(detail, &d); err != nil {
				t.Fatal(err)
			}
			if actor != "cli" || system != "cli" || subject != "audit" || action != "audit.reindex" ||
				d.Copy != filepath.Base(cp) || !strings.HasPrefix(d.Found, "audit search index ") {
				t.Errorf("newest record: %s %s %s %s %s; want audit.reindex by the cli naming the copy and what was found", actor, system, subject, action, detail)
			}
		})
	}
}

func mustAbs(t *testing.T, dir string) string {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// TestAuditReindexRefusedWhileHubRuns: audit reindex is refused while a
// hub holds the data directory's lock, saying to stop it first, with
// nothing changed: no copy made, the indexes as they were. Once the hub
// has stopped it runs.
func TestAuditReindexRefusedWhileHubRuns(t *testing.T) {
	dir := indexedHub(t)
	db := openDB(t, dir)
	if _, err := db.Exec(`DELETE FROM audit_by_subject WHERE seq = (SELECT MIN(seq) FROM audit)`); err != nil {
		t.Fatal(err)
	}
	found := indexState(t, db)
	stop := runningHub(t, dir)
	before := snapshot(t, dir, "hub.lock", hub.DBFile+"-shm")
	code, stdout, stderr := run(t, "audit", "reindex", "--data", dir)
	want := "audit reindex refused: a hub is running on " + dir + " (PID 4242): stop it first, then run audit reindex --data " + dir + " again"
	if code != 1 || stdout != "" || !strings.Contains(stderr, want) || !strings.Contains(stderr, "nothing was changed") {
		t.Errorf("audit reindex beside a hub: exit %d, stdout %q, stderr %q; want 1 and %q", code, stdout, stderr, want)
	}
	if after := snapshot(t, dir, "hub.lock", hub.DBFile+"-shm"); !maps(before, after) {
		t.Errorf("the refused command changed the directory:\nbefore %v\nafter  %v", before, after)
	}
	if got := indexState(t, db); got != found {
		t.Errorf("the refused command changed the indexes:\n%s\nwas\n%s", got, found)
	}
	stop()
	if code, stdout, stderr := run(t, "audit", "reindex", "--data", dir); code != 0 || !strings.HasPrefix(stdout, "OK: ") {
		t.Errorf("audit reindex once the hub stopped: %d %q %q", code, stdout, stderr)
	}
}
