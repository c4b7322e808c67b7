package sqlite

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestDisableConsoleAccountRevokesAdminTokens: disabling a console
// account (store.DisableConsoleAccount, the one way to disable one)
// revokes, in the same transaction, the admin tokens it made that still
// work, and returns them for the caller to audit and forget, with the
// sessions it ended. Its SCIM and metrics tokens, its expired and revoked
// admin tokens, another account's admin token and the CLI's are left as
// they were. A transaction that fails after the disable revokes nothing:
// the account, its sessions and its tokens stay as they were.
func TestDisableConsoleAccountRevokesAdminTokens(t *testing.T) {
	ctx := t.Context()
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	now := t0.Add(time.Hour)
	for _, id := range []string{"acct-x", "acct-y"} {
		if _, err := db.CreateConsoleAccount(ctx, store.ConsoleAccount{ID: id, Name: id, Role: store.ConsoleAdmin,
			WebAuthnID: []byte("handle-" + id), CreatedBy: "test", Created: t0, Modified: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.CreateConsoleSession(ctx, store.ConsoleSession{Hash: []byte("session-x"), AccountID: "acct-x",
		Created: t0, LastSeen: t0, Expires: t0.Add(12 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	year := t0.AddDate(1, 0, 0)
	mint := func(id, scope, by string, expires time.Time) store.Token {
		t.Helper()
		tok, err := db.CreateToken(ctx, store.Token{ID: id, Name: id, Scope: scope, Hash: []byte("hash-" + id),
			Created: t0, Expires: expires, CreatedBy: by})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	admin := mint("x-script", store.ScopeAdmin, "acct-x", year)
	admin2 := mint("x-cron", store.ScopeAdmin, "acct-x", year)
	mint("x-okta", store.ScopeSCIM, "acct-x", year)
	mint("x-prom", store.ScopeMetrics, "acct-x", year)
	mint("x-old", store.ScopeAdmin, "acct-x", t0.Add(30*time.Minute))
	mint("x-revoked", store.ScopeAdmin, "acct-x", year)
	if _, err := db.UpdateToken(ctx, "x-revoked", func(old store.Token) (store.Token, error) {
		old.Revoked = t0.Add(time.Minute)
		return old, nil
	}); err != nil {
		t.Fatal(err)
	}
	mint("y-script", store.ScopeAdmin, "acct-y", year)
	mint("ops", store.ScopeAdmin, "", year)

	revoked := func() map[string]time.Time {
		t.Helper()
		ts, err := db.ListTokens(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]time.Time{}
		for _, tok := range ts {
			if !tok.Revoked.IsZero() {
				out[tok.ID] = tok.Revoked
			}
		}
		return out
	}
	before := revoked()

	errRollback := errors.New("roll back")
	err := db.InTx(ctx, func(tx store.Ops) error {
		if _, _, err := store.DisableConsoleAccount(ctx, tx, "acct-x", now); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("failing transaction: %v, want %v", err, errRollback)
	}
	if got := revoked(); len(got) != len(before) {
		t.Errorf("revoked tokens after a failed transaction: %v, want only %v", got, before)
	}
	if a, err := db.GetConsoleAccount(ctx, "acct-x"); err != nil || !a.Disabled.IsZero() {
		t.Errorf("acct-x after a failed transaction: %+v, %v; want enabled", a, err)
	}

	var acct store.ConsoleAccount
	var d store.ConsoleDisable
	if err := db.InTx(ctx, func(tx store.Ops) error {
		var err error
		acct, d, err = store.DisableConsoleAccount(ctx, tx, "acct-x", now)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !acct.Disabled.Equal(now) || d.SessionsEnded != 1 {
		t.Errorf("disable acct-x: account disabled %v, %d sessions ended; want %v, 1", acct.Disabled, d.SessionsEnded, now)
	}
	var ids []string
	for _, tok := range d.TokensRevoked {
		ids = append(ids, tok.ID)
		if !tok.Revoked.Equal(now) {
			t.Errorf("returned token %s revoked at %v, want %v", tok.ID, tok.Revoked, now)
		}
	}
	slices.Sort(ids)
	if want := []string{admin2.ID, admin.ID}; !slices.Equal(ids, want) {
		t.Errorf("tokens revoked with acct-x: %v, want its working admin tokens %v", ids, want)
	}
	want := map[string]time.Time{"x-revoked": t0.Add(time.Minute), admin.ID: now, admin2.ID: now}
	got := revoked()
	if len(got) != len(want) {
		t.Errorf("revoked tokens after the disable: %v, want %v", got, want)
	}
	for id, at := range want {
		if !got[id].Equal(at) {
			t.Errorf("token %s revoked at %v, want %v", id, got[id], at)
		}
	}
}
