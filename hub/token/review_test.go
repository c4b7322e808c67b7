package token

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest/clock"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestCheckName: a new token's name is plain text of at most 100
// characters: no control characters (tabs, line breaks, terminal escape
// sequences, which token list would print raw), no invisible formatting
// characters (a right-to-left override makes a name read as another), no
// bytes that are not UTF-8 (no metric label can hold them). New and
// NewExpiring refuse the others.
func TestCheckName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"okta-prod", true},
		{"Entra ID (prod) – Zürich", true},
		{strings.Repeat("n", MaxNameLen), true},
		{strings.Repeat("ü", MaxNameLen), true},
		{strings.Repeat("n", MaxNameLen+1), false},
		{"", false},
		{"   ", false},
		{"okta\tprod", false},
		{"okta\nprod", false},
		{"okta\rprod", false},
		{"ok\x1b[1A\x1b[2Kta", false}, // cursor up, erase line: hides a row of token list
		{"okta\x7f", false},
		{"okta\u0085", false},     // C1 next line
		{"okta\u202edorp", false}, // right-to-left override
		{"ok\u200bta", false},     // zero-width space
		{"okta\xffprod", false},   // not UTF-8
	} {
		err := CheckName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("CheckName(%q) = %v, want ok %v", tc.name, err, tc.ok)
		}
		_, _, nerr := New(tc.name, store.ScopeSCIM, time.Now())
		if (nerr == nil) != tc.ok {
			t.Errorf("New(%q) = %v, want ok %v", tc.name, nerr, tc.ok)
		}
	}
}

// TestRotateKeepsOldName: a token stored before names were checked can
// still be rotated; its successor keeps the name.
func TestRotateKeepsOldName(t *testing.T) {
	clk := clock.New(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
	st := newFakeStore()
	_, old, err := New("placeholder", store.ScopeSCIM, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	old.Name, old.Expires = "legacy\tname\xff", time.Time{}
	st.put(old)
	r := rotate(t, st, clk, old.ID, time.Hour)
	if r.New.Name != old.Name {
		t.Errorf("successor named %q, want %q", r.New.Name, old.Name)
	}
}

// TestRotateAfterSuccessorRevoked: a token whose successor was revoked
// (the new secret leaked on its way to the identity provider) can be
// rotated again, and only then: its expiry is still never lengthened, and
// it names the new successor. A successor that was itself rotated before
// it was revoked leaves the newest token to rotate, and the error says so.
func TestRotateAfterSuccessorRevoked(t *testing.T) {
	v, st, clk, plain, id := setup(t) // a SCIM token of a year
	first := rotate(t, st, clk, id, 48*time.Hour)
	if _, err := Rotate(t.Context(), st, id, clk.Now(), time.Hour, time.Time{}); !errors.Is(err, ErrCannotRotate) {
		t.Fatalf("rotating a token whose successor is in use: %v, want ErrCannotRotate", err)
	}
	byID := func() map[string]store.Token {
		ts, _ := st.ListTokens(t.Context())
		return ByID(ts)
	}
	if old, _ := st.GetToken(t.Context(), id); Rotatable(old, byID()) || !Succeeded(old, byID()) {
		t.Errorf("a token whose successor is in use: Rotatable %v, Succeeded %v; want false, true", Rotatable(old, byID()), Succeeded(old, byID()))
	}

	st.revoke(first.New.ID, clk.Now())
	if old, _ := st.GetToken(t.Context(), id); !Rotatable(old, byID()) || Succeeded(old, byID()) {
		t.Errorf("a token whose successor was revoked: Rotatable %v, Succeeded %v; want true, false", Rotatable(old, byID()), Succeeded(old, byID()))
	}
	clk.Advance(time.Hour)
	second, err := Rotate(t.Context(), st, id, clk.Now(), 72*time.Hour, time.Time{})
	if err != nil {
		t.Fatalf("rotating a token whose successor was revoked: %v", err)
	}
	if second.Old.ReplacedBy != second.New.ID || !second.Old.Expires.Equal(first.Old.Expires) {
		t.Errorf("rotated again: %+v; want replaced by %s, its expiry kept at %v (never lengthened)", second.Old, second.New.ID, first.Old.Expires)
	}
	v.Forget(id)
	mustVerify(t, v, second.Plain, store.ScopeSCIM)
	mustVerify(t, v, plain, store.ScopeSCIM) // the rest of the first overlap
	if _, err := Rotate(t.Context(), st, id, clk.Now(), time.Hour, time.Time{}); !errors.Is(err, ErrCannotRotate) || !strings.Contains(err.Error(), second.New.ID) {
		t.Errorf("rotating it a third time, its successor in use: %v; want ErrCannotRotate naming %s", err, second.New.ID)
	}

	// A successor rotated on before it was revoked: its own successor
	// carries the line, so the old token stays put.
	third := rotate(t, st, clk, second.New.ID, time.Hour)
	st.revoke(second.New.ID, clk.Now())
	_, err = Rotate(t.Context(), st, id, clk.Now(), time.Hour, time.Time{})
	if !errors.Is(err, ErrCannotRotate) || !strings.Contains(err.Error(), third.New.ID) {
		t.Errorf("rotating a token whose revoked successor was rotated on: %v; want ErrCannotRotate naming %s", err, third.New.ID)
	}
}

// TestWarnAtStartSuccessorRevoked: a token that stops soon is not
// warned about while a successor is in use, and is once that successor
// was revoked: nothing carries on after it.
func TestWarnAtStartSuccessorRevoked(t *testing.T) {
	_, st, clk, _, id := setup(t)
	r := rotate(t, st, clk, id, 72*time.Hour)
	rec := &logRecorder{}
	if err := WarnAtStart(t.Context(), st, clk.Now(), slog.New(rec)); err != nil || len(rec.matching(id)) != 0 {
		t.Errorf("start-up warnings %q, %v; want none about %s, whose successor is in use", rec.lines, err, id)
	}
	st.revoke(r.New.ID, clk.Now())
	rec = &logRecorder{}
	if err := WarnAtStart(t.Context(), st, clk.Now(), slog.New(rec)); err != nil || len(rec.matching("expires within 14 days", id)) != 1 {
		t.Errorf("start-up warnings %q, %v; want one naming %s, whose successor was revoked", rec.lines, err, id)
	}
}

// TestExpiredWarnedSuccessorRevoked: the warning about a rotated token
// refused as expired points to its successor only while that successor
// is in use; once it was revoked, it says to rotate the token again
// (which Rotate then allows), not to hand out a revoked secret.
func TestExpiredWarnedSuccessorRevoked(t *testing.T) {
	v, st, clk, rec, plain, tok := expiringSetup(t)
	r := rotate(t, st, clk, tok.ID, 10*time.Minute)
	v.Forget(tok.ID)
	clk.Advance(10 * time.Minute)
	mustReject(t, v, plain, store.ScopeSCIM, "after the overlap")
	if got := rec.matching("token_id="+tok.ID, "rotated to token "+r.New.ID+": give that token's secret"); len(got) != 1 {
		t.Errorf("warnings %q; want one pointing to the successor %s", rec.lines, r.New.ID)
	}
	st.revoke(r.New.ID, clk.Now())
	clk.Advance(warnExpiredEvery)
	mustReject(t, v, plain, store.ScopeSCIM, "an hour later")
	if got := rec.matching("token_id="+tok.ID, "successor "+r.New.ID+" was revoked", "token rotate --id "+tok.ID); len(got) != 1 {
		t.Errorf("warnings %q; want one saying the successor was revoked and how to rotate %s again", rec.lines, tok.ID)
	}
}
