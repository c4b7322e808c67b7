package console

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

// pageReadStore is the hub's store with a change made once, right after
// the first read of a page of pending review items, in or out of a read
// transaction: a decision another request commits while the campaign
// page is being read.
type pageReadStore struct {
	store.Store
	mu    sync.Mutex
	after func()
	fired bool
}

// afterPending runs the armed change once, after a read of pending items.
func (s *pageReadStore) afterPending(q store.CampaignItemQuery) {
	if q.Decision != store.ReviewPending {
		return
	}
	s.mu.Lock()
	f := s.after
	s.after = nil
	s.mu.Unlock()
	if f != nil {
		f()
		s.mu.Lock()
		s.fired = true
		s.mu.Unlock()
	}
}

func (s *pageReadStore) ListCampaignItems(ctx context.Context, q store.CampaignItemQuery) (store.CampaignItems, error) {
	out, err := s.Store.ListCampaignItems(ctx, q)
	s.afterPending(q)
	return out, err
}

func (s *pageReadStore) InReadTx(ctx context.Context, fn func(tx store.Ops) error) error {
	return s.Store.InReadTx(ctx, func(tx store.Ops) error { return fn(pageReadOps{Ops: tx, s: s}) })
}

// pageReadOps are a read transaction's Ops with pageReadStore's hook.
type pageReadOps struct {
	store.Ops
	s *pageReadStore
}

func (o pageReadOps) ListCampaignItems(ctx context.Context, q store.CampaignItemQuery) (store.CampaignItems, error) {
	out, err := o.Ops.ListCampaignItems(ctx, q)
	o.s.afterPending(q)
	return out, err
}

// TestCampaignPagePendingFirstOneSnapshot: the campaign page with no
// filter lists the pending items and then the decided ones, read as two
// pages. A decision committed between the two reads made its item both
// pending in the first and decided in the second: listed twice, with a
// total of items one more than the campaign holds (and on a later page
// an item in neither). Both reads are now of one snapshot: each item
// once, the total the campaign's.
func TestCampaignPagePendingFirstOneSnapshot(t *testing.T) {
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st := &pageReadStore{Store: db}
	log, err := audit.New(make([]byte, 32), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := lifecycle.New(lifecycle.Config{Store: st, Audit: log, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	gov, err := governance.New(governance.Config{Store: st, Audit: log, Engine: eng, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	var items []store.ReviewItem
	for i := range 6 {
		items = append(items, store.ReviewItem{ID: fmt.Sprintf("item-%d", i), CampaignID: "camp", UserID: fmt.Sprintf("u-%d", i),
			Kind: store.ReviewItemSite, Entitlement: "north", ReviewerKind: governance.ReviewerAdmins, Decision: store.ReviewPending,
			Created: now.Add(time.Duration(i) * time.Second)})
	}
	if _, err := db.CreateCampaign(ctx, store.Campaign{ID: "camp", Name: "Q", Due: now.Add(14 * 24 * time.Hour), Created: now, CreatedBy: "test"},
		items); err != nil {
		t.Fatal(err)
	}
	// item-5 decided (revoked: its user is unknown, the access already gone)
	// before the page is read, so that a second page of
	// decided items is read at all.
	if _, err := gov.Decide(ctx, governance.Decider{Actor: scimActor}, "item-5", governance.DecisionRevoke, ""); err != nil {
		t.Fatal(err)
	}

	page := func(t *testing.T, start int) governance.CampaignPage {
		t.Helper()
		cp, err := campaignItems(ctx, gov, "camp", governance.ItemPage{StartIndex: start, Count: campaignItemsPerPage})
		if err != nil {
			t.Fatal(err)
		}
		return cp
	}
	ids := func(cp governance.CampaignPage) []string {
		var out []string
		for _, it := range cp.Items {
			out = append(out, it.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		start int
	}{
		{name: "first page", start: 1},
		{name: "from the fourth", start: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := ids(page(t, tc.start)) // the snapshot before the decision
			if len(want) < 2 || len(want) > campaignItemsPerPage {
				t.Fatalf("page of %v: want pending and decided items on one page", want)
			}
			// A decision on the page's first (pending) item, committed
			// right after the pending items are read.
			decided := want[0]
			st.mu.Lock()
			st.after, st.fired = func() {
				if _, err := gov.Decide(context.Background(), governance.Decider{Actor: scimActor}, decided, governance.DecisionRevoke, ""); err != nil {
					t.Error(err)
				}
			}, false
			st.mu.Unlock()
			cp := page(t, tc.start)
			if !st.fired {
				t.Fatal("no decision between the reads: the test did not race")
			}
			if got := ids(cp); !slices.Equal(got, want) {
				t.Errorf("page lists %v, want %v (one snapshot, before the decision of %s)", got, want, decided)
			}
			if cp.TotalResults != len(items) || cp.Progress.Total != len(items) {
				t.Errorf("total %d, progress total %d; want %d", cp.TotalResults, cp.Progress.Total, len(items))
			}
			if cp.Progress.Pending+cp.Progress.Decided != cp.Progress.Total {
				t.Errorf("progress %+v does not add up", cp.Progress)
			}
		})
	}
}
