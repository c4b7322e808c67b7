package storetest

import (
	"slices"
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

// testConsoleAccountNames pins down that console account names are unique
// and looked up under store.ConsoleNameKey, not in ASCII case only: a name
// that differs from a taken one in any letter's case, in its Unicode
// normalization, in full-width forms or in full case folding is taken.
// Names that read otherwise stay apart.
func testConsoleAccountNames(t *testing.T, s store.Store) {
	ctx := t.Context()
	elo := must[store.ConsoleAccount](t, "create Élodie")(s.CreateConsoleAccount(ctx, consoleAccount("a1", "Élodie", store.ConsoleAdmin, 0)))
	must[store.ConsoleAccount](t, "create Straße")(s.CreateConsoleAccount(ctx, consoleAccount("a2", "Straße", store.ConsoleAdmin, 1)))
	must[store.ConsoleAccount](t, "create Kate")(s.CreateConsoleAccount(ctx, consoleAccount("a3", "Kate", store.ConsoleAdmin, 2)))
	must[store.ConsoleAccount](t, "create Cherokee")(s.CreateConsoleAccount(ctx, consoleAccount("a4", "\u13a0\u13a1", store.ConsoleAdmin, 3)))

	taken := []struct{ name, owner string }{
		{"élodie", "a1"},       // non-ASCII case: NOCASE took these for two names
		{"ÉLODIE", "a1"},       //
		{"E\u0301lodie", "a1"}, // decomposed É: reads as "Élodie"
		{"e\u0301LODIE", "a1"}, //
		{"\uff25\u0301\uff4c\uff4f\uff44\uff49\uff45", "a1"}, // full-width "Élodie"
		{"STRASSE", "a2"},      // full case folding: ß is ss
		{"strasse", "a2"},      //
		{"STRA\u1e9eE", "a2"},  // capital sharp s
		{"\u212aATE", "a3"},    // Kelvin sign
		{"\uab70\uab71", "a4"}, // Cherokee small letters fold to the capitals
		{"\uab70\u13a1", "a4"}, //
		{"elodie", ""},         // no accent: another name
		{"Élodie Martin", ""},  // a space: another name
	}
	for i, tc := range taken {
		got, err := s.GetConsoleAccountByName(ctx, tc.name)
		if tc.owner == "" {
			wantErr(t, "get "+tc.name, err, store.ErrNotFound)
			continue
		}
		if err != nil || got.ID != tc.owner {
			t.Errorf("get %q: %s, %v; want %s", tc.name, got.ID, err, tc.owner)
		}
		_, err = s.CreateConsoleAccount(ctx, consoleAccount("x"+string(rune('a'+i)), tc.name, store.ConsoleAdmin, 5))
		wantErr(t, "create "+tc.name+" while "+tc.owner+" has the name", err, store.ErrConflict)
	}
	if got := must[[]store.ConsoleAccount](t, "list")(s.ListConsoleAccounts(ctx)); len(got) != 4 {
		t.Errorf("%d accounts after the refused names, want 4", len(got))
	}
	// The names that are not taken can be had.
	for i, tc := range taken {
		if tc.owner == "" {
			must[store.ConsoleAccount](t, "create "+tc.name)(s.CreateConsoleAccount(ctx, consoleAccount("y"+string(rune('a'+i)), tc.name, store.ConsoleAdmin, 6)))
		}
	}

	// A rename is checked as a new name is; an account may change the
	// case of its own name; the name it leaves is free.
	_, err := s.UpdateConsoleAccount(ctx, "a2", func(a store.ConsoleAccount) (store.ConsoleAccount, error) {
		a.Name = "E\u0301LODIE"
		return a, nil
	})
	wantErr(t, "rename onto a name taken under the key", err, store.ErrConflict)
	renamed := must[store.ConsoleAccount](t, "rename within the key")(s.UpdateConsoleAccount(ctx, "a1", func(a store.ConsoleAccount) (store.ConsoleAccount, error) {
		a.Name = "élodie"
		return a, nil
	}))
	want := elo
	want.Name, want.Version = "élodie", 2
	diff(t, "renamed within the key", want, renamed)
	diff(t, "renamed within the key, by the old spelling", want, must[store.ConsoleAccount](t, "get")(s.GetConsoleAccountByName(ctx, "Élodie")))
	must[store.ConsoleAccount](t, "rename away")(s.UpdateConsoleAccount(ctx, "a1", func(a store.ConsoleAccount) (store.ConsoleAccount, error) {
		a.Name = "Amélie"
		return a, nil
	}))
	if got := must[store.ConsoleAccount](t, "get")(s.GetConsoleAccountByName(ctx, "AMÉLIE")); got.ID != "a1" {
		t.Errorf("get AMÉLIE after the rename: %s, want a1", got.ID)
	}
	_, err = s.GetConsoleAccountByName(ctx, "Élodie")
	wantErr(t, "get the name renamed away", err, store.ErrNotFound)
	must[store.ConsoleAccount](t, "create the name renamed away")(s.CreateConsoleAccount(ctx, consoleAccount("a5", "E\u0301lodie", store.ConsoleAdmin, 7)))

	// Changes that keep the name (disabling) are no rename.
	if _, _, err := store.DisableConsoleAccount(ctx, s, "a5", at(8)); err != nil {
		t.Errorf("disable a5: %v", err)
	}

	// In a transaction that fails, a name taken is given back.
	err = s.InTx(ctx, func(tx store.Ops) error {
		must[store.ConsoleAccount](t, "create in tx")(tx.CreateConsoleAccount(ctx, consoleAccount("a6", "Zoë", store.ConsoleAdmin, 9)))
		_, err := tx.CreateConsoleAccount(ctx, consoleAccount("a7", "ZOE\u0308", store.ConsoleAdmin, 9))
		wantErr(t, "create a name taken in the same transaction", err, store.ErrConflict)
		return errFn
	})
	wantErr(t, "failing transaction", err, errFn)
	must[store.ConsoleAccount](t, "create after the rollback")(s.CreateConsoleAccount(ctx, consoleAccount("a7", "ZOE\u0308", store.ConsoleAdmin, 9)))
}

// testConsoleAccountsOfUserOrName pins down what a leaver takes with them
// (ListConsoleAccountsOfUserOrName): the accounts linked to their ID,
// then the accounts linked to nobody whose name is their userName under
// store.FoldName, exactly those LinkConsoleAccounts would link to them,
// disabled ones included; not an account linked to somebody else, nor
// an unlinked account of another name.
func testConsoleAccountsOfUserOrName(t *testing.T, s store.Store) {
	ctx := t.Context()
	create := func(id, name, userID string, h int, disabled bool) store.ConsoleAccount {
		t.Helper()
		a := consoleAccount(id, name, store.ConsoleSupervisor, h, "north")
		a.UserID = userID
		if disabled {
			a.Disabled = at(h)
		}
		return must[store.ConsoleAccount](t, "create "+name)(s.CreateConsoleAccount(ctx, a))
	}
	// The unlinked account is older than the linked ones: the linked ones
	// still come first.
	zoe := create("a1", "ZOË", "", 0, false)
	ann := create("a2", "ann", "u-1", 2, false)
	annOld := create("a3", "ann.old", "u-1", 1, true)
	create("a4", "zoe", "", 3, false)              // another name (no diaeresis)
	create("a5", "kim", "u-2", 4, false)           // linked to somebody else
	strasse := create("a6", "Straße", "", 5, true) // unlinked, disabled
	create("a7", "E\u0301lodie", "", 6, false)     // decomposed É

	list := func(userID, userName string) []store.ConsoleAccount {
		t.Helper()
		return must[[]store.ConsoleAccount](t, "list of "+userID+" "+userName)(s.ListConsoleAccountsOfUserOrName(ctx, userID, userName))
	}
	ids := func(as []store.ConsoleAccount) []string {
		out := []string{}
		for _, a := range as {
			out = append(out, a.ID)
		}
		return out
	}
	diff(t, "u-1 named zoë", []store.ConsoleAccount{annOld, ann, zoe}, list("u-1", "zoë"))
	for _, tc := range []struct {
		userID, userName string
		want             []string
	}{
		{"u-1", "Zoë", []string{"a3", "a2", "a1"}},
		{"", "zoë", []string{"a1"}},             // no ID: the unlinked account of the name only
		{"u-1", " ", []string{"a3", "a2"}},      // a blank name: none by name
		{"u-1", "", []string{"a3", "a2"}},       //
		{"", "", []string{}},                    // never every unlinked account
		{"u-3", "KIM", []string{}},              // kim is u-2's: a userName given anew does not bring it
		{"u-2", "ann", []string{"a5"}},          // ann is u-1's
		{"u-9", "STRA\u1e9eE", []string{"a6"}},  // FoldName: ẞ is ß
		{"u-9", "STRASSE", []string{}},          // but not ss, as LinkConsoleAccounts links
		{"u-9", "Élodie", []string{}},           // nor the precomposed É (FoldName does not normalize)
		{"u-9", "e\u0301LODIE", []string{"a7"}}, //
		{"u-none", "nobody", []string{}},        //
	} {
		got := list(tc.userID, tc.userName)
		diff(t, "accounts of "+tc.userID+" named "+tc.userName, tc.want, ids(got))
		if tc.userID == "" {
			continue
		}
		// The unlinked part is what a link of the user would link.
		err := s.InTx(ctx, func(tx store.Ops) error {
			linked := must[[]store.ConsoleAccount](t, "link")(tx.LinkConsoleAccounts(ctx, tc.userID, tc.userName, at(9)))
			unlinked := slices.DeleteFunc(slices.Clone(got), func(a store.ConsoleAccount) bool { return a.UserID != "" })
			diff(t, "linked to "+tc.userID+" by "+tc.userName, ids(unlinked), ids(linked))
			return errFn
		})
		wantErr(t, "rolled-back link", err, errFn)
	}
	diff(t, "the disabled unlinked account", []store.ConsoleAccount{strasse}, list("", "straße"))

	// Inside a transaction it sees the transaction's own writes.
	err := s.InTx(ctx, func(tx store.Ops) error {
		a := consoleAccount("a8", "Lee", store.ConsoleAdmin, 7)
		must[store.ConsoleAccount](t, "create in tx")(tx.CreateConsoleAccount(ctx, a))
		got := must[[]store.ConsoleAccount](t, "list in tx")(tx.ListConsoleAccountsOfUserOrName(ctx, "u-1", "LEE"))
		diff(t, "accounts of u-1 named LEE in the transaction", []string{"a3", "a2", "a8"}, ids(got))
		return errFn
	})
	wantErr(t, "failing transaction", err, errFn)
}
