package storetest

import (
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

func extension(id, user, site string, start, end int) store.ShiftExtension {
	return store.ShiftExtension{ID: id, UserID: user, Site: site, Start: at(start), End: at(end), Reason: "cover handover",
		Approver: "token:ab (supervisor)", Created: at(start)}
}

func testShiftExtensions(t *testing.T, s store.Store) {
	// Sites are kept as given, spelling and all; an extension without one
	// (recorded before extensions had sites) is kept too.
	x1, x2, x3 := extension("x1", "u1", "North", 2, 4), extension("x2", "u1", "São Paulo", 0, 6), extension("x3", "u2", "north", 1, 3)
	x4 := extension("x4", "u1", "", 2, 5) // same Start as x1: ID breaks the tie
	for _, x := range []store.ShiftExtension{x1, x2, x3, x4} {
		got := must[store.ShiftExtension](t, "create")(s.CreateShiftExtension(t.Context(), x))
		diff(t, "created extension", x, got)
		checkUTC(t, "created extension", got.Start, got.End, got.Created)
	}
	_, err := s.CreateShiftExtension(t.Context(), extension("x1", "u3", "North", 0, 1))
	wantErr(t, "create duplicate ID", err, store.ErrConflict)

	list := must[[]store.ShiftExtension](t, "list")(s.ListShiftExtensions(t.Context(), "u1"))
	diff(t, "u1 extensions by Start then ID", []store.ShiftExtension{x2, x1, x4}, list)
	for _, x := range list {
		checkUTC(t, "listed extension", x.Start, x.End, x.Created, x.Expired)
	}
	if got := must[[]store.ShiftExtension](t, "list none")(s.ListShiftExtensions(t.Context(), "nobody")); len(got) != 0 {
		t.Errorf("extensions of nobody = %v", got)
	}

	// Due by End, then ID; to the nanosecond; with a limit.
	diff(t, "due at 4h", []store.ShiftExtension{x3, x1}, must[[]store.ShiftExtension](t, "due")(s.ListDueShiftExtensions(t.Context(), at(4), 0)))
	diff(t, "due just before 4h", []store.ShiftExtension{x3}, must[[]store.ShiftExtension](t, "due")(s.ListDueShiftExtensions(t.Context(), at(4).Add(-1), 0)))
	diff(t, "due at 6h, limit 2", []store.ShiftExtension{x3, x1}, must[[]store.ShiftExtension](t, "due")(s.ListDueShiftExtensions(t.Context(), at(6), 2)))

	// Expire: once, and only when due.
	_, err = s.ExpireShiftExtension(t.Context(), "x2", at(5))
	wantErr(t, "expire before its end", err, store.ErrNotFound)
	got := must[store.ShiftExtension](t, "expire")(s.ExpireShiftExtension(t.Context(), "x1", at(4)))
	want1 := x1
	want1.Expired = at(4)
	diff(t, "expired extension", want1, got)
	checkUTC(t, "expired extension", got.Expired)
	_, err = s.ExpireShiftExtension(t.Context(), "x1", at(5))
	wantErr(t, "expire twice", err, store.ErrNotFound)
	_, err = s.ExpireShiftExtension(t.Context(), "nope", at(5))
	wantErr(t, "expire unknown", err, store.ErrNotFound)
	diff(t, "due after expiring x1", []store.ShiftExtension{x3, x4}, must[[]store.ShiftExtension](t, "due")(s.ListDueShiftExtensions(t.Context(), at(5), 0)))
	diff(t, "x1 listed as expired", []store.ShiftExtension{x2, want1, x4}, must[[]store.ShiftExtension](t, "list")(s.ListShiftExtensions(t.Context(), "u1")))

	// A failed transaction leaves no mark.
	err = s.InTx(t.Context(), func(tx store.Ops) error {
		if _, err := tx.ExpireShiftExtension(t.Context(), "x3", at(5)); err != nil {
			return err
		}
		return errFn
	})
	wantErr(t, "rolled back expiry", err, errFn)
	must[store.ShiftExtension](t, "expire after rollback")(s.ExpireShiftExtension(t.Context(), "x3", at(5)))
}

func testGrantExpiry(t *testing.T, s store.Store) {
	g := func(id string, start, end int) store.Grant {
		return store.Grant{ID: id, UserID: "u1", Role: "Nurse", Site: "North", Reason: "cover",
			Approver: "admin", Start: at(start), End: at(end), Created: at(start)}
	}
	early, late, running := g("early", 0, 2), g("late", 0, 3), g("running", 0, 10)
	revoked := g("revoked", 0, 1)
	revoked.Revoked = at(0)
	tie := g("a-tie", 1, 3) // same End as late: ID breaks the tie
	for _, x := range []store.Grant{early, late, running, revoked, tie} {
		must[store.Grant](t, "create")(s.CreateGrant(t.Context(), x))
	}
	diff(t, "due at 3h", []store.Grant{early, tie, late}, must[[]store.Grant](t, "due")(s.ListDueGrants(t.Context(), at(3), 0)))
	diff(t, "due at 3h, limit 1", []store.Grant{early}, must[[]store.Grant](t, "due")(s.ListDueGrants(t.Context(), at(3), 1)))
	diff(t, "due just before 2h", []store.Grant(nil), must[[]store.Grant](t, "due")(s.ListDueGrants(t.Context(), at(2).Add(-1), 0)))

	_, err := s.ExpireGrant(t.Context(), "running", at(3))
	wantErr(t, "expire a running grant", err, store.ErrNotFound)
	_, err = s.ExpireGrant(t.Context(), "revoked", at(3))
	wantErr(t, "expire a revoked grant", err, store.ErrNotFound)
	got := must[store.Grant](t, "expire")(s.ExpireGrant(t.Context(), "early", at(3)))
	diff(t, "expired grant", early, got)
	_, err = s.ExpireGrant(t.Context(), "early", at(4))
	wantErr(t, "expire twice", err, store.ErrNotFound)
	diff(t, "due after expiring early", []store.Grant{tie, late}, must[[]store.Grant](t, "due")(s.ListDueGrants(t.Context(), at(3), 0)))
	// The grant itself is unchanged: it is over, not revoked.
	diff(t, "expired grant as stored", early, must[store.Grant](t, "get")(s.GetGrant(t.Context(), "early")))
	_, err = s.RevokeGrant(t.Context(), "early", at(4))
	wantErr(t, "revoke an expired grant", err, store.ErrNotFound)
}

func testSessionExpiry(t *testing.T, s store.Store) {
	live, ended := session("s1", "u1", "k1", 0), session("s2", "u1", "k1", -10)
	ended.Ended, ended.EndReason = at(-5), "signout"
	for _, x := range []store.Session{live, ended} {
		must[store.Session](t, "create")(s.CreateSession(t.Context(), x))
	}
	later := at(12).In(zone)
	got := must[store.Session](t, "set expiry")(s.SetSessionExpiry(t.Context(), "s1", later))
	want := live
	want.Expires = later
	diff(t, "session after the change", want, got)
	checkUTC(t, "session after the change", got.Started, got.Expires, got.Ended)
	diff(t, "stored session", want, must[store.Session](t, "get")(s.GetSession(t.Context(), "s1")))
	diff(t, "expiring by 12h", []store.Session{want}, must[[]store.Session](t, "list")(s.ListSessions(t.Context(), store.SessionQuery{LiveOnly: true, ExpiresBy: at(12)})))

	_, err := s.SetSessionExpiry(t.Context(), "s2", at(20))
	wantErr(t, "ended session", err, store.ErrNotFound)
	_, err = s.SetSessionExpiry(t.Context(), "nope", at(20))
	wantErr(t, "unknown session", err, store.ErrNotFound)
	diff(t, "ended session untouched", ended, must[store.Session](t, "get s2")(s.GetSession(t.Context(), "s2")))
}
