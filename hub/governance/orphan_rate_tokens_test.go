package governance_test

import (
	"context"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/token"
)

// TestOrphanRateCountsTokensOfInactiveMakers: the orphaned-account rate
// counts the accounts with an orphaned finding, and a SCIM token that
// still works after the console account that made it was disabled (its
// admin left) is one: the report must not say "no orphans" while the
// findings list one. The account counted is the maker's console account,
// once however many of its tokens still work, and the denominator holds
// it as it holds a disabled user whose badge still works; a token whose
// maker the store no longer knows counts its maker likewise.
func TestOrphanRateCountsTokensOfInactiveMakers(t *testing.T) {
	e := newEnv(t, t0)
	ctx := context.Background()
	ann := e.user("ann", []string{"north"}, nil)
	e.user("bo", []string{"north"}, nil)
	acct := store.ConsoleAccount{ID: "acct-ann", Name: "ann", Role: store.ConsoleAdmin, UserID: ann.ID,
		WebAuthnID: []byte("handle-ann"), CreatedBy: "test", Created: t0, Modified: t0}
	if _, err := e.st.CreateConsoleAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	mint := func(name, scope, by string) {
		t.Helper()
		_, tok, err := token.NewExpiring(name, scope, e.clock.Now(), t0.Add(365*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		tok.CreatedBy = by
		if _, err := e.st.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	mint("okta-prod", store.ScopeSCIM, "acct-ann")
	mint("ann-prometheus", store.ScopeMetrics, "acct-ann")

	// Before ann leaves: ann, bo and ann's console account, no orphan.
	if got := e.numbers().Counts; got.OrphanedAccounts != 0 || got.Accounts != 3 {
		t.Fatalf("counts while everyone stays = %+v, want 0 orphaned of 3 accounts", got)
	}

	// ann leaves: the leaver path disables her console account, and her
	// SCIM and metrics tokens keep working.
	e.at(t0.Add(time.Hour)).update(ann.ID, func(u *store.User) { u.Active = false })
	fs, err := e.gov.Findings(ctx, governance.FindingsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tokens := 0
	for _, f := range fs {
		if f.Kind == governance.KindOrphaned && f.Rule == governance.RuleTokenOfInactiveMaker {
			tokens++
		}
	}
	if tokens != 2 {
		t.Fatalf("token findings after ann left: %d, want 2 (findings %+v)", tokens, fs)
	}
	rep := e.numbers()
	if got := rep.Counts; got.OrphanedAccounts != 1 || got.Accounts != 2 {
		t.Errorf("counts after ann left with two tokens working = %+v, want 1 orphaned (ann's console account) of 2 (bo, and it)", got)
	}
	if rep.OrphanedAccountRate == nil || *rep.OrphanedAccountRate != 0.5 {
		t.Errorf("orphaned-account rate = %v, want 0.5", rep.OrphanedAccountRate)
	}

	// A token whose maker's account the store does not know (a database
	// restored from an older backup) is its maker's orphan too.
	mint("restored", store.ScopeSCIM, "acct-gone")
	if got := e.numbers().Counts; got.OrphanedAccounts != 2 || got.Accounts != 3 {
		t.Errorf("counts with a token of an unknown maker = %+v, want 2 orphaned of 3", got)
	}
}
