package console

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestAPIDeciderRefusesStoppedAccountInTransaction: the Decider the JSON
// API decides, grants and extends with for a console admin's signed-in
// session (actor "console:<name>") refuses the account inside the deciding
// transaction when it was disabled after the Decider was made, as the
// console's own decider does (sessionSelfIn): the review item stays
// pending and bob gets no grant.
func TestAPIDeciderRefusesStoppedAccountInTransaction(t *testing.T) {
	ctx := t.Context()
	r := newSelfRace(t)
	_, site := r.scopeItems(t)
	for _, step := range []struct {
		name string
		do   func(kim *viewer) error
	}{
		{"decide", func(kim *viewer) error {
			who, err := r.c.Decider(ctx, kim.actor())
			if err != nil {
				t.Fatalf("decider %s: %v", kim.account.Name, err)
			}
			r.disableAccount(t, kim.account.ID)
			_, err = r.c.cfg.Governance.Decide(ctx, who, site.ID, "keep", "")
			return err
		}},
		{"grant", func(kim *viewer) error {
			who, err := r.c.Decider(ctx, kim.actor())
			if err != nil {
				t.Fatalf("decider %s: %v", kim.account.Name, err)
			}
			r.disableAccount(t, kim.account.ID)
			_, err = r.eng.GrantAccessAs(ctx, who.Actor, who.Self, store.Grant{UserID: r.bob.ID, Role: "Picker", Site: "north", Reason: "cover",
				End: time.Now().Add(time.Hour)})
			return err
		}},
	} {
		t.Run(step.name, func(t *testing.T) {
			kim := r.account(t, "kim-"+step.name, store.ConsoleAdmin)
			err := step.do(kim)
			r.fired(t)
			wantForbidden(t, err, "your console account was disabled")
		})
	}
	if it, err := r.st.GetReviewItem(ctx, site.ID); err != nil || it.Decision != store.ReviewPending {
		t.Errorf("item after the disabled account's decision: %+v, %v; want pending", it, err)
	}
	if gs, err := r.st.ListGrants(ctx, r.bob.ID); err != nil || len(gs) != 0 {
		t.Errorf("grants of bob after the disabled account's grant: %+v, %v; want none", gs, err)
	}
}
