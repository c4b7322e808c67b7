package hub_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestReviewAPIRefusesHiddenScopeNames: POST /api/v1/reviews with a scope
// site that reads as "north" but ends in a zero-width space is 400 naming
// the character, and starts no campaign (it would review nothing, shown as
// a review of north); a site stored under exactly that name before the hub
// refused such characters is still taken.
func TestReviewAPIRefusesHiddenScopeNames(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	due := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	r := h.API(t, "POST", "/api/v1/reviews", map[string]any{"name": "Q4 north", "due": due, "scope": map[string]any{"sites": []string{"north\u200b"}}})
	m := wantAPI(t, r, http.StatusBadRequest)
	if msg, _ := m["error"].(string); !strings.Contains(msg, `scope site "north\u200b" has a control character or an invisible formatting character`) {
		t.Errorf("error %q does not name the character", msg)
	}
	if n := count(t, h, "review.start", ""); n != 0 {
		t.Errorf("the refused scope made %d review.start records", n)
	}

	if _, err := h.Store().CreateSite(t.Context(), store.Site{ID: "old-west", Name: "west\u200b", TimeZone: "UTC", Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	r = h.API(t, "POST", "/api/v1/reviews", map[string]any{"name": "Q4 west", "due": due, "scope": map[string]any{"sites": []string{"west\u200b"}}})
	wantAPI(t, r, http.StatusCreated)
}
