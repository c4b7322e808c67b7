package lifecycle_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// grantRefusingStore fails every grant a transaction writes: a disk
// error, a constraint the store enforces.
type grantRefusingStore struct{ store.Store }

type grantRefusingOps struct{ store.Ops }

var errGrantRefused = errors.New("injected: the grant cannot be written")

func (s grantRefusingStore) InTx(ctx context.Context, fn func(store.Ops) error) error {
	return s.Store.InTx(ctx, func(tx store.Ops) error { return fn(grantRefusingOps{tx}) })
}

func (grantRefusingOps) CreateGrant(context.Context, store.Grant) (store.Grant, error) {
	return store.Grant{}, errGrantRefused
}

// TestGrantStoreErrorNamesGrant: when the store fails to write a grant,
// the error still says which grant (its role and site), with the store's
// error wrapped. Before, the grant was overwritten by the blank one the
// store returned, and the error read "grant  at : ...".
func TestGrantStoreErrorNamesGrant(t *testing.T) {
	ctx := t.Context()
	st, log := openStore(t)
	eng, err := lifecycle.New(lifecycle.Config{Store: grantRefusingStore{st}, Audit: log, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateSite(ctx, store.Site{ID: "north", Name: "North", TimeZone: "UTC", Created: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateUser(ctx, store.User{ID: "u-ann", UserName: "ann", Active: true, State: store.UserActive, Sites: []string{"north"}, Created: t0, Modified: t0}); err != nil {
		t.Fatal(err)
	}
	_, err = eng.GrantAccess(ctx, lifecycle.Actor{Name: "t", System: "api"},
		store.Grant{UserID: "u-ann", Role: "Nurse", Site: "north", Reason: "cover", End: t0.Add(4 * time.Hour)})
	if !errors.Is(err, errGrantRefused) {
		t.Fatalf("grant with the store refusing it: %v, want the store's error", err)
	}
	// The site as the hub knows it (knownSite), which the grant was
	// about to be stored at.
	if want := "grant Nurse at North: " + errGrantRefused.Error(); err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}
