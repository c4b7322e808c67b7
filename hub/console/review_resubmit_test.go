package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestReviewDecisionResubmitted: a decision form sent twice (a reload, a
// retry after a lost answer) lands on the same page with the same message
// as the first time: a revoke repeated says revoked, not "already gone".
// Nothing is recorded twice. Another decision on the item is 409, saying
// how and by whom it was decided.
func TestReviewDecisionResubmitted(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	w := makeReviewWorld(t, h)
	admin := bootstrapAdmin(t, h)
	due := time.Now().UTC().Add(7 * 24 * time.Hour).Format(time.DateOnly)
	r := admin.post("/console/reviews", url.Values{"name": {"Q4"}, "due": {due}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("start campaign: %d %s", r.Status, r.Body)
	}
	campaign := strings.TrimPrefix(strings.SplitN(r.location(), "?", 2)[0], "/console/reviews/")
	ben := item(t, h, campaign, "u-ben", store.ReviewItemRole, "Nurse")
	nia := item(t, h, campaign, "u-nia", store.ReviewItemRole, "Nurse")

	for _, tc := range []struct {
		it       store.ReviewItem
		form     url.Values
		location string
	}{
		{ben, url.Values{"decision": {"keep"}, "comment": {"still on the ward"}}, "/console/reviews/" + campaign + "?ok=review-kept"},
		{nia, url.Values{"decision": {"revoke"}}, "/console/reviews/" + campaign + "?ok=review-revoked"},
	} {
		for i := range 2 {
			if r := admin.post("/console/review-items/"+tc.it.ID, tc.form); r.Status != http.StatusSeeOther || r.location() != tc.location {
				t.Errorf("%s of %s, sent %d times: %d %q, want %q", tc.form.Get("decision"), tc.it.UserID, i+1, r.Status, r.location(), tc.location)
			}
		}
	}
	if push := w.kiosk.Recv(5 * time.Second); push.Type != "session.revoke" {
		t.Fatalf("kiosk got %s, want the revoke of nia's session", push.Type)
	} else {
		w.kiosk.Ack(push)
	}
	if it := reviewItem(t, h, ben.ID); it.Comment != "still on the ward" {
		t.Errorf("ben's item notes = %q, want the comment once", it.Comment)
	}
	recs, err := h.Store().SearchAudit(t.Context(), store.AuditSearch{Action: "review.decide"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Errorf("review.decide records: %d, want 2 (one per item)", len(recs))
	}
	if r := admin.post("/console/review-items/"+nia.ID, url.Values{"decision": {"keep"}}); r.Status != http.StatusConflict ||
		!strings.Contains(r.Body, "already decided") || !strings.Contains(r.Body, "revoke by console:ada@example.org") {
		t.Errorf("keep after revoke: %d %s, want 409 saying it was revoked by ada", r.Status, r.Body)
	}
}
