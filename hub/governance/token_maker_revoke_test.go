package governance_test

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/token"
)

// TestDisableConsoleRemedyRevokesAdminTokens: the remediation of a
// dormant console account disables it, as the console's Disable does, and
// so revokes the admin tokens the account made in the same transaction,
// each audited as a token.revoke by the remediating actor with the
// reason, and tells the token verifier to forget them once it commits
// (lifecycle.Config.TokenRevoked). Its SCIM token keeps working and is
// reported as orphaned/token_of_inactive_maker; the revoked admin token
// is no finding.
func TestDisableConsoleRemedyRevokesAdminTokens(t *testing.T) {
	e := newEnv(t, t0)
	ctx := context.Background()
	var (
		mu        sync.Mutex
		forgotten []string
	)
	engine, err := lifecycle.New(lifecycle.Config{Store: e.st, Audit: e.log, Now: e.clock.Now, TokenRevoked: func(id string) {
		mu.Lock()
		forgotten = append(forgotten, id)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	gov, err := governance.New(governance.Config{Store: e.st, Audit: e.log, Engine: engine, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.CreateConsoleAccount(ctx, store.ConsoleAccount{ID: "acct-zed", Name: "zed", Role: store.ConsoleAdmin,
		WebAuthnID: []byte("handle-zed"), CreatedBy: "test", Created: t0, Modified: t0}); err != nil {
		t.Fatal(err)
	}
	mint := func(name, scope string) store.Token {
		t.Helper()
		_, tok, err := token.NewExpiring(name, scope, t0, t0.Add(365*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		tok.CreatedBy = "acct-zed"
		if tok, err = e.st.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		return tok
	}
	admin, scim := mint("zed-script", store.ScopeAdmin), mint("okta-prod", store.ScopeSCIM)

	e.at(t0.Add(31 * 24 * time.Hour))
	fs, err := gov.Findings(ctx, governance.FindingsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(fs, func(f governance.Finding) bool { return f.Rule == governance.RuleConsoleNoSignIn && f.User == "zed" })
	if i < 0 {
		t.Fatalf("no %s finding about zed among %d findings", governance.RuleConsoleNoSignIn, len(fs))
	}
	if _, err := gov.Remediate(ctx, actor, fs[i].ID, governance.FindingsOptions{}); err != nil {
		t.Fatalf("remediate the dormant account: %v", err)
	}

	if a, err := e.st.GetConsoleAccount(ctx, "acct-zed"); err != nil || a.Disabled.IsZero() {
		t.Fatalf("zed's account after the remediation: %+v, %v; want disabled", a, err)
	}
	if tok, err := e.st.GetToken(ctx, admin.ID); err != nil || !tok.Revoked.Equal(e.clock.Now()) {
		t.Errorf("zed's admin token after the remediation: %+v, %v; want revoked now", tok, err)
	}
	if tok, err := e.st.GetToken(ctx, scim.ID); err != nil || !tok.Revoked.IsZero() {
		t.Errorf("zed's SCIM token after the remediation: %+v, %v; want it working", tok, err)
	}
	mu.Lock()
	if !slices.Equal(forgotten, []string{admin.ID}) {
		t.Errorf("tokens the verifier was told to forget: %v, want [%s]", forgotten, admin.ID)
	}
	mu.Unlock()
	recs, err := e.st.ListAudit(ctx, store.AuditQuery{Action: "token.revoke"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Subject != "token:"+admin.ID || recs[0].Actor != actor.Name {
		t.Fatalf("token.revoke records %+v, want one about %s by %s", recs, admin.ID, actor.Name)
	}
	var d map[string]string
	if err := json.Unmarshal(recs[0].Detail, &d); err != nil || d["reason"] != token.ReasonMakerDisabled || d["madeBy"] != "acct-zed" {
		t.Errorf("token.revoke detail %s (%v), want the reason %q and the maker", recs[0].Detail, err, token.ReasonMakerDisabled)
	}

	fs, err = gov.Findings(ctx, governance.FindingsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var about []string
	for _, f := range fs {
		if f.Rule == governance.RuleTokenOfInactiveMaker {
			about = append(about, f.Entitlement)
		}
	}
	if !slices.Equal(about, []string{"token:" + scim.ID}) {
		t.Errorf("token findings about %v, want only zed's SCIM token %s", about, scim.ID)
	}
}
