package governance_test

import (
	"context"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestConsoleFindingsFollowTheLink: a console account's hub user is the
// one it is linked to by ID, not the user of its name. An account enabled
// again after its user left is an orphan when the user was renamed first
// (no user has the account's name any more), when the user was deleted,
// and when a new user was given the departed user's name since; the
// orphan finding names the linked user, and its remediation disables the
// account. An account linked to nobody is no orphan, whatever its name.
func TestConsoleFindingsFollowTheLink(t *testing.T) {
	e := newEnv(t, t0)
	ctx := context.Background()
	day := 24 * time.Hour
	// Accounts made before their users (as `admin bootstrap` makes the
	// first admin): each user's creation links the account of its name.
	account := func(name string) {
		t.Helper()
		if _, err := e.st.CreateConsoleAccount(ctx, store.ConsoleAccount{ID: "acct-" + name, Name: name, Role: store.ConsoleAdmin,
			WebAuthnID: []byte("handle-" + name), CreatedBy: "test", Created: t0, Modified: t0}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"ann", "kim", "lee", "root"} {
		account(name)
	}
	ann := e.user("ann", []string{"north"}, nil)
	kim := e.user("kim", []string{"north"}, nil)
	lee := e.user("lee", []string{"north"}, nil)
	for name, id := range map[string]string{"ann": ann.ID, "kim": kim.ID, "lee": lee.ID} {
		if a, err := e.st.GetConsoleAccount(ctx, "acct-"+name); err != nil || a.UserID != id {
			t.Fatalf("%s's account: %+v, %v; want it linked to %s", name, a, err, id)
		}
	}

	e.at(t0.Add(day))
	e.update(ann.ID, func(u *store.User) { u.UserName = "ann.new" })
	e.update(ann.ID, func(u *store.User) { u.Active = false })
	if err := e.engine.DeleteUser(ctx, actor, kim.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.engine.DeleteUser(ctx, actor, lee.ID); err != nil {
		t.Fatal(err)
	}
	newLee := e.user("LEE", []string{"north"}, nil)
	for _, name := range []string{"ann", "kim", "lee"} {
		if a, err := e.st.GetConsoleAccount(ctx, "acct-"+name); err != nil || a.Disabled.IsZero() {
			t.Fatalf("%s's account after the leaver: %+v, %v; want disabled", name, a, err)
		}
		// Enabled again by mistake.
		if _, err := e.st.UpdateConsoleAccount(ctx, "acct-"+name, func(a store.ConsoleAccount) (store.ConsoleAccount, error) {
			a.Disabled, a.Modified = time.Time{}, t0.Add(2*day)
			return a, nil
		}); err != nil {
			t.Fatal(err)
		}
	}

	e.at(t0.Add(3 * day))
	fs, err := e.gov.Findings(ctx, governance.FindingsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	orphans := map[string]governance.Finding{}
	for _, f := range fs {
		if f.Rule == governance.RuleConsoleOfLeaver {
			orphans[f.User] = f
		}
	}
	for name, id := range map[string]string{"ann": ann.ID, "kim": kim.ID, "lee": lee.ID} {
		f, ok := orphans[name]
		if !ok {
			t.Errorf("no orphan finding for %s's account among %v", name, consoleKeys(orphans))
			continue
		}
		if f.UserID != id || f.Kind != governance.KindOrphaned {
			t.Errorf("%s's orphan finding: %+v, want kind orphaned about user %s", name, f, id)
		}
	}
	if f, ok := orphans["lee"]; ok && f.UserID == newLee.ID {
		t.Errorf("lee's account taken for the new LEE's: %+v", f)
	}
	if len(orphans) != 3 {
		t.Errorf("orphan findings %v, want ann, kim and lee (root is linked to nobody)", consoleKeys(orphans))
	}
	if r := e.numbers(); r.Counts.OrphanedAccounts != 3 {
		t.Errorf("orphaned accounts %d, want 3", r.Counts.OrphanedAccounts)
	}

	// The finding about a deleted user's account is evaluated again, and
	// remedied, inside the remediation's transaction.
	rem, err := e.gov.Remediate(ctx, actor, orphans["kim"].ID, governance.FindingsOptions{})
	if err != nil || rem.Outcome != "done" {
		t.Fatalf("remediate kim's orphan finding: %+v, %v", rem, err)
	}
	if a, err := e.st.GetConsoleAccount(ctx, "acct-kim"); err != nil || a.Disabled.IsZero() {
		t.Errorf("kim's account after the remediation: %+v, %v; want disabled", a, err)
	}
}
