package storetest

import (
	"errors"
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

// testGrantKeys: a key is stored once per caller (a second CreateGrantKey
// of the caller's key is ErrConflict, inside a transaction too, which then
// keeps nothing of it), read back as stored, and forgotten by
// DeleteGrantKeys once older than its bound, and only then.
func testGrantKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	k := store.GrantKey{Caller: "token:a", Key: "k1", Fingerprint: []byte{1, 2, 3}, GrantID: "gr1", Created: at(0)}
	if err := s.CreateGrantKey(ctx, k); err != nil {
		t.Fatalf("create: %v", err)
	}
	diff(t, "get", k, must[store.GrantKey](t, "get")(s.GetGrantKey(ctx, "token:a", "k1")))
	if _, err := s.GetGrantKey(ctx, "token:b", "k1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another caller's key: %v, want ErrNotFound", err)
	}
	if _, err := s.GetGrantKey(ctx, "token:a", "K1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the key in another case: %v, want ErrNotFound (keys are compared as sent)", err)
	}
	again := k
	again.GrantID, again.Fingerprint = "gr2", []byte{4}
	if err := s.CreateGrantKey(ctx, again); !errors.Is(err, store.ErrConflict) {
		t.Errorf("the caller's key again: %v, want ErrConflict", err)
	}
	err := s.InTx(ctx, func(tx store.Ops) error {
		if _, err := tx.CreateGrant(ctx, store.Grant{ID: "gr2", UserID: "u1", Role: "Lead", Start: at(0), End: at(10), Created: at(0)}); err != nil {
			return err
		}
		return tx.CreateGrantKey(ctx, again)
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("the caller's key again in a transaction: %v, want ErrConflict", err)
	}
	if _, err := s.GetGrant(ctx, "gr2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the grant of the refused key's transaction: %v, want it rolled back", err)
	}
	diff(t, "get after the conflict", k, must[store.GrantKey](t, "get")(s.GetGrantKey(ctx, "token:a", "k1")))

	other := store.GrantKey{Caller: "token:b", Key: "k1", Fingerprint: []byte{1, 2, 3}, GrantID: "gr3", Created: at(2)}
	if err := s.CreateGrantKey(ctx, other); err != nil {
		t.Fatalf("another caller's same key: %v", err)
	}
	if n := must[int](t, "delete none")(s.DeleteGrantKeys(ctx, at(0))); n != 0 {
		t.Errorf("DeleteGrantKeys(at 0) removed %d, want 0: a key created at the bound is kept", n)
	}
	if n := must[int](t, "delete")(s.DeleteGrantKeys(ctx, at(1))); n != 1 {
		t.Errorf("DeleteGrantKeys(at 1) removed %d, want 1", n)
	}
	if _, err := s.GetGrantKey(ctx, "token:a", "k1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted key: %v, want ErrNotFound", err)
	}
	diff(t, "kept key", other, must[store.GrantKey](t, "get kept")(s.GetGrantKey(ctx, "token:b", "k1")))
	if err := s.CreateGrantKey(ctx, k); err != nil {
		t.Errorf("the deleted key again: %v", err)
	}
}
