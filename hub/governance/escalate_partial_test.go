package governance_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

var errDiskFull = errors.New("database or disk is full")

// failingNthTx is a store whose write transaction number fail (counted
// from when it is armed, 1 the first) fails with errDiskFull, having done
// nothing.
type failingNthTx struct {
	store.Store

	mu   sync.Mutex
	n    int
	fail int // 0: none
}

func (s *failingNthTx) arm(fail int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n, s.fail = 0, fail
}

func (s *failingNthTx) InTx(ctx context.Context, fn func(tx store.Ops) error) error {
	s.mu.Lock()
	s.n++
	fail := s.fail != 0 && s.n == s.fail
	s.mu.Unlock()
	if fail {
		return errDiskFull
	}
	return s.Store.InTx(ctx, fn)
}

// lockedBuffer is a log's output, safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestEscalatePartialFailureReported: a pass that hands items on in
// batches (the overdue ones, and those of a reviewer who left) and whose
// second batch fails, after the first committed, tells how many it handed
// on: the error the scheduler logs says so, and the items handed on are
// logged as a pass that ends well logs them. Before, the error alone was
// logged, and the operator could not tell that 200 items had moved to new
// reviewers. The next pass does the rest.
func TestEscalatePartialFailureReported(t *testing.T) {
	const n = 450 // three batches: 200, 200, 50
	for _, tc := range []struct {
		name   string
		pass   func(*governance.Service, context.Context) (int, error)
		logged string
		// leaver: the items' reviewer leaves rather than the campaign
		// falls due.
		leaver bool
	}{
		{"overdue", func(g *governance.Service, ctx context.Context) (int, error) { return g.Escalate(ctx, actor) },
			"overdue review items escalated", false},
		{"reviewer left", func(g *governance.Service, ctx context.Context) (int, error) { return g.ReassignLeft(ctx, actor) },
			"review items of reviewers who left reassigned", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
			var out lockedBuffer
			st, w := newWrappedEnv(t, start, func(s store.Store) *failingNthTx { return &failingNthTx{Store: s} },
				slog.New(slog.NewTextHandler(&out, nil)))
			raw, clk, eng, gov := w.raw, w.clock, w.engine, w.gov
			worker, err := eng.CreateUser(ctx, actor, store.User{ID: "worker-id", UserName: "worker", Active: true, Sites: []string{"north"}})
			if err != nil {
				t.Fatal(err)
			}
			rev, err := eng.CreateUser(ctx, actor, store.User{ID: "rev-id", UserName: "rev", Active: true, Sites: []string{"north"}})
			if err != nil {
				t.Fatal(err)
			}
			c := store.Campaign{ID: "big", Name: "big", Due: start.Add(time.Hour), Created: start, CreatedBy: actor.Name}
			items := make([]store.ReviewItem, n)
			for i := range items {
				items[i] = store.ReviewItem{ID: fmt.Sprintf("item-%04d", i), CampaignID: c.ID, UserID: worker.ID, Kind: store.ReviewItemSite,
					Entitlement: "north", Detail: "site north", ReviewerID: rev.ID, ReviewerKind: governance.ReviewerManager,
					Decision: store.ReviewPending, Created: start}
			}
			if err := raw.InTx(ctx, func(tx store.Ops) error { _, err := tx.CreateCampaign(ctx, c, items); return err }); err != nil {
				t.Fatal(err)
			}
			if tc.leaver {
				if _, err := eng.UpdateUser(ctx, actor, rev.ID, func(u store.User) (store.User, error) { u.Active = false; return u, nil }); err != nil {
					t.Fatal(err)
				}
			} else {
				clk.Set(start.Add(2 * time.Hour))
			}
			escalated := func() int {
				t.Helper()
				all, err := raw.ListReviewItems(ctx, store.ReviewItemQuery{CampaignID: c.ID})
				if err != nil {
					t.Fatal(err)
				}
				k := 0
				for _, it := range all {
					if !it.Escalated.IsZero() {
						k++
					}
				}
				return k
			}

			st.arm(2)
			got, err := tc.pass(gov, ctx)
			if !errors.Is(err, errDiskFull) || got != 200 {
				t.Fatalf("pass: %d, %v; want 200 handed on, then the second batch's error", got, err)
			}
			if !strings.Contains(err.Error(), "200 items were handed on") {
				t.Errorf("the pass's error %q does not say that 200 items were handed on before it failed", err)
			}
			if k := escalated(); k != 200 {
				t.Errorf("%d items escalated in the store, want the first batch's 200", k)
			}
			if logs := out.String(); !strings.Contains(logs, `msg="`+tc.logged+`" count=200`) {
				t.Errorf("log %q does not say that 200 items were handed on", logs)
			}

			st.arm(0)
			if got, err := tc.pass(gov, ctx); err != nil || got != n-200 {
				t.Errorf("the next pass: %d, %v; want the other %d", got, err, n-200)
			}
			if k := escalated(); k != n {
				t.Errorf("%d items escalated in the store, want %d", k, n)
			}
		})
	}
}
