package governance_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// searchRecorder is a store whose write transactions record the audit
// searches made in them.
type searchRecorder struct {
	store.Store

	mu       sync.Mutex
	searches []store.AuditSearch
}

func (r *searchRecorder) InTx(ctx context.Context, fn func(tx store.Ops) error) error {
	return r.Store.InTx(ctx, func(tx store.Ops) error { return fn(&searchRecordingOps{Ops: tx, r: r}) })
}

func (r *searchRecorder) take() []store.AuditSearch {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.searches
	r.searches = nil
	return s
}

type searchRecordingOps struct {
	store.Ops
	r *searchRecorder
}

func (o *searchRecordingOps) SearchAudit(ctx context.Context, q store.AuditSearch) ([]store.AuditRecord, error) {
	o.r.mu.Lock()
	o.r.searches = append(o.r.searches, q)
	o.r.mu.Unlock()
	return o.Ops.SearchAudit(ctx, q)
}

// TestCommentRepeatSearchNotBoundedByTime: the same comment sent again
// is checked for a repeat, inside the decision's write transaction, by a
// search for the newest record about the item (Limit 1), with no time
// bound: the store walks the user's records newest first and stops at
// the first that mentions the item, whereas a search bounded by time
// cannot stop at the window's start and, for a last note older than the
// window, walked the user's whole trail while it held the hub's writer.
// The window is still kept: the same comment after it, with many of the
// user's records in between, is a note of its own; within it, with the
// user's other records in between, it is a repeat.
func TestCommentRepeatSearchNotBoundedByTime(t *testing.T) {
	ctx := t.Context()
	st, w := newWrappedEnv(t, t0, func(s store.Store) *searchRecorder { return &searchRecorder{Store: s} }, nil)
	raw, clk, log, eng, gov := w.raw, w.clock, w.log, w.engine, w.gov
	ann, err := eng.CreateUser(ctx, actor, store.User{ID: "ann-id", UserName: "ann", Active: true, Sites: []string{"north"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.CreateGroup(ctx, actor, store.Group{ID: "nurse-id", DisplayName: "Nurse", Members: []string{ann.ID}}); err != nil {
		t.Fatal(err)
	}
	c, err := gov.StartCampaign(ctx, actor, governance.CampaignRequest{Name: "q", Due: t0.Add(48 * time.Hour), Scope: store.ReviewScope{Roles: []string{"Nurse"}}})
	if err != nil || len(c.Items) != 1 {
		t.Fatalf("campaign %+v, %v", c, err)
	}
	id := c.Items[0].ID
	// logins records n of ann's logins, one a second from now: records
	// about her that do not mention the item.
	logins := func(n int) {
		t.Helper()
		for range n {
			clk.Set(clk.Now().Add(time.Second))
			err := raw.InTx(ctx, func(tx store.Ops) error {
				_, err := log.Append(ctx, tx, audit.Entry{Actor: "agent:k", System: "agent", Action: "session.start", Subject: "user:" + ann.ID,
					Detail: map[string]any{"device": "kiosk-1", "role": "Nurse"}})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	comments := func() int {
		recs, err := raw.ListAudit(ctx, store.AuditQuery{Subject: "user:" + ann.ID, Action: "review.comment"})
		if err != nil {
			t.Fatal(err)
		}
		return len(recs)
	}

	steps := []struct {
		name      string
		at        time.Duration // after t0
		loginsBef int           // ann's logins before the comment
		wantNotes string
		wantRecs  int
	}{
		{"first", time.Minute, 0, "asked HR", 1},
		{"after the window, many records since", 40 * time.Minute, 300, "asked HR\nasked HR", 2},
		{"within the window, records since", 45 * time.Minute, 120, "asked HR\nasked HR", 2},
	}
	for _, s := range steps {
		logins(s.loginsBef)
		clk.Set(t0.Add(s.at))
		st.take()
		v, err := gov.Decide(ctx, decider, id, "comment", "asked HR")
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if v.Comment != s.wantNotes {
			t.Errorf("%s: notes %q, want %q", s.name, v.Comment, s.wantNotes)
		}
		if n := comments(); n != s.wantRecs {
			t.Errorf("%s: %d review.comment records, want %d", s.name, n, s.wantRecs)
		}
		searches := st.take()
		if s.name == "first" {
			continue // the notes did not end with the comment: no search
		}
		if len(searches) != 1 {
			t.Fatalf("%s: %d audit searches in the write transaction, want 1: %+v", s.name, len(searches), searches)
		}
		q := searches[0]
		if !q.From.IsZero() || !q.To.IsZero() || q.Limit != 1 || q.BeforeSeq != 0 ||
			!slices.Equal(q.Subjects, []string{"user:" + ann.ID}) || !slices.Equal(q.Mentions, []string{id}) {
			t.Errorf("%s: searched %+v; want the newest record about item %s (Subjects user:%s, Mentions the item, Limit 1), without a time bound, which the store cannot stop its walk at",
				s.name, q, id, ann.ID)
		}
	}
}
