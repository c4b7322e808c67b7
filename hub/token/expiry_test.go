package token

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest/clock"
	"github.com/shiftgate/shiftgate/hub/store"
)

// logRecorder keeps what is logged, as "LEVEL message key=value ...".
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.Key + "=" + a.Value.String())
		return true
	})
	l.mu.Lock()
	l.lines = append(l.lines, b.String())
	l.mu.Unlock()
	return nil
}

// matching returns the lines that contain every one of parts.
func (l *logRecorder) matching(parts ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range l.lines {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			out = append(out, line)
		}
	}
	return out
}

// expiringSetup is setup with a token that expires an hour from the
// clock's now, and a Verifier that logs to the returned recorder.
func expiringSetup(t *testing.T) (*Verifier, *fakeStore, *clock.Clock, *logRecorder, string, store.Token) {
	t.Helper()
	clk := clock.New(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
	st := newFakeStore()
	plain, tok, err := NewExpiring("okta", store.ScopeSCIM, clk.Now(), clk.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	st.put(tok)
	rec := &logRecorder{}
	return NewVerifier(st, clk.Now, slog.New(rec)), st, clk, rec, plain, tok
}

// TestExpiryHonoured: a token works until the instant it expires and is
// refused from then on, like a revoked one (ErrInvalid, nothing more).
func TestExpiryHonoured(t *testing.T) {
	v, _, clk, _, plain, _ := expiringSetup(t)
	mustVerify(t, v, plain, store.ScopeSCIM)
	clk.Advance(time.Hour - time.Nanosecond)
	mustVerify(t, v, plain, store.ScopeSCIM)
	clk.Advance(time.Nanosecond)
	mustReject(t, v, plain, store.ScopeSCIM, "at its expiry")
	clk.Advance(365 * 24 * time.Hour)
	mustReject(t, v, plain, store.ScopeSCIM, "a year after its expiry")
}

// TestCacheNotPastExpiry: a remembered token is refused from the instant
// it expires, although its record is still fresh in the cache (no store
// read happens).
func TestCacheNotPastExpiry(t *testing.T) {
	v, st, clk, _, plain, _ := expiringSetup(t)
	clk.Advance(time.Hour - time.Millisecond)
	mustVerify(t, v, plain, store.ScopeSCIM) // read and remembered
	clk.Advance(time.Millisecond)            // well within the cache TTL
	mustReject(t, v, plain, store.ScopeSCIM, "remembered, then expired")
	if gets, _ := st.counts(); gets != 1 {
		t.Errorf("%d store reads, want 1: the refusal must come from the remembered record", gets)
	}
}

// TestExpiredWarned: a refusal for expiry is logged at warn level with the
// token's ID and name and never its secret, at most once per token per
// hour; a wrong secret for an expired token's ID is not logged.
func TestExpiredWarned(t *testing.T) {
	v, st, clk, rec, plain, tok := expiringSetup(t)
	clk.Advance(time.Hour)
	mustReject(t, v, wrongSecret(plain), store.ScopeSCIM, "expired, wrong secret")
	if got := rec.matching("expired"); len(got) != 0 {
		t.Fatalf("a wrong secret set off a warning: %q", got)
	}
	for range 3 {
		mustReject(t, v, plain, store.ScopeSCIM, "expired")
		clk.Advance(10 * time.Minute)
	}
	mustReject(t, v, plain, store.ScopeAdmin, "expired, other scope")
	want := []string{"WARN", "expired", "token_id=" + tok.ID, "token_name=okta", "token rotate --id " + tok.ID}
	if got := rec.matching(want...); len(got) != 1 {
		t.Fatalf("warnings %q; want one with %q", rec.lines, want)
	}
	secret := plain[len(prefix)+idLen+1:]
	for _, line := range rec.lines {
		if strings.Contains(line, secret) {
			t.Errorf("the log holds the secret: %q", line)
		}
	}
	clk.Advance(30 * time.Minute) // an hour after the first warning
	mustReject(t, v, plain, store.ScopeSCIM, "expired, an hour later")
	if got := rec.matching(want...); len(got) != 2 {
		t.Errorf("%d warnings after an hour, want 2", len(got))
	}

	// Another expired token is warned about on its own.
	other, otherTok := newToken(t, st, "entra", store.ScopeSCIM, clk.Now().Add(-DefaultLifetime))
	mustReject(t, v, other, store.ScopeSCIM, "other expired")
	if got := rec.matching("token_id=" + otherTok.ID); len(got) != 1 {
		t.Errorf("warnings for the other token: %q, want 1", got)
	}
}

// TestDefaultLifetime: New gives an admin token 90 days and a SCIM or
// metrics token a year.
func TestDefaultLifetime(t *testing.T) {
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	for scope, want := range map[string]time.Duration{
		store.ScopeAdmin:   90 * 24 * time.Hour,
		store.ScopeSCIM:    365 * 24 * time.Hour,
		store.ScopeMetrics: 365 * 24 * time.Hour,
	} {
		_, tok, err := New("x", scope, now)
		if err != nil {
			t.Fatal(err)
		}
		if got := tok.Expires.Sub(now); got != want || tok.Expires.Location() != time.UTC {
			t.Errorf("%s token lives %s (%v), want %s in UTC", scope, got, tok.Expires, want)
		}
	}
}

// TestNewExpiringBounds: an expiry is after now and at most two years on.
func TestNewExpiringBounds(t *testing.T) {
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	limit := time.Date(2028, 3, 1, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		expires time.Time
		ok      bool
	}{
		{"two years", limit, true},
		{"a second later", limit.Add(time.Second), false},
		{"a second", now.Add(time.Second), true},
		{"now", now, false},
		{"past", now.Add(-time.Hour), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, tok, err := NewExpiring("x", store.ScopeSCIM, now, tc.expires)
			if tc.ok && (err != nil || !tok.Expires.Equal(tc.expires)) {
				t.Errorf("NewExpiring(%v) = %v, %v; want that expiry", tc.expires, tok.Expires, err)
			}
			if !tc.ok && err == nil {
				t.Errorf("NewExpiring(%v) accepted", tc.expires)
			}
		})
	}
}

func TestParseExpiry(t *testing.T) {
	now := time.Date(2026, 11, 27, 5, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		in      string
		want    time.Time // zero with wantErr "": the scope's default
		wantErr string
	}{
		{"", time.Time{}, ""},
		{"90d", now.Add(90 * 24 * time.Hour), ""},
		{" 1d ", now.Add(24 * time.Hour), ""},
		{"730d", now.Add(730 * 24 * time.Hour), ""},
		{"2027-03-01", time.Date(2027, 3, 2, 0, 0, 0, 0, time.UTC), ""},
		{"2026-11-27", time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC), ""}, // to the end of today
		{"2028-11-26", time.Date(2028, 11, 27, 0, 0, 0, 0, time.UTC), ""}, // the last day within 2 years
		{"2028-11-27", time.Time{}, "latest expiry now is 2028-11-26"},
		{"800d", time.Time{}, "at most 2 years"},
		{"9999d", time.Time{}, "at most 2 years"},
		{"2026-11-26", time.Time{}, "has passed"},
		{"0d", time.Time{}, "at least a day"},
		{"-5d", time.Time{}, "number of days"},
		{"+5d", time.Time{}, "number of days"},
		{"never", time.Time{}, "every token expires"},
		{"0", time.Time{}, "number of days"},
		{"90", time.Time{}, "number of days"},
		{"d", time.Time{}, "number of days"},
		{"2027-3-1", time.Time{}, "number of days"},
		{"2027-02-30", time.Time{}, "number of days"},
		{"3m", time.Time{}, "number of days"},
	} {
		got, err := ParseExpiry(tc.in, now)
		switch {
		case tc.wantErr == "" && (err != nil || !got.Equal(tc.want)):
			t.Errorf("ParseExpiry(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("ParseExpiry(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.wantErr)
		case err == nil && !got.IsZero() && got.Location() != time.UTC:
			t.Errorf("ParseExpiry(%q) = %v, not in UTC", tc.in, got)
		}
	}
}

func TestParseOverlap(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 24 * time.Hour, true},
		{"0", 0, true},
		{"0s", 0, true},
		{"90m", 90 * time.Minute, true},
		{"3d", 72 * time.Hour, true},
		{"7d", 7 * 24 * time.Hour, true},
		{"168h", 168 * time.Hour, true},
		{"168h1s", 0, false},
		{"8d", 0, false},
		{"-1h", 0, false},
		{"-1d", 0, false},
		{"soon", 0, false},
		{"never", 0, false},
	} {
		got, err := ParseOverlap(tc.in)
		if tc.ok && (err != nil || got != tc.want) || !tc.ok && err == nil {
			t.Errorf("ParseOverlap(%q) = %v, %v; want %v (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// rotate rotates id in st at the clock's now, and fails the test on error.
func rotate(t *testing.T, st *fakeStore, clk *clock.Clock, id string, overlap time.Duration) Rotation {
	t.Helper()
	r, err := Rotate(t.Context(), st, id, clk.Now(), overlap, time.Time{})
	if err != nil {
		t.Fatalf("rotate %s: %v", id, err)
	}
	return r
}

// TestRotate: the successor has the old token's name and scope, a new ID
// and secret and the scope's default lifetime; the old token works during
// the overlap and is refused after it; a rotated or revoked token cannot
// be rotated (again).
func TestRotate(t *testing.T) {
	v, st, clk, plain, id := setup(t) // a SCIM token of a year
	clk.Advance(300 * 24 * time.Hour)
	r := rotate(t, st, clk, id, 24*time.Hour)
	if r.New.ID == id || r.New.Name != "okta" || r.New.Scope != store.ScopeSCIM || r.Plain == plain ||
		!r.New.Expires.Equal(clk.Now().Add(DefaultLifetime)) {
		t.Errorf("successor %+v", r.New)
	}
	if r.Old.ID != id || r.Old.ReplacedBy != r.New.ID || !r.Old.Expires.Equal(clk.Now().Add(24*time.Hour)) {
		t.Errorf("rotated token %+v; want it to expire in 24h, replaced by %s", r.Old, r.New.ID)
	}
	if got, _ := st.GetToken(t.Context(), id); got.ReplacedBy != r.New.ID || !got.Expires.Equal(r.Old.Expires) {
		t.Errorf("stored rotated token %+v", got)
	}
	v.Forget(id)
	mustVerify(t, v, r.Plain, store.ScopeSCIM)
	clk.Advance(24*time.Hour - time.Second)
	mustVerify(t, v, plain, store.ScopeSCIM) // the overlap
	clk.Advance(time.Second)
	mustReject(t, v, plain, store.ScopeSCIM, "after the overlap")
	mustVerify(t, v, r.Plain, store.ScopeSCIM)

	_, err := Rotate(t.Context(), st, id, clk.Now(), time.Hour, time.Time{})
	if !errors.Is(err, ErrCannotRotate) || !strings.Contains(err.Error(), r.New.ID) {
		t.Errorf("rotating a rotated token: %v; want ErrCannotRotate naming its successor", err)
	}
	st.revoke(r.New.ID, clk.Now())
	if _, err := Rotate(t.Context(), st, r.New.ID, clk.Now(), time.Hour, time.Time{}); !errors.Is(err, ErrCannotRotate) || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("rotating a revoked token: %v; want ErrCannotRotate", err)
	}
	if _, err := Rotate(t.Context(), st, "0000000000000000", clk.Now(), time.Hour, time.Time{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("rotating an unknown token: %v; want ErrNotFound", err)
	}
	if _, err := Rotate(t.Context(), st, r.New.ID, clk.Now(), MaxOverlap+time.Second, time.Time{}); err == nil {
		t.Error("an overlap over 7 days was accepted")
	}
}

// TestRotateNeverExtends: the overlap only ever brings the old token's
// expiry forward; a token from before expiry gets one; overlap 0 ends the
// old token at once; the successor's expiry may be given.
func TestRotateNeverExtends(t *testing.T) {
	clk := clock.New(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
	st := newFakeStore()
	now := clk.Now()

	_, soon, _ := NewExpiring("soon", store.ScopeAdmin, now, now.Add(time.Hour))
	st.put(soon)
	if r := rotate(t, st, clk, soon.ID, 7*24*time.Hour); !r.Old.Expires.Equal(soon.Expires) {
		t.Errorf("a token that expires in an hour expires at %v after a rotation with a week's overlap, want %v", r.Old.Expires, soon.Expires)
	}

	_, gone, _ := NewExpiring("gone", store.ScopeSCIM, now.Add(-48*time.Hour), now.Add(-time.Hour))
	st.put(gone)
	if r := rotate(t, st, clk, gone.ID, 24*time.Hour); !r.Old.Expires.Equal(gone.Expires) || !Expired(r.Old, now) {
		t.Errorf("an expired token came back to life: expires %v", r.Old.Expires)
	}

	legacyPlain, legacy, _ := New("legacy", store.ScopeMetrics, now)
	legacy.Expires = time.Time{} // as stored before tokens expired
	st.put(legacy)
	v := NewVerifier(st, clk.Now, nil)
	mustVerify(t, v, legacyPlain, store.ScopeMetrics)
	until := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	r, err := Rotate(t.Context(), st, legacy.ID, now, 0, until)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Old.Expires.Equal(now) || !r.New.Expires.Equal(until) {
		t.Errorf("overlap 0: old expires %v, want %v; new expires %v, want %v", r.Old.Expires, now, r.New.Expires, until)
	}
	v.Forget(legacy.ID) // as the console does after the commit
	mustReject(t, v, legacyPlain, store.ScopeMetrics, "rotated with no overlap")
	if _, err := Rotate(t.Context(), st, r.New.ID, now, 0, now.AddDate(3, 0, 0)); err == nil {
		t.Error("a successor of three years was accepted")
	}
}

func TestStatusAt(t *testing.T) {
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	tok := func(expires time.Duration) store.Token {
		t := store.Token{ID: "t1", Created: now.Add(-time.Hour)}
		if expires != 0 {
			t.Expires = now.Add(expires)
		}
		return t
	}
	revoked := tok(time.Hour)
	revoked.Revoked = now
	rotated := tok(20 * time.Hour)
	rotated.ReplacedBy = "t2"
	for _, tc := range []struct {
		name string
		t    store.Token
		want Status
	}{
		{"active", tok(15 * 24 * time.Hour), Status{"active", false}},
		{"14 days", tok(14 * 24 * time.Hour), Status{"expires in 14 days", true}},
		{"2 days", tok(48 * time.Hour), Status{"expires in 2 days", true}},
		{"hours", tok(47 * time.Hour), Status{"expires in 47 hours", true}},
		{"almost 3 days", tok(3*24*time.Hour - time.Minute), Status{"expires in 3 days", true}},
		{"minutes", tok(90 * time.Second), Status{"expires in 2 minutes", true}},
		{"a second", tok(time.Second), Status{"expires in 1 minute", true}},
		{"expired", tok(-time.Second), Status{"expired", false}},
		{"no expiry", tok(0), Status{"no expiry: rotate", true}},
		{"revoked", revoked, Status{"revoked", false}},
		{"rotated", rotated, Status{"expires in 20 hours (rotated to t2)", true}},
	} {
		if got := StatusAt(tc.t, now); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// TestWarnAtStart: the start-up warnings count the usable tokens that
// never expire and those that expire within 14 days, and name them by ID
// and name; revoked and expired tokens are left out (rotated-away ones:
// TestWarnAtStartSuccessorRevoked).
func TestWarnAtStart(t *testing.T) {
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	st := newFakeStore()
	for i, name := range []string{"okta", "ops", "revoked", "soon", "expired", "fine"} {
		_, tk, err := New(name, store.ScopeSCIM, now.Add(-time.Duration(i)*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		switch name {
		case "okta", "ops", "revoked":
			tk.Expires = time.Time{}
		case "soon":
			tk.Expires = now.Add(3 * 24 * time.Hour)
		case "expired":
			tk.Expires = now.Add(-time.Hour)
		}
		if name == "revoked" {
			tk.Revoked = now
		}
		st.put(tk)
	}
	rec := &logRecorder{}
	if err := WarnAtStart(t.Context(), st, now, slog.New(rec)); err != nil {
		t.Fatal(err)
	}
	never := rec.matching("WARN 2 API tokens never expire; rotate them: shiftgate-hub token rotate --id ID")
	if len(never) != 1 || !strings.Contains(never[0], "(okta)") || !strings.Contains(never[0], "(ops)") || strings.Contains(never[0], "revoked") {
		t.Errorf("start-up warnings %q; want one counting and naming okta and ops", rec.lines)
	}
	if soon := rec.matching("WARN 1 API token expires within 14 days; rotate them", "(soon,"); len(soon) != 1 {
		t.Errorf("start-up warnings %q; want one naming the token that expires in 3 days", rec.lines)
	}
	if got := rec.matching("(expired"); len(got) != 0 || len(rec.lines) != 2 {
		t.Errorf("start-up warnings %q; want two, neither naming the expired token", rec.lines)
	}

	rec = &logRecorder{}
	if err := WarnAtStart(t.Context(), newFakeStore(), now, slog.New(rec)); err != nil || len(rec.lines) != 0 {
		t.Errorf("no tokens: %v, %q; want no warning", err, rec.lines)
	}
}

// TestRotateUnknownScope: a stored token of a scope this hub does not
// know (written by a later version, say) is not rotated: no successor of
// that scope is made, and the token is left as it was.
func TestRotateUnknownScope(t *testing.T) {
	clk := clock.New(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
	st := newFakeStore()
	_, tok, err := New("future", store.ScopeAdmin, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	tok.Scope = "audit-reader"
	st.put(tok)
	if _, err := Rotate(t.Context(), st, tok.ID, clk.Now(), time.Hour, time.Time{}); err == nil || !strings.Contains(err.Error(), `unknown token scope "audit-reader"`) {
		t.Errorf("rotating a token of an unknown scope: %v, want refused naming the scope", err)
	}
	ts, _ := st.ListTokens(t.Context())
	if len(ts) != 1 || ts[0].ReplacedBy != "" || !ts[0].Expires.Equal(tok.Expires) {
		t.Errorf("tokens after the refused rotation: %+v; want the one token, unchanged", ts)
	}
}
