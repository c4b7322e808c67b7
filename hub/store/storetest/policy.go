package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// policyDoc is a document for version n; the store treats it as opaque
// bytes, so it is compared byte for byte (spacing included).
func policyDoc(n int) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"max_session": "%dh",  "roles": []}`, n))
}

func testPolicyVersions(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, err := s.GetPolicy(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get from an empty store: err = %v, want ErrNotFound", err)
	}
	if vs, err := s.ListPolicyVersions(ctx, 0); err != nil || len(vs) != 0 {
		t.Fatalf("list from an empty store: %v, %v", vs, err)
	}

	// The first version: fn sees the zero value; the store assigns 1
	// whatever fn says.
	var seen []store.PolicyVersion
	p1, err := s.UpdatePolicy(ctx, func(old store.PolicyVersion) (store.PolicyVersion, error) {
		seen = append(seen, old)
		return store.PolicyVersion{Version: 42, Document: policyDoc(1), ChangedBy: "hub", Changed: at(0)}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want1 := store.PolicyVersion{Version: 1, Document: policyDoc(1), ChangedBy: "hub", Changed: at(0)}
	diff(t, "first version", want1, p1)
	diff(t, "fn's view of an empty store", []store.PolicyVersion{{}}, seen)
	if p1.Changed.Location() != time.UTC {
		t.Errorf("Changed is in %v, want UTC", p1.Changed.Location())
	}

	// The second sees the first.
	seen = nil
	p2, err := s.UpdatePolicy(ctx, func(old store.PolicyVersion) (store.PolicyVersion, error) {
		seen = append(seen, old)
		old.Document, old.ChangedBy, old.Changed = policyDoc(2), "console:ada", at(1)
		return old, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want2 := store.PolicyVersion{Version: 2, Document: policyDoc(2), ChangedBy: "console:ada", Changed: at(1)}
	diff(t, "second version", want2, p2)
	if len(seen) != 1 || seen[0].Version != 1 || string(seen[0].Document) != string(policyDoc(1)) {
		t.Errorf("fn saw %+v, want version 1", seen)
	}
	got, err := s.GetPolicy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "get", want2, got)
	if got.Changed.Location() != time.UTC {
		t.Errorf("Changed is in %v, want UTC", got.Changed.Location())
	}

	// A failing fn stores nothing and its error comes back.
	errNo := errors.New("refused")
	if _, err := s.UpdatePolicy(ctx, func(store.PolicyVersion) (store.PolicyVersion, error) {
		return store.PolicyVersion{Document: policyDoc(9)}, errNo
	}); !errors.Is(err, errNo) {
		t.Errorf("failing fn: err = %v, want %v", err, errNo)
	}
	// So does a transaction that fails after the update.
	if err := s.InTx(ctx, func(tx store.Ops) error {
		if _, err := tx.UpdatePolicy(ctx, func(old store.PolicyVersion) (store.PolicyVersion, error) {
			return store.PolicyVersion{Document: policyDoc(8), ChangedBy: "tx", Changed: at(2)}, nil
		}); err != nil {
			return err
		}
		in, err := tx.GetPolicy(ctx)
		if err != nil || in.Version != 3 {
			t.Errorf("inside the transaction: %+v, %v; want version 3", in, err)
		}
		return errNo
	}); !errors.Is(err, errNo) {
		t.Errorf("rolled-back transaction: err = %v", err)
	}
	got, _ = s.GetPolicy(ctx)
	diff(t, "after the failures", want2, got)

	// History, newest first.
	vs, err := s.ListPolicyVersions(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "history", []store.PolicyVersion{want2, want1}, vs)
	if vs, err = s.ListPolicyVersions(ctx, 1); err != nil {
		t.Fatal(err)
	}
	diff(t, "history, limit 1", []store.PolicyVersion{want2}, vs)
}

// Concurrent updates each get their own version: none is lost and none is
// numbered twice.
func testPolicyConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	const workers = 8
	var wg sync.WaitGroup
	versions := make(chan int64, workers)
	for w := range workers {
		wg.Go(func() {
			p, err := s.UpdatePolicy(ctx, func(old store.PolicyVersion) (store.PolicyVersion, error) {
				return store.PolicyVersion{Document: policyDoc(w), ChangedBy: fmt.Sprintf("worker:%d", w), Changed: at(w)}, nil
			})
			if err != nil {
				t.Errorf("worker %d: %v", w, err)
				return
			}
			versions <- p.Version
		})
	}
	wg.Wait()
	close(versions)
	var got []int64
	for v := range versions {
		got = append(got, v)
	}
	slices.Sort(got)
	diff(t, "versions", []int64{1, 2, 3, 4, 5, 6, 7, 8}, got)
	vs, err := s.ListPolicyVersions(ctx, 0)
	if err != nil || len(vs) != workers || vs[0].Version != workers {
		t.Fatalf("history: %d versions, first %+v, %v", len(vs), vs, err)
	}
}
