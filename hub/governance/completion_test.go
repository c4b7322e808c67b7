package governance_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// campaignReads is a store that counts the reads of one campaign's items.
type campaignReads struct {
	store.Store
	n atomic.Int64
}

func (s *campaignReads) ListReviewItems(ctx context.Context, q store.ReviewItemQuery) ([]store.ReviewItem, error) {
	if q.CampaignID != "" {
		s.n.Add(1)
	}
	return s.Store.ListReviewItems(ctx, q)
}

// TestReviewCompletionReadsChangedCampaigns: the access-review completion
// rate reads a due campaign's items once, and again only after a change
// to them (a decision, even a late one); however often the numbers are
// asked for, the reads do not grow, and the rate follows every change,
// including a decision made at the very due date of a campaign already
// counted.
func TestReviewCompletionReadsChangedCampaigns(t *testing.T) {
	ctx := t.Context()
	day := 24 * time.Hour
	e := newEnv(t, t0)
	ann := e.user("ann", []string{"north"}, nil)
	bo := e.user("bo", []string{"north"}, nil)
	e.group("Nurse", ann.ID, bo.ID)
	var cs []governance.CampaignPage
	for i := 1; i <= 3; i++ {
		c, err := e.gov.StartCampaign(ctx, actor, governance.CampaignRequest{Name: fmt.Sprintf("c%d", i), Due: t0.Add(time.Duration(i) * day),
			Scope: store.ReviewScope{Roles: []string{"Nurse"}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Items) != 2 {
			t.Fatalf("campaign %s has %d items, want 2", c.Name, len(c.Items))
		}
		cs = append(cs, c)
	}
	decide := func(c governance.CampaignPage, user string) {
		t.Helper()
		for _, it := range c.Items {
			if it.User == user {
				if _, err := e.gov.Decide(ctx, decider, it.ID, "keep", ""); err != nil {
					t.Fatal(err)
				}
				return
			}
		}
		t.Fatalf("no item of %s in %s", user, c.Name)
	}
	st := &campaignReads{Store: e.st}
	gov, err := governance.New(governance.Config{Store: st, Audit: e.log, Engine: e.engine, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string, p governance.Period, calls int, wantOnTime, wantDue int, wantReads int64) {
		t.Helper()
		for range calls {
			r, err := gov.NumbersIn(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			if r.Counts.ReviewItemsOnTime != wantOnTime || r.Counts.ReviewItemsDue != wantDue {
				t.Fatalf("%s: %d of %d review items decided on time, want %d of %d", when, r.Counts.ReviewItemsOnTime, r.Counts.ReviewItemsDue, wantOnTime, wantDue)
			}
		}
		if got := st.n.Load(); got != wantReads {
			t.Errorf("%s: %d reads of a campaign's items in all, want %d", when, got, wantReads)
		}
	}

	e.at(t0.Add(12 * time.Hour))
	decide(cs[0], "ann")
	check("nothing due", governance.Period{}, 3, 0, 0, 0)
	e.at(t0.Add(3 * day)) // c3 is due this very instant
	check("every campaign due", governance.Period{}, 5, 1, 6, 3)
	check("a period", governance.Period{Since: t0.Add(36 * time.Hour)}, 2, 0, 4, 3)

	// Decided at c3's due date: on time. Only c3 is read again.
	decide(cs[2], "ann")
	check("after a decision at the due date", governance.Period{}, 4, 2, 6, 4)

	// Decided late: not on time, but c2 is read again once.
	e.at(t0.Add(4 * day))
	decide(cs[1], "bo")
	check("after a late decision", governance.Period{}, 4, 2, 6, 5)
	// Escalation changes the reviewer, not the counts: read again once.
	if n, err := e.gov.Escalate(ctx, actor); err != nil || n != 3 {
		t.Fatalf("escalate: %d, %v; want the 3 pending items", n, err)
	}
	check("after an escalation", governance.Period{}, 3, 2, 6, 8)
}
