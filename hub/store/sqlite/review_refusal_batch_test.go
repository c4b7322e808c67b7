package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestReviewRefusalsWaitForTheirCommit: Decide's refusals read what the
// deciding transaction reads, and an earlier write of the same
// group-commit batch may have made it: a rename that makes the item the
// decider's own access (403), a leaver whose access there is then nothing
// left to keep, notes another comment filled (409). The batch's COMMIT
// can still fail (here a write after them makes SQLite roll the whole
// transaction back, as a full disk does). A refusal answered at once,
// before the commit, told the reviewer about a rename, a leaver or notes
// that were then rolled back, and the reviewer, refused, did not retry a
// decision that would now stand. Each is answered with the batch's error
// instead, which the client retries.
func TestReviewRefusalsWaitForTheirCommit(t *testing.T) {
	const account = "ann-admin" // a console account linked to no hub user
	// ann's hub users, as the console reads them inside the decision's
	// transaction for an account linked to nobody: those of its name.
	annSelf := func(ctx context.Context, tx store.Ops) ([]string, error) {
		us, _, err := tx.ListUsers(ctx, store.UserQuery{UserName: account})
		var ids []string
		for _, u := range us {
			ids = append(ids, u.ID)
		}
		return ids, err
	}
	ann := governance.Decider{Actor: lifecycle.Actor{Name: "console:" + account, System: "console"}, Self: annSelf}
	token := governance.Decider{Actor: lifecycle.Actor{Name: "token:t1 (admin)", System: "api"}}
	for _, tc := range []struct {
		name string
		// earlier is the write before the decision in its batch, which
		// makes what the refusal names.
		earlier  func(ctx context.Context, db *DB) error
		d        governance.Decider
		decision string
		comment  string
		refusal  error
	}{
		{"own access after a rename", func(ctx context.Context, db *DB) error {
			_, err := db.UpdateUser(ctx, "u-bob", func(u store.User) (store.User, error) { u.UserName = account; return u, nil })
			return err
		}, ann, "keep", "", governance.ErrForbidden},
		{"keep of a leaver", func(ctx context.Context, db *DB) error {
			_, err := db.UpdateUser(ctx, "u-bob", func(u store.User) (store.User, error) {
				u.Active, u.State = false, store.UserDisabled
				return u, nil
			})
			return err
		}, token, "keep", "", governance.ErrConflict},
		{"notes filled by another comment", func(ctx context.Context, db *DB) error {
			_, err := db.UpdateReviewItem(ctx, "i1", func(it store.ReviewItem) (store.ReviewItem, error) {
				it.Comment = strings.Repeat("n", 20000-5) // governance's cap on an item's notes, nearly
				return it, nil
			})
			return err
		}, token, "comment", "checked with HR", governance.ErrConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
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
			if _, err := db.CreateUser(ctx, store.User{ID: "u-bob", UserName: "bob", Active: true, State: store.UserActive,
				Sites: []string{"north"}, Created: now, Modified: now}); err != nil {
				t.Fatal(err)
			}
			c := store.Campaign{ID: "c1", Name: "q", Due: now.Add(48 * time.Hour), Created: now, CreatedBy: "test"}
			item := store.ReviewItem{ID: "i1", CampaignID: c.ID, UserID: "u-bob", Kind: store.ReviewItemSite, Entitlement: "north",
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

			db.maxBatchTime = time.Minute
			hold, started := make(chan struct{}), make(chan struct{})
			var (
				wg       sync.WaitGroup
				earlyErr error
				decided  governance.ItemView
				err2     error
			)
			wg.Go(func() {
				_ = db.writeTx(ctx, func(querier) error {
					close(started)
					<-hold // the others queue meanwhile, in order
					return nil
				})
			})
			<-started
			wg.Go(func() { earlyErr = tc.earlier(ctx, db) })
			time.Sleep(20 * time.Millisecond)
			wg.Go(func() { decided, err2 = gov.Decide(ctx, tc.d, item.ID, tc.decision, tc.comment) })
			time.Sleep(20 * time.Millisecond)
			wg.Go(func() { _ = db.writeTx(ctx, rollback) })
			time.Sleep(20 * time.Millisecond)
			close(hold)
			wg.Wait()

			if earlyErr == nil {
				t.Fatal("the earlier write committed: the test's batch did not form")
			}
			if errors.Is(err2, tc.refusal) {
				t.Errorf("Decide was refused for what its batch wrote and then rolled back: %v; want the batch's error", err2)
			} else if err2 == nil {
				t.Errorf("Decide answered %+v in a batch that was rolled back; want the batch's error", decided)
			}
			// The same decision once the batch is gone stands: nothing
			// of the earlier write is left to refuse it for.
			if v, err := gov.Decide(ctx, tc.d, item.ID, tc.decision, tc.comment); err != nil {
				t.Errorf("the decision retried after the rollback: %v; want it to stand", err)
			} else if tc.decision == "keep" && v.Decision != "keep" {
				t.Errorf("the decision retried after the rollback: %+v", v)
			}
		})
	}
}
