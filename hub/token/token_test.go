package token

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest/clock"
	"github.com/shiftgate/shiftgate/hub/store"
)

// fakeStore holds tokens in memory and counts reads and writes. Only the
// token methods are implemented; the embedded nil Store panics on others.
type fakeStore struct {
	store.Store
	mu      sync.Mutex
	tokens  map[string]store.Token
	gets    int
	updates int
	// afterGet, when set, runs after GetToken has read the token: what
	// happens between the Verifier's read and its use of the record.
	afterGet func()
}

func newFakeStore() *fakeStore { return &fakeStore{tokens: map[string]store.Token{}} }

func (f *fakeStore) GetToken(_ context.Context, id string) (store.Token, error) {
	f.mu.Lock()
	f.gets++
	t, ok := f.tokens[id]
	after := f.afterGet
	f.mu.Unlock()
	if after != nil {
		after()
	}
	if !ok {
		return store.Token{}, fmt.Errorf("get token %s: %w", id, store.ErrNotFound)
	}
	return t, nil
}

func (f *fakeStore) CreateToken(_ context.Context, t store.Token) (store.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.tokens[t.ID]; ok {
		return store.Token{}, fmt.Errorf("create token %s: %w", t.ID, store.ErrConflict)
	}
	f.tokens[t.ID] = t
	return t, nil
}

func (f *fakeStore) ListTokens(context.Context) ([]store.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ts []store.Token
	for _, t := range f.tokens {
		ts = append(ts, t)
	}
	slices.SortFunc(ts, func(a, b store.Token) int { return a.Created.Compare(b.Created) })
	return ts, nil
}

func (f *fakeStore) UpdateToken(_ context.Context, id string, fn func(store.Token) (store.Token, error)) (store.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	old, ok := f.tokens[id]
	if !ok {
		return store.Token{}, fmt.Errorf("update token %s: %w", id, store.ErrNotFound)
	}
	t, err := fn(old)
	if err != nil {
		return store.Token{}, err
	}
	f.updates++
	f.tokens[id] = t
	return t, nil
}

// put stores t, as the CLI or the console would.
func (f *fakeStore) put(t store.Token) {
	f.mu.Lock()
	f.tokens[t.ID] = t
	f.mu.Unlock()
}

// revoke marks the token revoked directly in the store, as another
// process would: the Verifier is not told.
func (f *fakeStore) revoke(id string, at time.Time) {
	f.mu.Lock()
	t := f.tokens[id]
	t.Revoked = at
	f.tokens[id] = t
	f.mu.Unlock()
}

func (f *fakeStore) counts() (gets, updates int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gets, f.updates
}

