package cli_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub"
)

// indexedHub is the data directory of a hub that has run and stopped,
// with its deferred audit indexes caught up on every record: the state
// that someone who edits the indexes in hub.db finds.
func indexedHub(t *testing.T) string {
	t.Helper()
	dir := signingHub(t, 3)
	catchUp(t, dir)
	return dir
}

// catchUp opens the hub's store in dir until its index passes have
// indexed every audit record.
func catchUp(t *testing.T, dir string) {
	t.Helper()
	st, err := hub.OpenStore(t.Context(), dir) // its index passes run
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	db := openDB(t, dir)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var caught bool
		if err := db.QueryRow(`SELECT (SELECT done FROM index_marks WHERE name = 'audit') = (SELECT MAX(seq) FROM audit)`).Scan(&caught); err != nil {
			t.Fatal(err)
		}
		if caught {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the deferred audit indexes never caught up")
		}
	}
}

func openDB(t *testing.T, dir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, hub.DBFile)+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestAuditVerifyChecksSearchIndexes: audit verify --data checks the
// audit trail's search indexes against the records, which the hash chain
// does not cover. Someone who can write hub.db removed a user's entries
// (their records vanished from searches by user) or added one (another
// user's record showed under them), and verify said OK; now it says
// BROKEN naming the first bad entry, exits 1, and says how to rebuild the
// indexes. Untouched indexes verify.
func TestAuditVerifyChecksSearchIndexes(t *testing.T) {
	type rec struct {
		seq             int64
		subject, action string
	}
	tests := []struct {
		name   string
		tamper func(a, b rec) string // a and b: two records with other subjects and actions
		want   func(a, b rec) string // on stdout; "": OK
	}{
		{name: "untouched"},
		{name: "subject entries removed",
			tamper: func(a, _ rec) string { return fmt.Sprintf(`DELETE FROM audit_by_subject WHERE val = '%s'`, a.subject) },
			want: func(a, _ rec) string {
				return fmt.Sprintf(`BROKEN: audit search index audit_by_subject: lacks (%q, %d)`, a.subject, a.seq)
			}},
		{name: "subject entry added",
			tamper: func(a, b rec) string {
				return fmt.Sprintf(`INSERT INTO audit_by_subject (val, seq) VALUES ('%s', %d)`, a.subject, b.seq)
			},
			want: func(a, b rec) string {
				return fmt.Sprintf(`BROKEN: audit search index audit_by_subject: holds (%q, %d), but record %d's subject is %q`, a.subject, b.seq, b.seq, b.subject)
			}},
		{name: "action entry removed",
			tamper: func(_, b rec) string {
				return fmt.Sprintf(`DELETE FROM audit_by_action WHERE val = '%s' AND seq = %d`, b.action, b.seq)
			},
			want: func(_, b rec) string {
				return fmt.Sprintf(`BROKEN: audit search index audit_by_action: lacks (%q, %d)`, b.action, b.seq)
			}},
		{name: "action entry added",
			tamper: func(a, b rec) string {
				return fmt.Sprintf(`INSERT INTO audit_by_action (val, seq) VALUES ('%s', %d)`, a.action, b.seq)
			},
			want: func(a, b rec) string {
				return fmt.Sprintf(`BROKEN: audit search index audit_by_action: holds (%q, %d), but record %d's action is %q`, a.action, b.seq, b.seq, b.action)
			}},
		{name: "mark moved past the newest record",
			tamper: func(_, b rec) string { return `UPDATE index_marks SET done = done + 1000 WHERE name = 'audit'` },
			want: func(_, _ rec) string {
				return `BROKEN: audit search index index_marks: the mark says the records up to `
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := indexedHub(t)
			db := openDB(t, dir)
			// The first record and the newest one of another subject and
			// action.
			var a, b rec
			if err := db.QueryRow(`SELECT seq, subject, action FROM audit ORDER BY seq LIMIT 1`).Scan(&a.seq, &a.subject, &a.action); err != nil {
				t.Fatal(err)
			}
			if err := db.QueryRow(`SELECT seq, subject, action FROM audit WHERE subject != ? AND action != ? ORDER BY seq DESC LIMIT 1`, a.subject, a.action).
				Scan(&b.seq, &b.subject, &b.action); err != nil {
				t.Fatalf("no record of another subject and action than %+v: %v", a, err)
			}
			if tt.tamper != nil {
				if _, err := db.Exec(tt.tamper(a, b)); err != nil {
					t.Fatal(err)
				}
			}
			code, stdout, stderr := run(t, "audit", "verify", "--data", dir)
			if tt.want == nil {
				if code != 0 || !strings.HasPrefix(stdout, "OK: ") {
					t.Fatalf("verify of untouched indexes: %d %q %q", code, stdout, stderr)
				}
				return
			}
			if want := tt.want(a, b); code != 1 || !strings.HasPrefix(stdout, want) {
				t.Errorf("verify: exit %d, stdout %q; want exit 1 and %q", code, stdout, want)
			}
			for _, w := range []string{"the hash chain is intact", "shiftgate-hub audit reindex --data " + dir} {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			// What it says to do puts the indexes right.
			if code, stdout, stderr := run(t, "audit", "reindex", "--data", dir); code != 0 {
				t.Fatalf("audit reindex: %d %q %q", code, stdout, stderr)
			}
			if code, stdout, stderr := run(t, "audit", "verify", "--data", dir); code != 0 || !strings.HasPrefix(stdout, "OK: ") {
				t.Errorf("verify after the indexes were rebuilt as it said: %d %q %q", code, stdout, stderr)
			}
		})
	}
}
