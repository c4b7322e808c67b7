package lifecycle_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestRenameDisablesConsoleAccountsOfTheOldName: a console account is the
// hub user whose userName is its name, so a rename (the identity provider
// changes the userName with a surname) leaves the accounts of the old name
// to no hub user. The leaver path never reached them: a supervisor renamed
// and then deactivated kept signing in to the console. The rename disables
// them, in its transaction and audited with reason "user renamed"; a
// change of case only is no rename, and the account of the new name is
// left to the leaver path, which still disables it.
func TestRenameDisablesConsoleAccountsOfTheOldName(t *testing.T) {
	ctx := t.Context()
	f := newConsoleFixture(t)
	f.account(t, "sam.jones", time.Time{})
	f.account(t, "sam.smith", time.Time{})
	f.account(t, "ada", time.Time{})
	f.user(t, "u-sam", "sam.jones")
	rename := func(name string) {
		t.Helper()
		if _, err := f.eng.UpdateUser(ctx, actor, "u-sam", func(u store.User) (store.User, error) {
			u.UserName = name
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}
	}

	rename("Sam.Jones") // case only: the same name
	if st := f.state(t)["sam.jones"]; !st.Disabled.IsZero() || !st.SessionLive {
		t.Fatalf("account after a change of case: %+v, want enabled and signed in", st)
	}

	renamed := f.now.Add(time.Minute)
	f.now = renamed
	rename("sam.smith")
	want := map[string]accountState{
		"sam.jones": {Disabled: renamed},
		"sam.smith": {SessionLive: true},
		"ada":       {SessionLive: true},
	}
	if diff := cmp.Diff(want, f.state(t)); diff != "" {
		t.Errorf("console accounts after the rename (-want +got):\n%s", diff)
	}
	d := f.disables(t)["console:acct-sam.jones"]
	if d["reason"] != "user renamed" || d["user"] != "u-sam" || d["userName"] != "Sam.Jones" || d["newUserName"] != "sam.smith" || d["sessionsEnded"] != 1.0 {
		t.Errorf("rename's console.account_disable detail: %v", d)
	}

	left := f.now.Add(time.Minute)
	f.now = left
	if _, err := f.eng.UpdateUser(ctx, actor, "u-sam", func(u store.User) (store.User, error) {
		u.Active = false
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	want["sam.smith"] = accountState{Disabled: left}
	if diff := cmp.Diff(want, f.state(t)); diff != "" {
		t.Errorf("console accounts after the leaver (-want +got):\n%s", diff)
	}
	if d := f.disables(t)["console:acct-sam.smith"]; d["reason"] != "user deprovisioned" || d["deprovisionReason"] != "user deactivated" {
		t.Errorf("leaver's console.account_disable detail: %v", d)
	}
}
