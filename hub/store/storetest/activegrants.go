package storetest

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// testActiveGrants: ListActiveGrants returns the grants policy.Decide
// would count at an instant, and no others: not revoked (even revoked in
// the future of that instant: a revocation ends what it ends whatever the
// clock), started at or before it (a grant starting at it is in force),
// ending after it (one ending at it is over; a zero End gives nothing),
// of that user alone, in ListGrants' order (Start, then ID).
func testActiveGrants(t *testing.T, s store.Store) {
	ctx := t.Context()
	g := func(id, user string, start, end int) store.Grant {
		return store.Grant{ID: id, UserID: user, Role: "Charge Nurse", Site: "North", Reason: "cover",
			Approver: "admin:kim", Start: at(start), End: at(end), Created: at(start - 1)}
	}
	b, a := g("b-running", "u1", -2, 8), g("a-running", "u1", -2, 4) // one start: by ID
	earlier := g("earlier", "u1", -5, 1)
	startsNow := g("starts-now", "u1", 0, 3)
	endsNow := g("ends-now", "u1", -3, 0)
	future := g("future", "u1", 1, 9)
	over := g("over", "u1", -10, -2)
	revoked := g("revoked", "u1", -3, 30)
	revoked.Revoked = at(-1)
	revokedLater := g("revoked-later", "u1", -3, 30)
	revokedLater.Revoked = at(1) // recorded by a clock ahead of the one asking
	open := g("open", "u1", -3, 0)
	open.End = time.Time{}
	other := g("other", "u2", -1, 8)
	for _, x := range []store.Grant{b, a, earlier, startsNow, endsNow, future, over, revoked, revokedLater, open, other} {
		must[store.Grant](t, "create "+x.ID)(s.CreateGrant(ctx, x))
	}

	got := must[[]store.Grant](t, "active at 0")(s.ListActiveGrants(ctx, "u1", at(0)))
	diff(t, "u1's grants in force at 0", []store.Grant{earlier, a, b, startsNow}, got)
	for _, x := range got {
		checkUTC(t, "active grant", x.Start, x.End, x.Revoked, x.Created)
	}
	diff(t, "u1's grants in force at 2", []store.Grant{a, b, startsNow, future},
		must[[]store.Grant](t, "active at 2")(s.ListActiveGrants(ctx, "u1", at(2))))
	diff(t, "u2's grants in force at 0", []store.Grant{other},
		must[[]store.Grant](t, "active of u2")(s.ListActiveGrants(ctx, "u2", at(0))))
	if got := must[[]store.Grant](t, "active at 40")(s.ListActiveGrants(ctx, "u1", at(40))); len(got) != 0 {
		t.Errorf("grants in force after every end: %v, want none", got)
	}

	// A grant revoked now leaves the list.
	must[store.Grant](t, "revoke")(s.RevokeGrant(ctx, "a-running", at(0)))
	diff(t, "u1's grants in force at 0 after a revocation", []store.Grant{earlier, b, startsNow},
		must[[]store.Grant](t, "active after revoke")(s.ListActiveGrants(ctx, "u1", at(0))))
}
