package governance_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/token"
)

// TestTokenOfInactiveMakerFindings: a token made on the console stands for
// the console account that made it (store.Token.CreatedBy). When that
// account is disabled (its admin left) or gone, or its hub user is
// disabled or deleted, a SCIM or metrics token keeps working, since
// revoking a SCIM token could stop provisioning for everyone: it is a
// finding instead, about every such token that still works, until someone
// else rotates it or it is revoked. An admin token is revoked with its
// maker's account (the leaver path disables it), and so is no finding. A
// CLI-made token (no maker), an expired one and a revoked one are none.
// The hub cannot rotate a token for the admin (the new secret must be
// shown to a person and given to the identity provider), so the finding
// has no one-click remediation: Remediate answers ErrConflict and leaves
// the token alone.
func TestTokenOfInactiveMakerFindings(t *testing.T) {
	e := newEnv(t, t0)
	ctx := context.Background()
	day := 24 * time.Hour
	ann := e.user("ann", []string{"north"}, nil)
	bo := e.user("bo", []string{"north"}, nil)
	for _, a := range []store.ConsoleAccount{
		{ID: "acct-ann", Name: "ann", Role: store.ConsoleAdmin, UserID: ann.ID},
		{ID: "acct-bo", Name: "bo", Role: store.ConsoleAdmin, UserID: bo.ID},
		{ID: "acct-root", Name: "root", Role: store.ConsoleAdmin}, // the first admin: no hub user
	} {
		a.WebAuthnID, a.CreatedBy, a.Created, a.Modified = []byte("handle-"+a.Name), "test", t0, t0
		if _, err := e.st.CreateConsoleAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	// mint stores a token as the console (by set) or the CLI (by "")
	// makes one.
	mint := func(name, scope, by string, expires time.Time) store.Token {
		t.Helper()
		_, tok, err := token.NewExpiring(name, scope, e.clock.Now(), expires)
		if err != nil {
			t.Fatal(err)
		}
		tok.CreatedBy = by
		if tok, err = e.st.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		return tok
	}
	year := t0.Add(365 * day)
	scim := mint("okta-prod", store.ScopeSCIM, "acct-ann", year)
	admin := mint("ann-script", store.ScopeAdmin, "acct-ann", year)
	// ann's metrics token, which she rotates below: it keeps working
	// when she leaves, as a SCIM token does.
	mon := mint("ann-prometheus", store.ScopeMetrics, "acct-ann", year)
	cli := mint("entra", store.ScopeSCIM, "", year)
	expiring := mint("ann-tmp", store.ScopeMetrics, "acct-ann", t0.Add(12*time.Hour))
	revoked := mint("ann-old", store.ScopeAdmin, "acct-ann", year)
	if _, err := e.st.UpdateToken(ctx, revoked.ID, func(old store.Token) (store.Token, error) {
		old.Revoked = t0.Add(time.Hour)
		return old, nil
	}); err != nil {
		t.Fatal(err)
	}
	bos := mint("bo-script", store.ScopeAdmin, "acct-bo", year)
	ghost := mint("restored", store.ScopeAdmin, "acct-gone", year) // its maker's account is not in the store
	// Before ann rotated it: ann's own successor is hers too.
	e.at(t0.Add(time.Hour))
	rot, err := token.RotateBy(ctx, e.st, mon.ID, "acct-ann", e.clock.Now(), 24*time.Hour, year)
	if err != nil {
		t.Fatal(err)
	}

	tokenFindings := func() map[string]governance.Finding {
		t.Helper()
		fs, err := e.gov.Findings(ctx, governance.FindingsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]governance.Finding{}
		for _, f := range fs {
			if f.Rule == governance.RuleTokenOfInactiveMaker {
				got[strings.TrimPrefix(f.Entitlement, "token:")] = f
			}
		}
		return got
	}
	if got := tokenFindings(); len(got) != 1 || got[ghost.ID].ID == "" {
		t.Fatalf("token findings while every maker is active: %v, want only %s's (its maker is gone)", consoleKeys(got), ghost.ID)
	}

	// ann leaves: the leaver path disables her console account.
	left := t0.Add(2 * time.Hour)
	e.at(left).update(ann.ID, func(u *store.User) { u.Active = false })
	if a, err := e.st.GetConsoleAccount(ctx, "acct-ann"); err != nil || a.Disabled.IsZero() {
		t.Fatalf("ann's console account after ann left: %+v, %v; want disabled", a, err)
	}
	// Her admin token went with her account.
	if tok, err := e.st.GetToken(ctx, admin.ID); err != nil || !tok.Revoked.Equal(left) {
		t.Errorf("ann's admin token after ann left: %+v, %v; want revoked when she left", tok, err)
	}
	e.at(t0.Add(day))
	got := tokenFindings()
	want := []string{scim.ID, rot.New.ID, ghost.ID}
	for _, id := range want {
		if _, ok := got[id]; !ok {
			t.Errorf("no token finding about token %s among %v", id, consoleKeys(got))
		}
	}
	if len(got) != len(want) {
		t.Errorf("token findings about %v, want %v (not the CLI's %s, the revoked %s, the admin token %s revoked with ann's account, the expired %s, bo's %s, nor %s, which ann rotated and whose overlap runs out)",
			consoleKeys(got), want, cli.ID, revoked.ID, admin.ID, expiring.ID, bos.ID, mon.ID)
	}
	f := got[scim.ID]
	if f.Kind != governance.KindOrphaned || f.UserID != ann.ID || f.User != "ann" || f.Remediation != governance.RemedyNone ||
		f.Since == nil || !f.Since.Equal(left) {
		t.Errorf("finding about ann's SCIM token = %+v, want kind orphaned about ann's account, since she left, no one-click remediation", f)
	}
	for _, s := range []string{scim.ID, "okta-prod", "console account ann (admin)", "disabled",
		"shiftgate-hub token rotate --data DIR --id " + scim.ID, "shiftgate-hub token revoke --data DIR --id " + scim.ID, "Tokens page"} {
		if !strings.Contains(f.Detail, s) {
			t.Errorf("detail %q does not say %q", f.Detail, s)
		}
	}
	if g := got[ghost.ID]; g.UserID != "" || g.User != "" || g.Since != nil || !strings.Contains(g.Detail, "console account acct-gone") {
		t.Errorf("finding about the token of a gone account = %+v, want no user, no since, naming the account ID", g)
	}
	// The ID is stable from one report to the next.
	if again := tokenFindings(); again[scim.ID].ID != f.ID {
		t.Errorf("finding ID %s, then %s", f.ID, again[scim.ID].ID)
	}

	// A token that has expired works no more.
	if _, ok := got[expiring.ID]; ok {
		t.Errorf("a finding about %s, which expired at %s", expiring.ID, expiring.Expires)
	}

	// No one-click remediation: the token is left working.
	if rem, err := e.gov.Remediate(ctx, actor, f.ID, governance.FindingsOptions{}); !errors.Is(err, governance.ErrConflict) ||
		!strings.Contains(err.Error(), "Tokens page") || strings.Contains(err.Error(), "HR source") {
		t.Errorf("remediate the token finding: %+v, %v; want ErrConflict saying how to rotate or revoke it", rem, err)
	}
	if tok, err := e.st.GetToken(ctx, scim.ID); err != nil || !tok.Revoked.IsZero() {
		t.Errorf("ann's SCIM token after Remediate: %+v, %v; want it not revoked", tok, err)
	}

	// root rotates ann's SCIM token on the console: the successor is
	// root's, and the old token is no finding while it runs out.
	if _, err := token.RotateBy(ctx, e.st, scim.ID, "acct-root", e.clock.Now(), 24*time.Hour, year); err != nil {
		t.Fatal(err)
	}
	// ann's successor of her metrics token, and the ghost token, are
	// revoked.
	for _, id := range []string{rot.New.ID, ghost.ID} {
		if _, err := e.st.UpdateToken(ctx, id, func(old store.Token) (store.Token, error) {
			old.Revoked = e.clock.Now()
			return old, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	// ann's first token worked on for the overlap only because its
	// successor did: with the successor revoked, it is a finding again
	// until the overlap ends (t0+25h).
	if got := tokenFindings(); len(got) != 1 || got[mon.ID].ID == "" {
		t.Errorf("token findings after the rotation and the revocations: %v, want only %s's (its successor revoked, it works on)", consoleKeys(got), mon.ID)
	}
	e.at(t0.Add(25 * time.Hour))
	if got := tokenFindings(); len(got) != 0 {
		t.Errorf("token findings once the overlap ended: %v, want none", consoleKeys(got))
	}
}

// TestTokenOfInactiveMakerUser: the maker's account may still be enabled
// while its hub user is gone (enabled again after the leaver path, or
// never reached by it); a token it made is a finding then too. A console
// account that was disabled with its hub user active (a dormant account)
// made tokens nobody answers for any more either; so did an account
// linked to no hub user while a hub user of its name is disabled, which
// the console and the leaver path take for that user's. The tokens are
// SCIM tokens: an admin token is revoked when its maker's account is
// disabled (the leaver path disables cy's and ed's), and is no finding.
func TestTokenOfInactiveMakerUser(t *testing.T) {
	e := newEnv(t, t0)
	ctx := context.Background()
	cy := e.user("cy", []string{"north"}, nil)
	di := e.user("di", []string{"north"}, nil)
	for _, a := range []store.ConsoleAccount{
		{ID: "acct-cy", Name: "cy", Role: store.ConsoleAdmin, UserID: cy.ID},
		{ID: "acct-di", Name: "di", Role: store.ConsoleAdmin, UserID: di.ID},
	} {
		a.WebAuthnID, a.CreatedBy, a.Created, a.Modified = []byte("handle-"+a.Name), "test", t0, t0
		if _, err := e.st.CreateConsoleAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	mint := func(name, by string) store.Token {
		t.Helper()
		_, tok, err := token.NewExpiring(name, store.ScopeSCIM, t0, t0.Add(365*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		tok.CreatedBy = by
		if tok, err = e.st.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		return tok
	}
	cys, dis := mint("cy-scim", "acct-cy"), mint("di-scim", "acct-di")
	// An account the link migration could not place: linked to no hub
	// user, taken for ed's while ed is disabled.
	ed := e.user("ed", []string{"north"}, nil)
	if _, err := e.st.CreateConsoleAccount(ctx, store.ConsoleAccount{ID: "acct-ed", Name: "ed", Role: store.ConsoleAdmin,
		WebAuthnID: []byte("handle-ed"), CreatedBy: "test", Created: t0, Modified: t0}); err != nil {
		t.Fatal(err)
	}
	eds := mint("ed-scim", "acct-ed")

	// cy is deleted, and her account is enabled again; di's account is
	// disabled while di stays.
	if err := e.at(t0.Add(time.Hour)).engine.DeleteUser(ctx, actor, cy.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.UpdateConsoleAccount(ctx, "acct-cy", func(a store.ConsoleAccount) (store.ConsoleAccount, error) {
		a.Disabled, a.Modified = time.Time{}, t0.Add(2*time.Hour)
		return a, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.DisableConsoleAccount(ctx, e.st, "acct-di", t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	e.update(ed.ID, func(u *store.User) { u.Active = false })
	if _, err := e.st.UpdateConsoleAccount(ctx, "acct-ed", func(a store.ConsoleAccount) (store.ConsoleAccount, error) {
		a.Disabled, a.Modified = time.Time{}, t0.Add(2*time.Hour)
		return a, nil
	}); err != nil {
		t.Fatal(err)
	}

	e.at(t0.Add(3 * time.Hour))
	fs, err := e.gov.Findings(ctx, governance.FindingsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]governance.Finding{}
	for _, f := range fs {
		if f.Rule == governance.RuleTokenOfInactiveMaker {
			got[f.Entitlement] = f
		}
	}
	if len(got) != 3 {
		t.Fatalf("token findings %v, want cy's, di's and ed's", consoleKeys(got))
	}
	if f := got["token:"+cys.ID]; f.UserID != cy.ID || !strings.Contains(f.Detail, "hub user cy, who is deleted") {
		t.Errorf("finding about cy's token = %+v, want it about cy, saying she is deleted", f)
	}
	if f := got["token:"+dis.ID]; f.UserID != di.ID || !strings.Contains(f.Detail, "console account di (admin), which made it, is disabled") {
		t.Errorf("finding about di's token = %+v, want it about di's disabled account", f)
	}
	if f := got["token:"+eds.ID]; f.UserID != "" || f.User != "ed" || !strings.Contains(f.Detail, "the hub user of its name, ed, is disabled") {
		t.Errorf("finding about ed's token = %+v, want it about the unlinked account ed, naming the disabled user", f)
	}
}
