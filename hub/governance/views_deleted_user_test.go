package governance_test

import (
	"context"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestCampaignViewsNameDeletedUsers: a campaign is looked at after the
// identity provider deleted (SCIM DELETE) a worker it reviewed and the
// supervisor who reviewed it. The hub keeps their records, userName
// included, so the campaign's items, its reviewers' progress, the
// overview and a decision's answer name them, as the evidence does
// (TestEvidenceNamesDeletedUsers): a bare UUID where the API and the
// console show a person is one nobody can act on.
func TestCampaignViewsNameDeletedUsers(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t0)
	mia := e.user("mia", nil, nil) // sun's manager, who gets sun's overdue items
	sun := e.user("sun", []string{"north"}, func(u *store.User) { u.Document = enterprise(mia.ID, "") })
	e.group("Supervisor", sun.ID)
	ann := e.user("ann", []string{"north"}, nil)
	bob := e.user("bob", []string{"north"}, nil)
	e.group("Nurse", ann.ID, bob.ID)
	due := t0.Add(48 * time.Hour)
	c, err := e.gov.StartCampaign(ctx, actor, governance.CampaignRequest{Name: "Q1 north", Due: due, Scope: store.ReviewScope{Sites: []string{"north"}}})
	if err != nil {
		t.Fatal(err)
	}
	find := func(items []governance.ItemView, userID, kind string) string {
		t.Helper()
		for _, it := range items {
			if it.UserID == userID && it.Kind == kind {
				return it.ID
			}
		}
		t.Fatalf("no %s item of %s in %+v", kind, userID, items)
		return ""
	}
	annRole, annSite, bobRole := find(c.Items, ann.ID, "role"), find(c.Items, ann.ID, "site"), find(c.Items, bob.ID, "role")
	e.at(t0.Add(time.Hour))
	if _, err := e.gov.Decide(ctx, decider, annRole, governance.DecisionRevoke, "left"); err != nil {
		t.Fatal(err)
	}
	// sun lets the rest go overdue: they go to mia.
	e.at(due.Add(time.Hour))
	if n, err := e.gov.Escalate(ctx, actor); err != nil || n == 0 {
		t.Fatalf("escalate: %d, %v", n, err)
	}
	// ann and sun leave, and the identity provider deletes them.
	e.at(t0.Add(30 * 24 * time.Hour))
	for _, id := range []string{ann.ID, sun.ID} {
		if err := e.engine.DeleteUser(ctx, actor, id); err != nil {
			t.Fatal(err)
		}
	}

	type names struct{ User, Reviewer, EscalatedFrom string }
	want := map[string]names{
		annRole: {"ann", "sun", ""},
		annSite: {"ann", "mia", "sun"},
		bobRole: {"bob", "mia", "sun"},
	}
	v, err := e.gov.Campaign(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range v.Items {
		w, ok := want[it.ID]
		if got := (names{it.User, it.Reviewer, it.EscalatedFrom}); ok && got != w {
			t.Errorf("item %s (%s of %s): user, reviewer, escalated from %+v; want %+v", it.ID, it.Kind, it.UserID, got, w)
		}
	}
	reviewer := func(rs []governance.ReviewerProgress, id string) string {
		for _, r := range rs {
			if r.ReviewerID == id {
				return r.Reviewer
			}
		}
		return "(none)"
	}
	if got := reviewer(v.Reviewers, sun.ID); got != "sun" {
		t.Errorf("campaign's progress of the deleted reviewer is named %q, want sun", got)
	}
	o, err := e.gov.Campaigns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := reviewer(o.Reviewers, sun.ID); got != "sun" {
		t.Errorf("overview's progress of the deleted reviewer is named %q, want sun", got)
	}
	if len(o.Campaigns) != 1 || reviewer(o.Campaigns[0].Reviewers, sun.ID) != "sun" {
		t.Errorf("overview's campaign does not name the deleted reviewer: %+v", o.Campaigns)
	}

	// The answer to a decision on a deleted user's item names them too.
	it, err := e.gov.Decide(ctx, decider, annSite, governance.DecisionRevoke, "deleted")
	if err != nil {
		t.Fatal(err)
	}
	if got := (names{it.User, it.Reviewer, it.EscalatedFrom}); got != want[annSite] {
		t.Errorf("decided item: user, reviewer, escalated from %+v; want %+v", got, want[annSite])
	}
}
