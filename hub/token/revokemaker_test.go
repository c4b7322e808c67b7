package token

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestRevokeOfDisabledMaker: of the tokens console account acct-x made,
// the admin tokens that still work are revoked at now and returned. Its
// SCIM and metrics tokens, its tokens already revoked or expired, another
// account's admin token and one the CLI made are left as they were. The
// CLI operator ("") is no account: nothing is revoked for it.
func TestRevokeOfDisabledMaker(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	now := t0.Add(time.Hour)
	st := newFakeStore()
	mint := minter(t, st, t0)
	year := t0.AddDate(1, 0, 0)
	admin := mint("x-script", store.ScopeAdmin, "acct-x", year)
	admin2 := mint("x-cron", store.ScopeAdmin, "acct-x", year)
	scim := mint("okta", store.ScopeSCIM, "acct-x", year)
	metrics := mint("prom", store.ScopeMetrics, "acct-x", year)
	expired := mint("x-old", store.ScopeAdmin, "acct-x", t0.Add(30*time.Minute))
	revoked := mint("x-revoked", store.ScopeAdmin, "acct-x", year)
	st.revoke(revoked.ID, t0.Add(time.Minute))
	other := mint("y-script", store.ScopeAdmin, "acct-y", year)
	cli := mint("ops", store.ScopeAdmin, "", year)

	if got, err := RevokeOfDisabledMaker(ctx, st, "", now); err != nil || len(got) != 0 {
		t.Fatalf("revoke for the CLI operator: %v, %v; want nothing", got, err)
	}
	got, err := RevokeOfDisabledMaker(ctx, st, "acct-x", now)
	if err != nil {
		t.Fatal(err)
	}
	wantReturned(t, got, now, "acct-x's working admin tokens", admin, admin2)
	for _, tc := range []struct {
		tok     store.Token
		revoked time.Time
	}{
		{admin, now}, {admin2, now}, {scim, time.Time{}}, {metrics, time.Time{}}, {expired, time.Time{}},
		{revoked, t0.Add(time.Minute)}, {other, time.Time{}}, {cli, time.Time{}},
	} {
		if s, err := st.GetToken(ctx, tc.tok.ID); err != nil || !s.Revoked.Equal(tc.revoked) {
			t.Errorf("token %s (%s) stored revoked at %v (%v), want %v", tc.tok.Name, tc.tok.Scope, s.Revoked, err, tc.revoked)
		}
	}
	if d := RevokeAuditDetail(got[0]); d["reason"] != ReasonMakerDisabled || d["madeBy"] != "acct-x" || d["scope"] != store.ScopeAdmin || d["name"] == "" {
		t.Errorf("audit detail %v, want name, scope, maker and reason", d)
	}
}

// TestRevokeOfDisabledMakers: in one pass, the admin tokens that still
// work and whose maker stopped reports are revoked at now and returned:
// here those of two stopped accounts. A SCIM token of a stopped account,
// its admin tokens already revoked or expired, a working account's admin
// token and one the CLI made are left as they were, and the CLI's (no
// maker) is never asked about. A second pass revokes nothing.
func TestRevokeOfDisabledMakers(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	now := t0.Add(time.Hour)
	st := newFakeStore()
	mint := minter(t, st, t0)
	year := t0.AddDate(1, 0, 0)
	x := mint("x-script", store.ScopeAdmin, "acct-x", year)
	gone := mint("gone-script", store.ScopeAdmin, "acct-gone", year)
	scim := mint("okta", store.ScopeSCIM, "acct-x", year)
	expired := mint("x-old", store.ScopeAdmin, "acct-x", t0.Add(30*time.Minute))
	revoked := mint("x-revoked", store.ScopeAdmin, "acct-x", year)
	st.revoke(revoked.ID, t0.Add(time.Minute))
	other := mint("y-script", store.ScopeAdmin, "acct-y", year)
	cli := mint("ops", store.ScopeAdmin, "", year)

	stopped := func(id string) bool {
		if id == "" {
			t.Errorf("stopped asked about the CLI operator")
		}
		return id == "acct-x" || id == "acct-gone"
	}
	got, err := RevokeOfDisabledMakers(ctx, st, stopped, now)
	if err != nil {
		t.Fatal(err)
	}
	wantReturned(t, got, now, "the stopped makers' working admin tokens", x, gone)
	for _, tc := range []struct {
		tok     store.Token
		revoked time.Time
	}{
		{x, now}, {gone, now}, {scim, time.Time{}}, {expired, time.Time{}},
		{revoked, t0.Add(time.Minute)}, {other, time.Time{}}, {cli, time.Time{}},
	} {
		if s, err := st.GetToken(ctx, tc.tok.ID); err != nil || !s.Revoked.Equal(tc.revoked) {
			t.Errorf("token %s (%s) stored revoked at %v (%v), want %v", tc.tok.Name, tc.tok.Scope, s.Revoked, err, tc.revoked)
		}
	}
	if again, err := RevokeOfDisabledMakers(ctx, st, stopped, now.Add(time.Minute)); err != nil || len(again) != 0 {
		t.Errorf("second pass: %v, %v; want nothing revoked", again, err)
	}
}

// minter stores, in st, tokens made at t0 by a console account ("" the
// CLI), each expiring then.
func minter(t *testing.T, st *fakeStore, t0 time.Time) func(name, scope, by string, expires time.Time) store.Token {
	return func(name, scope, by string, expires time.Time) store.Token {
		t.Helper()
		_, tok, err := NewExpiring(name, scope, t0, expires)
		if err != nil {
			t.Fatal(err)
		}
		tok.CreatedBy = by
		st.put(tok)
		return tok
	}
}

// wantReturned checks that got, the tokens a revocation returned, are
// exactly want (what says which), each revoked at now.
func wantReturned(t *testing.T, got []store.Token, now time.Time, what string, want ...store.Token) {
	t.Helper()
	var ids, wantIDs []string
	for _, tok := range got {
		ids = append(ids, tok.ID)
		if !tok.Revoked.Equal(now) {
			t.Errorf("returned token %s revoked at %v, want %v", tok.ID, tok.Revoked, now)
		}
	}
	for _, tok := range want {
		wantIDs = append(wantIDs, tok.ID)
	}
	slices.Sort(ids)
	slices.Sort(wantIDs)
	if !slices.Equal(ids, wantIDs) {
		t.Errorf("revoked %v, want %s %v", ids, what, wantIDs)
	}
}
