package sqlite

import (
	"bytes"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// syncBuffer is a log sink the index passes may write to from another
// goroutine than the test's.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// openCutTest opens a store whose index passes the test runs itself, and
// whose log it reads.
func openCutTest(t *testing.T) (*DB, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	db, err := openWith(t.Context(), filepath.Join(t.TempDir(), "hub.db"),
		Options{Logger: slog.New(slog.NewTextHandler(logs, nil))}, nil)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	db.stop()
	<-db.indexed
	return db, logs
}

// indexedThenCut is openCutTest with n records appended and indexed,
// then the trail cut back to head (cutAudit): where every test of a cut
// starts.
func indexedThenCut(t *testing.T, n int, head int64) (*DB, *syncBuffer) {
	t.Helper()
	db, logs := openCutTest(t)
	appendAudit(t, db, n)
	if err := db.catchUp(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	cutAudit(t, db, head)
	return db, logs
}

// cutAudit deletes the audit records past head, as whoever can write
// hub.db can (the append-only guard is a trigger they can drop).
func cutAudit(t *testing.T, db *DB, head int64) {
	t.Helper()
	ctx := t.Context()
	err := db.writeTx(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `DROP TRIGGER audit_no_delete`); err != nil {
			return err
		}
		_, err := q.ExecContext(ctx, `DELETE FROM audit WHERE seq > ?`, head)
		return err
	})
	if err != nil {
		t.Fatalf("cut the trail after %d: %v", head, err)
	}
}

// appendAfterCut appends n records through the store, of a subject and
// an action no record before the cut had, as the audit watch's alert on
// the cut is, and returns their seqs.
func appendAfterCut(t *testing.T, db *DB, n int) []int64 {
	t.Helper()
	ctx := t.Context()
	seqs := []int64{}
	for range n {
		seq, prev, err := db.AuditHead(ctx)
		if err != nil {
			t.Fatal(err)
		}
		s := seq + 1
		r := store.AuditRecord{Seq: s, Time: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC).Add(time.Duration(s) * time.Second),
			Actor: "hub", Action: "audit.alert", Subject: "audit", System: "test",
			Detail: []byte(`{"problem":"cut"}`), Prev: prev, Hash: fmt.Appendf(nil, "after-cut-%d", s)}
		if err := db.AppendAudit(ctx, r); err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, s)
	}
	return seqs
}

// checkAfterCut holds the searches and the indexes to the records after a
// cut: the records written since are found by their subject and action,
// under no deleted record's, and the indexes agree with the records.
func checkAfterCut(t *testing.T, db *DB, after []int64) {
	t.Helper()
	ctx := t.Context()
	for _, aq := range []store.AuditQuery{{Subject: "audit"}, {Action: "audit.alert"}, {Subject: "audit", Action: "audit.alert"}} {
		rs, err := db.ListAudit(ctx, aq)
		if err != nil {
			t.Fatal(err)
		}
		got := []int64{}
		for _, r := range rs {
			got = append(got, r.Seq)
		}
		if !slices.Equal(got, after) {
			t.Errorf("ListAudit(%+v) = records %v, want %v", aq, got, after)
		}
	}
	// The subjects and actions of the records cut off (appendAudit's),
	// among them those whose seqs the new records took.
	for i := range 7 {
		for _, aq := range []store.AuditQuery{{Subject: fmt.Sprintf("user:u%d", i)}, {Action: fmt.Sprintf("action.%d", i%3)}} {
			rs, err := db.ListAudit(ctx, aq)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				if r.Subject == "audit" {
					t.Errorf("ListAudit(%+v) shows record %d, of subject %q and action %q", aq, r.Seq, r.Subject, r.Action)
				}
			}
		}
	}
	checkAuditQueries(t, db)
	if err := db.CheckAuditIndexes(ctx); err != nil {
		t.Errorf("CheckAuditIndexes after the passes followed the cut = %v", err)
	}
	head, _, _ := db.AuditHead(ctx)
	if got := scalar(t, db, `SELECT done FROM index_marks WHERE name = 'audit'`); got != head {
		t.Errorf("the audit indexes cover the records up to %d, want the head %d", got, head)
	}
}

