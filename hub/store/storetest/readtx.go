package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// testReadTx: every read inside InReadTx sees the store as it was at the
// first one, though every write method commits outside it meanwhile; those
// writes do not wait for the read transaction; a write through tx fails
// and changes nothing; fn's error comes back as is.
func testReadTx(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	before := takeSnapshot(t, s)
	var first, later snapshot
	var writeErr, txWriteErr error
	err := s.InReadTx(ctx, func(tx store.Ops) error {
		first = takeSnapshot(t, tx)
		// A backend that held writers back for the read transaction
		// would make this write wait for fn, which waits for the write.
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, writeErr = s.UpdateUser(wctx, "u2", func(u store.User) (store.User, error) {
			u.DisplayName = "changed outside"
			return u, nil
		})
		if writeErr != nil {
			return nil
		}
		writeEverything(t, s)
		later = takeSnapshot(t, tx)
		_, txWriteErr = tx.CreateUser(ctx, newUser("in-read-tx", "inreadtx", 1))
		return nil
	})
	if err != nil {
		t.Fatalf("InReadTx: %v", err)
	}
	if writeErr != nil {
		t.Fatalf("a write outside the read transaction, while it was open: %v", writeErr)
	}
	diff(t, "first reads in the read transaction", before, first)
	diff(t, "reads after writes committed outside it", before, later)
	if txWriteErr == nil {
		t.Errorf("CreateUser through a read transaction succeeded; want an error")
	}
	_, err = s.GetUser(ctx, "in-read-tx")
	wantErr(t, "user created through a read transaction", err, store.ErrNotFound)

	// The writes are there for reads after it, and for a new one.
	after := takeSnapshot(t, s)
	if u := must[store.User](t, "get u2")(s.GetUser(ctx, "u2")); u.DisplayName != "changed outside" {
		t.Errorf("u2 after the read transaction = %+v; want the write made during it", u)
	}
	var next snapshot
	if err := s.InReadTx(ctx, func(tx store.Ops) error { next = takeSnapshot(t, tx); return nil }); err != nil {
		t.Fatalf("second InReadTx: %v", err)
	}
	diff(t, "a later read transaction", after, next)

	// fn's error comes back unchanged; a panic in fn goes on up, and the
	// store is usable afterwards.
	errRead := fmt.Errorf("render failed: %w", errFn)
	if err := s.InReadTx(ctx, func(store.Ops) error { return errRead }); !errors.Is(err, errFn) {
		t.Errorf("InReadTx error = %v, want %v", err, errRead)
	}
	type boom struct{ msg string }
	recovered := func() (p any) {
		defer func() { p = recover() }()
		s.InReadTx(ctx, func(tx store.Ops) error { //nolint:errcheck // it panics
			takeSnapshot(t, tx)
			panic(boom{"fn panicked"})
		})
		return nil
	}()
	if recovered != (boom{"fn panicked"}) {
		t.Fatalf("InReadTx did not re-panic with fn's value: recovered %#v", recovered)
	}
	createUsers(t, s, newUser("after-panic", "afterpanic", 2))
	if err := s.InReadTx(ctx, func(tx store.Ops) error { next = takeSnapshot(t, tx); return nil }); err != nil {
		t.Fatalf("InReadTx after a panic: %v", err)
	}
	diff(t, "a read transaction after a panic", takeSnapshot(t, s), next)
}
