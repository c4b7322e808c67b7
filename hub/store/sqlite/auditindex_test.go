package sqlite

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestCheckAuditIndexes: CheckAuditIndexes finds the deferred audit
// indexes edited in the database, which the hash chain does not cover: an
// entry removed (the record vanishes from searches by its subject or
// action), added or changed (a record shown under another user), one past
// the mark, and a mark removed or moved past the newest record. Untouched
// indexes, wholly or partly caught up, are found whole.
func TestCheckAuditIndexes(t *testing.T) {
	tests := []struct {
		name   string
		tamper []string // run after the indexes caught up on records 1 to 40
		more   int      // records appended after, not indexed
		index  string   // "": whole
		val    string
		seq    int64
		reason string // in the error
	}{
		{name: "untouched"},
		{name: "untouched, a tail not indexed yet", more: 9},
		{name: "subject entry removed", tamper: []string{`DELETE FROM audit_by_subject WHERE val = 'user:u3'`},
			index: "audit_by_subject", val: "user:u3", seq: 3, reason: `record 3 does not show in searches for subject "user:u3"`},
		{name: "action entry removed", tamper: []string{`DELETE FROM audit_by_action WHERE seq = 17`}, more: 2,
			index: "audit_by_action", val: "action.2", seq: 17, reason: `lacks ("action.2", 17)`},
		{name: "subject entry added", tamper: []string{`INSERT INTO audit_by_subject (val, seq) VALUES ('user:u1', 4)`},
			index: "audit_by_subject", val: "user:u1", seq: 4, reason: `record 4's subject is "user:u4": searches for subject "user:u1" show it`},
		{name: "action entry added", tamper: []string{`INSERT INTO audit_by_action (val, seq) VALUES ('audit.alert', 30)`},
			index: "audit_by_action", val: "audit.alert", seq: 30, reason: `record 30's action is "action.0"`},
		{name: "subject entry moved to another user", tamper: []string{`UPDATE audit_by_subject SET val = 'user:u1' WHERE seq = 12`},
			index: "audit_by_subject", val: "user:u5", seq: 12, reason: `lacks ("user:u5", 12)`},
		{name: "entry for no record", tamper: []string{`INSERT INTO audit_by_subject (val, seq) VALUES ('user:u1', 0)`},
			index: "audit_by_subject", val: "user:u1", seq: 0, reason: "there is no record 0"},
		{name: "entry past the mark", tamper: []string{`INSERT INTO audit_by_action (val, seq) VALUES ('action.2', 41)`}, more: 3,
			index: "audit_by_action", val: "action.2", seq: 41, reason: "searches show record 41 twice"},
		{name: "mark lowered", tamper: []string{`UPDATE index_marks SET done = 25 WHERE name = 'audit'`},
			index: "audit_by_action", val: "action.2", seq: 26, reason: "only records up to 25 are indexed"},
		{name: "mark past the newest record", tamper: []string{`UPDATE index_marks SET done = 1000 WHERE name = 'audit'`},
			index: "index_marks", reason: "records 41 to 1000 will be left out of every search"},
		{name: "mark removed", tamper: []string{`DELETE FROM index_marks WHERE name = 'audit'`},
			index: "index_marks", reason: "no mark"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
			// The test runs the passes: a background one must not index
			// the tail, or put back what the test removed.
			db.stop()
			<-db.indexed
			ctx := t.Context()
			appendAudit(t, db, 40)
			if err := db.catchUp(ctx, 0); err != nil {
				t.Fatal(err)
			}
			appendAudit(t, db, tt.more)
			for _, q := range tt.tamper {
				if err := db.writeTx(ctx, func(q2 querier) error { _, err := q2.ExecContext(ctx, q); return err }); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			err := db.CheckAuditIndexes(ctx)
			if tt.index == "" {
				if err != nil {
					t.Fatalf("CheckAuditIndexes of untouched indexes = %v", err)
				}
				return
			}
			var ie *store.AuditIndexError
			if !errors.As(err, &ie) {
				t.Fatalf("CheckAuditIndexes = %v, want an *AuditIndexError", err)
			}
			if ie.Index != tt.index || ie.Val != tt.val || ie.Seq != tt.seq || !strings.Contains(ie.Reason, tt.reason) {
				t.Errorf("CheckAuditIndexes = %+v, want index %s, entry (%q, %d), reason with %q", ie, tt.index, tt.val, tt.seq, tt.reason)
			}
		})
	}
}

// BenchmarkCheckAuditIndexes checks the indexes of a trail of 100,000
// records of a thousand users, with details of a typical size.
func BenchmarkCheckAuditIndexes(b *testing.B) {
	db, err := Open(b.Context(), filepath.Join(b.TempDir(), "hub.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.stop()
	<-db.indexed
	ctx := b.Context()
	detail := []byte(`{"before":{"active":true,"sites":["north","south"],"roles":["picker"]},"after":{"active":false,"sites":["north"],"roles":[]},"reason":"` + strings.Repeat("x", 120) + `"}`)
	var prev []byte
	base := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	for lo := int64(1); lo <= 100_000; lo += 1000 {
		rs := make([]store.AuditRecord, 1000)
		for i := range rs {
			s := lo + int64(i)
			hash := fmt.Appendf(nil, "%032d", s)
			rs[i] = store.AuditRecord{Seq: s, Time: base.Add(time.Duration(s) * time.Second), Actor: "scheduler",
				Action: fmt.Sprintf("action.%d", s%20), Subject: fmt.Sprintf("user:%08d-aaaa-bbbb-cccc-%012d", s%1000, s%1000), System: "scim",
				Detail: detail, Prev: prev, Hash: hash}
			prev = hash
		}
		if err := db.AppendAuditBatch(ctx, rs); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.catchUp(ctx, 0); err != nil {
		b.Fatal(err)
	}
	// As the hub's checkpoints keep it: the records in the file, read
	// through its memory map, not in the write-ahead log.
	if _, err := db.writer.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := db.CheckAuditIndexes(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
