package governance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// pagedEvidenceItems is the size of pagedEvidence's campaign: more than
// two of the pages an evidence export reads at a time.
const pagedEvidenceItems = 2500

// pagedEvidence stores a campaign of pagedEvidenceItems site items about
// 40 workers (many with one Created, so that pages split items of one
// instant), and decides some of them: kept and revoked on time and late,
// revoked when already gone; one decided item changed outside the hub
// (mismatch), one pending item marked decided outside it (missing), and
// one worker deleted since. Every ID and time is fixed.
func pagedEvidence(t *testing.T) (*env, string) {
	t.Helper()
	ctx := context.Background()
	e := newEnv(t, t0)
	for i := range 40 {
		if _, err := e.engine.CreateUser(ctx, actor, store.User{ID: fmt.Sprintf("u-%02d", i), UserName: fmt.Sprintf("w%02d", i),
			Active: true, Sites: []string{"north"}}); err != nil {
			t.Fatal(err)
		}
	}
	due := t0.Add(48 * time.Hour)
	items := make([]store.ReviewItem, pagedEvidenceItems)
	for i := range items {
		items[i] = store.ReviewItem{ID: fmt.Sprintf("item-%05d", pagedEvidenceItems-i), CampaignID: "camp-paged",
			UserID: fmt.Sprintf("u-%02d", i%40), Kind: store.ReviewItemSite, Entitlement: "north", Detail: fmt.Sprintf("north, item %d", i),
			ReviewerKind: governance.ReviewerAdmins, Decision: store.ReviewPending, Created: t0.Add(time.Duration(i/700) * time.Second)}
	}
	if _, err := e.st.CreateCampaign(ctx, store.Campaign{ID: "camp-paged", Name: "Q1 north, paged", Scope: store.ReviewScope{Sites: []string{"north"}},
		Due: due, Created: t0, CreatedBy: actor.Name}, items); err != nil {
		t.Fatal(err)
	}
	decide := func(i int, decision string) {
		t.Helper()
		if _, err := e.gov.Decide(ctx, decider, items[i].ID, decision, "item "+fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	e.at(t0.Add(time.Hour))
	for i := 0; i < pagedEvidenceItems; i += 9 {
		decide(i, governance.DecisionKeep)
	}
	// The first revoke of a worker's site removes it; the next find it gone.
	for i := 3; i < pagedEvidenceItems; i += 50 {
		if i%9 != 0 {
			decide(i, governance.DecisionRevoke)
		}
	}
	e.at(due.Add(time.Hour)) // late
	for i := 1; i < pagedEvidenceItems; i += 97 {
		if i%9 != 0 && i%50 != 3 {
			decide(i, governance.DecisionRevoke)
		}
	}
	if _, err := e.st.UpdateReviewItem(ctx, items[9].ID, func(it store.ReviewItem) (store.ReviewItem, error) {
		it.DecidedBy = "someone else"
		return it, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.UpdateReviewItem(ctx, items[2].ID, func(it store.ReviewItem) (store.ReviewItem, error) {
		it.Decision, it.Decided, it.DecidedBy = store.ReviewKeep, due, "sqlite3 shell"
		return it, nil
	}); err != nil {
		t.Fatal(err)
	}
	e.at(due.Add(30 * 24 * time.Hour))
	if err := e.engine.DeleteUser(ctx, lifecycle.Actor{Name: "token:hr", System: "scim"}, "u-05"); err != nil {
		t.Fatal(err)
	}
	return e, "camp-paged"
}

// evidenceReads is a store that counts the reads of a campaign's items
// without a limit (every item at once) and the largest page read, in or
// out of a read transaction.
type evidenceReads struct {
	store.Store
	whole, largest atomic.Int64
}

func (s *evidenceReads) count(q store.ReviewItemQuery) {
	if q.CampaignID == "" {
		return
	}
	if q.Limit <= 0 {
		s.whole.Add(1)
	}
	for n := int64(q.Limit); ; {
		m := s.largest.Load()
		if n <= m || s.largest.CompareAndSwap(m, n) {
			break
		}
	}
}

func (s *evidenceReads) ListReviewItems(ctx context.Context, q store.ReviewItemQuery) ([]store.ReviewItem, error) {
	s.count(q)
	return s.Store.ListReviewItems(ctx, q)
}

func (s *evidenceReads) InReadTx(ctx context.Context, fn func(tx store.Ops) error) error {
	return s.Store.InReadTx(ctx, func(tx store.Ops) error { return fn(evidenceReadOps{Ops: tx, s: s}) })
}

type evidenceReadOps struct {
	store.Ops
	s *evidenceReads
}

func (o evidenceReadOps) ListReviewItems(ctx context.Context, q store.ReviewItemQuery) ([]store.ReviewItem, error) {
	o.s.count(q)
	return o.Ops.ListReviewItems(ctx, q)
}

// TestEvidenceReadsPages: the evidence of a campaign of 2,500 items reads
// them a page at a time, never every item at once (a campaign over a
// large site has 100,000: as many rows held per export, and their items
// besides); its rows are the campaign's items, each once, in the
// campaign's order, across the pages, and its totals count them all.
func TestEvidenceReadsPages(t *testing.T) {
	ctx := context.Background()
	e, id := pagedEvidence(t)
	st := &evidenceReads{Store: e.st}
	gov, err := governance.New(governance.Config{Store: st, Audit: e.log, Engine: e.engine, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := gov.Evidence(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if n, max := st.whole.Load(), st.largest.Load(); n != 0 || max > 1000 {
		t.Errorf("evidence read every item of the campaign %d times, pages of up to %d; want none, pages of 1000 at most", n, max)
	}

	all, err := e.st.ListReviewItems(ctx, store.ReviewItemQuery{CampaignID: id})
	if err != nil || len(all) != pagedEvidenceItems {
		t.Fatalf("campaign of %d items, %v", len(all), err)
	}
	if len(ev.Items) != len(all) {
		t.Fatalf("evidence of %d rows, want %d", len(ev.Items), len(all))
	}
	var want governance.EvidenceTotals
	var last time.Time
	for i, it := range all {
		if ev.Items[i].ID != it.ID {
			t.Fatalf("row %d is item %s, want %s: rows out of the campaign's order", i, ev.Items[i].ID, it.ID)
		}
		want.Items++
		switch {
		case it.Decision == store.ReviewPending:
			want.Pending++
		case it.Decision == store.ReviewKeep:
			want.Kept++
		case it.Outcome == governance.OutcomeGone:
			want.Gone++
		default:
			want.Revoked++
		}
		if it.Decision != store.ReviewPending {
			want.Decided++
			if !it.Decided.After(it.Created.Add(48 * time.Hour)) {
				want.DecidedOnTime++
			}
			if it.Decided.After(last) {
				last = it.Decided
			}
		}
		if c := ev.Items[i].AuditCheck; c == governance.AuditMissing || c == governance.AuditMismatch {
			want.AuditUnmatched++
		}
	}
	want.CompletionRate = f(float64(want.Decided) / float64(want.Items))
	if d := gocmp.Diff(want, ev.Totals); d != "" {
		t.Errorf("totals (-want +got):\n%s", d)
	}
	if want.Gone == 0 || want.Revoked == 0 || want.Kept == 0 || want.Pending == 0 || want.DecidedOnTime == want.Decided || want.AuditUnmatched != 2 {
		t.Fatalf("the campaign does not have every kind of item: %+v", want)
	}
	if ev.Campaign.Completed != nil {
		t.Errorf("completed %v with items pending", ev.Campaign.Completed)
	}
	byID := map[string]governance.EvidenceItem{}
	for _, r := range ev.Items {
		byID[r.ID] = r
	}
	if r := byID["item-02495"]; r.User != "w05" || r.UserID != "u-05" {
		t.Errorf("deleted worker's row names %q (%s), want w05 from its tombstone", r.User, r.UserID)
	}
}

// TestWriteEvidence: WriteEvidence writes, a page of items at a time,
// what Evidence holds, written as WriteEvidenceCSV and as the console's
// JSON (indented by two spaces) write it, byte for byte, and returns its
// totals without its rows.
func TestWriteEvidence(t *testing.T) {
	ctx := context.Background()
	e, id := pagedEvidence(t)
	ev, err := e.gov.Evidence(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var csvWant, jsonWant bytes.Buffer
	if err := governance.WriteEvidenceCSV(&csvWant, ev); err != nil {
		t.Fatal(err)
	}
	enc := json.NewEncoder(&jsonWant)
	enc.SetIndent("", "  ")
	if err := enc.Encode(ev); err != nil {
		t.Fatal(err)
	}
	for format, want := range map[string]*bytes.Buffer{"csv": &csvWant, "json": &jsonWant} {
		var got bytes.Buffer
		head, err := e.gov.WriteEvidence(ctx, &got, id, format)
		if err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%s: WriteEvidence wrote %d bytes unlike Evidence's %d; first difference at %d", format, got.Len(), want.Len(), firstDiff(got.String(), want.String()))
		}
		whole := ev
		whole.Items = nil
		if d := gocmp.Diff(whole, head); d != "" {
			t.Errorf("%s: WriteEvidence returns (-want +got):\n%s", format, d)
		}
	}
	if lines := strings.Count(csvWant.String(), "\n"); lines != pagedEvidenceItems+1 {
		t.Errorf("CSV of %d lines, want a header and %d rows", lines, pagedEvidenceItems)
	}

	// A campaign without items: the JSON's items are [], as Evidence's.
	if _, err := e.st.CreateCampaign(ctx, store.Campaign{ID: "camp-empty", Name: "empty", Due: t0, Created: t0, CreatedBy: actor.Name}, nil); err != nil {
		t.Fatal(err)
	}
	empty, err := e.gov.Evidence(ctx, "camp-empty")
	if err != nil {
		t.Fatal(err)
	}
	jsonWant.Reset()
	if err := enc.Encode(empty); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if _, err := e.gov.WriteEvidence(ctx, &got, "camp-empty", "json"); err != nil || got.String() != jsonWant.String() {
		t.Errorf("empty campaign: WriteEvidence wrote\n%s(%v)\nwant\n%s", got.String(), err, jsonWant.String())
	}
	got.Reset()
	if _, err := e.gov.WriteEvidence(ctx, &got, "no-such-campaign", "csv"); !errors.Is(err, store.ErrNotFound) || got.Len() != 0 {
		t.Errorf("unknown campaign: %v, %d bytes written; want not found, nothing", err, got.Len())
	}
}

func firstDiff(a, b string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
