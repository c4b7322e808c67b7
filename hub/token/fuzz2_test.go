package token

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// FuzzVerify presents arbitrary bearer values, as every admin, SCIM and
// metrics request may: Verify never panics, never fails with anything but
// ErrInvalid (a 401; any other error is a 5xx), and accepts exactly the
// plaintext it issued, in its scope. A value that mutates the real token
// (the fuzzer starts from it) is refused.
func FuzzVerify(f *testing.F) {
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	st := newFakeStore()
	plain, tok, err := New("okta", store.ScopeSCIM, now)
	if err != nil {
		f.Fatal(err)
	}
	st.put(tok)
	f.Add(plain, uint8(0))
	f.Add(plain, uint8(1))
	f.Add(strings.ToUpper(plain), uint8(0))
	f.Add(plain+" ", uint8(0))
	f.Add(prefix+tok.ID+"_", uint8(0))
	f.Add(prefix+strings.Repeat("\xff", idLen)+"_"+strings.Repeat("a", secretLen), uint8(0))
	f.Add("", uint8(0))
	scopes := []string{store.ScopeSCIM, store.ScopeAdmin, store.ScopeMetrics}
	v := NewVerifier(st, func() time.Time { return now }, nil)
	f.Fuzz(func(t *testing.T, presented string, scope uint8) {
		sc := scopes[int(scope)%len(scopes)]
		got, err := v.Verify(context.Background(), presented, sc)
		want := presented == plain && sc == store.ScopeSCIM
		switch {
		case err != nil && !errors.Is(err, ErrInvalid):
			t.Fatalf("Verify(%q, %s): %v, want ErrInvalid", presented, sc, err)
		case want && err != nil:
			t.Fatalf("the issued token is refused in its scope: %v", err)
		case !want && err == nil:
			t.Fatalf("Verify(%q, %s) accepted token %s", presented, sc, got.ID)
		case err == nil && got.ID != tok.ID:
			t.Fatalf("accepted as token %q, want %q", got.ID, tok.ID)
		}
		if id, secret, ok := parse(presented); ok && (len(id) != idLen || len(secret) != secretLen) {
			t.Fatalf("parse(%q) = %q, %q", presented, id, secret)
		}
	})
}
