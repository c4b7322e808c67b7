package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// GrantKeyLifetime is how long the idempotency key of a grant request is
// remembered: long enough for a script to retry a request whose answer
// it lost, short enough that the keys kept stay few.
const GrantKeyLifetime = 24 * time.Hour

// ErrKeyReused refuses a grant request whose idempotency key its caller
// sent before with another body (HTTP 422): a retry sends the same
// request, so it is a mistake, and neither answer would be right.
var ErrKeyReused = errors.New("idempotency key reused with another request")

// GrantRequest names one request to make a grant, for GrantAccessOnce: the
// idempotency key its caller sent, and what it asked for.
type GrantRequest struct {
	// Caller is who sent it: the API token ("token:ID") or the console
	// account (its actor name). The same key of two callers is two keys.
	Caller string
	Key    string
	// Fingerprint is the SHA-256 of the request's body.
	Fingerprint []byte
}

// GrantMade returns the grant that request k made, if its caller sent k's
// key within GrantKeyLifetime: ErrNotFound if it did not (or the grant
// request failed, which keeps no key), ErrKeyReused if it sent the key
// with another body. The grant is as it is now: revoked, or over, since.
func (e *Engine) GrantMade(ctx context.Context, k GrantRequest) (store.Grant, error) {
	return grantMade(ctx, e.st, k, e.now().UTC())
}

// grantMade is GrantMade read through tx at now.
func grantMade(ctx context.Context, tx store.Ops, k GrantRequest, now time.Time) (store.Grant, error) {
	got, err := tx.GetGrantKey(ctx, k.Caller, k.Key)
	if err != nil {
		return store.Grant{}, err
	}
	// Forgotten, though not yet deleted: keys are deleted when the next
	// grant with a key is made.
	if got.Created.Before(now.Add(-GrantKeyLifetime)) {
		return store.Grant{}, fmt.Errorf("grant key of %s: %w", k.Caller, store.ErrNotFound)
	}
	if !bytes.Equal(got.Fingerprint, k.Fingerprint) {
		return store.Grant{}, fmt.Errorf("%w: Idempotency-Key %q was sent at %s with another body, and made grant %s: a retry sends the same body; send a new request with a new key",
			ErrKeyReused, k.Key, got.Created.Format(time.RFC3339), got.GrantID)
	}
	return tx.GetGrant(ctx, got.GrantID)
}

// GrantAccessOnce is GrantAccessAs for request k: the grant it makes is
// made once for k's caller and key, however often the request is sent
// within GrantKeyLifetime. The key is stored in the transaction that
// makes the grant, which first deletes the keys older than
// GrantKeyLifetime. If the caller's key made a grant already (a retry that
// raced the first request, which committed first), that grant is
// returned as it is now with replayed true, and nothing is made or
// audited; ErrKeyReused if that request had another body. A request that
// fails stores no key. The caller looks the key up with GrantMade first,
// before checking the request: a retry must get the grant back even when
// the request would not be granted now (its end has passed since).
func (e *Engine) GrantAccessOnce(ctx context.Context, a Actor, self Self, k GrantRequest, g store.Grant) (made store.Grant, replayed bool, err error) {
	return e.grantAccess(ctx, a, self, nil, &k, g)
}

// grantOnce is what the transaction of a grant made with an idempotency
// key does before the grant, inside it: the old keys deleted, and the
// grant request k made already, if it made one (ErrNotFound if not).
func grantOnce(ctx context.Context, tx store.Ops, k GrantRequest, now time.Time) (store.Grant, error) {
	if _, err := tx.DeleteGrantKeys(ctx, now.Add(-GrantKeyLifetime)); err != nil {
		return store.Grant{}, err
	}
	return grantMade(ctx, tx, k, now)
}

// keepGrantKey stores request k's key for grant g, made at now, in the
// transaction that made it.
func keepGrantKey(ctx context.Context, tx store.Ops, k GrantRequest, g store.Grant, now time.Time) error {
	return tx.CreateGrantKey(ctx, store.GrantKey{Caller: k.Caller, Key: k.Key, Fingerprint: k.Fingerprint, GrantID: g.ID, Created: now})
}
