package sqlite

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/hub/store"
)

// appendAudit appends n records after the head, with subjects and actions
// drawn in turn from small sets so that every query below matches some.
func appendAudit(t *testing.T, db *DB, n int) {
	t.Helper()
	ctx := t.Context()
	seq, prev, err := db.AuditHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	rs := make([]store.AuditRecord, n)
	for i := range rs {
		s := seq + int64(i) + 1
		hash := fmt.Appendf(nil, "hash-%d", s)
		rs[i] = store.AuditRecord{
			Seq: s, Time: base.Add(time.Duration(s) * time.Second), Actor: fmt.Sprintf("actor-%d", s%2),
			Action: fmt.Sprintf("action.%d", s%3), Subject: fmt.Sprintf("user:u%d", s%7), System: "test",
			Detail: []byte(fmt.Sprintf(`{"n":%d}`, s)), Prev: prev, Hash: hash,
		}
		prev = hash
	}
	if err := db.AppendAuditBatch(ctx, rs); err != nil {
		t.Fatal(err)
	}
}

func scalar(t *testing.T, db *DB, query string) int64 {
	t.Helper()
	var v int64
	if err := db.reader.QueryRowContext(t.Context(), query).Scan(&v); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return v
}

// checkAuditQueries holds ListAudit and SearchAudit to the records a filter
// over the whole trail selects.
func checkAuditQueries(t *testing.T, db *DB) {
	t.Helper()
	ctx := t.Context()
	all, err := db.ListAudit(ctx, store.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	seqs := func(rs []store.AuditRecord) []int64 {
		out := []int64{}
		for _, r := range rs {
			out = append(out, r.Seq)
		}
		return out
	}
	head := all[len(all)-1].Seq
	for _, aq := range []store.AuditQuery{
		{Subject: "user:u3"},
		{Subject: "user:u3", AfterSeq: head - 40},
		{Subject: "user:u3", AfterSeq: 100, Limit: 7},
		{Subject: "user:u3", Action: "action.1"},
		{Subject: "user:nobody"},
		{Action: "action.2"},
		{Action: "action.2", AfterSeq: head - 100, Limit: 5},
	} {
		want := []int64{}
		for _, r := range all {
			if r.Seq > aq.AfterSeq && (aq.Subject == "" || r.Subject == aq.Subject) && (aq.Action == "" || r.Action == aq.Action) &&
				(aq.Limit == 0 || len(want) < aq.Limit) {
				want = append(want, r.Seq)
			}
		}
		got, err := db.ListAudit(ctx, aq)
		if err != nil {
			t.Fatalf("%+v: %v", aq, err)
		}
		if diff := cmp.Diff(want, seqs(got)); diff != "" {
			t.Errorf("ListAudit(%+v) (-want +got):\n%s", aq, diff)
		}
	}
	for _, aq := range []store.AuditSearch{
		{Subjects: []string{"user:u1"}, Limit: 50},
		{Subjects: []string{"user:u1", "user:u5"}, BeforeSeq: head - 10, Limit: 30},
		{Subjects: []string{"user:u1"}, Action: "action.0", Actor: "actor-1"},
		{Action: "action.1", Limit: 20},
		{Action: "action.1", Mentions: []string{`"n":4`}},
	} {
		want := []int64{}
		for _, r := range slices.Backward(all) {
			if (aq.BeforeSeq == 0 || r.Seq < aq.BeforeSeq) && (len(aq.Subjects) == 0 || slices.Contains(aq.Subjects, r.Subject)) &&
				(aq.Action == "" || r.Action == aq.Action) && (aq.Actor == "" || r.Actor == aq.Actor) &&
				(len(aq.Mentions) == 0 || slices.ContainsFunc(aq.Mentions, func(m string) bool { return strings.Contains(string(r.Detail), m) })) &&
				(aq.Limit == 0 || len(want) < aq.Limit) {
				want = append(want, r.Seq)
			}
		}
		got, err := db.SearchAudit(ctx, aq)
		if err != nil {
			t.Fatalf("%+v: %v", aq, err)
		}
		if diff := cmp.Diff(want, seqs(got)); diff != "" {
			t.Errorf("SearchAudit(%+v) (-want +got):\n%s", aq, diff)
		}
	}
}

// checkSessionHistory holds a user's history to the sessions of the whole
// table that are theirs.
func checkSessionHistory(t *testing.T, db *DB) {
	t.Helper()
	ctx := t.Context()
	all, err := db.ListSessions(ctx, store.SessionQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, sq := range []store.SessionQuery{
		{UserID: "u1"}, {UserID: "u2"}, {UserID: "u2", DeviceID: "k1"}, {UserID: "nobody"},
	} {
		want := []string{}
		for _, s := range all {
			if s.UserID == sq.UserID && (sq.DeviceID == "" || s.DeviceID == sq.DeviceID) {
				want = append(want, s.ID)
			}
		}
		got, err := db.ListSessions(ctx, sq)
		if err != nil {
			t.Fatal(err)
		}
		ids := []string{}
		for _, s := range got {
			ids = append(ids, s.ID)
		}
		if diff := cmp.Diff(want, ids); diff != "" {
			t.Errorf("ListSessions(%+v) (-want +got):\n%s", sq, diff)
		}
	}
}

func createSessions(t *testing.T, db *DB, from, n int) {
	t.Helper()
	base := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	for i := from; i < from+n; i++ {
		s := store.Session{
			ID: fmt.Sprintf("s%04d", i), UserID: fmt.Sprintf("u%d", i%3), DeviceID: fmt.Sprintf("k%d", i%2), Role: "picker", Apps: []string{"wms"},
			// Started out of insertion order, so that the history's order
			// is its own and not the table's.
			Started: base.Add(time.Duration((i*37)%101) * time.Minute), Expires: base.Add(12 * time.Hour),
		}
		if _, err := db.CreateSession(t.Context(), s); err != nil {
			t.Fatal(err)
		}
		if i%4 == 0 {
			if _, err := db.EndSession(t.Context(), s.ID, "signout", base.Add(13*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestDeferredIndexes checks that queries through the deferred indexes are
// exact while the indexes cover all, part or none of the records, and that
// a catch-up covers everything, more than one pass's worth included.
func TestDeferredIndexes(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	// The test decides when the indexes catch up: stop the background
	// passes (and the checkpoints, which share their context).
	db.stop()
	<-db.indexed
	ctx := t.Context()

	// Nothing indexed: every answer comes from the tails.
	appendAudit(t, db, indexChunk+500)
	createSessions(t, db, 0, 40)
	checkAuditQueries(t, db)
	checkSessionHistory(t, db)

	more, err := db.indexPass(ctx)
	if err != nil || !more {
		t.Fatalf("first pass: more %v, err %v; want more rows left after %d", more, err, indexChunk)
	}
	if got := scalar(t, db, `SELECT done FROM index_marks WHERE name = 'audit'`); got != indexChunk {
		t.Fatalf("after one pass the audit index covers %d records, want %d", got, indexChunk)
	}
	if got := scalar(t, db, `SELECT COUNT(*) FROM session_history_queue`); got != 0 {
		t.Fatalf("after one pass %d sessions are still queued", got)
	}
	// Part indexed: answers are merged from index and tail.
	checkAuditQueries(t, db)
	checkSessionHistory(t, db)

	if err := db.catchUp(ctx, 0); err != nil {
		t.Fatal(err)
	}
	head, _, _ := db.AuditHead(ctx)
	if got := scalar(t, db, `SELECT done FROM index_marks WHERE name = 'audit'`); got != head {
		t.Fatalf("after catching up the audit index covers %d records, want %d", got, head)
	}
	for _, table := range []string{"audit_by_subject", "audit_by_action"} {
		if got := scalar(t, db, `SELECT COUNT(*) FROM `+table); got != head {
			t.Errorf("%s holds %d entries, want %d", table, got, head)
		}
	}
	if got := scalar(t, db, `SELECT COUNT(*) FROM session_history`); got != 40 {
		t.Errorf("session_history holds %d sessions, want 40", got)
	}
	checkAuditQueries(t, db)
	checkSessionHistory(t, db)

	// New records and sessions after the catch-up: a tail again.
	appendAudit(t, db, 57)
	createSessions(t, db, 40, 9)
	if got := scalar(t, db, `SELECT COUNT(*) FROM session_history_queue`); got != 9 {
		t.Errorf("%d sessions queued, want 9", got)
	}
	checkAuditQueries(t, db)
	checkSessionHistory(t, db)
	if more, err := db.indexPass(ctx); err != nil || more {
		t.Fatalf("pass: more %v, err %v", more, err)
	}
	checkAuditQueries(t, db)
	checkSessionHistory(t, db)
}

// TestDeferredIndexesInBackground checks that the background passes catch
// up by themselves.
func TestDeferredIndexesInBackground(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	appendAudit(t, db, 100)
	createSessions(t, db, 0, 5)
	const wait = 10 * time.Second // 40 ticks: the CI machine runs other packages meanwhile
	deadline := time.Now().Add(wait)
	for scalar(t, db, `SELECT done FROM index_marks WHERE name = 'audit'`) != 100 ||
		scalar(t, db, `SELECT COUNT(*) FROM session_history`) != 5 {
		if time.Now().After(deadline) {
			t.Fatalf("the deferred indexes did not catch up within %v", wait)
		}
		time.Sleep(indexEvery / 5)
	}
	checkAuditQueries(t, db)
	checkSessionHistory(t, db)
}

// TestIndexDue: passes run when the writer is not busy; while it is, they
// wait until the tail or the wait reaches its bound.
func TestIndexDue(t *testing.T) {
	for _, tc := range []struct {
		writes, backlog int64
		waited          time.Duration
		run             bool
	}{
		{0, 0, 0, true},
		{busyWrites - 1, maxDeferredRows * 2, maxDefer * 2, true},
		{busyWrites, 0, 0, false},
		{10 * busyWrites, maxDeferredRows - 1, maxDefer - time.Millisecond, false},
		{busyWrites, maxDeferredRows, 0, true},
		{busyWrites, 0, maxDefer, true},
	} {
		if run := indexDue(tc.writes, tc.backlog, tc.waited); run != tc.run {
			t.Errorf("indexDue(%d writes, backlog %d, waited %v) = %v, want %v", tc.writes, tc.backlog, tc.waited, run, tc.run)
		}
	}
}

// TestDeferredIndexesWaitWhileBusy: while others keep the writer busy the
// passes wait, and they catch up once it is quiet; queries are exact
// throughout.
func TestDeferredIndexesWaitWhileBusy(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	busyFor := 6 * indexEvery
	for end := time.Now().Add(busyFor); time.Now().Before(end); {
		appendAudit(t, db, 1)
	}
	if db.deferred.Load() == 0 {
		t.Fatalf("no tick waited during %v of back-to-back writes (%d written)", busyFor, scalar(t, db, `SELECT MAX(seq) FROM audit`))
	}
	checkAuditQueries(t, db)
	head := scalar(t, db, `SELECT MAX(seq) FROM audit`)
	const wait = 10 * time.Second
	deadline := time.Now().Add(wait)
	for scalar(t, db, `SELECT done FROM index_marks WHERE name = 'audit'`) != head {
		if time.Now().After(deadline) {
			t.Fatalf("the deferred indexes did not catch up within %v of the writer going quiet", wait)
		}
		time.Sleep(indexEvery / 5)
	}
	checkAuditQueries(t, db)
}

// TestHoldIndexes: no pass starts while a hold lasts, until it is
// released or its bound passes.
func TestHoldIndexes(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	mark := func() int64 { return scalar(t, db, `SELECT done FROM index_marks WHERE name = 'audit'`) }
	waitMark := func(want int64, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for mark() != want {
			if time.Now().After(deadline) {
				t.Fatalf("the passes did not index up to %d within %v (at %d)", want, within, mark())
			}
			time.Sleep(indexEvery / 5)
		}
	}

	release := db.HoldIndexes(time.Hour)
	release2 := db.HoldIndexes(time.Hour)
	appendAudit(t, db, 10)
	time.Sleep(4 * indexEvery)
	if m := mark(); m != 0 {
		t.Fatalf("indexed up to %d while held", m)
	}
	checkAuditQueries(t, db)
	release()
	release() // a second call releases nothing more
	time.Sleep(2 * indexEvery)
	if m := mark(); m != 0 {
		t.Fatalf("indexed up to %d while the second hold lasts", m)
	}
	release2()
	waitMark(10, 10*time.Second)

	db.HoldIndexes(indexEvery) // never released: its bound ends it
	appendAudit(t, db, 10)
	waitMark(20, 10*time.Second)
}

// TestMigrateDeferredIndexes opens a file from before the deferred indexes
// that holds audit records and sessions: the migration indexes them all,
// and sessions created afterwards are queued for the next pass.
func TestMigrateDeferredIndexes(t *testing.T) {
	ctx := t.Context()
	path, raw := dbBefore(t, schemaDeferredIndexes)
	for i := 1; i <= 30; i++ {
		if _, err := raw.ExecContext(ctx, `INSERT INTO audit (`+auditCols+`) VALUES (?, ?, 'a', ?, ?, 'test', '{}', NULL, ?)`,
			i, int64(i)*1e9, fmt.Sprintf("action.%d", i%3), fmt.Sprintf("user:u%d", i%7), fmt.Appendf(nil, "h%d", i)); err != nil {
			t.Fatal(err)
		}
		if _, err := raw.ExecContext(ctx, `INSERT INTO sessions (id, user_id, device_id, role, apps, started, expires, ended, end_reason) VALUES (?, ?, 'k1', 'picker', '[]', ?, ?, 0, '')`,
			fmt.Sprintf("s%04d", i), fmt.Sprintf("u%d", i%3), int64(i)*1e9, int64(i+100)*1e9); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	db := openTest(t, path)
	db.stop() // no background pass: what is indexed is the migration's doing
	<-db.indexed
	if got := scalar(t, db, `SELECT done FROM index_marks WHERE name = 'audit'`); got != 30 {
		t.Errorf("the migration indexed the audit up to %d, want 30", got)
	}
	for table, want := range map[string]int64{"audit_by_subject": 30, "audit_by_action": 30, "session_history": 30, "session_history_queue": 0} {
		if got := scalar(t, db, `SELECT COUNT(*) FROM `+table); got != want {
			t.Errorf("%s holds %d rows, want %d", table, got, want)
		}
	}
	createSessions(t, db, 100, 3)
	if got := scalar(t, db, `SELECT COUNT(*) FROM session_history_queue`); got != 3 {
		t.Errorf("%d new sessions queued, want 3", got)
	}
	checkAuditQueries(t, db)
	checkSessionHistory(t, db)
}
