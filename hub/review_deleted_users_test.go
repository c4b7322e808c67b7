package hub_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// TestReviewAPINamesDeletedUsers, end to end: a campaign is read after the
// identity provider deleted (SCIM DELETE) the worker an item is about and
// the supervisor who reviews it. GET /api/v1/reviews/{id} names both by
// userName, from the record the hub keeps of a deleted user, in the item
// and in the reviewers' progress, as the evidence export does; before, it
// showed their UUIDs where the names go.
func TestReviewAPINamesDeletedUsers(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	sun := createUser(t, h, "sun", `{"sites":["north"]}`)
	ann := createUser(t, h, "ann", `{"sites":["north"]}`)
	createGroup(t, h, "Supervisor", sun)
	createGroup(t, h, "Nurse", ann)
	due := time.Now().Add(7 * 24 * time.Hour).UTC().Format(time.RFC3339)
	c := wantAPI(t, h.API(t, "POST", "/api/v1/reviews", `{"name":"north","due":"`+due+`","scope":{"roles":["Nurse"]}}`), http.StatusCreated)
	for _, id := range []string{ann, sun} {
		want(t, h.Do(t, "DELETE", "/scim/v2/Users/"+id, nil), http.StatusNoContent)
	}

	v := wantAPI(t, h.API(t, "GET", "/api/v1/reviews/"+c["id"].(string), nil), http.StatusOK)
	items, _ := v["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("items %v, want ann's Nurse role", v["items"])
	}
	it := items[0].(map[string]any)
	if it["user_id"] != ann || it["user"] != "ann" || it["reviewer_id"] != sun || it["reviewer"] != "sun" {
		t.Errorf("item of a deleted user reviewed by a deleted supervisor: user %v (%v), reviewer %v (%v); want ann, sun",
			it["user"], it["user_id"], it["reviewer"], it["reviewer_id"])
	}
	reviewers, _ := v["reviewers"].([]any)
	if len(reviewers) != 1 || reviewers[0].(map[string]any)["reviewer"] != "sun" {
		t.Errorf("reviewers %v, want sun's progress named sun", v["reviewers"])
	}
}
