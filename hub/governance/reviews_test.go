package governance_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestReviewDecisions: a revoke removes the entitlement at once through
// the engine (role, site, grant), ends the sessions that depended on it
// and hands their revocations on for the kiosks; keep and comment change
// nothing; a decided item cannot be decided again; bad input changes
// nothing.
func TestReviewDecisions(t *testing.T) {
	e := newEnv(t, t0)
	ctx := context.Background()
	ann := e.user("ann", []string{"north", "south"}, func(u *store.User) { u.EmploymentType = "Vendor" })
	bob := e.user("bob", []string{"north"}, nil)
	nurse := e.group("Nurse", ann.ID, bob.ID)
	g, err := e.engine.GrantAccess(ctx, actor, store.Grant{UserID: bob.ID, Role: "Picker", Site: "south", End: t0.Add(48 * time.Hour), Reason: "inventory"})
	if err != nil {
		t.Fatal(err)
	}
	sessNorth := e.session(ann.ID, "north", "Nurse")
	sessGrant := e.session(bob.ID, "south", "Picker")

	for _, tc := range []struct {
		name string
		req  governance.CampaignRequest
	}{
		{"no name", governance.CampaignRequest{Due: t0.Add(time.Hour)}},
		{"no due", governance.CampaignRequest{Name: "x"}},
		{"due passed", governance.CampaignRequest{Name: "x", Due: t0}},
		{"due too far", governance.CampaignRequest{Name: "x", Due: t0.Add(400 * 24 * time.Hour)}},
		{"empty site", governance.CampaignRequest{Name: "x", Due: t0.Add(time.Hour), Scope: store.ReviewScope{Sites: []string{" "}}}},
	} {
		if _, err := e.gov.StartCampaign(ctx, actor, tc.req); !errors.Is(err, lifecycle.ErrInvalid) {
			t.Errorf("%s: err = %v, want invalid", tc.name, err)
		}
	}
	if cs, _ := e.st.ListCampaigns(ctx); len(cs) != 0 {
		t.Fatalf("refused campaigns were stored: %v", cs)
	}

	c, err := e.gov.StartCampaign(ctx, actor, governance.CampaignRequest{Name: " all ", Due: t0.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "all" || c.Progress.Total != 6 || c.Progress.CompletionRate == nil || *c.Progress.CompletionRate != 0 {
		t.Fatalf("campaign = %+v", c)
	}
	items := map[string]governance.ItemView{}
	for _, it := range c.Items {
		items[it.User+" "+it.Kind+" "+it.Entitlement] = it
	}
	for _, k := range []string{"ann site north", "ann site south", "ann role Nurse", "bob site north", "bob role Nurse", "bob grant " + g.ID} {
		if _, ok := items[k]; !ok {
			t.Errorf("no item %q in %v", k, c.Items)
		}
	}
	// Scopes: external (ann is a vendor) and a site.
	ext, err := e.gov.StartCampaign(ctx, actor, governance.CampaignRequest{Name: "ext", Due: t0.Add(time.Hour), Scope: store.ReviewScope{External: true}})
	if err != nil || ext.Progress.Total != 3 {
		t.Errorf("external campaign: %d items, %v; want ann's 3", ext.Progress.Total, err)
	}
	south, err := e.gov.StartCampaign(ctx, actor, governance.CampaignRequest{Name: "south", Due: t0.Add(time.Hour), Scope: store.ReviewScope{Sites: []string{"SOUTH"}}})
	if err != nil || south.Progress.Total != 3 { // ann's site south and role; bob's grant at south
		t.Errorf("south campaign: %+v, %v", south.Items, err)
	}

	// Revoke ann's site north: her session there ends and is pushed.
	e.at(t0.Add(time.Hour))
	v, err := e.gov.Decide(ctx, decider, items["ann site north"].ID, "Revoke", "moved")
	if err != nil || v.Decision != "revoke" || v.Outcome != governance.OutcomeRevoked || v.Comment != "moved" || v.DecidedBy != actor.Name {
		t.Fatalf("revoke site: %+v, %v", v, err)
	}
	if u, _ := e.st.GetUser(ctx, ann.ID); !slices.Equal(u.Sites, []string{"south"}) {
		t.Errorf("ann's sites after the revoke = %v", u.Sites)
	}
	if s, _ := e.st.GetSession(ctx, sessNorth); s.Ended.IsZero() || s.EndReason != lifecycle.ReasonEntitlementRemoved {
		t.Errorf("ann's north session after the revoke = %+v", s)
	}
	// Revoke bob's grant and his Nurse role.
	if v, err := e.gov.Decide(ctx, decider, items["bob grant "+g.ID].ID, "revoke", ""); err != nil || v.Outcome != governance.OutcomeRevoked {
		t.Fatalf("revoke grant: %+v, %v", v, err)
	}
	if s, _ := e.st.GetSession(ctx, sessGrant); s.Ended.IsZero() {
		t.Errorf("bob's session under the grant is still live")
	}
	if _, err := e.gov.Decide(ctx, decider, items["bob role Nurse"].ID, "revoke", ""); err != nil {
		t.Fatal(err)
	}
	if gr, _ := e.st.GetGroup(ctx, nurse); !slices.Equal(gr.Members, []string{ann.ID}) {
		t.Errorf("Nurse members after the revoke = %v, want ann only", gr.Members)
	}
	pushed := map[string]string{}
	for _, r := range e.pushes() {
		pushed[r.SessionID+" "+r.Detail] = r.Reason
	}
	if pushed[sessNorth+" site:north"] != lifecycle.ReasonEntitlementRemoved || pushed[sessGrant+" grant:"+g.ID] != lifecycle.ReasonEntitlementRemoved {
		t.Errorf("pushed revocations = %v", pushed)
	}
	// The same role in the south campaign is already gone.
	for _, it := range south.Items {
		if it.Kind == store.ReviewItemGrant {
			if v, err := e.gov.Decide(ctx, decider, it.ID, "revoke", ""); err != nil || v.Outcome != governance.OutcomeGone {
				t.Errorf("revoke of a revoked grant: %+v, %v", v, err)
			}
		}
	}

	// Keep, comment, decide twice, bad input.
	if v, err := e.gov.Decide(ctx, decider, items["ann role Nurse"].ID, "keep", ""); err != nil || v.Decision != "keep" || v.Outcome != "" {
		t.Fatalf("keep: %+v, %v", v, err)
	}
	if _, err := e.gov.Decide(ctx, decider, items["ann role Nurse"].ID, "revoke", ""); !errors.Is(err, governance.ErrConflict) {
		t.Errorf("second decision: %v, want a conflict", err)
	}
	if v, err := e.gov.Decide(ctx, decider, items["ann role Nurse"].ID, "comment", "asked her manager"); err != nil || v.Decision != "keep" || v.Comment != "asked her manager" {
		t.Errorf("comment on a decided item: %+v, %v", v, err)
	}
	before := e.actions("user:" + bob.ID)
	for _, tc := range []struct{ decision, comment string }{{"maybe", ""}, {"comment", ""}, {"keep", string(make([]byte, 3000))}} {
		if _, err := e.gov.Decide(ctx, decider, items["bob site north"].ID, tc.decision, tc.comment); !errors.Is(err, lifecycle.ErrInvalid) {
			t.Errorf("decision %q: %v, want invalid", tc.decision, err)
		}
	}
	if _, err := e.gov.Decide(ctx, decider, "nope", "keep", ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown item: %v", err)
	}
	if got := e.actions("user:" + bob.ID); len(got) != len(before) {
		t.Errorf("refused decisions were audited: %v", got[len(before):])
	}
	c, _ = e.gov.CampaignItems(ctx, c.ID, governance.FirstPage())
	if c.Progress.Decided != 4 || c.Progress.Revoked != 3 || c.Progress.Kept != 1 || *c.Progress.CompletionRate != 4.0/6 {
		t.Errorf("progress = %+v", c.Progress)
	}
	for _, want := range []string{"review.start"} {
		if got := e.actions("review:" + c.ID); !slices.Equal(got, []string{want}) {
			t.Errorf("campaign audit = %v", got)
		}
	}
	if got := e.actions("user:" + ann.ID); !slices.Contains(got, "review.decide") || !slices.Contains(got, "review.comment") || !slices.Contains(got, "user.entitlements_removed") {
		t.Errorf("ann's audit = %v", got)
	}
	o, err := e.gov.Campaigns(ctx)
	if err != nil || len(o.Campaigns) != 3 || len(o.Reviewers) != 1 || o.Reviewers[0].Reviewer != "admins" || o.Reviewers[0].Total != 12 {
		t.Errorf("overview = %+v, %v", o, err)
	}
}

// failingStore fails every review item update made in a transaction,
// after whatever came before it in that transaction succeeded.
type failingStore struct{ store.Store }

type failingOps struct{ store.Ops }

var errInjected = errors.New("injected failure")

func (s failingStore) InTx(ctx context.Context, fn func(store.Ops) error) error {
	return s.Store.InTx(ctx, func(tx store.Ops) error { return fn(failingOps{tx}) })
}

func (failingOps) UpdateReviewItem(context.Context, string, func(store.ReviewItem) (store.ReviewItem, error)) (store.ReviewItem, error) {
	return store.ReviewItem{}, errInjected
}

// TestDecisionRollsBack: a decision and the revocation it causes commit
// together: when recording the decision fails, the site is not removed,
// nothing is pushed and nothing is audited.
func TestDecisionRollsBack(t *testing.T) {
	e := newEnv(t, t0)
	ctx := context.Background()
	ann := e.user("ann", []string{"north"}, nil)
	sess := e.session(ann.ID, "north", "Nurse")
	c, err := e.gov.StartCampaign(ctx, actor, governance.CampaignRequest{Name: "c", Due: t0.Add(time.Hour)})
	if err != nil || len(c.Items) != 1 {
		t.Fatal(c, err)
	}
	fs := failingStore{e.st}
	var pushed []store.Revocation
	eng, err := lifecycle.New(lifecycle.Config{Store: fs, Audit: e.log, Now: e.clock.Now, OnRevoke: func(rs []store.Revocation) { pushed = append(pushed, rs...) }})
	if err != nil {
		t.Fatal(err)
	}
	gov, err := governance.New(governance.Config{Store: fs, Audit: e.log, Engine: eng, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	before := e.actions("user:" + ann.ID)
	if _, err := gov.Decide(ctx, decider, c.Items[0].ID, "revoke", ""); !errors.Is(err, errInjected) {
		t.Fatalf("decide: %v, want the injected failure", err)
	}
	if u, _ := e.st.GetUser(ctx, ann.ID); !slices.Equal(u.Sites, []string{"north"}) {
		t.Errorf("sites after the failed decision = %v", u.Sites)
	}
	if s, _ := e.st.GetSession(ctx, sess); !s.Ended.IsZero() {
		t.Errorf("session ended by a failed decision")
	}
	if it, _ := e.st.GetReviewItem(ctx, c.Items[0].ID); it.Decision != store.ReviewPending {
		t.Errorf("failed decision was stored: %+v", it)
	}
	if revs, _ := e.st.ListRevocations(ctx, store.RevocationQuery{UserID: ann.ID}); len(revs) != 0 || len(pushed) != 0 {
		t.Errorf("revocations after a failed decision: stored %v, pushed %v", revs, pushed)
	}
	if got := e.actions("user:" + ann.ID); !slices.Equal(got, before) {
		t.Errorf("audit after a failed decision = %v, want %v", got, before)
	}
	// The same decision through the real store goes through.
	if v, err := e.gov.Decide(ctx, decider, c.Items[0].ID, "revoke", ""); err != nil || v.Outcome != governance.OutcomeRevoked {
		t.Errorf("decide: %+v, %v", v, err)
	}
}
