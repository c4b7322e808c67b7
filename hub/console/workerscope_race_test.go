package console

import (
	"context"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// southSite stores site south, where bob is moved to.
func (r *selfRace) southSite(t *testing.T) {
	t.Helper()
	if _, err := r.st.CreateSite(t.Context(), store.Site{ID: "south", Name: "south", TimeZone: "UTC", Created: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
}

// TestSupervisorGrantScopeCheckedInTransaction: supervisor sam of north
// grants bob, a worker of north, a role at north. Between the handler's
// check and the grant's transaction, the identity provider moves bob to
// south: the grant is refused with the handler's 403 for a worker not at
// sam's sites, and bob gets no grant. The rule is decided from what the
// grant's transaction reads, not from the handler's read before it.
// Admins grant whatever bob's sites.
func TestSupervisorGrantScopeCheckedInTransaction(t *testing.T) {
	ctx := t.Context()
	r := newSelfRace(t)
	r.southSite(t)
	sam := r.account(t, "sam", store.ConsoleSupervisor, "north")
	form := url.Values{"user": {"bob"}, "role": {"Picker"}, "site": {"north"}, "until": {"4h"}, "reason": {"cover"}}

	r.moveBob(t, "south")
	err := r.c.siteGrant(httptest.NewRecorder(), post("/console/site/grants", form), sam)
	r.fired(t)
	wantForbidden(t, err, "no user bob at your sites")
	if gs, err := r.st.ListGrants(ctx, r.bob.ID); err != nil || len(gs) != 0 {
		t.Errorf("grants of bob after the refused grant: %+v, %v; want none", gs, err)
	}

	// An admin's grant to bob, at south only now, is not the
	// supervisor's rule.
	ada := r.account(t, "ada", store.ConsoleAdmin)
	if err := r.c.siteGrant(httptest.NewRecorder(), post("/console/site/grants", form), ada); err != nil {
		t.Fatalf("grant by admin ada: %v", err)
	}
	if gs, err := r.st.ListGrants(ctx, r.bob.ID); err != nil || len(gs) != 1 {
		t.Errorf("grants of bob after ada's grant: %+v, %v; want one", gs, err)
	}
}

// TestSupervisorEnrollScopeCheckedAtRegistration: supervisor sam of
// north arms a badge enrollment for bob at a kiosk of north. The badge is
// registered at bob's tap, later, in a transaction of its own; the
// identity provider moves bob to south before it. The console hands the
// enrollment its rule (Config.ArmEnrollment's may), which the
// registration's transaction asks about bob as it reads him: it refuses
// with the handler's 403, so no badge of sam's enrollment binds to bob.
// With bob back at north, it allows; for an admin's enrollment there is
// no rule.
func TestSupervisorEnrollScopeCheckedAtRegistration(t *testing.T) {
	ctx := t.Context()
	r := newSelfRace(t)
	r.southSite(t)
	now := time.Now().UTC()
	if _, err := r.st.CreateDevice(ctx, store.Device{ID: "dev-north", Name: "north-1", Site: "north", Profile: "generic-x86",
		State: store.DeviceActive, Created: now, Modified: now}); err != nil {
		t.Fatal(err)
	}
	// The hub's ArmEnrollment, with bob's tap at once: the credential's
	// transaction reads bob and asks may, as authn's FinishRegistration
	// does.
	var armed int
	r.c.cfg.ArmEnrollment = func(ctx context.Context, _ lifecycle.Actor, userName, _ string, may func(context.Context, store.Ops, store.User) error) error {
		armed++
		if userName != r.bob.UserName {
			t.Errorf("enrollment armed for %q, want bob", userName)
		}
		return r.st.InTx(ctx, func(tx store.Ops) error {
			u, err := tx.GetUser(ctx, r.bob.ID)
			if err != nil || may == nil {
				return err
			}
			return may(ctx, tx, u)
		})
	}
	form := url.Values{"user": {"bob"}, "device": {"dev-north"}}
	sam := r.account(t, "sam", store.ConsoleSupervisor, "north")

	r.moveBob(t, "south")
	err := r.c.siteEnroll(httptest.NewRecorder(), post("/console/site/enrollments", form), sam)
	r.fired(t)
	if armed != 1 {
		t.Fatalf("enrollment armed %d times, want once: the handler's own check saw the move", armed)
	}
	wantForbidden(t, err, "no user bob at your sites")

	if _, err := r.eng.UpdateUser(ctx, scimActor, r.bob.ID, func(u store.User) (store.User, error) { u.Sites = []string{"north"}; return u, nil }); err != nil {
		t.Fatal(err)
	}
	if err := r.c.siteEnroll(httptest.NewRecorder(), post("/console/site/enrollments", form), sam); err != nil {
		t.Errorf("enrollment by sam with bob at north: %v", err)
	}

	if _, err := r.eng.UpdateUser(ctx, scimActor, r.bob.ID, func(u store.User) (store.User, error) { u.Sites = []string{"south"}; return u, nil }); err != nil {
		t.Fatal(err)
	}
	ada := r.account(t, "ada", store.ConsoleAdmin)
	if err := r.c.siteEnroll(httptest.NewRecorder(), post("/console/site/enrollments", form), ada); err != nil {
		t.Errorf("enrollment by admin ada with bob at south: %v", err)
	}
}
