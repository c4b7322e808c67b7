package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// The forms that make a secret (the Tokens page's create form, the Kiosks
// page's enrollment code form) carry a key of their own, new on every
// load of the page, as the grant form does (siteData.GrantKey): sent
// twice (a double click, the browser sending it again when its answer did
// not arrive), such a form made two secrets, and the page showed the
// second only, leaving a live token or enrollment code nobody saw. The
// key is remembered where the grant form's is (store.GrantKeyOps, for
// lifecycle.GrantKeyLifetime), with the ID of what it made in the grant's
// place, under a name of its kind ("token-form:KEY"), so that it is
// never taken for a grant form's key: no form's key holds a ':'
// (checkFormKey), so none is another's under its prefix.

// Kinds of secret forms, the prefix of their stored keys.
const (
	tokenForm = "token-form:"
	codeForm  = "code-form:"
)

// errFormKeyReused is formMade's answer for a key its caller sent before
// with other values.
var errFormKeyReused = errors.New("form key sent before with other values")

// errFormMadeBefore stops the transaction of a secret form whose key made
// its secret before: the second of two requests racing.
var errFormMadeBefore = errors.New("the form's key made its secret before")

// secretFormKey reads the optional key of a secret form of kind (the
// page's "once" field) as grantFormKey reads a grant form's: nil without
// one (a script, an older page: every request makes a secret), a 400 for
// a key the console could not have made. fs are the form's values, whose
// fingerprint tells a form sent again from one changed since.
func secretFormKey(v *viewer, kind, key string, fs []string) (*lifecycle.GrantRequest, error) {
	k, err := grantFormKey(v, key, fs)
	if k == nil || err != nil {
		return nil, err
	}
	k.Key = kind + k.Key
	return k, nil
}

// formMade returns the stored key k's form made something with, read
// through ops at now: its GrantID is the ID of what it made. ErrNotFound
// if it made nothing within lifecycle.GrantKeyLifetime; errFormKeyReused
// if it was sent with other values.
func formMade(ctx context.Context, ops store.Ops, k lifecycle.GrantRequest, now time.Time) (store.GrantKey, error) {
	got, err := ops.GetGrantKey(ctx, k.Caller, k.Key)
	if err != nil {
		return store.GrantKey{}, err
	}
	// Forgotten, though not yet deleted (keepFormKey deletes them).
	if got.Created.Before(now.Add(-lifecycle.GrantKeyLifetime)) {
		return store.GrantKey{}, fmt.Errorf("form key of %s: %w", k.Caller, store.ErrNotFound)
	}
	if !bytes.Equal(got.Fingerprint, k.Fingerprint) {
		return got, fmt.Errorf("form key of %s: %w", k.Caller, errFormKeyReused)
	}
	return got, nil
}

// keepFormKey stores key k for id, what its form made at now, in the
// transaction that made it, first forgetting the keys older than
// lifecycle.GrantKeyLifetime as a grant's transaction does. Two requests
// with one key cannot both keep it: the second's transaction, which
// starts after the first's commit, finds it (formMade), or fails with
// store.ErrConflict and makes nothing.
func keepFormKey(ctx context.Context, tx store.Ops, k lifecycle.GrantRequest, id string, now time.Time) error {
	if _, err := tx.DeleteGrantKeys(ctx, now.Add(-lifecycle.GrantKeyLifetime)); err != nil {
		return err
	}
	return tx.CreateGrantKey(ctx, store.GrantKey{Caller: k.Caller, Key: k.Key, Fingerprint: k.Fingerprint, GrantID: id, Created: now})
}
