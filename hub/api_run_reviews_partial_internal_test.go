package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

// nthTxFails is a store whose write transaction number fail (counted
// from when it is armed, 1 the first) fails with err, having done nothing.
type nthTxFails struct {
	store.Store
	err error

	mu   sync.Mutex
	n    int
	fail int // 0: none
}

func (s *nthTxFails) arm(fail int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n, s.fail = 0, fail
}

func (s *nthTxFails) InTx(ctx context.Context, fn func(tx store.Ops) error) error {
	s.mu.Lock()
	s.n++
	fail := s.fail != 0 && s.n == s.fail
	s.mu.Unlock()
	if fail {
		return s.err
	}
	return s.Store.InTx(ctx, fn)
}

// TestAPIRunReviewsPartialFailure: POST /api/v1/reviews/run whose
// escalation fails (the disk full) after a batch of 200 items committed
// answers the outage's status with the count of the items handed on and
// an error that says they stay so. It answered the error alone, and the
// admin could not tell that 200 items had moved to new reviewers; and
// the outage's error said that nothing was changed. A run that fails
// before it does anything still says so, with its counts at 0.
func TestAPIRunReviewsPartialFailure(t *testing.T) {
	const n = 450 // three batches of escalation: 200, 200, 50
	for _, tc := range []struct {
		name      string
		fail      int // the write transaction that fails
		escalated float64
		wantErr   string
		notErr    string
	}{
		{"second batch fails", 2, 200, "the run stopped part way (the database or the disk is full): what it did before, counted here, stays done", "nothing was changed"},
		{"first batch fails", 1, 0, "nothing was changed", "part way"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, st, admin := overdueRun(t, n, fmt.Errorf("begin transaction: %w", store.ErrFull), slog.New(slog.NewTextHandler(io.Discard, nil)))
			st.arm(tc.fail)
			req := httptest.NewRequest("POST", "/api/v1/reviews/run", nil)
			w := httptest.NewRecorder()
			if err := s.apiRunReviews(w, req, admin); err != nil {
				s.writeAPIError(w, req, err)
			}
			if w.Code != http.StatusInsufficientStorage {
				t.Errorf("status %d, want %d (the disk full)", w.Code, http.StatusInsufficientStorage)
			}
			var got map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %q: %v", w.Body, err)
			}
			if got["items_escalated"] != tc.escalated || got["items_reassigned"] != 0.0 {
				t.Errorf("body %s: want items_escalated %v and items_reassigned 0", w.Body, tc.escalated)
			}
			if cs, ok := got["campaigns_started"].([]any); !ok || len(cs) != 0 {
				t.Errorf("body %s: want campaigns_started []", w.Body)
			}
			msg, _ := got["error"].(string)
			if !strings.Contains(msg, tc.wantErr) || strings.Contains(msg, tc.notErr) {
				t.Errorf("error %q, want it to say %q and not %q", msg, tc.wantErr, tc.notErr)
			}
		})
	}
}

// overdueRun is a Server whose governance has n review items, all
// overdue, of one campaign, for a run of due reviews to escalate in
// batches (the default campaigns started already, so that the run's
// write transactions are the escalation's batches), over a store whose
// armed write transaction fails with failErr, and the admin who runs it.
func overdueRun(t *testing.T, n int, failErr error, logger *slog.Logger) (*Server, *nthTxFails, lifecycle.Actor) {
	t.Helper()
	ctx := t.Context()
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	now := start
	clock := func() time.Time { return now }
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st := &nthTxFails{Store: db, err: failErr}
	alog, err := audit.New(make([]byte, 32), clock)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := lifecycle.New(lifecycle.Config{Store: st, Audit: alog, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	gov, err := governance.New(governance.Config{Store: st, Audit: alog, Engine: eng, Now: clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	admin := lifecycle.Actor{Name: "token:ops", System: "api"}
	worker, err := eng.CreateUser(ctx, admin, store.User{ID: "worker-id", UserName: "worker", Active: true, Sites: []string{"north"}})
	if err != nil {
		t.Fatal(err)
	}
	rev, err := eng.CreateUser(ctx, admin, store.User{ID: "rev-id", UserName: "rev", Active: true, Sites: []string{"north"}})
	if err != nil {
		t.Fatal(err)
	}
	c := store.Campaign{ID: "big", Name: "big", Due: start.Add(time.Hour), Created: start, CreatedBy: admin.Name}
	items := make([]store.ReviewItem, n)
	for i := range items {
		items[i] = store.ReviewItem{ID: fmt.Sprintf("item-%04d", i), CampaignID: c.ID, UserID: worker.ID, Kind: store.ReviewItemSite,
			Entitlement: "north", Detail: "site north", ReviewerID: rev.ID, ReviewerKind: governance.ReviewerManager,
			Decision: store.ReviewPending, Created: start}
	}
	if err := db.InTx(ctx, func(tx store.Ops) error { _, err := tx.CreateCampaign(ctx, c, items); return err }); err != nil {
		t.Fatal(err)
	}
	now = start.Add(2 * time.Hour)
	if _, err := gov.StartDefaultCampaigns(ctx, admin); err != nil {
		t.Fatal(err)
	}
	return &Server{cfg: Config{Logger: logger, Now: clock}, st: st, engine: eng, gov: gov}, st, admin
}
