package governance_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // the tamperer's own SQLite client

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// tamperDB opens e's database file with a SQLite client of its own, as
// someone with write access to the data directory would. newEnv made it
// in the test's first temporary directory.
func (e *env) tamperDB() *sql.DB {
	e.t.Helper()
	paths, err := filepath.Glob(filepath.Join(filepath.Dir(e.t.TempDir()), "*", "hub.db"))
	if err != nil || len(paths) != 1 {
		e.t.Fatalf("the test's database: %v, %v", paths, err)
	}
	db, err := sql.Open("sqlite3", "file:"+paths[0]+"?_busy_timeout=5000")
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { db.Close() })
	return db
}

// TestEvidenceIgnoresRecordsNumberedBelowOne: a decision made up in the
// database (a pending item set to keep) and backed by a review.decide row
// numbered 0, which nobody sealed (the hub numbers records from 1, and
// audit verify walks from there), is a decision without a record: the
// evidence must say "missing", not "recorded" with an empty audit_seq.
func TestEvidenceIgnoresRecordsNumberedBelowOne(t *testing.T) {
	e := newEnv(t, t0)
	ctx := context.Background()
	ana := e.user("ana", []string{"north"}, nil)
	items := e.itemsOf("all")
	it := items["ana site north"]
	decided := t0.Add(time.Hour)
	e.at(decided)

	// The item is an ordinary row: set to keep, as if mallory decided.
	got, err := e.st.UpdateReviewItem(ctx, it.ID, func(r store.ReviewItem) (store.ReviewItem, error) {
		r.Decision, r.Decided, r.DecidedBy = store.ReviewKeep, decided, "console:mallory"
		return r, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db := e.tamperDB()
	if _, err := db.Exec(`DROP TRIGGER audit_seq_from_one`); err != nil { // whoever holds the file can
		t.Fatal(err)
	}
	detail := `{"campaign":"` + it.Campaign + `","item":"` + it.ID + `","kind":"site","entitlement":"north","decision":"keep","reviewer":"` + got.ReviewerID + `"}`
	if _, err := db.Exec(`INSERT INTO audit (seq, time, actor, action, subject, system, detail, prev, hash)
		VALUES (0, ?, 'console:mallory', 'review.decide', ?, 'console', CAST(? AS BLOB), NULL, zeroblob(32))`,
		decided.UnixNano(), "user:"+ana.ID, detail); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO audit_by_action (val, seq) VALUES ('review.decide', 0)`); err != nil {
		t.Fatal(err)
	}

	ev, err := e.gov.Evidence(ctx, it.Campaign)
	if err != nil {
		t.Fatal(err)
	}
	row := evidenceRows(ev)["ana site north"]
	if row.AuditCheck != governance.AuditMissing || row.AuditSeq != 0 || ev.Totals.AuditUnmatched != 1 {
		t.Errorf("evidence of a decision backed only by a record numbered 0: audit_check %q, audit_seq %d, unmatched %d; want missing, 0, 1",
			row.AuditCheck, row.AuditSeq, ev.Totals.AuditUnmatched)
	}
}

// TestReportCSVPeriodExact: the period rows of the CSV give the bounds the
// report was counted over, to the nanosecond, as the JSON does: a bound
// given as an RFC 3339 time with a fraction of a second is not shown
// rounded down to another instant.
func TestReportCSVPeriodExact(t *testing.T) {
	p, err := governance.ParsePeriod("2026-07-01T00:00:00.5Z", "2026-09-30T23:59:59.999Z")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := governance.WriteReportCSV(&b, governance.Report{Period: &p}); err != nil {
		t.Fatal(err)
	}
	want := "metric,statistic,value\nperiod,since,2026-07-01T00:00:00.5Z\nperiod,until,2026-09-30T23:59:59.999Z\n"
	if !strings.HasPrefix(b.String(), want) {
		t.Errorf("CSV period rows:\n%s\nwant them to start\n%s", b.String(), want)
	}
}
