// Package token owns the hub's API bearer tokens (SCIM provisioning, the
// admin API and metrics): making them, verifying them, their expiry and
// their rotation.
//
// A token reads "sgt_<id>_<secret>": the id is public and finds the stored
// record, the secret is 256 random bits of which only a SHA-256 hash is
// stored. Presented secrets are compared with the stored hash in constant
// time. The plaintext exists once, when the token is created. Every token
// made here expires (at most two years on); rotation hands out a successor
// and lets the old token overlap it for a bounded time (expiry.go).
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
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/shiftgate/shiftgate/hub/store"
)

const (
	prefix    = "sgt_"
	idBytes   = 8
	idLen     = 2 * idBytes
	secretLen = 43 // 32 bytes, unpadded base64url
)

// ErrInvalid means the presented token is malformed, unknown, revoked,
// expired, wrong or of another scope. Callers answer 401 without saying
// which.
var ErrInvalid = errors.New("invalid token")

// New makes a token for name and scope that expires after the scope's
// default lifetime (DefaultLifetimeOf). It returns the plaintext, to show
// once, and the record to store.
func New(name, scope string, now time.Time) (string, store.Token, error) {
	return NewExpiring(name, scope, now, time.Time{})
}

// NewExpiring is New with the expiry given: the first instant at which
// the token is refused, after now and at most MaxLifetimeYears later
// (CheckExpiry). The zero time is the scope's default. The name must pass
// CheckName.
func NewExpiring(name, scope string, now, expires time.Time) (string, store.Token, error) {
	if err := checkScope(scope); err != nil {
		return "", store.Token{}, err
	}
	if err := CheckName(name); err != nil {
		return "", store.Token{}, err
	}
	return mint(name, scope, now, expires)
}

func checkScope(scope string) error {
	if scope != store.ScopeSCIM && scope != store.ScopeAdmin && scope != store.ScopeMetrics {
		return fmt.Errorf("unknown token scope %q: use %s, %s or %s", scope, store.ScopeSCIM, store.ScopeAdmin, store.ScopeMetrics)
	}
	return nil
}

// MaxNameLen is the most characters a token's name may have.
const MaxNameLen = 100

// CheckName reports whether name may name a new token: not blank, at most
// MaxNameLen characters of UTF-8 text, no control or format characters.
// The name is shown in places that do not escape it for you: the
// terminal of whoever runs token list (an escape sequence in a name made
// on the console could rewrite or hide rows there), log lines and metric
// labels (which take UTF-8 only).
func CheckName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return errors.New("a token needs a name that says who uses it, e.g. okta-prod")
	case !utf8.ValidString(name):
		return errors.New("a token's name must be UTF-8 text")
	case utf8.RuneCountInString(name) > MaxNameLen:
		return fmt.Errorf("a token's name has at most %d characters", MaxNameLen)
	case strings.ContainsFunc(name, store.Hidden):
		return errors.New("a token's name must not hold control characters (tabs, line breaks, escape sequences) or invisible formatting characters")
	}
	return nil
}

