package governance_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestStartCampaignReadsOnlyTheFirstPage: StartCampaign answers the new
// campaign with the first page of its items, as GET /api/v1/reviews/{id}
// answers it (and POST /api/v1/reviews passes it on), and reads no more
// to make it: not every item of the campaign, nor every user of the hub
// for their names. It read both (the whole campaign, with the deleted
// users of all its items) and then cut the first page off: tens of
// thousands of items held at once for a campaign over a large site.
func TestStartCampaignReadsOnlyTheFirstPage(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t, t0)
	sun := e.user("sun", []string{"north"}, nil)
	e.group("Supervisor", sun.ID)
	var workers []string
	for i := range 12 {
		workers = append(workers, e.user(fmt.Sprintf("w%02d", i), []string{"north"}, nil).ID)
	}
	e.group("Nurse", workers...)
	st := &wholeReads{Store: e.st}
	gov, err := governance.New(governance.Config{Store: st, Audit: e.log, Engine: e.engine, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	started, err := gov.StartCampaign(ctx, actor, governance.CampaignRequest{Name: "Q1 north", Due: t0.Add(48 * time.Hour), Scope: store.ReviewScope{Sites: []string{"north"}}})
	if err != nil {
		t.Fatal(err)
	}
	if i, u, g := st.items.Load(), st.users.Load(), st.groups.Load(); i != 0 || u != 0 || g != 0 {
		t.Errorf("StartCampaign's answer read every item of the campaign %d times, every user %d times, every group %d times; want none", i, u, g)
	}
	whole, err := e.gov.Campaign(ctx, started.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(whole.Items) < 24 {
		t.Fatalf("campaign of %d items, want at least 24", len(whole.Items))
	}
	gotJSON, _ := json.Marshal(started)
	wantJSON, _ := json.Marshal(whole.Page(governance.FirstPage()))
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("StartCampaign answers\n%s\nthe whole campaign, paged, answers\n%s", gotJSON, wantJSON)
	}
}
