package hub_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestStartReviewIdempotencyKey: POST /api/v1/reviews with an
// Idempotency-Key, sent again by the same caller (a retry whose answer
// was lost, two racing), starts one campaign, not two whose items every
// reviewer would see twice: each answer is 201 with that campaign, a
// repeat's marked Idempotent-Replayed, and one review.start is recorded.
// The key with another campaign is 422 and starts nothing; another
// token's same key is another key; without the header every request
// starts a campaign, as before.
func TestStartReviewIdempotencyKey(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	createUser(t, h, "jo", `{"sites":["north"]}`)
	tok := h.AdminToken(t)
	due := time.Now().Add(7 * 24 * time.Hour).UTC().Format(time.RFC3339)
	body := map[string]any{"name": "Q4 north", "due": due, "scope": map[string]any{"sites": []string{"north"}}}
	start := func(tok, key string, body map[string]any) hubtest.Response {
		t.Helper()
		if key == "" {
			return h.DoToken(t, tok, "POST", "/api/v1/reviews", body)
		}
		return h.DoToken(t, tok, "POST", "/api/v1/reviews", body, "Idempotency-Key", key)
	}
	campaigns := func() int {
		t.Helper()
		cs, err := h.Store().ListCampaigns(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return len(cs)
	}

	var (
		wg  sync.WaitGroup
		ids = make([]string, 3)
		rep = make([]string, 3)
	)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := start(tok, "k-1", body)
			if r.Status != http.StatusCreated {
				t.Errorf("send %d: %d %s, want 201", i+1, r.Status, r.Body)
				return
			}
			ids[i], _ = r.JSON()["id"].(string)
			rep[i] = r.Header.Get("Idempotent-Replayed")
		}()
	}
	wg.Wait()
	if ids[0] == "" || ids[1] != ids[0] || ids[2] != ids[0] {
		t.Errorf("three sends of one key answered campaigns %q, want one", ids)
	}
	if n := strings.Count(strings.Join(rep, ","), "true"); n != 2 {
		t.Errorf("Idempotent-Replayed of the three answers: %q, want true on two", rep)
	}
	if n := campaigns(); n != 1 {
		t.Errorf("%d campaigns, want 1", n)
	}
	if recs, err := h.Store().ListAudit(t.Context(), store.AuditQuery{Action: "review.start"}); err != nil || len(recs) != 1 {
		n := len(recs)
		t.Errorf("%d review.start records, want 1", n)
	}

	other := map[string]any{"name": "Q4 south", "due": due}
	if r := start(tok, "k-1", other); r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "another campaign") {
		t.Errorf("the key with another campaign: %d %s, want 422", r.Status, r.Body)
	}
	if r := start(h.Token(t, "other-admin", "admin"), "k-1", body); r.Status != http.StatusCreated || r.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("another token's same key: %d %v, want 201, no replay", r.Status, r.Header)
	}
	if r := start(tok, "", body); r.Status != http.StatusCreated {
		t.Errorf("no key: %d %s, want 201", r.Status, r.Body)
	}
	if r := start(tok, "", body); r.Status != http.StatusCreated {
		t.Errorf("no key again: %d %s, want 201", r.Status, r.Body)
	}
	if n := campaigns(); n != 4 {
		t.Errorf("%d campaigns, want 4", n)
	}
}
