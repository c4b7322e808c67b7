package governance_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestFindingsNameDeletedUsers: the identity provider deleted ann (SCIM
// DELETE), which revoked her badge and ended her session; a restore from
// a backup (or a direct store edit) brought a badge and a live kiosk
// session of hers back, and her console account was enabled again. The
// findings about them name her, from the record the hub keeps of a
// deleted user, and say she is deleted: "user 3f2a…, which is deleted or
// unknown" sends whoever triages the finding to the database to learn who
// it was. A user the store does not know at all is still shown by ID
// (TestGovernanceNumbers' ghost).
func TestFindingsNameDeletedUsers(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t0)
	ann := e.user("ann", []string{"north"}, nil)
	if _, err := e.st.CreateConsoleAccount(ctx, store.ConsoleAccount{ID: "acct-ann", Name: "ann@example.org", Role: store.ConsoleSupervisor, UserID: ann.ID,
		WebAuthnID: []byte("handle-ann"), CreatedBy: "test", Created: t0, Modified: t0}); err != nil {
		t.Fatal(err)
	}
	e.at(t0.Add(time.Hour))
	if err := e.engine.DeleteUser(ctx, actor, ann.ID); err != nil {
		t.Fatal(err)
	}
	e.at(t0.Add(2 * time.Hour))
	cred := e.badge(ann.ID)
	e.session(ann.ID, "north", "Nurse")
	if _, err := e.st.UpdateConsoleAccount(ctx, "acct-ann", func(a store.ConsoleAccount) (store.ConsoleAccount, error) {
		a.Disabled, a.Modified = time.Time{}, e.clock.Now()
		return a, nil
	}); err != nil {
		t.Fatal(err)
	}
	gov, err := governance.New(governance.Config{Store: e.st, Audit: e.log, Engine: e.engine, Now: e.clock.Now,
		ModelRuledOut: func([]byte) string { return "a model the FIDO metadata reports compromised" }})
	if err != nil {
		t.Fatal(err)
	}

	fs, err := gov.Findings(ctx, governance.FindingsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct{ user, detail string }{
		governance.RuleCredentialWithoutUser: {"ann", "an active credential of user ann, which is deleted"},
		governance.RuleSessionWithoutUser:    {"ann", "a live kiosk session of user ann on kiosk kiosk-"}, // …, which is deleted
		governance.RuleModelRuledOut:         {"ann", "an active credential of user ann on a model"},
		governance.RuleConsoleOfLeaver:       {"ann@example.org", "but the hub user ann is deleted"},
	}
	var credFinding string
	for _, f := range fs {
		w, ok := want[f.Rule]
		if !ok {
			continue
		}
		delete(want, f.Rule)
		deleted := f.Rule != governance.RuleSessionWithoutUser || strings.HasSuffix(f.Detail, ", which is deleted")
		if f.UserID != ann.ID || f.User != w.user || !strings.Contains(f.Detail, w.detail) || !deleted {
			t.Errorf("%s finding: user %q (%s), detail %q; want user %q, detail with %q", f.Rule, f.User, f.UserID, f.Detail, w.user, w.detail)
		}
		if f.Rule == governance.RuleCredentialWithoutUser {
			credFinding = f.ID
		}
	}
	if len(want) != 0 {
		t.Fatalf("no finding of rules %v in %+v", want, fs)
	}

	// Remediation evaluates the finding again on what it reads of ann
	// alone: the same finding, naming her.
	r, err := gov.Remediate(ctx, actor, credFinding, governance.FindingsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != "done" || r.Finding.User != "ann" || !strings.Contains(r.Finding.Detail, "user ann, which is deleted") {
		t.Errorf("remediation: outcome %q, finding user %q, detail %q; want done, naming ann", r.Outcome, r.Finding.User, r.Finding.Detail)
	}
	if c, err := e.st.GetCredential(ctx, cred); err != nil || c.State != store.CredentialRevoked {
		t.Errorf("credential after remediation: %+v, %v; want revoked", c, err)
	}
}
