package storetest

import (
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

// testSessionExpiryReason: why a session ends at its expiry is kept from
// its creation, in every read, and changed with its expiry by
// SetSessionExpiryFor; SetSessionExpiry, which says no reason, clears it.
func testSessionExpiryReason(t *testing.T, s store.Store) {
	ctx := t.Context()
	shift, other := session("s1", "u1", "k1", 0), session("s2", "u1", "k2", 1)
	shift.ExpiryReason, other.ExpiryReason = "shift_end", "expired"
	for _, x := range []store.Session{shift, other} {
		must[store.Session](t, "create")(s.CreateSession(ctx, x))
	}
	diff(t, "stored session", shift, must[store.Session](t, "get")(s.GetSession(ctx, "s1")))
	diff(t, "live sessions", []store.Session{shift, other}, must[[]store.Session](t, "list")(s.ListSessions(ctx, store.SessionQuery{LiveOnly: true})))

	got := must[store.Session](t, "set expiry for shift_end")(s.SetSessionExpiryFor(ctx, "s2", at(4), "shift_end"))
	want := other
	want.Expires, want.ExpiryReason = at(4), "shift_end"
	diff(t, "session cut to a shift's end", want, got)
	diff(t, "stored session cut to a shift's end", want, must[store.Session](t, "get")(s.GetSession(ctx, "s2")))

	got = must[store.Session](t, "set expiry")(s.SetSessionExpiry(ctx, "s1", at(5)))
	want = shift
	want.Expires, want.ExpiryReason = at(5), ""
	diff(t, "session whose expiry was set without a reason", want, got)

	ended := must[[]store.Session](t, "end")(s.EndSessions(ctx, "u1", "signout", at(2)))
	for _, x := range ended {
		if x.ID == "s2" && x.ExpiryReason != "shift_end" {
			t.Errorf("ended session %s: expiry reason %q, want it kept (shift_end)", x.ID, x.ExpiryReason)
		}
	}
}