// TestIndexPassFollowsCutTrail: records cut off the end of the trail below
// the indexes' mark left the mark above the head, and the passes indexed
// nothing at or below it again: the records written since (the audit
// watch's alert on the cut among them) were missing from every search by
// subject or action, and shown under the subjects of the records whose
// seqs they took. The passes now drop the entries the records no longer
// give, lower the mark, index the new records, and say so in the log,
// whether records were appended before the first pass after the cut or
// only after it.
func TestIndexPassFollowsCutTrail(t *testing.T) {
	tests := []struct {
		name          string
		before, after int   // records appended after the cut, before the first pass and after it
		newMark       int64 // where the first pass after the cut puts the mark
	}{
		{name: "records appended before the pass", before: 4, newMark: 30},
		{name: "pass right after the cut", after: 4, newMark: 30},
		{name: "both", before: 2, after: 3, newMark: 30},
		{name: "nothing appended", newMark: 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, logs := indexedThenCut(t, 40, 30)
			ctx := t.Context()
			after := appendAfterCut(t, db, tt.before)
			if _, err := db.indexPass(ctx); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"level=WARN", "cut off the end of the trail", "mark=40", fmt.Sprintf("head=%d", 30+tt.before), fmt.Sprintf("new_mark=%d", tt.newMark)} {
				if !strings.Contains(logs.String(), want) {
					t.Errorf("the pass after the cut logged %q, want it to say %q", logs.String(), want)
				}
			}
			after = append(after, appendAfterCut(t, db, tt.after)...)
			if err := db.catchUp(ctx, 0); err != nil {
				t.Fatal(err)
			}
			checkAfterCut(t, db, after)
			if n := strings.Count(logs.String(), "cut off the end of the trail"); n != 1 {
				t.Errorf("the passes logged the cut %d times, want once", n)
			}
		})
	}
}

// TestIndexPassFollowsCutTrailUnderWrites runs the passes beside the
// store's writes after a cut, as the hub does: whatever the order in which
// they take the writer, the indexes end up agreeing with the records.
func TestIndexPassFollowsCutTrailUnderWrites(t *testing.T) {
	db, _ := indexedThenCut(t, indexChunk+40, 20)
	ctx := t.Context()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := db.indexPass(ctx); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	after := appendAfterCut(t, db, 60)
	close(stop)
	wg.Wait()
	if err := db.catchUp(ctx, 0); err != nil {
		t.Fatal(err)
	}
	checkAfterCut(t, db, after)
}

// TestIndexPassFollowsCutTrailWritesBetween: followCut finds where the
// indexes go wrong on a reader's snapshot, so the hub's writes go on
// meanwhile. Records written between its read and its write (past the
// snapshot's head, at seqs whose cut records' entries are still there) are
// indexed by the passes after it, and under their own subject only.
func TestIndexPassFollowsCutTrailWritesBetween(t *testing.T) {
	tests := []struct {
		name          string
		before, among int // records appended after the cut, before the pass and between followCut's read and write
	}{
		{name: "below the mark", before: 2, among: 3},
		{name: "up to the mark", among: 10},
		{name: "past the mark", before: 1, among: 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, logs := indexedThenCut(t, 40, 30)
			ctx := t.Context()
			after := appendAfterCut(t, db, tt.before)
			db.midCut = func() {
				db.midCut = nil
				after = append(after, appendAfterCut(t, db, tt.among)...)
			}
			if err := db.catchUp(ctx, 0); err != nil {
				t.Fatal(err)
			}
			if db.midCut != nil {
				t.Fatal("followCut did not run")
			}
			checkAfterCut(t, db, after)
			if !strings.Contains(logs.String(), "new_mark=30") {
				t.Errorf("the passes logged %q, want the mark lowered to 30", logs.String())
			}
		})
	}
}