// mint is NewExpiring without the checks of the scope and the name,
// which its callers make: a rotation passes on a name stored before names
// were checked.
func mint(name, scope string, now, expires time.Time) (string, store.Token, error) {
	if expires.IsZero() {
		expires = now.Add(DefaultLifetimeOf(scope))
	}
	if err := CheckExpiry(expires, now); err != nil {
		return "", store.Token{}, fmt.Errorf("expiry %s: %w", expires.UTC().Format(time.RFC3339), err)
	}
	raw := make([]byte, idBytes+32)
	if _, err := rand.Read(raw); err != nil {
		return "", store.Token{}, fmt.Errorf("new token: %w", err)
	}
	id := hex.EncodeToString(raw[:idBytes])
	secret := base64.RawURLEncoding.EncodeToString(raw[idBytes:])
	sum := sha256.Sum256([]byte(secret))
	t := store.Token{ID: id, Name: name, Scope: scope, Hash: sum[:], Created: now.UTC(), Expires: expires.UTC()}
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
//
// It remembers each token it verified for verifyCacheTTL, so that a busy
// client costs one store read per token per TTL instead of one per request.
// The secret, the revocation, the expiry and the scope are still checked
// on every request against the remembered record; only the store read is
// saved, so a remembered token is refused from the instant it expires.
//
// A token refused because it expired is logged at warn level (ID and name,
// never the secret), at most once per token per warnExpiredEvery, so that
// the operator learns why an identity provider stopped provisioning.
type Verifier struct {
	st  store.Store
	now func() time.Time
	log *slog.Logger

	mu       sync.Mutex
	lastSeen map[string]time.Time // token id → last LastUsed written
	verified map[string]verified  // token id → record read at a successful verification
	warned   map[string]time.Time // token id → last warning that it was refused as expired
	// forgets counts Forget calls. A verification that read the store
	// before a Forget does not remember what it read: the record may be
	// the one the revocation just replaced.
	forgets uint64
}

// verified is a token record as read from the store, and when.
type verified struct {
	t    store.Token
	read time.Time
}

// verifyCacheTTL is how long a successful verification is remembered.
// Within it, requests with the same token do not read the store, which on a
// busy SCIM client is most of the cost of verifying. The price is that a
// change made to the token by another process (shiftgate-hub token revoke
// writing the same database file) takes effect in this process up to this
// long later. Revocations made through this process (the console) call
// Forget and take effect at once.
const verifyCacheTTL = 2 * time.Second

// verifyCacheMax bounds the remembered verifications. Only tokens that
// verified are remembered, so the bound is the number of live tokens in
// practice; expired entries are pruned when it is reached.
const verifyCacheMax = 1024

// lastUsedEvery limits LastUsed writes to one per token per interval, so
// that verifying is a read on the hot path.
const lastUsedEvery = time.Minute

// warnExpiredEvery limits the warnings about an expired token to one per
// token per interval: an identity provider retries all day.
const warnExpiredEvery = time.Hour

// NewVerifier returns a Verifier reading st, on the clock now (default
// time.Now), logging refusals of expired tokens to log (default none).
func NewVerifier(st store.Store, now func() time.Time, log *slog.Logger) *Verifier {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Verifier{st: st, now: now, log: log, lastSeen: map[string]time.Time{}, verified: map[string]verified{}, warned: map[string]time.Time{}}
}

// Verify returns the token record for presented if it is a valid,
// unrevoked, unexpired token of one of scopes, and ErrInvalid otherwise;
// it records the use of a valid one (Used). The record may be up to
// verifyCacheTTL old (its LastUsed, in particular); its expiry is checked
// against now on every call.
func (v *Verifier) Verify(ctx context.Context, presented string, scopes ...string) (store.Token, error) {
	t, err := v.Check(ctx, presented, scopes...)
	if err != nil {
		return store.Token{}, err
	}
	v.Used(ctx, t)
	return t, nil
}

// Check is Verify without recording the use, for a caller that may still
// refuse a valid token on grounds of its own (the admin API refuses a
// token whose maker may not act) and calls Used once it has accepted it:
// a refused request is no use, and the Tokens page and token list would
// otherwise show a token that no longer acts as recently used.
func (v *Verifier) Check(ctx context.Context, presented string, scopes ...string) (store.Token, error) {
	id, secret, ok := parse(presented)
	if !ok {
		return store.Token{}, ErrInvalid
	}
	now := v.now()
	t, cached, forgets := v.cached(id, now)
	if !cached {
		var err error
		t, err = v.st.GetToken(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return store.Token{}, ErrInvalid
		}
		if err != nil {
			return store.Token{}, fmt.Errorf("verify token %s: %w", id, err)
		}
	}
	sum := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(sum[:], t.Hash) != 1 || !t.Revoked.IsZero() {
		return store.Token{}, ErrInvalid
	}
	if Expired(t, now) {
		// Only the holder of the secret gets here: the warning cannot be
		// set off by someone who knows no more than a token's ID.
		v.warnExpired(ctx, t, now)
		return store.Token{}, ErrInvalid
	}
	if !slices.Contains(scopes, t.Scope) {
		return store.Token{}, ErrInvalid
	}
	if !cached {
		v.remember(t, now, forgets)
	}
	return t, nil
}

// Used records that t, returned by Check, was accepted for a request
// (its LastUsed), at most once per lastUsedEvery.
func (v *Verifier) Used(ctx context.Context, t store.Token) {
	v.touch(ctx, t, v.now())
}

// Forget drops what the Verifier remembers of token id, so that a change
// just committed to it (a revocation) applies to the next request. Every
// in-process change to a token must call it after the change commits.
func (v *Verifier) Forget(id string) {
	v.mu.Lock()
	delete(v.verified, id)
	v.forgets++
	v.mu.Unlock()
}

// cached returns the remembered record of token id if it is fresh at now,
// and otherwise the Forget count to pass to remember after reading the
// store.
func (v *Verifier) cached(id string, now time.Time) (store.Token, bool, uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.verified[id]
	if ok && fresh(e.read, now) {
		return e.t, true, 0
	}
	return store.Token{}, false, v.forgets
}

// remember keeps t, read from the store at now (or just after) and after
// forgets Forget calls, unless a Forget came since.
func (v *Verifier) remember(t store.Token, now time.Time, forgets uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.forgets != forgets {
		return
	}
	if _, ok := v.verified[t.ID]; !ok && len(v.verified) >= verifyCacheMax {
		for id, e := range v.verified {
			if !fresh(e.read, now) {
				delete(v.verified, id)
			}
		}
		if len(v.verified) >= verifyCacheMax {
			return
		}
	}
	v.verified[t.ID] = verified{t: t, read: now}
}

// fresh reports whether a record read at read may still be used at now. A
// clock that went back does not make a record younger.
func fresh(read, now time.Time) bool {
	age := now.Sub(read)
	return age >= 0 && age < verifyCacheTTL
}

// warnExpired logs that t was refused as expired, unless it did within
// warnExpiredEvery. A clock that went back warns again.
func (v *Verifier) warnExpired(ctx context.Context, t store.Token, now time.Time) {
	v.mu.Lock()
	if last, ok := v.warned[t.ID]; ok && now.Sub(last) < warnExpiredEvery && !now.Before(last) {
		v.mu.Unlock()
		return
	}
	if len(v.warned) >= verifyCacheMax {
		for id, at := range v.warned {
			if now.Sub(at) >= warnExpiredEvery || now.Before(at) {
				delete(v.warned, id)
			}
		}
		if len(v.warned) >= verifyCacheMax {
			clear(v.warned) // a flood of expired tokens: warn again rather than grow
		}
	}
	v.warned[t.ID] = now
	v.mu.Unlock()
	fix := "issue its successor and give it to the token's user: shiftgate-hub token rotate --id " + t.ID
	if t.ReplacedBy != "" {
		// Said only of a successor still in use: one that was revoked
		// (Rotate then allows another) is no advice.
		if s, err := v.st.GetToken(ctx, t.ReplacedBy); err == nil && s.Revoked.IsZero() {
			fix = "it was rotated to token " + t.ReplacedBy + ": give that token's secret to its user"
		} else if err == nil || errors.Is(err, store.ErrNotFound) {
			fix = "its successor " + t.ReplacedBy + " was revoked: issue another and give it to the token's user: shiftgate-hub token rotate --id " + t.ID
		} else {
			fix = "it was rotated to token " + t.ReplacedBy + " (whose state could not be read: " + err.Error() + ")"
		}
	}
	v.log.Warn("API token refused: it has expired", "token_id", t.ID, "token_name", t.Name, "scope", t.Scope,
		"expired", t.Expires.UTC().Format(time.RFC3339), "fix", fix)
}

// touch records use of the token, at most once per lastUsedEvery.
func (v *Verifier) touch(ctx context.Context, t store.Token, now time.Time) {
	now = now.UTC()
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

// Actor names a token in the audit log without revealing its secret:
// "token:<id> (<name>)", followed, for a token made on the console, by
// " made by console account <account id>" (store.Token.CreatedBy), so
// that what a token does is traced to the person who was shown its
// secret. It never changes for a token: an audit search by actor finds
// all the token did.
func Actor(t store.Token) string {
	if t.CreatedBy != "" {
		return fmt.Sprintf("token:%s (%s) made by console account %s", t.ID, t.Name, t.CreatedBy)
	}
	return fmt.Sprintf("token:%s (%s)", t.ID, t.Name)
}

// ActorID returns the ID of the token whose Actor is name, and false when
// name is not one. Only the ID is read: the rest is the token's name,
// which its maker chose, and what the name says is not to be trusted.
func ActorID(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, "token:")
	if !ok || len(rest) < idLen+2 || rest[idLen:idLen+2] != " (" {
		return "", false
	}
	id := rest[:idLen]
	if _, err := hex.DecodeString(id); err != nil || strings.ToLower(id) != id {
		return "", false
	}
	return id, true
}
