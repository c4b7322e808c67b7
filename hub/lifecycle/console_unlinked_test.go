package lifecycle_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestLeaverDisablesUnlinkedConsoleAccountOfName: an account linked to
// nobody while a hub user has its name is one the link migration could
// not place (two users, from before names were folded, whose names differ
// in non-ASCII case only: either may be its person). The leaving of a
// user of its name disables it in the same transaction, audited with
// "linked": false, as the name rule did before accounts were linked by
// ID; left enabled, the leaver could keep the console. An unlinked
// account of another name, and one linked to another user, stay.
func TestLeaverDisablesUnlinkedConsoleAccountOfName(t *testing.T) {
	ctx := t.Context()
	f := newConsoleFixture(t)
	f.user(t, "u-zoe", "Zoë")
	f.user(t, "u-ann", "ann")
	// Made after the users, straight in the store: linked to nobody, as
	// the migration leaves the account of a name two users share.
	f.account(t, "ZOË", time.Time{})
	f.account(t, "zoe", time.Time{})
	if diff := cmp.Diff(map[string]string{"ZOË": "", "zoe": ""}, f.userIDs(t)); diff != "" {
		t.Fatalf("links before the leaver (-want +got):\n%s", diff)
	}
	f.account(t, "ann2", time.Time{}) // a store-made account of another name
	if _, err := f.eng.UpdateUser(ctx, actor, "u-ann", func(u store.User) (store.User, error) {
		u.Active = false
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}

	left := f.now.Add(time.Minute)
	f.now = left
	if _, err := f.eng.UpdateUser(ctx, actor, "u-zoe", func(u store.User) (store.User, error) {
		u.Active = false
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string]accountState{
		"ZOË":  {Disabled: left},
		"zoe":  {SessionLive: true},
		"ann2": {SessionLive: true},
	}
	if diff := cmp.Diff(want, f.state(t)); diff != "" {
		t.Errorf("console accounts after Zoë left (-want +got):\n%s", diff)
	}
	d := f.disables(t)["console:acct-ZOË"]
	if d["reason"] != "user deprovisioned" || d["deprovisionReason"] != "user deactivated" || d["user"] != "u-zoe" ||
		d["userName"] != "Zoë" || d["linked"] != false || d["sessionsEnded"] != 1.0 {
		t.Errorf("console.account_disable of the unlinked account: %v", d)
	}
	if n := len(f.disables(t)); n != 1 {
		t.Errorf("%d console.account_disable records, want 1", n)
	}
	if diff := cmp.Diff(map[string]string{"ZOË": "", "zoe": "", "ann2": ""}, f.userIDs(t)); diff != "" {
		t.Errorf("links after the leaver (-want +got): the leaver path links nothing\n%s", diff)
	}
}