// setup returns a Verifier on a fake store holding one SCIM token, and the
// token's plaintext and ID.
func setup(t *testing.T) (*Verifier, *fakeStore, *clock.Clock, string, string) {
	t.Helper()
	clk := clock.New(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
	st := newFakeStore()
	plain, tok := newToken(t, st, "okta", store.ScopeSCIM, clk.Now())
	return NewVerifier(st, clk.Now, nil), st, clk, plain, tok.ID
}

func newToken(t *testing.T, st *fakeStore, name, scope string, now time.Time) (string, store.Token) {
	t.Helper()
	plain, tok, err := New(name, scope, now)
	if err != nil {
		t.Fatal(err)
	}
	st.put(tok)
	return plain, tok
}

// wrongSecret returns plain with the same ID and another secret.
func wrongSecret(plain string) string {
	last := plain[len(plain)-1]
	other := byte('A')
	if last == 'A' {
		other = 'B'
	}
	return plain[:len(plain)-1] + string(other)
}

func mustVerify(t *testing.T, v *Verifier, plain, scope string) store.Token {
	t.Helper()
	got, err := v.Verify(t.Context(), plain, scope)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return got
}

func mustReject(t *testing.T, v *Verifier, plain, scope, why string) {
	t.Helper()
	if _, err := v.Verify(t.Context(), plain, scope); !errors.Is(err, ErrInvalid) {
		t.Fatalf("%s: verify = %v, want ErrInvalid", why, err)
	}
}

func TestVerify(t *testing.T) {
	v, st, clk, plain, id := setup(t)
	admin, _ := newToken(t, st, "ops", store.ScopeAdmin, clk.Now())
	if got := mustVerify(t, v, plain, store.ScopeSCIM); got.ID != id || got.Name != "okta" {
		t.Errorf("verified %+v", got)
	}
	mustVerify(t, v, admin, store.ScopeAdmin)
	for name, tok := range map[string]string{
		"empty":        "",
		"no prefix":    strings.TrimPrefix(plain, prefix),
		"short":        plain[:len(plain)-1],
		"unknown id":   prefix + "0000000000000000" + plain[len(prefix)+idLen:],
		"wrong secret": wrongSecret(plain),
		"other scope":  admin,
	} {
		mustReject(t, v, tok, store.ScopeSCIM, name)
	}
}

// TestVerifyCached: a busy client reads the store once per token per TTL,
// and the remembered record is still checked in full on every request.
func TestVerifyCached(t *testing.T) {
	v, st, clk, plain, _ := setup(t)
	for range 5 {
		mustVerify(t, v, plain, store.ScopeSCIM)
		clk.Advance(verifyCacheTTL / 10)
	}
	if gets, _ := st.counts(); gets != 1 {
		t.Errorf("%d store reads for 5 verifications within the TTL, want 1", gets)
	}
	mustReject(t, v, wrongSecret(plain), store.ScopeSCIM, "remembered token, wrong secret")
	mustReject(t, v, plain, store.ScopeAdmin, "remembered token, other scope")
	mustVerify(t, v, plain, store.ScopeSCIM) // still good after the failures
	if gets, _ := st.counts(); gets != 1 {
		t.Errorf("%d store reads, want 1: a failure must not evict or re-read", gets)
	}
	clk.Advance(verifyCacheTTL)
	mustVerify(t, v, plain, store.ScopeSCIM)
	if gets, _ := st.counts(); gets != 2 {
		t.Errorf("%d store reads after the TTL, want 2", gets)
	}
}

// TestVerifyFailuresNotCached: a token that failed verification is looked
// up again next time, so a token created (or a typo fixed) works at once
// and a failure is never remembered.
func TestVerifyFailuresNotCached(t *testing.T) {
	v, st, clk, plain, id := setup(t)
	mustReject(t, v, wrongSecret(plain), store.ScopeSCIM, "wrong secret")
	mustVerify(t, v, plain, store.ScopeSCIM)
	if gets, _ := st.counts(); gets != 2 {
		t.Errorf("%d store reads, want 2: the failure must not be remembered", gets)
	}

	// A token verified before it was stored (a CLI creating it meanwhile).
	plain2, tok2, err := New("entra", store.ScopeSCIM, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	mustReject(t, v, plain2, store.ScopeSCIM, "not stored yet")
	st.put(tok2)
	mustVerify(t, v, plain2, store.ScopeSCIM)

	// A revoked token is not remembered either: un-revoking it in the store
	// (no such feature, but the store is the truth) is seen at once.
	v2 := NewVerifier(st, clk.Now, nil)
	st.revoke(id, clk.Now())
	mustReject(t, v2, plain, store.ScopeSCIM, "revoked")
	st.revoke(id, time.Time{})
	mustVerify(t, v2, plain, store.ScopeSCIM)
}

// TestForgetRevokesAtOnce: a revocation made in this process calls Forget
// after it commits, and the next request is refused.
func TestForgetRevokesAtOnce(t *testing.T) {
	v, st, clk, plain, id := setup(t)
	mustVerify(t, v, plain, store.ScopeSCIM)
	if _, err := st.UpdateToken(t.Context(), id, func(old store.Token) (store.Token, error) {
		old.Revoked = clk.Now()
		return old, nil
	}); err != nil {
		t.Fatal(err)
	}
	v.Forget(id)
	mustReject(t, v, plain, store.ScopeSCIM, "revoked and forgotten")
}

// TestForgetDuringRead: a verification that read the store before a
// revocation committed and was forgotten must not remember the old record,
// or the revocation would wait for the TTL after all.
func TestForgetDuringRead(t *testing.T) {
	v, st, clk, plain, id := setup(t)
	st.afterGet = func() {
		st.afterGet = nil // under no lock: the test is single-threaded here
		st.revoke(id, clk.Now())
		v.Forget(id)
	}
	// This request read the token before the revocation: it may pass.
	mustVerify(t, v, plain, store.ScopeSCIM)
	mustReject(t, v, plain, store.ScopeSCIM, "revoked while the previous request read it")
}

// TestOutOfBandChange: a revocation that another process writes to the
// store (the CLI) is seen once the remembered record is older than the TTL.
func TestOutOfBandChange(t *testing.T) {
	v, st, clk, plain, id := setup(t)
	mustVerify(t, v, plain, store.ScopeSCIM)
	st.revoke(id, clk.Now())
	clk.Advance(verifyCacheTTL - time.Millisecond)
	mustVerify(t, v, plain, store.ScopeSCIM) // the documented trade-off
	clk.Advance(time.Millisecond)
	mustReject(t, v, plain, store.ScopeSCIM, "revoked out of band, TTL passed")
}

// TestClockBack: a clock that goes back does not extend a remembered
// record's life.
func TestClockBack(t *testing.T) {
	v, st, clk, plain, _ := setup(t)
	mustVerify(t, v, plain, store.ScopeSCIM)
	clk.Advance(-time.Hour)
	mustVerify(t, v, plain, store.ScopeSCIM)
	if gets, _ := st.counts(); gets != 2 {
		t.Errorf("%d store reads, want 2", gets)
	}
}

// TestCacheBounded: the Verifier remembers at most verifyCacheMax tokens,
// and drops expired ones to make room.
func TestCacheBounded(t *testing.T) {
	v, st, clk, _, _ := setup(t)
	var plains []string
	for i := range verifyCacheMax + 1 {
		p, _ := newToken(t, st, fmt.Sprint("idp", i), store.ScopeSCIM, clk.Now())
		plains = append(plains, p)
	}
	for _, p := range plains {
		mustVerify(t, v, p, store.ScopeSCIM)
	}
	if n := len(v.verified); n != verifyCacheMax {
		t.Errorf("%d remembered, want the bound %d", n, verifyCacheMax)
	}
	clk.Advance(verifyCacheTTL)
	mustVerify(t, v, plains[len(plains)-1], store.ScopeSCIM)
	if n := len(v.verified); n != 1 {
		t.Errorf("%d remembered after the rest expired, want 1", n)
	}
}

// TestLastUsed: use is recorded at most once per lastUsedEvery, whether
// the token was read from the store or remembered.
func TestLastUsed(t *testing.T) {
	v, st, clk, plain, id := setup(t)
	mustVerify(t, v, plain, store.ScopeSCIM)
	first := clk.Now()
	for range 3 {
		clk.Advance(verifyCacheTTL / 2)
		mustVerify(t, v, plain, store.ScopeSCIM)
	}
	if _, updates := st.counts(); updates != 1 {
		t.Errorf("%d LastUsed writes within %s, want 1", updates, lastUsedEvery)
	}
	clk.Advance(lastUsedEvery)
	mustVerify(t, v, plain, store.ScopeSCIM)
	got, _ := st.GetToken(t.Context(), id)
	if _, updates := st.counts(); updates != 2 || !got.LastUsed.After(first) {
		t.Errorf("%d LastUsed writes, last used %v: want 2, after %v", updates, got.LastUsed, first)
	}
}

// TestVerifyConcurrent exercises the cache under the race detector.
func TestVerifyConcurrent(t *testing.T) {
	v, _, clk, plain, id := setup(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				switch {
				case g == 0 && i%50 == 0:
					v.Forget(id)
				case g == 1 && i%20 == 0:
					clk.Advance(verifyCacheTTL / 3)
				}
				if _, err := v.Verify(context.Background(), plain, store.ScopeSCIM); err != nil {
					t.Errorf("verify: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}
