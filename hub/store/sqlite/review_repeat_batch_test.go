package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestReviewRepeatWaitsForTheDecisionsCommit: a reviewer's retry that
// races its first request (both in flight) lands in the same group-commit
// batch, after it, and reads its decision before that decision is
// committed. The retry is a repeat (governance.Service.Decide answers the
// item as recorded), but it must answer only once what it answers is
// durable: the batch's COMMIT can still fail (here a write after the two
// makes SQLite roll the whole transaction back, as a full disk does). The
// retry answered at once, before the commit, with a revoke that was then
// rolled back: the reviewer was told their decision stood while the item
// stayed pending (and the first request's error was never retried).
// Another reviewer's decision in the same batch is refused (409) naming
// that decision, its maker and its time: only once it is committed, too.
func TestReviewRepeatWaitsForTheDecisionsCommit(t *testing.T) {
	ctx := t.Context()
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	log, err := audit.New(make([]byte, 32), clock)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := lifecycle.New(lifecycle.Config{Store: db, Audit: log, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	gov, err := governance.New(governance.Config{Store: db, Audit: log, Engine: eng, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	c := store.Campaign{ID: "c1", Name: "q", Due: now.Add(48 * time.Hour), Created: now, CreatedBy: "test"}
	item := store.ReviewItem{ID: "i1", CampaignID: c.ID, UserID: "u-gone", Kind: store.ReviewItemSite, Entitlement: "north",
		Detail: "site north", ReviewerKind: governance.ReviewerAdmins, Decision: store.ReviewPending, Created: now}
	if _, err := db.CreateCampaign(ctx, c, []store.ReviewItem{item}); err != nil {
		t.Fatal(err)
	}
	// A write that makes SQLite roll back the whole transaction it is in.
	if _, err := db.writer.ExecContext(ctx, `CREATE TABLE scratch (x TEXT PRIMARY KEY); INSERT INTO scratch VALUES ('taken')`); err != nil {
		t.Fatal(err)
	}
	rollback := func(q querier) error {
		_, err := q.ExecContext(context.Background(), `INSERT OR ROLLBACK INTO scratch VALUES ('taken')`)
		return err
	}

	d := governance.Decider{Actor: lifecycle.Actor{Name: "token:t1 (admin)", System: "api"}}
	other := governance.Decider{Actor: lifecycle.Actor{Name: "token:t2 (auditor)", System: "api"}}
	db.maxBatchTime = time.Minute
	hold, started := make(chan struct{}), make(chan struct{})
	var (
		wg      sync.WaitGroup
		decided [3]governance.ItemView
		errs    [3]error
	)
	wg.Go(func() {
		_ = db.writeTx(ctx, func(querier) error {
			close(started)
			<-hold // the others queue meanwhile, in order
			return nil
		})
	})
	<-started
	for i, who := range []governance.Decider{d, d, other} { // the request, its retry, another reviewer
		wg.Go(func() { decided[i], errs[i] = gov.Decide(ctx, who, item.ID, "revoke", "") })
		time.Sleep(20 * time.Millisecond)
	}
	wg.Go(func() { _ = db.writeTx(ctx, rollback) })
	time.Sleep(20 * time.Millisecond)
	close(hold)
	wg.Wait()

	got, err := db.GetReviewItem(ctx, item.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Decision != store.ReviewPending {
		t.Fatalf("item %s after its batch was rolled back: %s, want pending (the test's batch did not form)", got.ID, got.Decision)
	}
	for i, name := range []string{"the request", "its retry"} {
		if errs[i] == nil {
			t.Errorf("%s answered %s by %s for a decision that was rolled back; want the batch's error", name, decided[i].Decision, decided[i].DecidedBy)
		}
	}
	if errors.Is(errs[2], governance.ErrConflict) {
		t.Errorf("another reviewer was refused for a decision that was rolled back: %v", errs[2])
	}
}
