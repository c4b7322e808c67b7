package lifecycle_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest/clock"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// keyFixture is an engine on a store with a site north and an active
// user ann, and a settable clock.
type keyFixture struct {
	st    store.Store
	eng   *lifecycle.Engine
	clock *clock.Clock
}

func newKeyFixture(t *testing.T, wrap func(store.Store) store.Store) keyFixture {
	t.Helper()
	ctx := t.Context()
	st, log := openStore(t)
	if _, err := st.CreateSite(ctx, store.Site{ID: "north", Name: "north", TimeZone: "UTC", Created: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateUser(ctx, store.User{ID: "u-ann", UserName: "ann", Active: true, State: store.UserActive, Sites: []string{"south"}, Created: t0, Modified: t0}); err != nil {
		t.Fatal(err)
	}
	f := keyFixture{st: st, clock: clock.New(t0)}
	var through store.Store = st
	if wrap != nil {
		through = wrap(st)
	}
	eng, err := lifecycle.New(lifecycle.Config{Store: through, Audit: log, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f.eng = eng
	return f
}

var keyActor = lifecycle.Actor{Name: "token:k", System: "api"}

func annGrant(reason string) store.Grant {
	return store.Grant{UserID: "u-ann", Role: "Nurse", Site: "north", Reason: reason, End: t0.Add(48 * time.Hour)}
}

func keyRequest(key string, body string) lifecycle.GrantRequest {
	sum := make([]byte, 32)
	copy(sum, body)
	return lifecycle.GrantRequest{Caller: "token:k", Key: key, Fingerprint: sum}
}

// grantCreates counts ann's grant.create audit records.
func grantCreates(t *testing.T, st store.Store) int {
	t.Helper()
	recs, err := st.ListAudit(t.Context(), store.AuditQuery{Subject: "user:u-ann"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range recs {
		if r.Action == "grant.create" {
			n++
		}
	}
	return n
}

// TestGrantAccessOnceInTransaction: the key is checked inside the grant's
// transaction, with no lookup before it (as a retry racing the first
// request finds none): the second request with the key gets the first's
// grant, replayed, and makes and audits nothing; with another body it is
// ErrKeyReused.
func TestGrantAccessOnceInTransaction(t *testing.T) {
	ctx := t.Context()
	f := newKeyFixture(t, nil)
	first, replayed, err := f.eng.GrantAccessOnce(ctx, keyActor, nil, keyRequest("k1", "a"), annGrant("cover"))
	if err != nil || replayed {
		t.Fatalf("first: %v, replayed %v", err, replayed)
	}
	f.clock.Advance(time.Minute)
	again, replayed, err := f.eng.GrantAccessOnce(ctx, keyActor, nil, keyRequest("k1", "a"), annGrant("cover"))
	if err != nil || !replayed || again.ID != first.ID {
		t.Errorf("repeat: %+v, replayed %v, %v; want grant %s replayed", again, replayed, err, first.ID)
	}
	if _, _, err := f.eng.GrantAccessOnce(ctx, keyActor, nil, keyRequest("k1", "b"), annGrant("other")); !errors.Is(err, lifecycle.ErrKeyReused) {
		t.Errorf("same key, another body: %v, want ErrKeyReused", err)
	}
	gs, err := f.st.ListGrants(ctx, "u-ann")
	if err != nil || len(gs) != 1 || gs[0].Reason != "cover" {
		t.Errorf("ann's grants = %+v, %v; want the first one only", gs, err)
	}
	if n := grantCreates(t, f.st); n != 1 {
		t.Errorf("%d grant.create records, want 1", n)
	}
}

// TestGrantAccessOnceForgets: a key is remembered for GrantKeyLifetime;
// the next grant made with a key after that deletes it, and the same key
// makes a new grant.
func TestGrantAccessOnceForgets(t *testing.T) {
	ctx := t.Context()
	f := newKeyFixture(t, nil)
	first, _, err := f.eng.GrantAccessOnce(ctx, keyActor, nil, keyRequest("k1", "a"), annGrant("cover"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.eng.GrantAccessOnce(ctx, keyActor, nil, keyRequest("k2", "a"), annGrant("cover")); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(lifecycle.GrantKeyLifetime)
	if g, err := f.eng.GrantMade(ctx, keyRequest("k1", "a")); err != nil || g.ID != first.ID {
		t.Errorf("GrantMade after exactly the lifetime: %+v, %v; want %s", g, err, first.ID)
	}
	f.clock.Advance(time.Second)
	if _, err := f.eng.GrantMade(ctx, keyRequest("k1", "a")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GrantMade after the lifetime: %v, want ErrNotFound", err)
	}
	g, replayed, err := f.eng.GrantAccessOnce(ctx, keyActor, nil, keyRequest("k1", "a"), annGrant("cover"))
	if err != nil || replayed || g.ID == first.ID {
		t.Errorf("key sent again after the lifetime: %+v, replayed %v, %v; want a new grant", g, replayed, err)
	}
	// k2 was not sent again: the transaction that made the new grant
	// deleted it.
	if k, err := f.st.GetGrantKey(ctx, "token:k", "k2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("k2 after the lifetime and another grant: %+v, %v; want it deleted", k, err)
	}
}

// keyRefusingStore fails every grant key a transaction writes.
type keyRefusingStore struct{ store.Store }

type keyRefusingOps struct{ store.Ops }

var errKeyRefused = errors.New("injected: the key cannot be written")

func (s keyRefusingStore) InTx(ctx context.Context, fn func(store.Ops) error) error {
	return s.Store.InTx(ctx, func(tx store.Ops) error { return fn(keyRefusingOps{tx}) })
}

func (keyRefusingOps) CreateGrantKey(context.Context, store.GrantKey) error { return errKeyRefused }

// TestGrantAccessOnceAtomic: the key and the grant are one transaction: a
// key that cannot be stored leaves no grant and no audit record either,
// and a grant that is refused stores no key.
func TestGrantAccessOnceAtomic(t *testing.T) {
	ctx := t.Context()
	f := newKeyFixture(t, func(s store.Store) store.Store { return keyRefusingStore{s} })
	if _, _, err := f.eng.GrantAccessOnce(ctx, keyActor, nil, keyRequest("k1", "a"), annGrant("cover")); !errors.Is(err, errKeyRefused) {
		t.Fatalf("grant with the key refused: %v, want the store's error", err)
	}
	if gs, err := f.st.ListGrants(ctx, "u-ann"); err != nil || len(gs) != 0 {
		t.Errorf("ann's grants = %+v, %v; want none", gs, err)
	}
	if n := grantCreates(t, f.st); n != 0 {
		t.Errorf("%d grant.create records, want none", n)
	}

	f = newKeyFixture(t, nil)
	bad := annGrant("cover")
	bad.Site = "atlantis"
	if _, _, err := f.eng.GrantAccessOnce(ctx, keyActor, nil, keyRequest("k1", "a"), bad); !errors.Is(err, lifecycle.ErrInvalid) {
		t.Fatalf("grant at an unknown site: %v, want ErrInvalid", err)
	}
	if k, err := f.st.GetGrantKey(ctx, "token:k", "k1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("key of a refused grant: %+v, %v; want none", k, err)
	}
}
