package governance_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestKeepOfGoneEntitlement: an entitlement taken away while the campaign
// runs (a grant revoked or run out, a membership removed, a site removed,
// a group renamed to another role) is no longer there to certify: a keep
// of its item is refused with a conflict and changes nothing, as for a
// user who left (TestKeepOfGoneUser); the evidence would otherwise show
// "kept" for access the user does not have, or for a role the group no
// longer is. A revoke records "already gone". An entitlement still held
// is kept as before.
func TestKeepOfGoneEntitlement(t *testing.T) {
	e := newEnv(t, t0)
	ctx := context.Background()
	ann := e.user("ann", []string{"north"}, nil)
	bob := e.user("bob", []string{"north", "south"}, nil)
	cat := e.user("cat", []string{"north"}, nil)
	nurse := e.group("Nurse", ann.ID, bob.ID, cat.ID)
	icu := e.group("ICU", cat.ID)
	revoked, err := e.engine.GrantAccess(ctx, actor, store.Grant{UserID: ann.ID, Role: "Picker", Site: "south", End: t0.Add(48 * time.Hour), Reason: "inventory"})
	if err != nil {
		t.Fatal(err)
	}
	short, err := e.engine.GrantAccess(ctx, actor, store.Grant{UserID: ann.ID, Role: "Loader", Site: "south", End: t0.Add(2 * time.Hour), Reason: "one delivery"})
	if err != nil {
		t.Fatal(err)
	}
	held, err := e.engine.GrantAccess(ctx, actor, store.Grant{UserID: bob.ID, Role: "Picker", Site: "south", End: t0.Add(48 * time.Hour), Reason: "inventory"})
	if err != nil {
		t.Fatal(err)
	}
	items := e.itemsOf("all")

	e.at(t0.Add(3 * time.Hour)) // the short grant has run out
	if _, err := e.engine.RevokeGrant(ctx, actor, revoked.ID, "no longer needed"); err != nil {
		t.Fatal(err)
	}
	_, err = e.engine.UpdateGroup(ctx, actor, icu, func(g store.Group) (store.Group, error) {
		g.DisplayName = "Supervisor" // the group cat is in is another role now
		return g, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, item, decision string }{
		{"grant revoked", "ann grant " + revoked.ID, "revoke"},
		{"grant run out", "ann grant " + short.ID, "revoke"},
		{"group renamed", "cat role ICU", "revoke"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keepRefused(t, e, items, tc.item)
		})
	}
	// A membership and a site removed through the engine (an access
	// review's revoke in another campaign, or a SCIM change).
	e.update(bob.ID, func(u *store.User) { u.Sites = []string{"south"} })
	t.Run("site removed", func(t *testing.T) { keepRefused(t, e, items, "bob site north") })
	_, err = e.engine.UpdateGroup(ctx, actor, nurse, func(g store.Group) (store.Group, error) {
		g.Members = slices.DeleteFunc(slices.Clone(g.Members), func(id string) bool { return id == cat.ID })
		return g, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("membership removed", func(t *testing.T) { keepRefused(t, e, items, "cat role Nurse") })

	// What is still held is kept.
	for _, k := range []string{"bob grant " + held.ID, "bob site south", "ann role Nurse", "ann site north"} {
		if v, err := e.gov.Decide(ctx, decider, items[k].ID, "keep", ""); err != nil || v.Decision != "keep" {
			t.Errorf("keep %s: %+v, %v", k, v, err)
		}
	}
}

// keepRefused asserts that a keep of the item is refused as gone, leaves
// it pending and audits nothing, and that a revoke records it as already
// gone.
func keepRefused(t *testing.T, e *env, items map[string]governance.ItemView, key string) {
	t.Helper()
	ctx := context.Background()
	it, ok := items[key]
	if !ok {
		t.Fatalf("no item %q", key)
	}
	before := e.actions("user:" + it.UserID)
	_, err := e.gov.Decide(ctx, decider, it.ID, "keep", "")
	if !errors.Is(err, governance.ErrConflict) || !strings.Contains(err.Error(), "nothing left to keep") {
		t.Fatalf("keep: %v, want a conflict saying there is nothing left to keep", err)
	}
	if got, _ := e.st.GetReviewItem(ctx, it.ID); got.Decision != store.ReviewPending {
		t.Errorf("refused keep decided the item: %+v", got)
	}
	if got := e.actions("user:" + it.UserID); len(got) != len(before) {
		t.Errorf("refused keep was audited: %v", got[len(before):])
	}
	if v, err := e.gov.Decide(ctx, decider, it.ID, "revoke", ""); err != nil || v.Outcome != governance.OutcomeGone {
		t.Errorf("revoke: %+v, %v; want already gone", v, err)
	}
}
