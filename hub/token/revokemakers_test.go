package token

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

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
	mint := func(name, scope, by string, expires time.Time) store.Token {
		t.Helper()
		_, tok, err := NewExpiring(name, scope, t0, expires)
		if err != nil {
			t.Fatal(err)
		}
		tok.CreatedBy = by
		st.put(tok)
		return tok
	}
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
	var ids []string
	for _, tok := range got {
		ids = append(ids, tok.ID)
		if !tok.Revoked.Equal(now) {
			t.Errorf("returned token %s revoked at %v, want %v", tok.ID, tok.Revoked, now)
		}
	}
	slices.Sort(ids)
	want := []string{x.ID, gone.ID}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("revoked %v, want the stopped makers' working admin tokens %v", ids, want)
	}
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
