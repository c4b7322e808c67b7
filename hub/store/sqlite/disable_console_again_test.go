package sqlite

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestDisableDisabledConsoleAccount: store.DisableConsoleAccount on an
// account disabled already is store.ErrAccountDisabled and changes
// nothing: the account keeps the time it was disabled at (which the
// console shows and an audit reads), its version and its modified time.
func TestDisableDisabledConsoleAccount(t *testing.T) {
	ctx := t.Context()
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	if _, err := db.CreateConsoleAccount(ctx, store.ConsoleAccount{ID: "acct-x", Name: "xena", Role: store.ConsoleAdmin,
		WebAuthnID: []byte("handle-x"), CreatedBy: "test", Created: t0, Modified: t0}); err != nil {
		t.Fatal(err)
	}
	disable := func(at time.Time) error {
		return db.InTx(ctx, func(tx store.Ops) error {
			_, _, err := store.DisableConsoleAccount(ctx, tx, "acct-x", at)
			return err
		})
	}
	if err := disable(t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	before, err := db.GetConsoleAccount(ctx, "acct-x")
	if err != nil {
		t.Fatal(err)
	}

	if err := disable(t0.Add(2 * time.Hour)); !errors.Is(err, store.ErrAccountDisabled) {
		t.Fatalf("disable again: %v, want ErrAccountDisabled", err)
	}
	after, err := db.GetConsoleAccount(ctx, "acct-x")
	if err != nil {
		t.Fatal(err)
	}
	if !after.Disabled.Equal(t0.Add(time.Hour)) || !after.Modified.Equal(before.Modified) || after.Version != before.Version {
		t.Errorf("after disabling again: disabled %v, modified %v, version %d; want %v, %v, %d",
			after.Disabled, after.Modified, after.Version, t0.Add(time.Hour), before.Modified, before.Version)
	}
}
