package governance_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestProvisionStartPostponedWhileActive: HR postpones day one of a
// joiner the hub already made active. The joiner is pending until its new
// start date and can sign in only once the scheduler activates it again;
// a badge registered meanwhile does not make it provisioned (at 0 s)
// before its first day, and the scheduler's delay after the new start
// date counts.
func TestProvisionStartPostponedWhileActive(t *testing.T) {
	minute, hour, day := time.Minute, time.Hour, 24*time.Hour
	e := newEnv(t, t0)
	u := e.user("jo", []string{"north"}, nil)
	e.group("Picker", u.ID)
	if got := e.at(t0.Add(hour)).update(u.ID, func(u *store.User) { u.StartDate = t0.Add(5 * day) }); got.State != store.UserPending {
		t.Fatalf("state after the start date moved ahead = %v, want pending", got.State)
	}
	e.at(t0.Add(2 * hour)).badge(u.ID)
	wantTTP(t, e.at(t0.Add(3*day)), "before the new start date", governance.Durations{})
	wantTTP(t, e.at(t0.Add(5*day+30*time.Second)), "new start date passed, scheduler late", governance.Durations{Pending: 1})
	if d, err := e.at(t0.Add(5*day + minute)).engine.RunDue(t.Context()); err != nil || d.Activated != 1 {
		t.Fatalf("activate: %+v, %v", d, err)
	}
	wantTTP(t, e, "activated a minute after the new start date", one(60))
}

// TestCommentKeepsDecisionReason: a comment on a decided item is added to
// its notes; it does not replace the reason the reviewer gave with the
// decision, which the evidence shows an auditor. The notes of one item
// are bounded.
func TestCommentKeepsDecisionReason(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t, t0)
	ann := e.user("ann", []string{"north"}, nil)
	e.group("Nurse", ann.ID)
	c, err := e.gov.StartCampaign(ctx, actor, governance.CampaignRequest{Name: "q", Due: t0.Add(48 * time.Hour), Scope: store.ReviewScope{Roles: []string{"Nurse"}}})
	if err != nil || len(c.Items) != 1 {
		t.Fatalf("campaign %+v, %v", c, err)
	}
	id := c.Items[0].ID
	if _, err := e.at(t0.Add(time.Hour)).gov.Decide(ctx, decider, id, "keep", "covers night shifts on ward 3"); err != nil {
		t.Fatal(err)
	}
	v, err := e.gov.Decide(ctx, decider, id, "comment", "checked with HR")
	if err != nil {
		t.Fatal(err)
	}
	const want = "covers night shifts on ward 3\nchecked with HR"
	if v.Comment != want || v.Decision != "keep" {
		t.Errorf("item after a comment: decision %q, comment %q; want keep, %q", v.Decision, v.Comment, want)
	}
	ev, err := e.gov.Evidence(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Items) != 1 || ev.Items[0].Comment != want || ev.Items[0].AuditCheck != governance.AuditRecorded {
		t.Errorf("evidence rows = %+v, want the comment %q, recorded", ev.Items, want)
	}

	// Each note differs from the one before: the same note again right
	// after is a repeat, which adds nothing (TestCommentRepeat).
	var last error
	for i := range 12 {
		note := string(rune('a'+i)) + strings.Repeat("n", 1998)
		if _, last = e.gov.Decide(ctx, decider, id, "comment", note); last != nil {
			break
		}
	}
	if !errors.Is(last, governance.ErrConflict) {
		t.Errorf("comments past the notes' limit: %v, want a conflict", last)
	}
}

// itemsPerCampaign is a store that fails a test reading the review items
// of every campaign at once: years of campaigns do not fit in memory.
type itemsPerCampaign struct {
	store.Store
	t *testing.T
}

func (s itemsPerCampaign) ListReviewItems(ctx context.Context, q store.ReviewItemQuery) ([]store.ReviewItem, error) {
	if q.CampaignID == "" && q.ReviewerID == "" && q.OverdueAt.IsZero() {
		s.t.Errorf("ListReviewItems(%+v) reads the items of every campaign at once", q)
	}
	return s.Store.ListReviewItems(ctx, q)
}

// TestCampaignsOverviewBoundedMemory: the overview of every campaign and
// every reviewer's progress across them reads the items one campaign at a
// time, and counts each item once, against its own campaign's due date.
func TestCampaignsOverviewBoundedMemory(t *testing.T) {
	ctx := t.Context()
	day := 24 * time.Hour
	e := newEnv(t, t0)
	sam := e.user("sam", []string{"north"}, nil)
	e.group("Supervisor", sam.ID)
	ann := e.user("ann", []string{"north"}, nil)
	e.group("Nurse", ann.ID)
	first, err := e.gov.StartCampaign(ctx, actor, governance.CampaignRequest{Name: "first", Due: t0.Add(day), Scope: store.ReviewScope{Roles: []string{"Nurse"}}})
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.gov.StartCampaign(ctx, actor, governance.CampaignRequest{Name: "second", Due: t0.Add(3 * day), Scope: store.ReviewScope{Roles: []string{"Nurse"}}})
	if err != nil {
		t.Fatal(err)
	}
	// Decided a day late for the first, on time for the second.
	for _, c := range []governance.CampaignPage{first, second} {
		if _, err := e.at(t0.Add(2*day)).gov.Decide(ctx, decider, c.Items[0].ID, "keep", ""); err != nil {
			t.Fatal(err)
		}
	}
	gov, err := governance.New(governance.Config{Store: itemsPerCampaign{Store: e.st, t: t}, Audit: e.log, Engine: e.engine, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	o, err := gov.Campaigns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []governance.ReviewerProgress{{Reviewer: "sam", ReviewerID: sam.ID, Progress: governance.Progress{
		Total: 2, Decided: 2, DecidedOnTime: 1, Kept: 2, CompletionRate: f(1)}}}
	if d := gocmp.Diff(want, o.Reviewers); d != "" {
		t.Errorf("reviewers across campaigns (-want +got):\n%s", d)
	}
	onTime := map[string]int{}
	for _, c := range o.Campaigns {
		onTime[c.Name] = c.Progress.DecidedOnTime
	}
	if d := gocmp.Diff(map[string]int{"first": 0, "second": 1}, onTime); d != "" {
		t.Errorf("campaigns' items decided on time (-want +got):\n%s", d)
	}
}
