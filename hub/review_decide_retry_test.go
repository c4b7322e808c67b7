package hub_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// countActions counts the audit records of action about subject.
func countActions(t *testing.T, h *hubtest.Hub, subject, action string) int {
	t.Helper()
	n := 0
	for _, a := range actions(t, h, subject) {
		if a == action {
			n++
		}
	}
	return n
}

// TestDecideRetryIsIdempotent: a reviewer whose answer was lost sends
// the same decision again. The repeat answers 200 with the decision as
// recorded the first time (who, when, what, outcome), and records and
// revokes nothing more. Another decision on the decided item, or the same
// one by another reviewer, or the same one with a note not recorded, is
// still 409, saying how, by whom and when the item was decided.
func TestDecideRetryIsIdempotent(t *testing.T) {
	h, clock, _ := startClocked(t, hubtest.Options{})
	mo := createUser(t, h, "mo", `{"sites":["north"]}`)
	nia := want(t, h.Do(t, "POST", "/scim/v2/Users", fmt.Sprintf(`{"schemas":[%q,%q,%q],"userName":"nia","active":true,
		%q:{"manager":{"value":%q}},%q:{"sites":["north"]}}`,
		coreUser, enterprise, frontline, enterprise, mo, frontline)), 201)["id"].(string)
	createGroup(t, h, "Nurse", nia)
	createGroup(t, h, "Picker", nia)
	createGroup(t, h, "Porter", nia)
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	g := grant(t, first(tap(t, k, registerBadge(t, h, k, "nia"))))

	due := clock.Now().Add(7 * 24 * time.Hour).UTC().Format(time.RFC3339)
	c := wantAPI(t, h.API(t, "POST", "/api/v1/reviews", `{"name":"roles","due":"`+due+`","scope":{"roles":["Nurse","Picker","Porter"]}}`), http.StatusCreated)
	id := c["id"].(string)
	byRole := map[string]string{}
	for _, it := range c["items"].([]any) {
		m := it.(map[string]any)
		byRole[m["entitlement"].(string)] = m["id"].(string)
	}
	if len(byRole) != 3 {
		t.Fatalf("items = %v, want nia's Nurse, Picker and Porter", c["items"])
	}
	path := func(role string) string { return "/api/v1/reviews/" + id + "/items/" + byRole[role] }
	revocations := func() int {
		rs, err := h.Store().ListRevocations(t.Context(), store.RevocationQuery{UserID: nia})
		if err != nil {
			t.Fatal(err)
		}
		return len(rs)
	}

	first := wantAPI(t, h.API(t, "POST", path("Nurse"), `{"decision":"revoke","comment":"moved to pharmacy"}`), http.StatusOK)
	if first["decision"] != "revoke" || first["outcome"] != "revoked" || first["decided"] == nil || first["decided_by"] == "" {
		t.Fatalf("revoke = %v", first)
	}
	expectRevoke(t, k, g.SessionID, "entitlement_removed")
	h.WaitAcked(t, g.SessionID)
	decidedBy := first["decided_by"].(string)
	revoked, decides := revocations(), countActions(t, h, "user:"+nia, "review.decide")

	// The retry, a minute later, with the same body, and once without
	// the comment: the decision as recorded, nothing new.
	clock.Advance(time.Minute)
	for _, body := range []string{`{"decision":"revoke","comment":"moved to pharmacy"}`, `{"decision":"REVOKE"}`} {
		again := wantAPI(t, h.API(t, "POST", path("Nurse"), body), http.StatusOK)
		for _, f := range []string{"id", "decision", "outcome", "decided", "decided_by", "comment"} {
			if again[f] != first[f] {
				t.Errorf("repeat %s: %s = %v, want %v as recorded the first time", body, f, again[f], first[f])
			}
		}
	}
	if n := countActions(t, h, "user:"+nia, "review.decide"); n != decides {
		t.Errorf("review.decide records after the repeats: %d, want %d", n, decides)
	}
	if n := revocations(); n != revoked {
		t.Errorf("revocations after the repeats: %d, want %d", n, revoked)
	}

	// Not the same decision: 409 telling how, by whom and when.
	decided := first["decided"].(string)
	other := h.Token(t, "other-reviewer", store.ScopeAdmin)
	for _, tc := range []struct {
		name string
		r    hubtest.Response
	}{
		{"keep after revoke", h.API(t, "POST", path("Nurse"), `{"decision":"keep"}`)},
		{"revoke by another reviewer", h.DoToken(t, other, "POST", path("Nurse"), `{"decision":"revoke","comment":"moved to pharmacy"}`)},
		{"revoke with a new note", h.API(t, "POST", path("Nurse"), `{"decision":"revoke","comment":"and left the ward"}`)},
	} {
		msg, _ := tc.r.JSON()["error"].(string)
		if tc.r.Status != http.StatusConflict || !strings.Contains(msg, "already decided") || !strings.Contains(msg, "revoke") ||
			!strings.Contains(msg, decidedBy) || !strings.Contains(msg, decided) {
			t.Errorf("%s: %d %s, want 409 saying it was already decided revoke by %s at %s", tc.name, tc.r.Status, tc.r.Body, decidedBy, decided)
		}
	}
	if n := countActions(t, h, "user:"+nia, "review.decide"); n != decides {
		t.Errorf("review.decide records after the refusals: %d, want %d", n, decides)
	}
	if it, err := h.Store().GetReviewItem(t.Context(), byRole["Nurse"]); err != nil || it.Comment != "moved to pharmacy" || it.DecidedBy != decidedBy {
		t.Errorf("item after the repeats: %+v, %v; want the first decision's note once", it, err)
	}

	// A keep, repeated, is one keep too.
	kept := wantAPI(t, h.API(t, "POST", path("Picker"), `{"decision":"keep"}`), http.StatusOK)
	clock.Advance(time.Minute)
	if again := wantAPI(t, h.API(t, "POST", path("Picker"), `{"decision":"keep"}`), http.StatusOK); again["decided"] != kept["decided"] || again["decision"] != "keep" {
		t.Errorf("repeated keep = %v, want the first keep %v", again, kept)
	}
	if n := countActions(t, h, "user:"+nia, "review.decide"); n != decides+1 {
		t.Errorf("review.decide records after keep twice: %d, want %d", n, decides+1)
	}
	// The same decision sent twice at once (a double click): one is
	// recorded, and both answer it.
	var wg sync.WaitGroup
	answers := make([]hubtest.Response, 2)
	for i := range answers {
		wg.Go(func() { answers[i] = h.API(t, "POST", path("Porter"), `{"decision":"revoke"}`) })
	}
	wg.Wait()
	for i, r := range answers {
		if m := r.JSON(); r.Status != http.StatusOK || m["decision"] != "revoke" || m["decided"] != answers[0].JSON()["decided"] {
			t.Errorf("concurrent revoke %d: %d %s, want 200 with the one recorded decision", i, r.Status, r.Body)
		}
	}
	if n := countActions(t, h, "user:"+nia, "review.decide"); n != decides+2 {
		t.Errorf("review.decide records after two concurrent revokes: %d, want %d", n, decides+2)
	}

	// A comment is a note, not a decision; the same comment sent again
	// right after by the same reviewer (a retry) adds no second note,
	// another one does (governance's TestCommentRepeat).
	wantAPI(t, h.API(t, "POST", path("Picker"), `{"decision":"comment","comment":"checked"}`), http.StatusOK)
	if c := wantAPI(t, h.API(t, "POST", path("Picker"), `{"decision":"comment","comment":"checked"}`), http.StatusOK); c["comment"] != "checked" {
		t.Errorf("notes after a comment sent twice = %q", c["comment"])
	}
	if c := wantAPI(t, h.API(t, "POST", path("Picker"), `{"decision":"comment","comment":"checked again"}`), http.StatusOK); c["comment"] != "checked\nchecked again" {
		t.Errorf("notes after two comments = %q", c["comment"])
	}
}
