package sqlite

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestCreateCampaignAtomicInTx: CreateCampaign stores a campaign and its
// items in one step also inside InTx, where a caller may carry on after
// an error (here: an item ID that is taken). Nothing of the refused
// campaign may be committed with the rest of the transaction.
func TestCreateCampaignAtomicInTx(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	ctx := t.Context()
	now := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	item := func(id, campaign string) store.ReviewItem {
		return store.ReviewItem{ID: id, CampaignID: campaign, UserID: "u1", Kind: store.ReviewItemSite, Entitlement: "north",
			Decision: store.ReviewPending, Created: now}
	}
	if _, err := db.CreateCampaign(ctx, store.Campaign{ID: "c1", Name: "first", Due: now, Created: now},
		[]store.ReviewItem{item("taken", "c1")}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		items []store.ReviewItem
	}{
		{"taken item ID", []store.ReviewItem{item("i1", "c2"), item("taken", "c2")}},
		{"item ID twice", []store.ReviewItem{item("i1", "c2"), item("i2", "c2"), item("i2", "c2")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := db.InTx(ctx, func(tx store.Ops) error {
				_, err := tx.CreateCampaign(ctx, store.Campaign{ID: "c2", Name: "second", Due: now, Created: now}, tc.items)
				if !errors.Is(err, store.ErrConflict) {
					return fmt.Errorf("create campaign: %v, want ErrConflict", err)
				}
				// The caller handles the conflict and commits its other writes.
				_, err = tx.CreateSite(ctx, store.Site{ID: "s-" + tc.name, Name: tc.name, Created: now})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if c, err := db.GetCampaign(ctx, "c2"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("refused campaign kept: %+v, %v", c, err)
			}
			if it, err := db.GetReviewItem(ctx, "i1"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("item of the refused campaign kept: %+v, %v", it, err)
			}
			if _, err := db.GetSiteByName(ctx, tc.name); err != nil {
				t.Errorf("the transaction's other write: %v", err)
			}
		})
	}
}

// TestCloseWithQueuedWrites: writes queued behind a running batch when
// Close is called are run and committed (or fail) before Close returns,
// and report what became of them: none is lost while reported stored.
func TestCloseWithQueuedWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	db.maxBatch = 4 // several batches, so leadership passes on during Close
	hold, started := make(chan struct{}), make(chan struct{})
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		errs[0] = db.InTx(ctx, func(tx store.Ops) error {
			close(started)
			<-hold
			_, err := tx.CreateSite(ctx, store.Site{ID: "s00", Name: "site-00"})
			return err
		})
	}()
	<-started
	for i := 1; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = db.CreateSite(ctx, store.Site{ID: fmt.Sprintf("s%02d", i), Name: fmt.Sprintf("site-%02d", i)})
		}()
	}
	time.Sleep(50 * time.Millisecond) // let them queue
	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	time.Sleep(20 * time.Millisecond) // Close waits for the batches
	close(hold)
	wg.Wait()
	if err := <-closed; err != nil {
		t.Fatalf("close: %v", err)
	}

	db = openTest(t, path)
	for i, err := range errs {
		_, gerr := db.GetSiteByName(ctx, fmt.Sprintf("site-%02d", i))
		if err == nil && gerr != nil {
			t.Errorf("write %d reported success, but its site is not stored: %v", i, gerr)
		}
		if err != nil && !errors.Is(err, errClosed) {
			t.Errorf("write %d: %v; want success or errClosed", i, err)
		}
	}
}
