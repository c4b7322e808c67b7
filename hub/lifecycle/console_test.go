package lifecycle_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

// consoleFixture is an engine with console accounts, each signed in once.
type consoleFixture struct {
	st  *sqlite.DB
	eng *lifecycle.Engine
	now time.Time
}

func newConsoleFixture(t *testing.T) *consoleFixture {
	t.Helper()
	st, log := openStore(t)
	f := &consoleFixture{st: st, now: t0.Add(time.Hour)}
	var err error
	if f.eng, err = lifecycle.New(lifecycle.Config{Store: st, Audit: log, Now: func() time.Time { return f.now }}); err != nil {
		t.Fatal(err)
	}
	return f
}

// account creates a console account linked to no hub user, with one live
// session; disabled, if not zero, is when it was disabled.
func (f *consoleFixture) account(t *testing.T, name string, disabled time.Time) store.ConsoleAccount {
	t.Helper()
	return f.accountOf(t, name, "", disabled)
}

// accountOf is account linked at its creation to the hub user userID, as
// the console links an invited account to the hub user the invite names.
func (f *consoleFixture) accountOf(t *testing.T, name, userID string, disabled time.Time) store.ConsoleAccount {
	t.Helper()
	ctx := t.Context()
	a, err := f.st.CreateConsoleAccount(ctx, store.ConsoleAccount{ID: "acct-" + name, Name: name, Role: store.ConsoleSupervisor, Sites: []string{"north"},
		UserID: userID, WebAuthnID: []byte("handle-" + name), CreatedBy: "test", Disabled: disabled, Created: t0, Modified: t0})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.CreateConsoleSession(ctx, store.ConsoleSession{Hash: []byte("session-" + name), AccountID: a.ID, Created: t0, LastSeen: t0, Expires: t0.Add(12 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return a
}

func (f *consoleFixture) user(t *testing.T, id, name string) {
	t.Helper()
	if _, err := f.eng.CreateUser(t.Context(), actor, store.User{ID: id, UserName: name, Active: true, Sites: []string{"north"}}); err != nil {
		t.Fatal(err)
	}
}

// accountState is when a console account was disabled (zero: enabled)
// and whether its session is live.
type accountState struct {
	Disabled    time.Time
	SessionLive bool
}

// state is the accountState of every console account, by name.
func (f *consoleFixture) state(t *testing.T) map[string]accountState {
	t.Helper()
	ctx := t.Context()
	as, err := f.st.ListConsoleAccounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]accountState{}
	for _, a := range as {
		s, err := f.st.GetConsoleSession(ctx, []byte("session-"+a.Name))
		if err != nil {
			t.Fatal(err)
		}
		out[a.Name] = accountState{Disabled: a.Disabled, SessionLive: s.Ended.IsZero()}
	}
	return out
}

// disables returns the console.account_disable records: subject → detail.
func (f *consoleFixture) disables(t *testing.T) map[string]map[string]any {
	t.Helper()
	recs, err := f.st.ListAudit(t.Context(), store.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, r := range recs {
		if r.Action != "console.account_disable" {
			continue
		}
		if r.Actor != actor.Name || r.System != actor.System {
			t.Errorf("console.account_disable of %s by %s/%s, want the leaver's actor %s/%s", r.Subject, r.Actor, r.System, actor.Name, actor.System)
		}
		var d map[string]any
		if err := json.Unmarshal(r.Detail, &d); err != nil {
			t.Fatal(err)
		}
		if _, dup := out[r.Subject]; dup {
			t.Errorf("%s disabled twice", r.Subject)
		}
		out[r.Subject] = d
	}
	return out
}

// TestLeaverDisablesConsoleAccounts: deprovisioning a user disables, in
// the same transaction, every console account linked to it — here the
// account whose name was its userName under store.FoldName when it was
// created (the name differs in non-ASCII case only), and two accounts
// linked to it when they were made — ends their sessions, and audits each
// as console.account_disable by the leaver's actor. An account disabled
// already keeps its time and gets no record; an account of another name
// (without the accents) is untouched. A DELETE of the user, disabled by
// then, disables again an account that was enabled meanwhile.
func TestLeaverDisablesConsoleAccounts(t *testing.T) {
	ctx := t.Context()
	f := newConsoleFixture(t)
	earlier := t0.Add(-24 * time.Hour)
	f.account(t, "Élodie.Émile", time.Time{})
	f.account(t, "elodie.emile", time.Time{})
	f.account(t, "ada", time.Time{})
	f.user(t, "u-elo", "ÉLODIE.ÉMILE")
	f.accountOf(t, "emile.admin", "u-elo", time.Time{})
	f.accountOf(t, "emile.old", "u-elo", earlier)

	if _, err := f.eng.UpdateUser(ctx, actor, "u-elo", func(u store.User) (store.User, error) {
		u.Active = false
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string]accountState{
		"Élodie.Émile": {Disabled: f.now},
		"emile.admin":  {Disabled: f.now},
		"emile.old":    {Disabled: earlier, SessionLive: true}, // its session was left alone when it was disabled
		"elodie.emile": {SessionLive: true},
		"ada":          {SessionLive: true},
	}
	if diff := cmp.Diff(want, f.state(t)); diff != "" {
		t.Errorf("console accounts after the leaver (-want +got):\n%s", diff)
	}
	got := f.disables(t)
	if len(got) != 2 || got["console:acct-Élodie.Émile"] == nil || got["console:acct-emile.admin"] == nil {
		t.Fatalf("console.account_disable records = %v, want one for each enabled account linked to the user", got)
	}
	for subject, d := range got {
		if d["reason"] != "user deprovisioned" || d["deprovisionReason"] != "user deactivated" || d["user"] != "u-elo" || d["sessionsEnded"] != 1.0 {
			t.Errorf("%s: detail %v", subject, d)
		}
	}

	// Enabled again by mistake while the user is gone; the DELETE does
	// not leave it standing.
	f.now = f.now.Add(time.Hour)
	if _, err := f.st.UpdateConsoleAccount(ctx, "acct-Élodie.Émile", func(a store.ConsoleAccount) (store.ConsoleAccount, error) {
		a.Disabled = time.Time{}
		return a, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := f.eng.DeleteUser(ctx, actor, "u-elo"); err != nil {
		t.Fatal(err)
	}
	if a, _ := f.st.GetConsoleAccount(ctx, "acct-Élodie.Émile"); !a.Disabled.Equal(f.now) {
		t.Errorf("account enabled before the DELETE: disabled %v, want %v", a.Disabled, f.now)
	}
	recs, err := f.st.SearchAudit(ctx, store.AuditSearch{Subjects: []string{"console:acct-Élodie.Émile"}, Action: "console.account_disable"})
	if err != nil || len(recs) != 2 {
		t.Fatalf("records of the re-enabled account: %v, %v; want 2", recs, err)
	}
	var d map[string]any
	json.Unmarshal(recs[0].Detail, &d) // newest first
	if d["deprovisionReason"] != "user deleted" || d["sessionsEnded"] != 0.0 {
		t.Errorf("DELETE's record: %v", d)
	}
}

// TestReactivationKeepsConsoleDisabled: a leaver enabled again by the
// identity provider (a re-hire) gets its kiosk access back as the IdP
// grants it, but not the console account, which stays disabled for an
// admin to decide on.
func TestReactivationKeepsConsoleDisabled(t *testing.T) {
	ctx := t.Context()
	f := newConsoleFixture(t)
	f.account(t, "sam", time.Time{})
	f.user(t, "u-sam", "Sam")
	for _, active := range []bool{false, true} {
		if _, err := f.eng.UpdateUser(ctx, actor, "u-sam", func(u store.User) (store.User, error) {
			u.Active = active
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if u, _ := f.st.GetUser(ctx, "u-sam"); u.State != store.UserActive {
		t.Fatalf("user after the re-hire: %s", u.State)
	}
	if st := f.state(t)["sam"]; st.Disabled.IsZero() || st.SessionLive {
		t.Errorf("console account after the re-hire: %+v, want disabled with its session ended", st)
	}
}

// TestConsoleDisableIsInTheLeaverTransaction: the console account is
// disabled in the transaction that strips the user (here a governance
// remediation through Engine.Do): when that transaction fails, the account
// stays enabled and its session live, like the user.
func TestConsoleDisableIsInTheLeaverTransaction(t *testing.T) {
	ctx := t.Context()
	f := newConsoleFixture(t)
	f.account(t, "sam", time.Time{})
	f.user(t, "u-sam", "sam")
	errLater := errors.New("later step failed")
	err := f.eng.Do(ctx, func(tx *lifecycle.Tx) error {
		if err := tx.Deprovision(ctx, actor, "u-sam", "risk finding"); err != nil {
			return err
		}
		if a, err := tx.Ops().GetConsoleAccountByName(ctx, "sam"); err != nil || a.Disabled.IsZero() {
			t.Errorf("inside the transaction: %+v, %v; want the account disabled", a, err)
		}
		return errLater
	})
	if !errors.Is(err, errLater) {
		t.Fatalf("failing transaction: %v", err)
	}
	if st := f.state(t)["sam"]; !st.Disabled.IsZero() || !st.SessionLive {
		t.Errorf("after the rollback: %+v, want enabled and signed in", st)
	}
	if err := f.eng.Do(ctx, func(tx *lifecycle.Tx) error { return tx.Deprovision(ctx, actor, "u-sam", "risk finding") }); err != nil {
		t.Fatal(err)
	}
	if st := f.state(t)["sam"]; st.Disabled.IsZero() || st.SessionLive {
		t.Errorf("after the remediation: %+v, want disabled, signed out", st)
	}
	if d := f.disables(t)["console:acct-sam"]; d == nil || d["deprovisionReason"] != "risk finding" {
		t.Errorf("remediation's record: %v", d)
	}
}
