package governance_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// txCounter is a store whose write transactions count what they do:
// the review items each escalates, and whether one read the whole
// directory (every user, or every group).
type txCounter struct {
	store.Store

	mu        sync.Mutex
	updates   []int // review items updated, per transaction
	wholeDirs int   // transactions that listed every user or group
}

func (c *txCounter) InTx(ctx context.Context, fn func(tx store.Ops) error) error {
	o := &countingOps{Ops: nil}
	err := c.Store.InTx(ctx, func(tx store.Ops) error {
		*o = countingOps{Ops: tx}
		return fn(o)
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	c.updates = append(c.updates, o.updates)
	if o.wholeDir {
		c.wholeDirs++
	}
	return err
}

type countingOps struct {
	store.Ops
	updates  int
	wholeDir bool
}

func (o *countingOps) UpdateReviewItem(ctx context.Context, id string, fn func(store.ReviewItem) (store.ReviewItem, error)) (store.ReviewItem, error) {
	o.updates++
	return o.Ops.UpdateReviewItem(ctx, id, fn)
}

func (o *countingOps) ListUsers(ctx context.Context, q store.UserQuery) ([]store.User, int, error) {
	if q.ID == "" && q.UserName == "" && q.ExternalID == "" {
		o.wholeDir = true
	}
	return o.Ops.ListUsers(ctx, q)
}

func (o *countingOps) ListGroups(ctx context.Context, q store.GroupQuery) ([]store.Group, int, error) {
	if q.DisplayName == "" && q.MemberID == "" {
		o.wholeDir = true
	}
	return o.Ops.ListGroups(ctx, q)
}

// TestEscalateInBatches: a campaign left to run over with many items
// escalates them in several write transactions, none of them holding
// more than a bounded batch of items, and none reading the whole
// directory (every user and group) while it holds the writer; the
// escalations, and their audit records, are those one transaction made:
// each item to its reviewer's manager (a manager found by userName or
// externalId too), or to the admins when the reviewer has none, is gone,
// or is the user under review.
func TestEscalateInBatches(t *testing.T) {
	const (
		n        = 1000 // items: five times the batch
		maxPerTx = 250  // well under n: a bounded batch
	)
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	st, w := newWrappedEnv(t, start, func(s store.Store) *txCounter { return &txCounter{Store: s} }, nil)
	raw, clk, eng, gov := w.raw, w.clock, w.engine, w.gov
	ctx := t.Context()
	mk := func(name, externalID, manager string) store.User {
		u := store.User{ID: uuid.NewString(), UserName: name, ExternalID: externalID, Active: true, Sites: []string{"north"}}
		if manager != "" {
			u.Document = enterprise(manager, "")
		}
		u, err := eng.CreateUser(ctx, actor, u)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	boss := mk("boss", "", "")
	lead := mk("lead", "ext-lead", "")
	byName := mk("by-name", "", "Boss")    // manager by userName, in another case
	byExt := mk("by-ext", "", "ext-lead")  // manager by externalId
	byID := mk("by-id", "", boss.ID)       // manager by ID
	alone := mk("alone", "", "")           // no manager: to the admins
	gone := mk("gone", "", "no-such-user") // a manager nobody is: to the admins
	worker := mk("worker", "", "")
	type want struct{ to, kind, toName, fromName string }
	reviewers := []struct {
		id, name string
		user     string // the user under review
		want     want
	}{
		{byName.ID, "by-name", worker.ID, want{boss.ID, governance.ReviewerEscalated, "boss", "by-name"}},
		{byExt.ID, "by-ext", worker.ID, want{lead.ID, governance.ReviewerEscalated, "lead", "by-ext"}},
		{byID.ID, "by-id", worker.ID, want{boss.ID, governance.ReviewerEscalated, "boss", "by-id"}},
		{byID.ID, "by-id", boss.ID, want{"", governance.ReviewerAdmins, "admins", "by-id"}}, // the manager is the user under review
		{alone.ID, "alone", worker.ID, want{"", governance.ReviewerAdmins, "admins", "alone"}},
		{gone.ID, "gone", worker.ID, want{"", governance.ReviewerAdmins, "admins", "gone"}},
		{"", "admins", worker.ID, want{"", governance.ReviewerAdmins, "admins", "admins"}},
		{"no-such-reviewer", "no-such-reviewer", worker.ID, want{"", governance.ReviewerAdmins, "admins", "no-such-reviewer"}},
	}
	c := store.Campaign{ID: uuid.NewString(), Name: "big", Due: start.Add(time.Hour), Created: start, CreatedBy: actor.Name}
	items := make([]store.ReviewItem, n)
	wants := map[string]want{}
	for i := range items {
		r := reviewers[i%len(reviewers)]
		kind := governance.ReviewerManager
		if r.id == "" {
			kind = governance.ReviewerAdmins
		}
		items[i] = store.ReviewItem{ID: fmt.Sprintf("item-%04d", i), CampaignID: c.ID, UserID: r.user, Kind: store.ReviewItemSite,
			Entitlement: "north", Detail: "site north", ReviewerID: r.id, ReviewerKind: kind, Decision: store.ReviewPending, Created: start}
		wants[items[i].ID] = r.want
	}
	if err := raw.InTx(ctx, func(tx store.Ops) error { _, err := tx.CreateCampaign(ctx, c, items); return err }); err != nil {
		t.Fatal(err)
	}
	clk.Set(start.Add(2 * time.Hour))
	st.mu.Lock()
	st.updates, st.wholeDirs = nil, 0
	st.mu.Unlock()

	got, err := gov.Escalate(ctx, actor)
	if err != nil {
		t.Fatal(err)
	}
	if got != n {
		t.Errorf("escalated %d items, want %d", got, n)
	}
	st.mu.Lock()
	updates, wholeDirs := st.updates, st.wholeDirs
	st.mu.Unlock()
	total := 0
	for i, u := range updates {
		total += u
		if u > maxPerTx {
			t.Errorf("write transaction %d escalated %d items: at most %d in one, so that it does not hold up the hub's other writes", i, u, maxPerTx)
		}
	}
	if total != n {
		t.Errorf("%d items updated over %d transactions, want %d", total, len(updates), n)
	}
	if wholeDirs > 0 {
		t.Errorf("%d write transactions read the whole directory", wholeDirs)
	}

	all, err := raw.ListReviewItems(ctx, store.ReviewItemQuery{CampaignID: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range all {
		w := wants[it.ID]
		if it.ReviewerID != w.to || it.ReviewerKind != w.kind || it.Escalated.IsZero() {
			t.Errorf("%s: reviewer %q (%s), escalated %v; want %q (%s)", it.ID, it.ReviewerID, it.ReviewerKind, it.Escalated, w.to, w.kind)
		}
	}
	recs, err := raw.ListAudit(ctx, store.AuditQuery{Action: "review.escalate"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != n {
		t.Fatalf("%d review.escalate records, want %d", len(recs), n)
	}
	for i, r := range recs {
		var d map[string]any
		if err := json.Unmarshal(r.Detail, &d); err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("item-%04d", i) // in the items' order, as one transaction recorded them
		w := wants[id]
		if d["item"] != id || d["from"] != w.fromName || d["to"] != w.toName || d["campaign"] != c.ID || d["kind"] != store.ReviewItemSite || d["entitlement"] != "north" {
			t.Errorf("record %d: %v; want item %s from %s to %s", i, d, id, w.fromName, w.toName)
		}
	}

	// Nothing is left overdue: a second pass escalates nothing.
	if again, err := gov.Escalate(ctx, actor); err != nil || again != 0 {
		t.Errorf("second pass: %d, %v; want 0", again, err)
	}
}
