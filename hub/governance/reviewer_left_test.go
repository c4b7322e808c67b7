package governance_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestReviewerLeftItemsReassigned: a reviewer who leaves mid-campaign
// (disabled by SCIM, or deleted) has their pending items handed on by the
// scheduler's next pass, at once rather than at the due date: to their
// manager (a deleted reviewer's read from its tombstone), or to the
// admins when they have none. Each hand-on shows on the item (escalated
// from the leaver) and is recorded as review.escalate with the reason
// "reviewer left". A decided item stays as it was, and so does an item
// about the leaver's own access (their manager reviews it, and has not
// left); a reviewer disabled and enabled again before the pass keeps
// their items. Each reviewer then works through their own worklist, and
// the campaign is complete on time; before, the leavers' items waited in
// queues nobody worked, and the completion rate at the due date was one
// half.
func TestReviewerLeftItemsReassigned(t *testing.T) {
	ctx := t.Context()
	hour, day := time.Hour, 24*time.Hour
	e := newEnv(t, t0)
	north := []string{"north"}
	boss := e.user("boss", north, nil)
	mgr := e.user("mgr", north, managedBy(boss))
	lone := e.user("lone", north, nil) // no manager: the admins take over
	dee := e.user("dee", north, managedBy(boss))
	del := e.user("del", north, managedBy(boss))
	ann := e.user("ann", north, managedBy(mgr))
	bo := e.user("bo", north, managedBy(mgr))
	cy := e.user("cy", north, managedBy(lone))
	eve := e.user("eve", north, managedBy(dee))
	fay := e.user("fay", north, managedBy(del))
	e.group("Nurse", ann.ID, bo.ID, cy.ID, eve.ID, fay.ID, mgr.ID)
	c, err := e.gov.StartCampaign(ctx, actor, governance.CampaignRequest{Name: "nurses", Due: t0.Add(7 * day),
		Scope: store.ReviewScope{Roles: []string{"Nurse"}}})
	if err != nil {
		t.Fatal(err)
	}
	if c.TotalResults != 6 {
		t.Fatalf("%d items, want 6", c.TotalResults)
	}
	item := func(user store.User) governance.ItemView { t.Helper(); return e.itemOf(c.ID, user) }
	e.at(t0.Add(hour))
	if _, err := e.gov.Decide(ctx, decider, item(ann).ID, "keep", "still on the ward"); err != nil {
		t.Fatal(err)
	}

	// Mid-campaign, mgr and lone are disabled by SCIM, del is deleted;
	// dee is disabled and enabled again before the pass.
	e.at(t0.Add(day))
	for _, u := range []store.User{mgr, lone, dee} {
		e.update(u.ID, func(u *store.User) { u.Active = false })
	}
	if err := e.engine.DeleteUser(ctx, actor, del.ID); err != nil {
		t.Fatal(err)
	}
	e.update(dee.ID, func(u *store.User) { u.Active = true })
	pass := t0.Add(day + time.Minute)
	e.at(pass)
	st, err := e.gov.RunDue(ctx)
	if err != nil || st.Reassigned != 3 || st.Escalated != 0 {
		t.Fatalf("pass: %+v, %v; want the 3 items of mgr, lone and del reassigned, none escalated", st, err)
	}

	for _, tc := range []struct {
		user                     store.User
		reviewer, kind, from, to string // to: the audit record's; "" for no hand-on
		decision                 string
	}{
		{ann, "mgr", governance.ReviewerManager, "", "", "keep"},
		{bo, "boss", governance.ReviewerEscalated, "mgr", "boss", "pending"},
		{cy, "admins", governance.ReviewerAdmins, "lone", "admins", "pending"},
		{eve, "dee", governance.ReviewerManager, "", "", "pending"},
		{fay, "boss", governance.ReviewerEscalated, "del", "boss", "pending"},
		{mgr, "boss", governance.ReviewerManager, "", "", "pending"}, // the leaver's own access
	} {
		it := item(tc.user)
		if it.Reviewer != tc.reviewer || it.ReviewerKind != tc.kind || it.Decision != tc.decision || it.EscalatedFrom != tc.from {
			t.Errorf("%s's item: reviewer %s (%s), %s, escalated from %q; want %s (%s), %s, escalated from %q",
				tc.user.UserName, it.Reviewer, it.ReviewerKind, it.Decision, it.EscalatedFrom, tc.reviewer, tc.kind, tc.decision, tc.from)
		}
		if (it.Escalated != nil) != (tc.from != "") || it.Escalated != nil && !it.Escalated.Equal(pass) {
			t.Errorf("%s's item escalated at %v, want %v", tc.user.UserName, it.Escalated, tc.from != "")
		}
		recs := e.auditOf("user:"+tc.user.ID, "review.escalate")
		if tc.to == "" {
			if len(recs) != 0 {
				t.Errorf("%s's item: review.escalate recorded: %s", tc.user.UserName, recs[0].Detail)
			}
			continue
		}
		if len(recs) != 1 {
			t.Errorf("%s's item: %d review.escalate records, want 1", tc.user.UserName, len(recs))
			continue
		}
		var d struct{ Item, From, To, Reason string }
		if err := json.Unmarshal(recs[0].Detail, &d); err != nil {
			t.Fatal(err)
		}
		from := tc.from
		if tc.user.ID == fay.ID {
			from = del.ID // a deleted reviewer is named by ID, as Escalate names one
		}
		if d.Item != it.ID || d.From != from || d.To != tc.to || d.Reason != "reviewer left" || recs[0].Actor != "scheduler" {
			t.Errorf("%s's item: review.escalate by %s %+v; want from %s to %s, reason \"reviewer left\", by the scheduler",
				tc.user.UserName, recs[0].Actor, d, from, tc.to)
		}
	}
	if st, err := e.gov.RunDue(ctx); err != nil || st.Reassigned != 0 {
		t.Errorf("a second pass: %+v, %v; want nothing reassigned again", st, err)
	}

	// Every reviewer who is still there works through their worklist.
	e.at(t0.Add(2 * day))
	work := func(d governance.Decider, q store.ReviewItemQuery) {
		t.Helper()
		q.CampaignID, q.PendingOnly = c.ID, true
		its, err := e.st.ListReviewItems(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range its {
			_, err := e.gov.Decide(ctx, d, it.ID, "keep", "")
			if errors.Is(err, governance.ErrConflict) {
				// A leaver's own access: nothing left to keep.
				_, err = e.gov.Decide(ctx, d, it.ID, "revoke", "")
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	person := func(u store.User) governance.Decider {
		return governance.Decider{Actor: lifecycle.Actor{Name: u.UserName, System: "console"}, UserID: u.ID}
	}
	work(person(boss), store.ReviewItemQuery{ReviewerID: boss.ID})
	work(person(dee), store.ReviewItemQuery{ReviewerID: dee.ID})
	work(decider, store.ReviewItemQuery{ReviewerKind: governance.ReviewerAdmins})
	p, err := e.gov.CampaignItems(ctx, c.ID, governance.FirstPage())
	if err != nil {
		t.Fatal(err)
	}
	if p.Progress.Decided != 6 || p.Progress.Escalated != 3 {
		t.Errorf("campaign progress %+v, want 6 decided, 3 escalated", p.Progress)
	}
	for _, r := range p.Reviewers {
		if r.ReviewerID == mgr.ID && (r.Total != 2 || r.EscalatedAway != 1 || r.Decided != 1) {
			t.Errorf("mgr's progress %+v, want 2 items, 1 decided, 1 escalated away", r.Progress)
		}
	}

	e.at(t0.Add(7 * day))
	r := e.numbers()
	if r.Counts.ReviewItemsOnTime != 6 || r.Counts.ReviewItemsDue != 6 || r.AccessReviewCompletionRate == nil || *r.AccessReviewCompletionRate != 1 {
		t.Errorf("at the due date: %d of %d review items decided on time (rate %v), want 6 of 6",
			r.Counts.ReviewItemsOnTime, r.Counts.ReviewItemsDue, r.AccessReviewCompletionRate)
	}
}

// reenabling is a store that enables a reviewer again right after the
// scheduler's pass has read the items of reviewers who left, before it
// hands them on.
type reenabling struct {
	store.Store
	userID string
}

func (s *reenabling) ListReviewItems(ctx context.Context, q store.ReviewItemQuery) ([]store.ReviewItem, error) {
	its, err := s.Store.ListReviewItems(ctx, q)
	if err == nil && q.ReviewerGone && s.userID != "" {
		_, err = s.Store.UpdateUser(ctx, s.userID, func(u store.User) (store.User, error) {
			u.State, u.Active = store.UserActive, true
			return u, nil
		})
		s.userID = ""
	}
	return its, err
}

// TestReviewerBackBeforeReassign: a reviewer enabled again between the
// pass's read of the leavers' items and their hand-on keeps them: the
// hand-on reads the reviewer again in its own transaction.
func TestReviewerBackBeforeReassign(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t, t0)
	boss := e.user("boss", []string{"north"}, nil)
	dee := e.user("dee", []string{"north"}, func(u *store.User) { u.Document = enterprise(boss.ID, "") })
	eve := e.user("eve", []string{"north"}, func(u *store.User) { u.Document = enterprise(dee.ID, "") })
	e.group("Nurse", eve.ID)
	c, err := e.gov.StartCampaign(ctx, actor, governance.CampaignRequest{Name: "nurses", Due: t0.Add(7 * 24 * time.Hour),
		Scope: store.ReviewScope{Roles: []string{"Nurse"}}})
	if err != nil || c.TotalResults != 1 || c.Items[0].ReviewerID != dee.ID {
		t.Fatalf("campaign: %+v, %v; want eve's item, reviewed by dee", c, err)
	}
	e.at(t0.Add(time.Hour)).update(dee.ID, func(u *store.User) { u.Active = false })
	gov, err := governance.New(governance.Config{Store: &reenabling{Store: e.st, userID: dee.ID}, Audit: e.log, Engine: e.engine, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := gov.ReassignLeft(ctx, actor); err != nil || n != 0 {
		t.Errorf("reassign: %d, %v; want nothing: dee is back", n, err)
	}
	it, err := e.st.GetReviewItem(ctx, c.Items[0].ID)
	if err != nil || it.ReviewerID != dee.ID || !it.Escalated.IsZero() {
		t.Errorf("eve's item: %+v, %v; want dee's still, not escalated", it, err)
	}
	if recs := e.auditOf("user:"+eve.ID, "review.escalate"); len(recs) != 0 {
		t.Errorf("review.escalate recorded: %s", recs[0].Detail)
	}
}
