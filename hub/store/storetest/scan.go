package storetest

import (
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

// testListAfter: a list with After holds the matches after that place in
// the list order (by Created, then ID, which breaks ties of Created) and
// counts only those; with NoTotal it counts none. A scan that reads each
// batch after the last user or group of the one before reads every match
// once, in the order of one list of them all.
func testListAfter(t *testing.T, s store.Store) {
	u := func(id, name string, h int, state store.UserState) store.User {
		x := newUser(id, name, h)
		x.State, x.Version = state, 1
		return x
	}
	// Created out of order; "b", "c" and "x" share a Created time.
	users := []store.User{
		u("c", "Carol", 2, store.UserActive),
		u("a", "Alice", 1, store.UserPending),
		u("x", "Xavier", 2, store.UserDeleted),
		u("b", "Bob", 2, store.UserActive),
		u("d", "Dan", 3, store.UserDisabled),
		u("f", "Fay", 0, store.UserActive),
	}
	createUsers(t, s, users...)
	byID := map[string]store.User{}
	for _, x := range users {
		byID[x.ID] = x
	}
	pick := func(ids ...string) []store.User {
		var out []store.User
		for _, id := range ids {
			out = append(out, byID[id])
		}
		return out
	}
	after := func(id string) store.ListKey { return store.ListKey{Created: byID[id].Created, ID: id} }
	all := []store.UserState{store.UserPending, store.UserActive, store.UserDisabled, store.UserDeleted}
	tests := []struct {
		name      string
		q         store.UserQuery
		want      []store.User
		wantTotal int
	}{
		{name: "after the first", q: store.UserQuery{After: after("f")}, want: pick("a", "b", "c", "d"), wantTotal: 4},
		{name: "after a tie of Created", q: store.UserQuery{After: after("b")}, want: pick("c", "d"), wantTotal: 2},
		{name: "after a deleted user", q: store.UserQuery{After: after("x")}, want: pick("d"), wantTotal: 1},
		{name: "after the last", q: store.UserQuery{After: after("d")}, want: nil, wantTotal: 0},
		{name: "with deleted", q: store.UserQuery{After: after("c"), States: all}, want: pick("x", "d"), wantTotal: 2},
		{name: "a key no user has", q: store.UserQuery{After: store.ListKey{Created: at(2), ID: "bb"}}, want: pick("c", "d"), wantTotal: 2},
		{name: "after, limited", q: store.UserQuery{After: after("a"), Limit: 2}, want: pick("b", "c"), wantTotal: 3},
		{name: "after, offset", q: store.UserQuery{After: after("a"), Offset: 1, Limit: 1}, want: pick("c"), wantTotal: 3},
		{name: "no total", q: store.UserQuery{Limit: 2, NoTotal: true}, want: pick("f", "a"), wantTotal: -1},
		{name: "no total, after, last page", q: store.UserQuery{After: after("c"), Limit: 2, NoTotal: true}, want: pick("d"), wantTotal: -1},
		{name: "no total, not paged", q: store.UserQuery{NoTotal: true}, want: pick("f", "a", "b", "c", "d"), wantTotal: -1},
	}
	for _, tc := range tests {
		t.Run("users "+tc.name, func(t *testing.T) {
			got, total, err := s.ListUsers(t.Context(), tc.q)
			if err != nil {
				t.Fatalf("list: %v", err)
			}
			diff(t, "users", tc.want, got)
			if total != tc.wantTotal {
				t.Errorf("total = %d, want %d", total, tc.wantTotal)
			}
			got, _, total, err = s.ListUsersWithGroups(t.Context(), tc.q)
			if err != nil {
				t.Fatalf("list with groups: %v", err)
			}
			diff(t, "users with groups", tc.want, got)
			if total != tc.wantTotal {
				t.Errorf("with groups: total = %d, want %d", total, tc.wantTotal)
			}
		})
	}
	t.Run("users scanned in batches", func(t *testing.T) {
		for _, states := range [][]store.UserState{nil, all} {
			want, _, err := s.ListUsers(t.Context(), store.UserQuery{States: states})
			if err != nil {
				t.Fatalf("list all: %v", err)
			}
			var got []store.User
			q := store.UserQuery{States: states, Limit: 2}
			for range len(users) + 1 { // a store that ignores After reads its first batch for ever
				batch, _, err := s.ListUsers(t.Context(), q)
				if err != nil {
					t.Fatalf("batch after %+v: %v", q.After, err)
				}
				got = append(got, batch...)
				if len(batch) < q.Limit {
					break
				}
				last := batch[len(batch)-1]
				q.After, q.NoTotal = store.ListKey{Created: last.Created, ID: last.ID}, true
			}
			diff(t, "users scanned", want, got)
		}
	})

	g := func(id, name string, h int) store.Group {
		return store.Group{ID: id, DisplayName: name, Version: 1, Created: at(h), Modified: at(h)}
	}
	groups := []store.Group{g("gc", "Cashiers", 2), g("ga", "Admins", 1), g("gb", "Bakers", 2), g("gd", "Drivers", 0)}
	for _, x := range groups {
		must[store.Group](t, "create "+x.ID)(s.CreateGroup(t.Context(), x))
	}
	gpick := picker(groups)
	gafter := func(id string) store.ListKey {
		return store.ListKey{Created: gpick(id)[0].Created, ID: id}
	}
	gtests := []struct {
		name      string
		q         store.GroupQuery
		want      []store.Group
		wantTotal int
	}{
		{name: "after the first", q: store.GroupQuery{After: gafter("gd")}, want: gpick("ga", "gb", "gc"), wantTotal: 3},
		{name: "after a tie of Created", q: store.GroupQuery{After: gafter("gb")}, want: gpick("gc"), wantTotal: 1},
		{name: "after the last", q: store.GroupQuery{After: gafter("gc")}, want: nil, wantTotal: 0},
		{name: "after, limited", q: store.GroupQuery{After: gafter("gd"), Limit: 2}, want: gpick("ga", "gb"), wantTotal: 3},
		{name: "no total", q: store.GroupQuery{After: gafter("gd"), Limit: 2, NoTotal: true}, want: gpick("ga", "gb"), wantTotal: -1},
		{name: "no total, without members", q: store.GroupQuery{After: gafter("ga"), Limit: 5, NoTotal: true, WithoutMembers: true}, want: withoutMembers(gpick("gb", "gc")), wantTotal: -1},
	}
	for _, tc := range gtests {
		t.Run("groups "+tc.name, func(t *testing.T) {
			got, total, err := s.ListGroups(t.Context(), tc.q)
			if err != nil {
				t.Fatalf("list: %v", err)
			}
			diff(t, "groups", tc.want, got)
			if total != tc.wantTotal {
				t.Errorf("total = %d, want %d", total, tc.wantTotal)
			}
		})
	}
}
