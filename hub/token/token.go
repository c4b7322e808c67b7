// Package token owns the hub's API bearer tokens (SCIM provisioning and
// admin API).
//
// A token reads "sgt_<id>_<secret>": the id is public and finds the stored
// record, the secret is 256 random bits of which only a SHA-256 hash is
// stored. Presented secrets are compared with the stored hash in constant
// time. The plaintext exists once, when the token is created.
package token

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

const (
	prefix    = "sgt_"
	idBytes   = 8
	idLen     = 2 * idBytes
	secretLen = 43 // 32 bytes, unpadded base64url
)

// ErrInvalid means the presented token is malformed, unknown, revoked,
// wrong or of another scope. Callers answer 401 without saying which.
var ErrInvalid = errors.New("invalid token")

// New makes a token for name and scope. It returns the plaintext, to show
// once, and the record to store.
func New(name, scope string, now time.Time) (string, store.Token, error) {
	if scope != store.ScopeSCIM && scope != store.ScopeAdmin {
		return "", store.Token{}, fmt.Errorf("unknown token scope %q: use %s or %s", scope, store.ScopeSCIM, store.ScopeAdmin)
	}
	if strings.TrimSpace(name) == "" {
		return "", store.Token{}, errors.New("a token needs a name that says who uses it, e.g. okta-prod")
	}
	raw := make([]byte, idBytes+32)
	if _, err := rand.Read(raw); err != nil {
		return "", store.Token{}, fmt.Errorf("new token: %w", err)
	}
	id := hex.EncodeToString(raw[:idBytes])
	secret := base64.RawURLEncoding.EncodeToString(raw[idBytes:])
	sum := sha256.Sum256([]byte(secret))
	t := store.Token{ID: id, Name: name, Scope: scope, Hash: sum[:], Created: now.UTC()}
	return prefix + id + "_" + secret, t, nil
}

// parse splits a plaintext token into id and secret.
func parse(s string) (id, secret string, ok bool) {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok || len(rest) != idLen+1+secretLen || rest[idLen] != '_' {
		return "", "", false
	}
	return rest[:idLen], rest[idLen+1:], true
}

// Verifier checks presented tokens against the store.
type Verifier struct {
	st  store.Store
	now func() time.Time

	mu       sync.Mutex
	lastSeen map[string]time.Time // token id → last LastUsed written
}

// lastUsedEvery limits LastUsed writes to one per token per interval, so
// that verifying is a read on the hot path.
const lastUsedEvery = time.Minute

// NewVerifier returns a Verifier reading st.
func NewVerifier(st store.Store, now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	return &Verifier{st: st, now: now, lastSeen: map[string]time.Time{}}
}

// Verify returns the token record for presented if it is a valid, unrevoked
// token of scope, and ErrInvalid otherwise.
func (v *Verifier) Verify(ctx context.Context, presented, scope string) (store.Token, error) {
	id, secret, ok := parse(presented)
	if !ok {
		return store.Token{}, ErrInvalid
	}
	t, err := v.st.GetToken(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Token{}, ErrInvalid
	}
	if err != nil {
		return store.Token{}, fmt.Errorf("verify token: %w", err)
	}
	sum := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(sum[:], t.Hash) != 1 || !t.Revoked.IsZero() || t.Scope != scope {
		return store.Token{}, ErrInvalid
	}
	v.touch(ctx, t)
	return t, nil
}

// touch records use of the token, at most once per lastUsedEvery.
func (v *Verifier) touch(ctx context.Context, t store.Token) {
	now := v.now().UTC()
	v.mu.Lock()
	if now.Sub(v.lastSeen[t.ID]) < lastUsedEvery {
		v.mu.Unlock()
		return
	}
	v.lastSeen[t.ID] = now
	v.mu.Unlock()
	// Best effort: failing to note the use must not fail the request.
	_, _ = v.st.UpdateToken(ctx, t.ID, func(old store.Token) (store.Token, error) {
		old.LastUsed = now
		return old, nil
	})
}

// Actor names a token in the audit log without revealing its secret.
func Actor(t store.Token) string { return fmt.Sprintf("token:%s (%s)", t.ID, t.Name) }
