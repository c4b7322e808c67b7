package console

import (
	"context"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// scopeItems stores a campaign with a role item (Picker, bob a member) and
// a site item (north) about bob, both for the site supervisor, and site
// south, where bob is moved to.
func (r *selfRace) scopeItems(t *testing.T) (role, site store.ReviewItem) {
	t.Helper()
	ctx := t.Context()
	now := time.Now().UTC()
	if _, err := r.st.CreateSite(ctx, store.Site{ID: "south", Name: "south", TimeZone: "UTC", Created: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.eng.UpdateGroup(ctx, scimActor, "g-picker", func(g store.Group) (store.Group, error) {
		g.Members = append(g.Members, r.bob.ID)
		return g, nil
	}); err != nil {
		t.Fatal(err)
	}
	role = store.ReviewItem{ID: "item-bob-picker", CampaignID: "camp", UserID: r.bob.ID, Kind: store.ReviewItemRole, Entitlement: "Picker",
		GroupID: "g-picker", ReviewerKind: governance.ReviewerSupervisor, Decision: store.ReviewPending, Created: now}
	site = store.ReviewItem{ID: "item-bob-north", CampaignID: "camp", UserID: r.bob.ID, Kind: store.ReviewItemSite, Entitlement: "north",
		ReviewerKind: governance.ReviewerSupervisor, Decision: store.ReviewPending, Created: now}
	if _, err := r.st.CreateCampaign(ctx, store.Campaign{ID: "camp", Name: "Q", Due: now.Add(14 * 24 * time.Hour), Created: now, CreatedBy: "test"},
		[]store.ReviewItem{role, site}); err != nil {
		t.Fatal(err)
	}
	return role, site
}

// moveBob arms the race: as the next transaction begins, the identity
// provider sets bob's sites to sites.
func (r *selfRace) moveBob(t *testing.T, sites ...string) {
	r.st.arm(func() {
		if _, err := r.eng.UpdateUser(context.Background(), scimActor, r.bob.ID, func(u store.User) (store.User, error) {
			u.Sites = sites
			return u, nil
		}); err != nil {
			t.Error(err)
		}
	})
}

func (r *selfRace) fired(t *testing.T) {
	t.Helper()
	if !r.st.hasFired() {
		t.Fatal("the change did not run before a transaction: the test did not race")
	}
}

// TestSupervisorReviewScopeCheckedInTransaction: supervisor sam of north
// revokes bob's Picker role, which a supervisor decides only while all of
// bob's sites are theirs. Between the handler's check and the decision's
// transaction, the identity provider adds site south to bob: the role
// holds at south too now, and the revoke is refused with 403, bob keeping
// the role. The rule is decided from what the decision's transaction
// reads, not from the handler's read before it.
func TestSupervisorReviewScopeCheckedInTransaction(t *testing.T) {
	ctx := t.Context()
	r := newSelfRace(t)
	v := r.account(t, "sam", store.ConsoleSupervisor, "north")
	role, _ := r.scopeItems(t)

	r.moveBob(t, "north", "south")
	req := post("/console/review-items/"+role.ID, url.Values{"decision": {"revoke"}, "comment": {"not needed"}})
	req.SetPathValue("id", role.ID)
	err := r.c.reviewDecide(httptest.NewRecorder(), req, v)
	r.fired(t)
	wantForbidden(t, err, errForbidden.msg)
	if it, err := r.st.GetReviewItem(ctx, role.ID); err != nil || it.Decision != store.ReviewPending {
		t.Errorf("item after the refused decision: %+v, %v; want pending", it, err)
	}
	if g, err := r.st.GetGroup(ctx, "g-picker"); err != nil || !slices.Contains(g.Members, r.bob.ID) {
		t.Errorf("Picker after the refused revoke: %+v, %v; want bob still a member", g, err)
	}

	// Back at north only, bob's role is sam's to decide again.
	if _, err := r.eng.UpdateUser(ctx, scimActor, r.bob.ID, func(u store.User) (store.User, error) { u.Sites = []string{"north"}; return u, nil }); err != nil {
		t.Fatal(err)
	}
	req = post("/console/review-items/"+role.ID, url.Values{"decision": {"keep"}})
	req.SetPathValue("id", role.ID)
	if err := r.c.reviewDecide(httptest.NewRecorder(), req, v); err != nil {
		t.Fatalf("keep by sam with bob at north only: %v", err)
	}
	if it, err := r.st.GetReviewItem(ctx, role.ID); err != nil || it.Decision != store.ReviewKeep {
		t.Errorf("item after the keep: %+v, %v; want kept", it, err)
	}
}

// TestSupervisorReviewEscalatedInTransaction: an item escalated to the
// admins between the handler's check and the decision is the admins' to
// decide: the supervisor's decision is refused with 403.
func TestSupervisorReviewEscalatedInTransaction(t *testing.T) {
	ctx := t.Context()
	r := newSelfRace(t)
	v := r.account(t, "sam", store.ConsoleSupervisor, "north")
	_, site := r.scopeItems(t)

	r.st.arm(func() {
		if _, err := r.st.UpdateReviewItem(context.Background(), site.ID, func(it store.ReviewItem) (store.ReviewItem, error) {
			it.EscalatedFrom, it.Escalated = it.ReviewerID, time.Now().UTC()
			it.ReviewerID, it.ReviewerKind = "", governance.ReviewerAdmins
			return it, nil
		}); err != nil {
			t.Error(err)
		}
	})
	req := post("/console/review-items/"+site.ID, url.Values{"decision": {"revoke"}})
	req.SetPathValue("id", site.ID)
	err := r.c.reviewDecide(httptest.NewRecorder(), req, v)
	r.fired(t)
	wantForbidden(t, err, errForbidden.msg)
	if u, err := r.st.GetUser(ctx, r.bob.ID); err != nil || !slices.Contains(u.Sites, "north") {
		t.Errorf("bob after the refused revoke: %+v, %v; want site north kept", u, err)
	}
}

// disableAccount arms the race: as the next transaction begins, an admin
// disables console account id (accountDisable), which ends its sessions.
func (r *selfRace) disableAccount(t *testing.T, id string) {
	r.st.arm(func() {
		if err := r.st.InTx(context.Background(), func(tx store.Ops) error {
			_, _, err := store.DisableConsoleAccount(context.Background(), tx, id, time.Now().UTC())
			return err
		}); err != nil {
			t.Error(err)
		}
	})
}

// TestDisabledAccountRefusedInTransaction: a console account disabled
// after its request passed the session check and before the request's
// deciding transaction decides, grants and extends nothing: each is
// refused with 403 from inside that transaction, which reads the account
// as the disable left it.
func TestDisabledAccountRefusedInTransaction(t *testing.T) {
	ctx := t.Context()
	r := newSelfRace(t)
	_, site := r.scopeItems(t)
	sam := r.account(t, "sam", store.ConsoleSupervisor, "north")

	r.disableAccount(t, sam.account.ID)
	req := post("/console/review-items/"+site.ID, url.Values{"decision": {"keep"}})
	req.SetPathValue("id", site.ID)
	err := r.c.reviewDecide(httptest.NewRecorder(), req, sam)
	r.fired(t)
	wantForbidden(t, err, "your console account was disabled")
	if it, err := r.st.GetReviewItem(ctx, site.ID); err != nil || it.Decision != store.ReviewPending {
		t.Errorf("item after the disabled account's decision: %+v, %v; want pending", it, err)
	}

	kim := r.account(t, "kim", store.ConsoleSupervisor, "north")
	r.disableAccount(t, kim.account.ID)
	err = r.c.siteGrant(httptest.NewRecorder(), post("/console/site/grants", url.Values{"user": {"bob"}, "role": {"Picker"}, "site": {"north"},
		"until": {"4h"}, "reason": {"cover"}}), kim)
	r.fired(t)
	wantForbidden(t, err, "your console account was disabled")
	if gs, err := r.st.ListGrants(ctx, r.bob.ID); err != nil || len(gs) != 0 {
		t.Errorf("grants of bob after the disabled account's grant: %+v, %v; want none", gs, err)
	}

	// Bob's shift, now, for the extension to lengthen.
	now := time.Now().UTC()
	if _, err := r.eng.UpdateUser(ctx, scimActor, r.bob.ID, func(u store.User) (store.User, error) {
		u.Shifts = []store.Shift{{Start: now.Add(-time.Hour), End: now.Add(time.Hour)}}
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	lee := r.account(t, "lee", store.ConsoleSupervisor, "north")
	r.disableAccount(t, lee.account.ID)
	err = r.c.siteExtend(httptest.NewRecorder(), post("/console/site/extend", url.Values{"user": {"bob"}, "site": {"north"},
		"until": {"4h"}, "reason": {"late handover"}}), lee)
	r.fired(t)
	wantForbidden(t, err, "your console account was disabled")
	if xs, err := r.st.ListShiftExtensions(ctx, r.bob.ID); err != nil || len(xs) != 0 {
		t.Errorf("bob's extensions after the disabled account's extension: %+v, %v; want none", xs, err)
	}
}
