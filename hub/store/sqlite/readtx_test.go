package sqlite

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestReadOnlyInReadTx: a ReadOnly opened beside a running hub reads one
// snapshot inside InReadTx while the hub commits, and refuses writes
// through it with ErrReadOnly. (DB's InReadTx is in the conformance
// suite.)
func TestReadOnlyInReadTx(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hub.db")
	db := openTest(t, path)
	if _, err := db.CreateUser(ctx, store.User{ID: "u1", UserName: "ana", State: store.UserActive}); err != nil {
		t.Fatal(err)
	}
	r, err := OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var before, during []store.User
	var writeErr error
	err = r.InReadTx(ctx, func(tx store.Ops) error {
		if before, _, err = tx.ListUsers(ctx, store.UserQuery{}); err != nil {
			return err
		}
		if _, err := db.CreateUser(ctx, store.User{ID: "u2", UserName: "ben", State: store.UserActive}); err != nil {
			return err
		}
		if during, _, err = tx.ListUsers(ctx, store.UserQuery{}); err != nil {
			return err
		}
		_, writeErr = tx.CreateUser(ctx, store.User{ID: "u3", UserName: "cy", State: store.UserActive})
		return nil
	})
	if err != nil {
		t.Fatalf("InReadTx: %v", err)
	}
	if len(before) != 1 || len(during) != 1 {
		t.Errorf("users read in the transaction: %d, then %d after the hub created one; want 1 and 1", len(before), len(during))
	}
	if !errors.Is(writeErr, ErrReadOnly) {
		t.Errorf("a write through the read transaction: %v; want ErrReadOnly", writeErr)
	}
	if users, _, err := r.ListUsers(ctx, store.UserQuery{}); err != nil || len(users) != 2 {
		t.Errorf("users after the transaction: %d, %v; want 2 (the hub's write)", len(users), err)
	}
}
