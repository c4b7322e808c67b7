package hub

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

// TestAPIRunReviewsPartialClientError: POST /api/v1/reviews/run that
// stops part way on an error writeAPIError answers as the client's (here
// a conflict, 409, which it does not log) keeps that error's message
// beside the counts. It said "internal error; the hub log has the
// details", sending the admin to a log that has no line for it.
func TestAPIRunReviewsPartialClientError(t *testing.T) {
	ctx := t.Context()
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	now := start
	clock := func() time.Time { return now }
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st := &nthTxFails{Store: db, err: fmt.Errorf("reviewer of item-0201 changed meanwhile: %w", store.ErrConflict)}
	alog, err := audit.New(make([]byte, 32), clock)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := lifecycle.New(lifecycle.Config{Store: st, Audit: alog, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
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
	items := make([]store.ReviewItem, 250) // two batches of escalation: 200, 50
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
	s := &Server{cfg: Config{Logger: logger, Now: clock}, st: st, engine: eng, gov: gov}

	st.arm(2)
	req := httptest.NewRequest("POST", "/api/v1/reviews/run", nil)
	w := httptest.NewRecorder()
	if err := s.apiRunReviews(w, req, admin); err != nil {
		s.writeAPIError(w, req, err)
	}
	if w.Code != http.StatusConflict {
		t.Errorf("status %d, want %d (the conflict's)", w.Code, http.StatusConflict)
	}
	var got struct {
		Error     string `json:"error"`
		Escalated int    `json:"items_escalated"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	if got.Escalated != 200 {
		t.Errorf("body %s: want items_escalated 200", w.Body)
	}
	if !strings.Contains(got.Error, "changed meanwhile") || strings.Contains(got.Error, "hub log") {
		t.Errorf("error %q: want the conflict's message, not a pointer to the hub log (which has no line for it:\n%s)", got.Error, logs)
	}
}
