package lifecycle_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shiftgate/shiftgate/hub/store"
)

// links returns the console.account_link records: subject → details, in
// the order they were written.
func (f *consoleFixture) links(t *testing.T) map[string][]map[string]any {
	t.Helper()
	recs, err := f.st.ListAudit(t.Context(), store.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]map[string]any{}
	for _, r := range recs {
		if r.Action != "console.account_link" {
			continue
		}
		if r.Actor != actor.Name || r.System != actor.System {
			t.Errorf("console.account_link of %s by %s/%s, want the change's actor %s/%s", r.Subject, r.Actor, r.System, actor.Name, actor.System)
		}
		var d map[string]any
		if err := json.Unmarshal(r.Detail, &d); err != nil {
			t.Fatal(err)
		}
		out[r.Subject] = append(out[r.Subject], d)
	}
	return out
}

// userIDs is the hub user each console account is linked to, by name.
func (f *consoleFixture) userIDs(t *testing.T) map[string]string {
	t.Helper()
	as, err := f.st.ListConsoleAccounts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, a := range as {
		out[a.Name] = a.UserID
	}
	return out
}

func (f *consoleFixture) rename(t *testing.T, id, name string) {
	t.Helper()
	if _, err := f.eng.UpdateUser(t.Context(), actor, id, func(u store.User) (store.User, error) {
		u.UserName = name
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestRenameKeepsConsoleAccountLinked: a console account is linked to its
// hub user by ID, so a rename (the identity provider changes the userName
// with a surname, or a whole domain) leaves it enabled, signed in and
// linked, under its own name: the user's leaving still disables it. The
// rename links, in its transaction and audited, the accounts of the new
// name that are linked to nobody; it disables nothing.
func TestRenameKeepsConsoleAccountLinked(t *testing.T) {
	f := newConsoleFixture(t)
	f.account(t, "sam.jones", time.Time{})
	f.account(t, "sam.smith", time.Time{})
	f.account(t, "ada", time.Time{})
	f.user(t, "u-sam", "sam.jones")
	if d := f.links(t)["console:acct-sam.jones"]; len(d) != 1 || d[0]["reason"] != "user created" || d[0]["user"] != "u-sam" || d[0]["userName"] != "sam.jones" {
		t.Fatalf("console.account_link of sam.jones when the user was created: %v", d)
	}

	f.rename(t, "u-sam", "Sam.Jones") // case only: the same name
	renamed := f.now.Add(time.Minute)
	f.now = renamed
	f.rename(t, "u-sam", "sam.smith")
	want := map[string]accountState{
		"sam.jones": {SessionLive: true},
		"sam.smith": {SessionLive: true},
		"ada":       {SessionLive: true},
	}
	if diff := cmp.Diff(want, f.state(t)); diff != "" {
		t.Errorf("console accounts after the rename (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"sam.jones": "u-sam", "sam.smith": "u-sam", "ada": ""}, f.userIDs(t)); diff != "" {
		t.Errorf("links after the rename (-want +got):\n%s", diff)
	}
	if d := f.disables(t); len(d) != 0 {
		t.Errorf("console.account_disable records after the rename: %v, want none", d)
	}
	if d := f.links(t)["console:acct-sam.smith"]; len(d) != 1 || d[0]["reason"] != "user renamed" || d[0]["user"] != "u-sam" || d[0]["userName"] != "sam.smith" {
		t.Errorf("console.account_link of the new name's account: %v", d)
	}
	if d := f.links(t)["console:acct-sam.jones"]; len(d) != 1 {
		t.Errorf("sam.jones linked %d times, want once", len(d))
	}

	left := f.now.Add(time.Minute)
	f.now = left
	if _, err := f.eng.UpdateUser(t.Context(), actor, "u-sam", func(u store.User) (store.User, error) {
		u.Active = false
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	want["sam.jones"] = accountState{Disabled: left}
	want["sam.smith"] = accountState{Disabled: left}
	if diff := cmp.Diff(want, f.state(t)); diff != "" {
		t.Errorf("console accounts after the leaver (-want +got):\n%s", diff)
	}
	for _, name := range []string{"sam.jones", "sam.smith"} {
		if d := f.disables(t)["console:acct-"+name]; d["reason"] != "user deprovisioned" || d["deprovisionReason"] != "user deactivated" ||
			d["user"] != "u-sam" || d["userName"] != "sam.smith" {
			t.Errorf("leaver's console.account_disable of %s: %v", name, d)
		}
	}
}

// TestNewUserOfDepartedNameGetsNoConsoleAccount: userNames are reusable,
// console accounts are not. After a DELETE, a new user given the departed
// user's name is somebody else: the departed user's account stays
// disabled and linked to the departed user, even if someone enabled it
// again meanwhile, and the new user's leaving does not touch it. The new
// user needs an account of their own.
func TestNewUserOfDepartedNameGetsNoConsoleAccount(t *testing.T) {
	ctx := t.Context()
	f := newConsoleFixture(t)
	f.account(t, "kim", time.Time{})
	f.user(t, "u-kim", "kim")
	if err := f.eng.DeleteUser(ctx, actor, "u-kim"); err != nil {
		t.Fatal(err)
	}
	gone := f.now
	if st := f.state(t)["kim"]; !st.Disabled.Equal(gone) {
		t.Fatalf("kim's account after the DELETE: %+v, want disabled", st)
	}
	// Enabled again by mistake while its user is gone.
	if _, err := f.st.UpdateConsoleAccount(ctx, "acct-kim", func(a store.ConsoleAccount) (store.ConsoleAccount, error) {
		a.Disabled = time.Time{}
		return a, nil
	}); err != nil {
		t.Fatal(err)
	}

	f.now = f.now.Add(time.Hour)
	f.user(t, "u-kim-2", "Kim")
	if id := f.userIDs(t)["kim"]; id != "u-kim" {
		t.Errorf("kim's account is linked to %q after a new Kim came, want the departed u-kim", id)
	}
	if d := f.links(t)["console:acct-kim"]; len(d) != 1 || d[0]["user"] != "u-kim" {
		t.Errorf("console.account_link records of kim's account: %v, want only the departed user's", d)
	}
	if as, err := f.st.ListConsoleAccountsOfUser(ctx, "u-kim-2"); err != nil || len(as) != 0 {
		t.Errorf("console accounts of the new Kim: %+v, %v; want none", as, err)
	}

	f.now = f.now.Add(time.Hour)
	if _, err := f.eng.UpdateUser(ctx, actor, "u-kim-2", func(u store.User) (store.User, error) {
		u.Active = false
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	if st := f.state(t)["kim"]; !st.Disabled.IsZero() {
		t.Errorf("the new Kim's leaving disabled the departed kim's account: %+v", st)
	}
}

// TestCreatedUserTakesItsConsoleAccount: a hub's first admin is made by
// `admin bootstrap` before the identity provider provisions them; the
// user's creation links the account (enabled or disabled, linked to
// nobody, named like the user in any case) in its transaction, audited,
// and the user's leaving then disables it. An account linked to another
// user is not taken.
func TestCreatedUserTakesItsConsoleAccount(t *testing.T) {
	ctx := t.Context()
	f := newConsoleFixture(t)
	f.account(t, "Ada@Example.org", time.Time{})
	earlier := t0.Add(-time.Hour)
	f.account(t, "bo", earlier)
	if _, err := f.st.CreateConsoleAccount(ctx, store.ConsoleAccount{ID: "acct-cy", Name: "cy", Role: store.ConsoleAdmin, UserID: "u-cy-old",
		WebAuthnID: []byte("handle-cy"), CreatedBy: "test", Created: t0, Modified: t0}); err != nil {
		t.Fatal(err)
	}
	if err := f.st.CreateConsoleSession(ctx, store.ConsoleSession{Hash: []byte("session-cy"), AccountID: "acct-cy", Created: t0, LastSeen: t0, Expires: t0.Add(12 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	f.user(t, "u-ada", "ada@example.org")
	f.user(t, "u-bo", "BO")
	f.user(t, "u-cy", "cy")
	if diff := cmp.Diff(map[string]string{"Ada@Example.org": "u-ada", "bo": "u-bo", "cy": "u-cy-old"}, f.userIDs(t)); diff != "" {
		t.Errorf("links after the users were created (-want +got):\n%s", diff)
	}
	links := f.links(t)
	if d := links["console:acct-Ada@Example.org"]; len(d) != 1 || d[0]["reason"] != "user created" || d[0]["enabled"] != true || d[0]["name"] != "Ada@Example.org" {
		t.Errorf("ada's console.account_link: %v", d)
	}
	if d := links["console:acct-bo"]; len(d) != 1 || d[0]["enabled"] != false {
		t.Errorf("bo's console.account_link: %v", d)
	}
	if d := links["console:acct-cy"]; d != nil {
		t.Errorf("cy's account, linked to another user, was linked again: %v", d)
	}
	if st := f.state(t)["bo"]; !st.Disabled.Equal(earlier) {
		t.Errorf("bo's disabled account after the link: %+v, want it still disabled", st)
	}

	f.now = f.now.Add(time.Hour)
	if err := f.eng.DeleteUser(ctx, actor, "u-ada"); err != nil {
		t.Fatal(err)
	}
	if st := f.state(t)["Ada@Example.org"]; !st.Disabled.Equal(f.now) || st.SessionLive {
		t.Errorf("ada's account after ada left: %+v, want disabled and signed out", st)
	}
}
