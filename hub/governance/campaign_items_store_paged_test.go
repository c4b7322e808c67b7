package governance_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// wholeReads is a store that counts the reads that cost a whole campaign
// or the whole directory: every item of a campaign, every user, every
// group.
type wholeReads struct {
	store.Store
	items, users, groups atomic.Int64
}

func (s *wholeReads) ListReviewItems(ctx context.Context, q store.ReviewItemQuery) ([]store.ReviewItem, error) {
	if q.CampaignID != "" {
		s.items.Add(1)
	}
	return s.Store.ListReviewItems(ctx, q)
}

func (s *wholeReads) ListUsers(ctx context.Context, q store.UserQuery) ([]store.User, int, error) {
	if q.ID == "" && q.UserName == "" && q.ExternalID == "" {
		s.users.Add(1)
	}
	return s.Store.ListUsers(ctx, q)
}

func (s *wholeReads) ListGroups(ctx context.Context, q store.GroupQuery) ([]store.Group, int, error) {
	if q.ID == "" && q.DisplayName == "" && q.ExternalID == "" && q.MemberID == "" {
		s.groups.Add(1)
	}
	return s.Store.ListGroups(ctx, q)
}

// TestCampaignItemsReadsOnlyThePage: a page of a campaign's items costs
// that page, not the campaign: CampaignItems reads none of the campaign's
// other items, and neither every user nor every group of the hub, yet
// answers what the whole campaign, paged, answers (Campaign, then Page),
// to the byte: the page's items with their users' and reviewers' names
// (deleted ones from their tombstones), the filter's total, and progress
// and reviewers counted over every item, with decisions on time and
// late, kept and revoked, and items escalated away from their reviewer.
// The overview of every campaign (Campaigns) counts the same way.
func TestCampaignItemsReadsOnlyThePage(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t0)
	mia := e.user("mia", nil, nil) // sun's manager, who gets sun's overdue items
	sun := e.user("sun", []string{"north"}, func(u *store.User) { u.Document = enterprise(mia.ID, "") })
	e.group("Supervisor", sun.ID)
	var workers []string
	for i := range 30 {
		workers = append(workers, e.user(fmt.Sprintf("w%02d", i), []string{"north"}, nil).ID)
	}
	e.group("Nurse", workers...)
	due := t0.Add(48 * time.Hour)
	c, err := e.gov.StartCampaign(ctx, actor, governance.CampaignRequest{Name: "Q1 north", Due: due, Scope: store.ReviewScope{Sites: []string{"north"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Items) < 60 {
		t.Fatalf("campaign of %d items, want at least 60", len(c.Items))
	}
	decide := func(from, to int, decision string) {
		t.Helper()
		for _, it := range c.Items[from:to] {
			if _, err := e.gov.Decide(ctx, decider, it.ID, decision, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.at(t0.Add(time.Hour))
	decide(3, 13, governance.DecisionKeep)
	decide(13, 17, governance.DecisionRevoke)
	e.at(due) // to the nanosecond: on time
	decide(17, 19, governance.DecisionKeep)
	e.at(due.Add(time.Hour)) // the rest go to mia
	if n, err := e.gov.Escalate(ctx, actor); err != nil || n == 0 {
		t.Fatalf("escalate: %d, %v", n, err)
	}
	e.at(due.Add(2 * time.Hour)) // late
	decide(30, 36, governance.DecisionRevoke)
	decide(40, 43, governance.DecisionKeep)
	e.at(due.Add(30 * 24 * time.Hour))
	for _, id := range []string{sun.ID, workers[0], workers[20]} {
		if err := e.engine.DeleteUser(ctx, actor, id); err != nil {
			t.Fatal(err)
		}
	}

	whole, err := e.gov.Campaign(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	st := &wholeReads{Store: e.st}
	gov, err := governance.New(governance.Config{Store: st, Audit: e.log, Engine: e.engine, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	n := len(whole.Items)
	for _, p := range []governance.ItemPage{
		governance.FirstPage(),
		{StartIndex: 1, Count: 7},
		{StartIndex: 25, Count: 10},
		{StartIndex: n - 2, Count: 10},
		{StartIndex: n + 5, Count: 10},
		{StartIndex: 1, Count: 0},
		{StartIndex: 1, Count: 5, Decision: governance.FilterPending},
		{StartIndex: 9, Count: 5, Decision: governance.FilterPending},
		{StartIndex: 1, Count: 1000, Decision: governance.FilterDecided},
		{StartIndex: 4, Count: 6, Decision: governance.FilterDecided},
		{StartIndex: 2, Count: 3, Decision: governance.DecisionKeep},
		{StartIndex: 1, Count: 1000, Decision: governance.DecisionRevoke},
		{StartIndex: 1, Count: 0, Decision: governance.DecisionRevoke},
		{StartIndex: 1, Count: 1000, PendingFirst: true},
		{StartIndex: 20, Count: 10, PendingFirst: true},
		{StartIndex: n - 30, Count: 10, PendingFirst: true},
	} {
		t.Run(fmt.Sprintf("%+v", p), func(t *testing.T) {
			got, err := gov.CampaignItems(ctx, c.ID, p)
			if err != nil {
				t.Fatal(err)
			}
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(whole.Page(p))
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("CampaignItems answers\n%s\nthe whole campaign, paged, answers\n%s", gotJSON, wantJSON)
			}
		})
	}
	// The overview counts as the campaign does, and reads no more.
	o, err := gov.Campaigns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	alone := whole
	alone.Items = nil
	gotJSON, _ := json.Marshal(o)
	wantJSON, _ := json.Marshal(governance.Overview{Campaigns: []governance.CampaignView{alone}, Reviewers: whole.Reviewers})
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("overview\n%s\nwant\n%s", gotJSON, wantJSON)
	}
	if i, u, g := st.items.Load(), st.users.Load(), st.groups.Load(); i != 0 || u != 0 || g != 0 {
		t.Errorf("pages and the overview read every item of the campaign %d times, every user %d times, every group %d times; want none", i, u, g)
	}
	if _, err := gov.CampaignItems(ctx, "nope", governance.FirstPage()); err == nil {
		t.Error("unknown campaign: no error")
	}
}
