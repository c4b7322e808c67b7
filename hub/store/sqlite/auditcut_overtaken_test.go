package sqlite

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestIndexPassFollowsCutTrailOvertaken: records cut off the end of the
// trail, and as many or more appended by the hub before the next pass (a
// pass runs every indexEvery, and waits up to maxDefer while the writer
// is busy), leave the mark at or below the head: the pass saw no cut, and
// indexed only the records past its mark. The entries of the cut records
// stayed, naming the seqs the new records took, so those records were
// missing from the searches by their own subject and action and shown
// under the cut records' ones.
func TestIndexPassFollowsCutTrailOvertaken(t *testing.T) {
	for _, before := range []int{10, 12} {
		t.Run(fmt.Sprintf("%d records appended after a cut of 10", before), func(t *testing.T) {
			db, _ := indexedThenCut(t, 40, 30)
			ctx := t.Context()
			after := appendAfterCut(t, db, before)
			if err := db.catchUp(ctx, 0); err != nil {
				t.Fatal(err)
			}
			checkAfterCut(t, db, after)
		})
	}
}

// TestIndexPassFollowsCutTrailSameAtMark: the record that took the mark's
// seq after a cut may give the very entries the cut one gave (the same
// user, the same action): the pass tells it by its hash, and the records
// below it, which give other entries, are indexed again as well.
func TestIndexPassFollowsCutTrailSameAtMark(t *testing.T) {
	db, logs := indexedThenCut(t, 40, 30)
	ctx := t.Context()
	after := appendAfterCut(t, db, 9)
	seq, prev, err := db.AuditHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Record 40 as appendAudit wrote the one cut, but for its hash.
	r := store.AuditRecord{Seq: seq + 1, Time: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC), Actor: "actor-0",
		Action: fmt.Sprintf("action.%d", (seq+1)%3), Subject: fmt.Sprintf("user:u%d", (seq+1)%7), System: "test",
		Detail: []byte(`{"n":40}`), Prev: prev, Hash: []byte("rewritten-40")}
	if r.Seq != 40 {
		t.Fatalf("the record at the mark would be %d, want 40", r.Seq)
	}
	if err := db.AppendAudit(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := db.catchUp(ctx, 0); err != nil {
		t.Fatal(err)
	}
	checkAfterCut(t, db, after)
	if !strings.Contains(logs.String(), "new_mark=30") {
		t.Errorf("the passes logged %q, want the mark lowered to 30", logs.String())
	}
}

// TestIndexPassGapAtMark: a record deleted from the middle of the trail,
// at the indexes' mark, is a gap, not a cut (no record takes its seq):
// the passes index the records after it and go on, rather than look for
// a cut at every pass.
func TestIndexPassGapAtMark(t *testing.T) {
	db, logs := openCutTest(t)
	ctx := t.Context()
	appendAudit(t, db, 35)
	if err := db.catchUp(ctx, 0); err != nil {
		t.Fatal(err)
	}
	appendAudit(t, db, 5)
	err := db.writeTx(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `DROP TRIGGER audit_no_delete`); err != nil {
			return err
		}
		_, err := q.ExecContext(ctx, `DELETE FROM audit WHERE seq = 35`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := db.indexPass(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := scalar(t, db, `SELECT done FROM index_marks WHERE name = 'audit'`); got != 40 {
		t.Errorf("the audit indexes cover the records up to %d, want 40", got)
	}
	if strings.Contains(logs.String(), "cut off the end of the trail") {
		t.Errorf("the passes took a gap for a cut: %q", logs.String())
	}
}
