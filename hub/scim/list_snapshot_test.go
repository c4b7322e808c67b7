package scim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// snapshotUsers are the n users the snapshot tests list, w0000 on, created
// a second apart in one transaction.
func snapshotUsers(t *testing.T, h *hubtest.Hub, n int) []string {
	t.Helper()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ids := make([]string, n)
	err := h.Store().InTx(t.Context(), func(tx store.Ops) error {
		for i := range n {
			u, err := tx.CreateUser(t.Context(), snapshotUser(fmt.Sprintf("w%04d", i), base.Add(time.Duration(i)*time.Second)))
			if err != nil {
				return err
			}
			ids[i] = u.ID
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func snapshotUser(name string, at time.Time) store.User {
	return store.User{ID: store.NewID(), UserName: name, Active: true, State: store.UserActive,
		Document: json.RawMessage(`{"schemas":["` + coreUser + `"],"userName":"` + name + `"}`), Created: at, Modified: at}
}

// replaceUser deletes the user id and creates one named name, in one
// transaction: the hub never holds more users than before.
func replaceUser(ctx context.Context, st store.Store, id, name string, at time.Time) (string, error) {
	var created string
	err := st.InTx(ctx, func(tx store.Ops) error {
		if _, err := tx.UpdateUser(ctx, id, func(u store.User) (store.User, error) {
			u.State, u.Active, u.Deleted, u.Modified = store.UserDeleted, false, at, at
			return u, nil
		}); err != nil {
			return err
		}
		u, err := tx.CreateUser(ctx, snapshotUser(name, at))
		created = u.ID
		return err
	})
	return created, err
}

// checkNames fails unless p lists exactly the users or groups names, in
// order, and counts them.
func checkNames(t *testing.T, what string, p listPage, names []string) {
	t.Helper()
	if p.TotalResults != len(names) || len(p.Resources) != len(names) {
		t.Fatalf("%s: totalResults %d, %d resources; want %d of each", what, p.TotalResults, len(p.Resources), len(names))
	}
	for i, r := range p.Resources {
		if got := r.UserName + r.DisplayName; got != names[i] {
			t.Fatalf("%s: resource %d is %s, want %s", what, i, got, names[i])
		}
	}
}

// A filter no index answers (userName sw) is matched on every user, read a
// batch at a time; the batches are read in one read transaction. A user
// deleted and another created between two batches (one change, so the hub
// never held more users than before) were both counted, and both listed:
// totalResults was one more than the hub ever held. The answer is now the
// users as they were when the query began.
func TestFilteredListReadsOneSnapshot(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	const n = 300 // more than one batch (userScanBatch)
	ids := snapshotUsers(t, h, n)
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("w%04d", i)
	}
	rec, srv := listServer(t, h)
	sw := filterQuery(`userName sw "w"`)
	later := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	rec.setBefore(func(reads int) {
		if reads != 1 {
			return
		}
		if _, err := replaceUser(context.Background(), h.Store(), ids[0], "w9999", later); err != nil {
			t.Error(err)
		}
	})
	p := query(t, srv, "GET", "/scim/v2/Users?count=1000&"+sw, "")
	if calls := rec.take(); len(calls) < 2 {
		t.Fatalf("the query made %d reads; the test needs it to make more than one", len(calls))
	}
	checkNames(t, "with a user replaced between two batches", p, names)

	// The next query sees the change.
	checkNames(t, "after", query(t, srv, "GET", "/scim/v2/Users?count=1000&"+sw, ""), append(names[1:], "w9999"))
}

// Groups: the same, batches of groups read in one read transaction.
func TestFilteredGroupListReadsOneSnapshot(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	const n = 60 // more than one batch (groupScanBatch)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	names, ids := make([]string, n), make([]string, n)
	err := h.Store().InTx(t.Context(), func(tx store.Ops) error {
		for i := range n {
			at := base.Add(time.Duration(i) * time.Second)
			names[i] = fmt.Sprintf("g%03d", i)
			g, err := tx.CreateGroup(t.Context(), store.Group{ID: store.NewID(), DisplayName: names[i], Created: at, Modified: at})
			if err != nil {
				return err
			}
			ids[i] = g.ID
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rec, srv := listServer(t, h)
	later := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	rec.setBefore(func(reads int) {
		if reads != 1 {
			return
		}
		err := h.Store().InTx(context.Background(), func(tx store.Ops) error {
			if err := tx.DeleteGroup(context.Background(), ids[0], later); err != nil {
				return err
			}
			_, err := tx.CreateGroup(context.Background(), store.Group{ID: store.NewID(), DisplayName: "g999", Created: later, Modified: later})
			return err
		})
		if err != nil {
			t.Error(err)
		}
	})
	sw := filterQuery(`displayName sw "g"`)
	p := query(t, srv, "GET", "/scim/v2/Groups?count=1000&"+sw, "")
	if calls := rec.take(); len(calls) < 2 {
		t.Fatalf("the query made %d reads; the test needs it to make more than one", len(calls))
	}
	checkNames(t, "with a group replaced between two batches", p, names)
	checkNames(t, "after", query(t, srv, "GET", "/scim/v2/Groups?count=1000&"+sw, ""), append(names[1:], "g999"))
}

// While another client keeps replacing users (a delete and a create in
// one transaction, so the hub always holds n), every filtered list,
// whatever its page, answers totalResults n, and a page of them all holds
// n users.
func TestFilteredListTotalUnderConcurrentChanges(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	const n = 300
	ids := snapshotUsers(t, h, n)
	_, srv := listServer(t, h)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		at := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
		for i := 0; ctx.Err() == nil; i++ {
			// The oldest user goes, a newest one comes: the first and the
			// last batches of a query change.
			id, err := replaceUser(ctx, h.Store(), ids[i%len(ids)], fmt.Sprintf("w-new-%d", i), at.Add(time.Duration(i)*time.Second))
			if err != nil {
				if ctx.Err() == nil {
					t.Error(err)
				}
				return
			}
			ids[i%len(ids)] = id
		}
	}()
	defer func() { cancel(); wg.Wait() }()
	sw := filterQuery(`userName sw "w"`)
	for i := range 30 {
		p := query(t, srv, "GET", "/scim/v2/Users?count=1000&"+sw, "")
		if p.TotalResults != n || len(p.Resources) != n {
			t.Fatalf("query %d: totalResults %d, %d resources; the hub held %d users throughout", i, p.TotalResults, len(p.Resources), n)
		}
		if p = query(t, srv, "GET", "/scim/v2/Users?startIndex=250&count=10&"+sw, ""); p.TotalResults != n || len(p.Resources) != 10 {
			t.Fatalf("query %d from 250: totalResults %d, %d resources; want %d, 10", i, p.TotalResults, len(p.Resources), n)
		}
	}
}
