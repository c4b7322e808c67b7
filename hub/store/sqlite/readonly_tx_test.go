package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestReadOnlyInTx: a ReadOnly is a store.Store, for code written against
// one (the governance reports), and its InTx refuses without running fn,
// so nothing such code tries to write reaches the file.
func TestReadOnlyInTx(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := OpenReadOnly(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var st store.Store = r
	ran := false
	err = st.InTx(t.Context(), func(store.Ops) error { ran = true; return nil })
	if !errors.Is(err, ErrReadOnly) || ran {
		t.Errorf("InTx = %v, fn ran: %v; want ErrReadOnly without running fn", err, ran)
	}
	if _, err := st.ListTokens(context.Background()); err != nil {
		t.Errorf("a read through the store.Store: %v", err)
	}
}
