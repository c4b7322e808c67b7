package governance_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// writeCount is a store that counts its write transactions.
type writeCount struct {
	store.Store
	n atomic.Int64
}

func (s *writeCount) InTx(ctx context.Context, fn func(store.Ops) error) error {
	s.n.Add(1)
	return s.Store.InTx(ctx, fn)
}

// TestRunDueIdleWritesNothing: the scheduler's review pass, which the hub
// runs every minute, opens no write transaction once the period's default
// campaigns are started and nothing is overdue. Building a campaign reads
// every user, group and grant inside a write transaction, which holds up
// every other write of the hub (kiosk logins, teardown acks) while it
// runs; a pass that built each default again, only to have it refused at
// its insert as started already, did that three times a minute. A new
// period's campaigns are still started, once.
func TestRunDueIdleWritesNothing(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t, t0)
	ann := e.user("ann", []string{"north"}, func(u *store.User) { u.EmploymentType = "contractor" })
	e.group("Supervisor", ann.ID)
	st := &writeCount{Store: e.st}
	eng, err := lifecycle.New(lifecycle.Config{Store: st, Audit: e.log, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	gov, err := governance.New(governance.Config{Store: st, Audit: e.log, Engine: eng, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	pass := func(when string, wantStarted, wantEscalated int, wantWrites int64) {
		t.Helper()
		before := st.n.Load()
		got, err := gov.RunDue(ctx)
		if err != nil || len(got.Campaigns) != wantStarted || got.Escalated != wantEscalated {
			t.Fatalf("%s: RunDue = %+v, %v; want %d campaigns started, %d items escalated", when, got, err, wantStarted, wantEscalated)
		}
		if n := st.n.Load() - before; n != wantWrites {
			t.Errorf("%s: %d write transactions, want %d", when, n, wantWrites)
		}
	}
	pass("first pass of the period", 3, 0, 3)
	for i := range 3 {
		e.at(t0.Add(time.Duration(i+1) * time.Minute))
		pass("a later pass of the period", 0, 0, 0)
	}
	// The next month: its two monthly campaigns, once, in a transaction
	// each, and one more that escalates the three items of last month's,
	// overdue since (ann's role in each, her site in the external one).
	next := time.Date(t0.Year(), t0.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	e.at(next)
	pass("first pass of the next month", 2, 3, 3)
	e.at(next.Add(time.Minute))
	pass("a later pass of the next month", 0, 0, 0)
	cs, err := e.st.ListCampaigns(ctx)
	if err != nil || len(cs) != 5 {
		t.Fatalf("campaigns = %d, %v; want 5", len(cs), err)
	}
}
