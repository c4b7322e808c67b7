package store

import (
	"context"
	"time"
)

// GrantKey is the idempotency key (the Idempotency-Key request header) of
// a request that made a just-in-time grant, remembered so that the same
// request sent again, by a script that retries after its answer was lost,
// gets that grant back instead of making a second one.
type GrantKey struct {
	// Caller is who sent the request: the API token or console account
	// (hub/lifecycle.GrantRequest). A key is one caller's: two callers
	// that happen to pick the same key never see each other's grants.
	Caller string
	Key    string
	// Fingerprint is the SHA-256 of the request's body: a key sent again
	// with another body is a mistake, not a retry.
	Fingerprint []byte
	// GrantID is the grant the request made; for the key of a console
	// form that makes a secret (its Key begins "token-form:" or
	// "code-form:"), the ID of the token or the hash of the enrollment
	// code it made.
	GrantID string
	Created time.Time
}

// GrantKeyOps remembers the idempotency keys of grant requests. The key
// and the grant it made are written in one transaction, so a crash keeps
// both or neither, and a caller's key is unique, so two requests with one
// key cannot both make a grant: the second sees the first's key, or its
// CreateGrantKey is ErrConflict.
type GrantKeyOps interface {
	// GetGrantKey returns the key caller sent as key; ErrNotFound if
	// there is none (DeleteGrantKeys may have removed it).
	GetGrantKey(ctx context.Context, caller, key string) (GrantKey, error)
	// CreateGrantKey stores k; ErrConflict if k.Caller has k.Key already.
	CreateGrantKey(ctx context.Context, k GrantKey) error
	// DeleteGrantKeys forgets the keys created before before, and returns
	// how many it removed. Keys are remembered for a while only (a day):
	// without it, the table would grow with every grant made with a key.
	DeleteGrantKeys(ctx context.Context, before time.Time) (int, error)
}
