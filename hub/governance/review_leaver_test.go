package governance_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestRevokeOfLeaverSticksForRehire: a leaver keeps its group memberships
// and sites for a re-hire. A reviewer's revoke of such a role or site
// (the user was disabled while the campaign ran) still records "already
// gone" (no access was live), but now also removes the membership or
// site, audited in the same transaction (group.update, user.update, and
// the review.decide record says removedWhileDisabled), so the re-hire
// does not get back what the reviewer revoked: it comes back without the
// role and the site, is not reviewed for them again, and waits for a role
// before it counts as ready. Before, the revoke changed nothing and the
// re-hire signed in with the revoked role. A live user's revoke is
// "revoked", without the mark.
func TestRevokeOfLeaverSticksForRehire(t *testing.T) {
	ctx := context.Background()
	minute, hour, day := time.Minute, time.Hour, 24*time.Hour
	e := newEnv(t, t0)
	cy := e.user("cy", []string{"north", "south"}, nil)
	eve := e.user("eve", []string{"north"}, nil)
	gid := e.group("Nurse", cy.ID, eve.ID)
	e.at(t0.Add(10 * minute)).badge(cy.ID)
	e.badge(eve.ID)
	items := e.itemsOf("quarterly")

	e.at(t0.Add(day)).update(cy.ID, func(u *store.User) { u.Active = false })
	for _, key := range []string{"cy role Nurse", "cy site south"} {
		it, ok := items[key]
		if !ok {
			t.Fatalf("no item %q in %v", key, items)
		}
		v, err := e.gov.Decide(ctx, decider, it.ID, "revoke", "left in March")
		if err != nil || v.Decision != "revoke" || v.Outcome != governance.OutcomeGone {
			t.Fatalf("revoke of %s: %+v, %v; want revoke, already gone", key, v, err)
		}
	}
	var marked int
	for _, r := range e.auditOf("user:"+cy.ID, "review.decide") {
		var d struct {
			Outcome              string
			RemovedWhileDisabled bool
		}
		if err := json.Unmarshal(r.Detail, &d); err != nil {
			t.Fatal(err)
		}
		if d.Outcome == governance.OutcomeGone && d.RemovedWhileDisabled {
			marked++
		}
	}
	if marked != 2 {
		t.Errorf("review.decide records of cy marked removedWhileDisabled: %d, want 2", marked)
	}
	if recs := e.auditOf("group:"+gid, "group.update"); len(recs) == 0 || !slices.Contains(decodeList(t, recs[len(recs)-1].Detail, "membersRemoved"), cy.ID) {
		t.Errorf("no group.update record removing cy from Nurse: %v", recs)
	}
	if g, err := e.st.GetGroup(ctx, gid); err != nil || !slices.Equal(g.Members, []string{eve.ID}) {
		t.Errorf("Nurse after the revoke: %+v, %v; want eve only", g, err)
	}
	u, err := e.st.GetUser(ctx, cy.ID)
	if err != nil || u.State != store.UserDisabled || !slices.Equal(u.Sites, []string{"north"}) {
		t.Errorf("cy after the revoke: %+v, %v; want disabled with north only", u, err)
	}
	ev, err := e.gov.Evidence(ctx, items["cy role Nurse"].Campaign)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Totals.Gone != 2 || ev.Totals.AuditUnmatched != 0 {
		t.Errorf("evidence totals %+v, want 2 already gone, every decision matched in the audit trail", ev.Totals)
	}

	// A live user's revoke is a revocation.
	if v, err := e.gov.Decide(ctx, decider, items["eve site north"].ID, "revoke", ""); err != nil || v.Outcome != governance.OutcomeRevoked {
		t.Errorf("revoke of eve's site: %+v, %v; want revoked", v, err)
	}
	for _, r := range e.auditOf("user:"+eve.ID, "review.decide") {
		if slices.Contains(keys(t, r.Detail), "removedWhileDisabled") {
			t.Errorf("a live user's revoke is marked removedWhileDisabled: %s", r.Detail)
		}
	}

	// The re-hire comes back without what the reviewer revoked.
	e.at(t0.Add(30*day)).update(cy.ID, func(u *store.User) { u.Active = true })
	if g, _ := e.st.GetGroup(ctx, gid); slices.Contains(g.Members, cy.ID) {
		t.Errorf("the re-hire is a Nurse again: members %v", g.Members)
	}
	if u, _ := e.st.GetUser(ctx, cy.ID); !slices.Equal(u.Sites, []string{"north"}) {
		t.Errorf("the re-hire's sites: %v, want north only", u.Sites)
	}
	again := e.itemsOf("re-hire")
	for _, key := range []string{"cy role Nurse", "cy site south"} {
		if _, ok := again[key]; ok {
			t.Errorf("the next campaign reviews %q again: the re-hire got it back", key)
		}
	}
	if _, ok := again["cy site north"]; !ok {
		t.Errorf("the next campaign lacks cy's site north: %v", again)
	}
	// cy and eve joined (600 s each); cy, re-hired and badged, has no
	// role: it waits.
	e.at(t0.Add(30*day + hour)).badge(cy.ID)
	wantTTP(t, e, "re-hire badged", governance.Durations{P50: f(600), P95: f(600), Max: f(600), Count: 2, Sum: 1200, Pending: 1})
}

// decodeList returns the list under key in an audit record's detail.
func decodeList(t *testing.T, detail json.RawMessage, key string) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(detail, &m); err != nil {
		t.Fatal(err)
	}
	var out []string
	if raw, ok := m[key]; ok {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// keys returns the keys of an audit record's detail.
func keys(t *testing.T, detail json.RawMessage) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(detail, &m); err != nil {
		t.Fatal(err)
	}
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
