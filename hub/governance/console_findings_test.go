package governance_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// Console accounts hold access, an admin's most of all: one not used for
// DormantAfter is dormant, and one left enabled for a hub user who has
// left is an orphan, counted in the orphaned-account rate. Remediation
// disables the account, and nobody disables their own that way.
func TestConsoleAccountFindings(t *testing.T) {
	e := newEnv(t, t0)
	ctx := context.Background()
	day := 24 * time.Hour
	ann := e.user("ann", []string{"north"}, nil)
	bo := e.user("bo", []string{"north"}, nil)
	// Linked to their hub users as the console links a new account.
	account := func(name, role, userID string) store.ConsoleAccount {
		t.Helper()
		a, err := e.st.CreateConsoleAccount(ctx, store.ConsoleAccount{ID: "acct-" + name, Name: name, Role: role, UserID: userID,
			WebAuthnID: []byte("handle-" + name), CreatedBy: "test", Created: t0, Modified: t0})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	account("ann", store.ConsoleAdmin, ann.ID)
	account("bo", store.ConsoleSupervisor, bo.ID)
	root := account("root", store.ConsoleAdmin, "") // the first admin: no hub user
	if _, err := e.st.CreateConsoleCredential(ctx, store.ConsoleCredential{ID: []byte("pk-ann"), AccountID: "acct-ann", PublicKey: []byte{1}, Created: t0, LastUsed: t0.Add(20 * day)}); err != nil {
		t.Fatal(err)
	}

	// bo leaves (the leaver path disables the account), and somebody
	// enables the account again.
	e.at(t0.Add(day)).update(bo.ID, func(u *store.User) { u.Active = false })
	if a, err := e.st.GetConsoleAccount(ctx, "acct-bo"); err != nil || a.Disabled.IsZero() {
		t.Fatalf("bo's console account after bo left: %+v, %v; want disabled", a, err)
	}
	if _, err := e.st.UpdateConsoleAccount(ctx, "acct-bo", func(a store.ConsoleAccount) (store.ConsoleAccount, error) {
		a.Disabled, a.Modified = time.Time{}, t0.Add(2*day)
		return a, nil
	}); err != nil {
		t.Fatal(err)
	}

	e.at(t0.Add(40 * day))
	fs, err := e.gov.Findings(ctx, governance.FindingsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]governance.Finding{}
	for _, f := range fs {
		if f.Remediation == governance.RemedyDisableConsole {
			got[f.Rule+" "+f.User] = f
		}
	}
	for _, want := range []string{
		governance.RuleConsoleOfLeaver + " bo",
		governance.RuleConsoleNoSignIn + " bo",   // enabled again 38 days ago, never used since
		governance.RuleConsoleNoSignIn + " root", // created 40 days ago, no passkey
	} {
		if _, ok := got[want]; !ok {
			t.Errorf("no finding %q among %v", want, consoleKeys(got))
		}
	}
	if len(got) != 3 {
		t.Errorf("console findings %v, want 3 (ann signed in 20 days ago; root is no orphan)", consoleKeys(got))
	}
	if f := got[governance.RuleConsoleOfLeaver+" bo"]; f.Kind != governance.KindOrphaned || f.UserID != bo.ID {
		t.Errorf("bo's orphan finding = %+v", f)
	}

	r := e.numbers()
	if r.Counts.OrphanedAccounts != 1 || r.Counts.Accounts != 4 {
		t.Errorf("orphaned accounts %d of %d, want 1 of 4 (ann, and the enabled console accounts ann, bo, root)", r.Counts.OrphanedAccounts, r.Counts.Accounts)
	}

	// root cannot disable itself through a finding; a token can.
	self := lifecycle.Actor{Name: "console:root", System: "console"}
	if _, err := e.gov.Remediate(ctx, self, got[governance.RuleConsoleNoSignIn+" root"].ID, governance.FindingsOptions{}); !errors.Is(err, governance.ErrForbidden) {
		t.Errorf("root remediating its own finding: %v, want ErrForbidden", err)
	}
	if a, _ := e.st.GetConsoleAccount(ctx, root.ID); !a.Disabled.IsZero() {
		t.Fatal("root disabled its own console account")
	}
	rem, err := e.gov.Remediate(ctx, actor, got[governance.RuleConsoleOfLeaver+" bo"].ID, governance.FindingsOptions{})
	if err != nil || rem.Outcome != "done" {
		t.Fatalf("remediate bo's orphan finding: %+v, %v", rem, err)
	}
	if a, err := e.st.GetConsoleAccount(ctx, "acct-bo"); err != nil || a.Disabled.IsZero() {
		t.Fatalf("bo's console account after the remediation: %+v, %v; want disabled", a, err)
	}
	if acts := e.actions("console:acct-bo"); len(acts) == 0 || acts[len(acts)-1] != "console.account_disable" {
		t.Errorf("audit of bo's console account: %v, want a console.account_disable last", acts)
	}
	// The other finding about bo's account is gone with it.
	rem, err = e.gov.Remediate(ctx, actor, got[governance.RuleConsoleNoSignIn+" bo"].ID, governance.FindingsOptions{})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("remediating bo's dormant finding after the account was disabled: %+v, %v; want not found", rem, err)
	}
}

func consoleKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestConsoleFindingUnlinkedOfDisabledUser: a console account linked to no
// hub user while hub users have its name is one the link migration could
// not place (two users from before names were folded had it); the console
// refuses it while one of them is disabled, and the leaver path disables
// it with either's leaving. Enabled again while one is disabled, it is an
// orphan as a linked account of a disabled user is: found, counted, and
// remedied by disabling it. An unlinked account whose same-name user is
// active, or only deleted users had its name, is no orphan.
func TestConsoleFindingUnlinkedOfDisabledUser(t *testing.T) {
	e := newEnv(t, t0)
	ctx := context.Background()
	day := 24 * time.Hour
	zed := e.user("Zed", []string{"north"}, nil)
	e.user("amy", []string{"north"}, nil)
	del := e.user("del", []string{"north"}, nil)
	if err := e.engine.DeleteUser(ctx, actor, del.ID); err != nil {
		t.Fatal(err)
	}
	// Made straight in the store, linked to nobody, as the migration
	// leaves an account it could not place (the console would link it).
	for _, name := range []string{"zed", "amy", "del"} {
		if _, err := e.st.CreateConsoleAccount(ctx, store.ConsoleAccount{ID: "acct-" + name, Name: name, Role: store.ConsoleSupervisor, Sites: []string{"north"},
			WebAuthnID: []byte("handle-" + name), CreatedBy: "test", Created: t0, Modified: t0}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.CreateConsoleCredential(ctx, store.ConsoleCredential{ID: []byte("pk-" + name), AccountID: "acct-" + name, PublicKey: []byte{1}, Created: t0, LastUsed: t0}); err != nil {
			t.Fatal(err)
		}
	}

	e.at(t0.Add(day)).update(zed.ID, func(u *store.User) { u.Active = false })
	if a, err := e.st.GetConsoleAccount(ctx, "acct-zed"); err != nil || a.Disabled.IsZero() || a.UserID != "" {
		t.Fatalf("zed's account after Zed left: %+v, %v; want disabled, still linked to nobody", a, err)
	}
	if _, err := e.st.UpdateConsoleAccount(ctx, "acct-zed", func(a store.ConsoleAccount) (store.ConsoleAccount, error) {
		a.Disabled, a.Modified = time.Time{}, t0.Add(2*day)
		return a, nil
	}); err != nil {
		t.Fatal(err)
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
	f, ok := orphans["zed"]
	if !ok || len(orphans) != 1 {
		t.Fatalf("orphan findings %v, want zed's alone (amy's user is active; only a deleted user had del's name)", consoleKeys(orphans))
	}
	if f.Kind != governance.KindOrphaned || f.UserID != "" || f.Remediation != governance.RemedyDisableConsole ||
		!strings.Contains(f.Detail, "linked to no hub user") || !strings.Contains(f.Detail, "Zed, is disabled") {
		t.Errorf("zed's orphan finding = %+v, want kind orphaned, no user ID, naming the disabled Zed", f)
	}
	if r := e.numbers(); r.Counts.OrphanedAccounts != 1 {
		t.Errorf("orphaned accounts %d, want 1 (zed's console account)", r.Counts.OrphanedAccounts)
	}

	rem, err := e.gov.Remediate(ctx, actor, f.ID, governance.FindingsOptions{})
	if err != nil || rem.Outcome != "done" {
		t.Fatalf("remediate zed's orphan finding: %+v, %v", rem, err)
	}
	if a, err := e.st.GetConsoleAccount(ctx, "acct-zed"); err != nil || a.Disabled.IsZero() {
		t.Errorf("zed's account after the remediation: %+v, %v; want disabled", a, err)
	}
}
