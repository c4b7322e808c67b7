package hub

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestAPIRunReviewsPartialClientError: POST /api/v1/reviews/run that
// stops part way on an error writeAPIError answers as the client's (here
// a conflict, 409, which it does not log) keeps that error's message
// beside the counts. It said "internal error; the hub log has the
// details", sending the admin to a log that has no line for it.
func TestAPIRunReviewsPartialClientError(t *testing.T) {
	logs := &lockedBuffer{}
	s, st, admin := overdueRun(t, 250, fmt.Errorf("reviewer of item-0201 changed meanwhile: %w", store.ErrConflict), slog.New(slog.NewTextHandler(logs, nil))) // two batches: 200, 50
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
