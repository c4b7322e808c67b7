package governance_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestEscalatedReviewerLeftItemsHandedOn: an item escalated at its due
// date to the reviewer's manager, who then leaves (disabled by SCIM, or
// deleted), is handed on by the scheduler's next pass (ReassignLeft) as a reviewer's
// item is: to that manager's manager, or to the admins when there is none
// (or it is the reviewer the item was escalated from, which would undo
// the escalation). Each hand-on is recorded as review.escalate with the
// reason "reviewer left", from the leaver; the item keeps its escalation
// (from its first reviewer, at the due date), so it still counts as
// escalated away from them, once. Before, it stayed with the leaver for
// good: escalated once, it was neither escalated nor handed on again.
func TestEscalatedReviewerLeftItemsHandedOn(t *testing.T) {
	ctx := t.Context()
	day := 24 * time.Hour
	e := newEnv(t, t0)
	north := []string{"north"}
	top := e.user("top", north, nil)
	boss := e.user("boss", north, managedBy(top))
	mgr := e.user("mgr", north, managedBy(boss))
	ann := e.user("ann", north, managedBy(mgr))
	// m2 and m3 manage each other (an HR data loop): bo's item goes
	// from m2 to m3 at the due date, and must not go back to m2 when m3
	// leaves.
	m2 := e.user("m2", north, nil)
	m3 := e.user("m3", north, managedBy(m2))
	e.update(m2.ID, func(u *store.User) { u.Document = enterprise(m3.ID, "") })
	bo := e.user("bo", north, managedBy(m2))
	e.group("Nurse", ann.ID, bo.ID)
	c, err := e.gov.StartCampaign(ctx, actor, governance.CampaignRequest{Name: "nurses", Due: t0.Add(7 * day),
		Scope: store.ReviewScope{Roles: []string{"Nurse"}}})
	if err != nil || c.TotalResults != 2 {
		t.Fatalf("campaign %+v, %v; want 2 items", c, err)
	}
	item := func(user store.User) governance.ItemView { t.Helper(); return e.itemOf(c.ID, user) }
	due := t0.Add(7*day + time.Minute)
	e.at(due)
	// The passes are run as RunDue runs them, without its default
	// campaigns, whose items would be handed on too.
	pass := func() (reassigned, escalated int) {
		t.Helper()
		r, err := e.gov.ReassignLeft(ctx, actor)
		if err != nil {
			t.Fatal(err)
		}
		n, err := e.gov.Escalate(ctx, actor)
		if err != nil {
			t.Fatal(err)
		}
		return r, n
	}
	if r, n := pass(); r != 0 || n != 2 {
		t.Fatalf("pass at the due date: %d reassigned, %d escalated; want both items escalated", r, n)
	}
	// want checks user's item: with reviewer (kind), escalated from
	// mgr at the due date, and its review.escalate records' from and
	// to, in order.
	type hop struct{ from, to, reason string }
	want := func(step string, user store.User, reviewer, kind, escalatedFrom string, hops ...hop) {
		t.Helper()
		it := item(user)
		if it.Reviewer != reviewer || it.ReviewerKind != kind || it.Decision != "pending" || it.EscalatedFrom != escalatedFrom ||
			it.Escalated == nil || !it.Escalated.Equal(due) {
			t.Errorf("%s: %s's item: reviewer %s (%s), %s, escalated from %q at %v; want %s (%s), pending, escalated from %q at %v",
				step, user.UserName, it.Reviewer, it.ReviewerKind, it.Decision, it.EscalatedFrom, it.Escalated, reviewer, kind, escalatedFrom, due)
		}
		recs := e.auditOf("user:"+user.ID, "review.escalate")
		if len(recs) != len(hops) {
			t.Errorf("%s: %s's item: %d review.escalate records, want %d", step, user.UserName, len(recs), len(hops))
			return
		}
		for i, h := range hops {
			var d struct{ Item, From, To, Reason string }
			if err := json.Unmarshal(recs[i].Detail, &d); err != nil {
				t.Fatal(err)
			}
			if d.Item != it.ID || d.From != h.from || d.To != h.to || d.Reason != h.reason || recs[i].Actor != actor.Name {
				t.Errorf("%s: %s's item: review.escalate %d by %s %+v; want from %s to %s, reason %q, by %s",
					step, user.UserName, i, recs[i].Actor, d, h.from, h.to, h.reason, actor.Name)
			}
		}
	}
	atDue := hop{"mgr", "boss", ""}
	loopAtDue := hop{"m2", "m3", ""}
	want("at the due date", ann, "boss", governance.ReviewerEscalated, "mgr", atDue)
	want("at the due date", bo, "m3", governance.ReviewerEscalated, "m2", loopAtDue)

	// boss and m3, who hold the escalated items, are disabled by SCIM.
	e.at(due.Add(day))
	for _, u := range []store.User{boss, m3} {
		e.update(u.ID, func(u *store.User) { u.Active = false })
	}
	if r, n := pass(); r != 2 || n != 0 {
		t.Fatalf("pass after boss and m3 left: %d reassigned, %d escalated; want both items handed on", r, n)
	}
	want("boss left", ann, "top", governance.ReviewerEscalated, "mgr", atDue, hop{"boss", "top", "reviewer left"})
	want("m3 left", bo, "admins", governance.ReviewerAdmins, "m2", loopAtDue, hop{"m3", "admins", "reviewer left"})
	if r, n := pass(); r != 0 || n != 0 {
		t.Errorf("a second pass: %d reassigned, %d escalated; want nothing handed on again", r, n)
	}

	// top, who has no manager, is deleted: the admins take ann's item.
	e.at(due.Add(2 * day))
	if err := e.engine.DeleteUser(ctx, actor, top.ID); err != nil {
		t.Fatal(err)
	}
	if r, n := pass(); r != 1 || n != 0 {
		t.Fatalf("pass after top was deleted: %d reassigned, %d escalated; want ann's item handed on", r, n)
	}
	// A deleted reviewer is named by ID, as Escalate names one.
	want("top deleted", ann, "admins", governance.ReviewerAdmins, "mgr", atDue, hop{"boss", "top", "reviewer left"}, hop{top.ID, "admins", "reviewer left"})

	p, err := e.gov.CampaignItems(ctx, c.ID, governance.FirstPage())
	if err != nil {
		t.Fatal(err)
	}
	if p.Progress.Escalated != 2 {
		t.Errorf("campaign progress %+v, want 2 escalated", p.Progress)
	}
	for _, r := range p.Reviewers {
		if (r.ReviewerID == mgr.ID || r.ReviewerID == m2.ID) && (r.Total != 1 || r.EscalatedAway != 1) {
			t.Errorf("%s's progress %+v, want 1 item, escalated away", r.Reviewer, r.Progress)
		}
	}
}
