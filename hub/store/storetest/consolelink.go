package storetest

import (
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

// testConsoleAccountLinks pins down the link of console accounts to hub
// users by ID: set on create, kept by Update, set by LinkConsoleAccounts
// only on accounts linked to nobody whose name folds to the userName
// (enabled or disabled), never on one linked already, and read back by
// ListConsoleAccountsOfUser.
func testConsoleAccountLinks(t *testing.T, s store.Store) {
	ctx := t.Context()
	create := func(a store.ConsoleAccount) store.ConsoleAccount {
		t.Helper()
		return must[store.ConsoleAccount](t, "create "+a.Name)(s.CreateConsoleAccount(ctx, a))
	}
	// A name that differs from the userName in non-ASCII case only; a
	// disabled account, linked as an enabled one is; a name that folds
	// otherwise; an account linked at creation. (Two accounts can no
	// longer share a name under store.ConsoleNameKey: the migration test
	// of a backend links the several of one name an older file may hold.)
	elo := create(consoleAccount("a1", "Élodie", store.ConsoleSupervisor, 0, "north"))
	disabled := consoleAccount("a2", "ZOË", store.ConsoleAdmin, 1)
	disabled.Disabled = at(1)
	zoe := create(disabled)
	other := create(consoleAccount("a3", "elodie", store.ConsoleAdmin, 2))
	linked := consoleAccount("a4", "sam", store.ConsoleSupervisor, 3, "east")
	linked.UserID = "u-old"
	sam := create(linked)
	if sam.UserID != "u-old" || elo.UserID != "" {
		t.Errorf("created accounts linked to %q and %q, want u-old and none", sam.UserID, elo.UserID)
	}
	diff(t, "linked at creation, read back", sam, must[store.ConsoleAccount](t, "get")(s.GetConsoleAccount(ctx, "a4")))

	got := must[[]store.ConsoleAccount](t, "link")(s.LinkConsoleAccounts(ctx, "u-elo", "ÉLODIE", at(5)))
	wantElo, wantZoe := elo, zoe
	wantElo.UserID, wantElo.Version, wantElo.Modified = "u-elo", 2, at(5)
	diff(t, "linked accounts", []store.ConsoleAccount{wantElo}, got)
	checkUTC(t, "linked account", got[0].Modified)
	diff(t, "linked, read back", wantElo, must[store.ConsoleAccount](t, "get")(s.GetConsoleAccount(ctx, "a1")))
	got = must[[]store.ConsoleAccount](t, "link")(s.LinkConsoleAccounts(ctx, "u-zoe", "zoë", at(5)))
	wantZoe.UserID, wantZoe.Version, wantZoe.Modified = "u-zoe", 2, at(5)
	diff(t, "linked disabled account", []store.ConsoleAccount{wantZoe}, got)
	diff(t, "linked disabled account, read back", wantZoe, must[store.ConsoleAccount](t, "get")(s.GetConsoleAccount(ctx, "a2")))
	diff(t, "an account of another name", other, must[store.ConsoleAccount](t, "get")(s.GetConsoleAccount(ctx, "a3")))

	// A linked account is never linked again, to the same user or another:
	// a userName given to somebody new does not bring the account of the
	// person who had it.
	for _, tc := range []struct{ userID, userName string }{
		{"u-new", "élodie"}, {"u-elo", "Élodie"}, {"u-new", "SAM"}, {"u-new", "Zoë"},
	} {
		if got := must[[]store.ConsoleAccount](t, "link again")(s.LinkConsoleAccounts(ctx, tc.userID, tc.userName, at(6))); len(got) != 0 {
			t.Errorf("link %s to %s: %+v, want none", tc.userName, tc.userID, got)
		}
	}
	if got := must[[]store.ConsoleAccount](t, "link a blank name")(s.LinkConsoleAccounts(ctx, "u-x", " ", at(6))); len(got) != 0 {
		t.Errorf("link a blank name: %+v, want none", got)
	}
	if _, err := s.LinkConsoleAccounts(ctx, "", "elodie", at(6)); err == nil {
		t.Error("link to no user ID: no error")
	}
	diff(t, "unlinked account after the refused links", other, must[store.ConsoleAccount](t, "get")(s.GetConsoleAccount(ctx, "a3")))

	diff(t, "accounts of u-elo", []store.ConsoleAccount{wantElo}, must[[]store.ConsoleAccount](t, "list of user")(s.ListConsoleAccountsOfUser(ctx, "u-elo")))
	diff(t, "accounts of u-zoe", []store.ConsoleAccount{wantZoe}, must[[]store.ConsoleAccount](t, "list of user")(s.ListConsoleAccountsOfUser(ctx, "u-zoe")))
	diff(t, "accounts of u-old", []store.ConsoleAccount{sam}, must[[]store.ConsoleAccount](t, "list of user")(s.ListConsoleAccountsOfUser(ctx, "u-old")))
	if got := must[[]store.ConsoleAccount](t, "list of no user")(s.ListConsoleAccountsOfUser(ctx, "")); len(got) != 0 {
		t.Errorf("accounts of user \"\": %+v, want none (the unlinked accounts are no user's)", got)
	}

	// Update keeps the link, as it keeps the user handle.
	upd := must[store.ConsoleAccount](t, "update")(s.UpdateConsoleAccount(ctx, "a4", func(a store.ConsoleAccount) (store.ConsoleAccount, error) {
		a.UserID, a.Disabled, a.Modified = "u-new", at(7), at(7)
		return a, nil
	}))
	if upd.UserID != "u-old" {
		t.Errorf("update changed the link to %q, want u-old kept", upd.UserID)
	}
	unl := must[store.ConsoleAccount](t, "update")(s.UpdateConsoleAccount(ctx, "a3", func(a store.ConsoleAccount) (store.ConsoleAccount, error) {
		a.UserID, a.Modified = "u-new", at(7)
		return a, nil
	}))
	if unl.UserID != "" || must[store.ConsoleAccount](t, "get")(s.GetConsoleAccount(ctx, "a3")).UserID != "" {
		t.Errorf("update linked an account: %q, want it linked to none", unl.UserID)
	}

	// A link made in a transaction that fails is undone with it.
	err := s.InTx(ctx, func(tx store.Ops) error {
		got := must[[]store.ConsoleAccount](t, "link in tx")(tx.LinkConsoleAccounts(ctx, "u-e", "ELODIE", at(8)))
		if len(got) != 1 || got[0].ID != "a3" {
			t.Errorf("link in tx: %+v, want a3", got)
		}
		return errFn
	})
	wantErr(t, "failing transaction", err, errFn)
	if a := must[store.ConsoleAccount](t, "get")(s.GetConsoleAccount(ctx, "a3")); a.UserID != "" {
		t.Errorf("after the rollback a3 is linked to %q, want none", a.UserID)
	}
}
