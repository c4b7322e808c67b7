package storetest

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

func groupUsers(t *testing.T, s store.Store) {
	t.Helper()
	createUsers(t, s, newUser("u1", "one", 0), newUser("u2", "two", 0), newUser("u3", "three", 0))
}

func testGroupCreateGet(t *testing.T, s store.Store) {
	groupUsers(t, s)
	in := store.Group{
		ID:          "g1",
		DisplayName: "Nurses",
		ExternalID:  "grp-ext",
		Members:     []string{"u3", "u1", "u3", "u2", "u1"},
		Version:     7,
		Created:     at(1),
		Modified:    at(2),
	}
	want := in
	want.Members = []string{"u1", "u2", "u3"}
	want.Version = 1
	got := must[store.Group](t, "create")(s.CreateGroup(t.Context(), in))
	diff(t, "created group", want, got)
	checkUTC(t, "created group", got.Created, got.Modified)
	got = must[store.Group](t, "get")(s.GetGroup(t.Context(), "g1"))
	diff(t, "got group", want, got)
	checkUTC(t, "got group", got.Created, got.Modified)

	empty := store.Group{ID: "g2", DisplayName: "Empty", Created: at(3), Modified: at(3)}
	got = must[store.Group](t, "create empty")(s.CreateGroup(t.Context(), empty))
	empty.Version = 1
	diff(t, "created empty group", empty, got)
	got = must[store.Group](t, "get empty")(s.GetGroup(t.Context(), "g2"))
	diff(t, "got empty group", empty, got)

	_, err := s.GetGroup(t.Context(), "nope")
	wantErr(t, "get unknown group", err, store.ErrNotFound)
}

func testGroupCreateErrors(t *testing.T, s store.Store) {
	groupUsers(t, s)
	if _, err := s.CreateGroup(t.Context(), store.Group{ID: "g1", DisplayName: "Nurses", Members: []string{"u1"}, Created: at(0)}); err != nil {
		t.Fatalf("create: %v", err)
	}
	tests := []struct {
		name    string
		group   store.Group
		wantErr error
	}{
		{name: "displayName taken", group: store.Group{ID: "g2", DisplayName: "Nurses"}, wantErr: store.ErrConflict},
		{name: "displayName other case", group: store.Group{ID: "g3", DisplayName: "NURSES"}, wantErr: store.ErrConflict},
		{name: "same ID", group: store.Group{ID: "g1", DisplayName: "Doctors"}, wantErr: store.ErrConflict},
		{name: "unknown member", group: store.Group{ID: "g4", DisplayName: "Pickers", Members: []string{"u1", "ghost", "u2"}}, wantErr: store.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CreateGroup(t.Context(), tc.group)
			wantErr(t, "create", err, tc.wantErr)
		})
	}
	// Nothing of the failed groups was written.
	groups, total, err := s.ListGroups(t.Context(), store.GroupQuery{})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	want := []store.Group{{ID: "g1", DisplayName: "Nurses", Members: []string{"u1"}, Version: 1, Created: at(0)}}
	diff(t, "groups after failed creates", want, groups)
	if total != 1 {
		t.Errorf("total = %d, want 1", total)
	}
	_, err = s.GetGroup(t.Context(), "g4")
	wantErr(t, "get group with unknown member", err, store.ErrNotFound)
	groups, _, err = s.ListGroups(t.Context(), store.GroupQuery{MemberID: "u2"})
	if err != nil || len(groups) != 0 {
		t.Errorf("groups of u2 = %v, %v; want none", groups, err)
	}
}

func testGroupUpdate(t *testing.T, s store.Store) {
	groupUsers(t, s)
	orig := must[store.Group](t, "create")(s.CreateGroup(t.Context(), store.Group{
		ID: "g1", DisplayName: "Nurses", Members: []string{"u1", "u2"}, Created: at(0), Modified: at(0),
	}))
	must[store.Group](t, "create other")(s.CreateGroup(t.Context(), store.Group{ID: "g2", DisplayName: "Doctors", Created: at(0)}))

	got := must[store.Group](t, "update")(s.UpdateGroup(t.Context(), "g1", func(g store.Group) (store.Group, error) {
		diff(t, "fn sees current group", orig, g)
		g.DisplayName = "Senior Nurses"
		g.ExternalID = "ext"
		g.Members = []string{"u3", "u2", "u3"}
		g.Modified = at(5)
		g.ID, g.Created, g.Version = "changed", at(99), 99
		return g, nil
	}))
	want := store.Group{ID: "g1", DisplayName: "Senior Nurses", ExternalID: "ext", Members: []string{"u2", "u3"}, Version: 2, Created: at(0), Modified: at(5)}
	diff(t, "updated group", want, got)
	checkUTC(t, "updated group", got.Created, got.Modified)
	diff(t, "got updated group", want, must[store.Group](t, "get")(s.GetGroup(t.Context(), "g1")))

	tests := []struct {
		name    string
		id      string
		fn      func(store.Group) (store.Group, error)
		wantErr error
	}{
		{name: "unknown group", id: "nope", fn: func(g store.Group) (store.Group, error) { return g, nil }, wantErr: store.ErrNotFound},
		{name: "fn error", id: "g1", fn: func(g store.Group) (store.Group, error) {
			g.Members = nil
			return g, errFn
		}, wantErr: errFn},
		{name: "unknown member", id: "g1", fn: func(g store.Group) (store.Group, error) {
			g.Members = []string{"u1", "ghost"}
			g.DisplayName = "should not stick"
			return g, nil
		}, wantErr: store.ErrNotFound},
		{name: "displayName taken", id: "g1", fn: func(g store.Group) (store.Group, error) {
			g.DisplayName = "doctors"
			g.Members = []string{"u1"}
			return g, nil
		}, wantErr: store.ErrConflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.UpdateGroup(t.Context(), tc.id, tc.fn)
			wantErr(t, "update", err, tc.wantErr)
			diff(t, "group after failed update", want, must[store.Group](t, "get")(s.GetGroup(t.Context(), "g1")))
		})
	}

	// Removing every member.
	got = must[store.Group](t, "empty")(s.UpdateGroup(t.Context(), "g1", func(g store.Group) (store.Group, error) {
		g.Members = nil
		return g, nil
	}))
	if len(got.Members) != 0 || got.Version != 3 {
		t.Errorf("emptied group: members %v version %d, want none and 3", got.Members, got.Version)
	}
	got = must[store.Group](t, "get emptied")(s.GetGroup(t.Context(), "g1"))
	if len(got.Members) != 0 {
		t.Errorf("emptied group has members %v", got.Members)
	}
}

func testListGroups(t *testing.T, s store.Store) {
	groupUsers(t, s)
	g := func(id, name, ext string, h int, members ...string) store.Group {
		return store.Group{ID: id, DisplayName: name, ExternalID: ext, Members: members, Version: 1, Created: at(h), Modified: at(h)}
	}
	all := []store.Group{
		g("gc", "Cashiers", "", 2, "u1"),
		g("ga", "Admins", "ext-a", 1, "u1", "u2"),
		g("gb", "Bakers", "", 2),
		g("gd", "Drivers", "ext-d", 0, "u2", "u3"),
	}
	for _, x := range all {
		must[store.Group](t, "create "+x.ID)(s.CreateGroup(t.Context(), x))
	}
	pick := picker(all)
	tests := []struct {
		name      string
		q         store.GroupQuery
		want      []store.Group
		wantTotal int
	}{
		{name: "all by Created then ID", q: store.GroupQuery{}, want: pick("gd", "ga", "gb", "gc"), wantTotal: 4},
		{name: "ID", q: store.GroupQuery{ID: "gb"}, want: pick("gb"), wantTotal: 1},
		{name: "displayName case-insensitive", q: store.GroupQuery{DisplayName: "cashiers"}, want: pick("gc"), wantTotal: 1},
		{name: "externalID", q: store.GroupQuery{ExternalID: "ext-d"}, want: pick("gd"), wantTotal: 1},
		{name: "member", q: store.GroupQuery{MemberID: "u2"}, want: pick("gd", "ga"), wantTotal: 2},
		{name: "member and name", q: store.GroupQuery{MemberID: "u1", DisplayName: "ADMINS"}, want: pick("ga"), wantTotal: 1},
		{name: "not a member of any", q: store.GroupQuery{MemberID: "nobody"}, want: nil, wantTotal: 0},
		{name: "member without members", q: store.GroupQuery{MemberID: "u2", WithoutMembers: true}, want: withoutMembers(pick("gd", "ga")), wantTotal: 2},
		{name: "page", q: store.GroupQuery{Offset: 1, Limit: 2}, want: pick("ga", "gb"), wantTotal: 4},
		{name: "page past the end", q: store.GroupQuery{Offset: 10, Limit: 2}, want: nil, wantTotal: 4},
	}
	// A login's roles: the names of a member's groups, in the same order.
	for user, want := range map[string][]string{"u1": {"Admins", "Cashiers"}, "u2": {"Drivers", "Admins"}, "nobody": nil} {
		diff(t, "group names of "+user, want, must[[]string](t, "group names")(s.GroupNamesOf(t.Context(), user)))
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
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

func testGroupDelete(t *testing.T, s store.Store) {
	groupUsers(t, s)
	must[store.Group](t, "create")(s.CreateGroup(t.Context(), store.Group{ID: "g1", DisplayName: "Nurses", Members: []string{"u1", "u2"}}))
	if err := s.DeleteGroup(t.Context(), "g1", at(2)); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err := s.GetGroup(t.Context(), "g1")
	wantErr(t, "get deleted group", err, store.ErrNotFound)
	wantErr(t, "delete again", s.DeleteGroup(t.Context(), "g1", at(3)), store.ErrNotFound)
	groups, total, err := s.ListGroups(t.Context(), store.GroupQuery{MemberID: "u1"})
	if err != nil || len(groups) != 0 || total != 0 {
		t.Errorf("groups of u1 after delete = %v, %d, %v; want none", groups, total, err)
	}
	// The name and the ID are free again, and no stale membership comes back.
	got := must[store.Group](t, "re-create")(s.CreateGroup(t.Context(), store.Group{ID: "g1", DisplayName: "NURSES", Members: []string{"u3"}}))
	diff(t, "re-created members", []string{"u3"}, got.Members)
	got = must[store.Group](t, "get re-created")(s.GetGroup(t.Context(), "g1"))
	diff(t, "got re-created members", []string{"u3"}, got.Members)
	// The users are untouched.
	must[store.User](t, "get u1")(s.GetUser(t.Context(), "u1"))
}

func testRemoveMemberships(t *testing.T, s store.Store) {
	groupUsers(t, s)
	groups := []store.Group{
		{ID: "g1", DisplayName: "A", Members: []string{"u1", "u2"}, Created: at(2), Modified: at(2)},
		{ID: "g2", DisplayName: "B", Members: []string{"u2"}, Created: at(1), Modified: at(1)},
		{ID: "g3", DisplayName: "C", Members: []string{"u1", "u2", "u3"}, Created: at(3), Modified: at(3)},
	}
	var before []store.Group
	for _, g := range groups {
		before = append(before, must[store.Group](t, "create "+g.ID)(s.CreateGroup(t.Context(), g)))
	}
	// g3 gets a second version, so "as they were" is not just version 1.
	g3 := must[store.Group](t, "touch g3")(s.UpdateGroup(t.Context(), "g3", func(g store.Group) (store.Group, error) {
		g.Modified = at(4)
		return g, nil
	}))

	got := must[[]store.Group](t, "remove u1")(s.RemoveMemberships(t.Context(), "u1", at(10)))
	got = sortBy(got, func(g store.Group) string { return g.ID })
	diff(t, "removed-from groups, as they were", []store.Group{before[0], g3}, got)

	after := map[string]store.Group{}
	for _, id := range []string{"g1", "g2", "g3"} {
		after[id] = must[store.Group](t, "get "+id)(s.GetGroup(t.Context(), id))
	}
	want := map[string]store.Group{
		"g1": {ID: "g1", DisplayName: "A", Members: []string{"u2"}, Version: 2, Created: at(2), Modified: at(10)},
		"g2": before[1],
		"g3": {ID: "g3", DisplayName: "C", Members: []string{"u2", "u3"}, Version: 3, Created: at(3), Modified: at(10)},
	}
	diff(t, "groups after removal", want, after)

	got = must[[]store.Group](t, "remove u1 again")(s.RemoveMemberships(t.Context(), "u1", at(11)))
	if len(got) != 0 {
		t.Errorf("second removal returned %v, want none", got)
	}
	got = must[[]store.Group](t, "remove unknown")(s.RemoveMemberships(t.Context(), "ghost", at(11)))
	if len(got) != 0 {
		t.Errorf("removal of unknown user returned %v, want none", got)
	}
	diff(t, "g2 untouched", before[1], must[store.Group](t, "get g2")(s.GetGroup(t.Context(), "g2")))
}

// withoutMembers is gs with Members left empty.
func withoutMembers(gs []store.Group) []store.Group {
	out := make([]store.Group, len(gs))
	for i, g := range gs {
		g.Members = nil
		out[i] = g
	}
	return out
}

func testListUsersWithGroups(t *testing.T, s store.Store) {
	groupUsers(t, s)
	createUsers(t, s, newUser("u4", "four", 1))
	g := func(id, name, ext string, h int, members ...string) store.Group {
		return store.Group{ID: id, DisplayName: name, ExternalID: ext, Members: members, Version: 1, Created: at(h), Modified: at(h + 1)}
	}
	all := []store.Group{
		g("gc", "Cashiers", "", 2, "u1"),
		g("ga", "Admins", "ext-a", 1, "u1", "u2"),
		g("gb", "Bakers", "", 2),
		// Separators, quotes, non-ASCII and control characters survive.
		g("g0", `Pickers, "night": ümlaut;€`+"\x1e\x1f\n", "ext:0,1", 3, "u1", "u3"),
		g("gd", "Drivers", "ext-d", 1, "u1"),
	}
	for _, x := range all {
		must[store.Group](t, "create "+x.ID)(s.CreateGroup(t.Context(), x))
	}
	// ga gets a second version: the listed groups are the current ones.
	all[1] = must[store.Group](t, "update ga")(s.UpdateGroup(t.Context(), "ga", func(x store.Group) (store.Group, error) {
		x.Modified = at(7)
		return x, nil
	}))
	pick := picker(withoutMembers(all))
	// Ordered by Created then ID, as ListGroups orders them.
	u1 := pick("ga", "gd", "gc", "g0")
	tests := []struct {
		name      string
		q         store.UserQuery
		wantUsers []string
		want      map[string][]store.Group
		wantTotal int
	}{
		{name: "all", q: store.UserQuery{}, wantUsers: []string{"u1", "u2", "u3", "u4"},
			want: map[string][]store.Group{"u1": u1, "u2": pick("ga"), "u3": pick("g0")}, wantTotal: 4},
		{name: "userName", q: store.UserQuery{UserName: "ONE"}, wantUsers: []string{"u1"},
			want: map[string][]store.Group{"u1": u1}, wantTotal: 1},
		{name: "in no group", q: store.UserQuery{UserName: "four"}, wantUsers: []string{"u4"}, want: nil, wantTotal: 1},
		{name: "no match", q: store.UserQuery{UserName: "nobody"}, want: nil, wantTotal: 0},
		{name: "page", q: store.UserQuery{Offset: 1, Limit: 2}, wantUsers: []string{"u2", "u3"},
			want: map[string][]store.Group{"u2": pick("ga"), "u3": pick("g0")}, wantTotal: 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			users, groups, total, err := s.ListUsersWithGroups(t.Context(), tc.q)
			if err != nil {
				t.Fatalf("list: %v", err)
			}
			var ids []string
			for _, u := range users {
				ids = append(ids, u.ID)
			}
			diff(t, "user IDs", tc.wantUsers, ids)
			diff(t, "groups", tc.want, groups)
			if total != tc.wantTotal {
				t.Errorf("total = %d, want %d", total, tc.wantTotal)
			}
			// The users and the total are ListUsers'.
			plain, plainTotal, err := s.ListUsers(t.Context(), tc.q)
			if err != nil {
				t.Fatalf("list users: %v", err)
			}
			diff(t, "users as ListUsers has them", plain, users)
			if plainTotal != total {
				t.Errorf("total = %d, ListUsers says %d", total, plainTotal)
			}
			for id, gs := range groups {
				// The groups are ListGroups' for the member.
				of, _, err := s.ListGroups(t.Context(), store.GroupQuery{MemberID: id, WithoutMembers: true})
				if err != nil {
					t.Fatalf("groups of %s: %v", id, err)
				}
				diff(t, "groups of "+id+" as ListGroups has them", of, gs)
				for _, x := range gs {
					checkUTC(t, "group "+x.ID+" of "+id, x.Created, x.Modified)
				}
			}
		})
	}

	// Inside a transaction, the transaction's own writes are seen.
	err := s.InTx(t.Context(), func(tx store.Ops) error {
		if _, err := tx.UpdateGroup(t.Context(), "gb", func(x store.Group) (store.Group, error) {
			x.Members = []string{"u4"}
			return x, nil
		}); err != nil {
			return err
		}
		_, groups, _, err := tx.ListUsersWithGroups(t.Context(), store.UserQuery{ID: "u4"})
		if err != nil {
			return err
		}
		if len(groups["u4"]) != 1 || groups["u4"][0].ID != "gb" || groups["u4"][0].Version != 2 {
			t.Errorf("groups of u4 in the transaction = %+v, want gb at version 2", groups["u4"])
		}
		return nil
	})
	if err != nil {
		t.Fatalf("in tx: %v", err)
	}
}

// picker returns a function that lists the groups of gs with the given
// IDs, in the order given.
func picker(gs []store.Group) func(ids ...string) []store.Group {
	by := make(map[string]store.Group, len(gs))
	for _, g := range gs {
		by[g.ID] = g
	}
	return func(ids ...string) []store.Group {
		var out []store.Group
		for _, id := range ids {
			out = append(out, by[id])
		}
		return out
	}
}

// A user's SCIM resource lists its groups, so its version (the ETag) and
// its modification time (meta.lastModified) move when it joins or leaves a
// group and when a group of its is renamed or deleted, and only then; the
// time never moves back.
func testMembershipMovesUserVersion(t *testing.T, s store.Store) {
	ctx := t.Context()
	groupUsers(t, s) // created and modified at(0)
	get := func(id string) store.User {
		t.Helper()
		return must[store.User](t, "get "+id)(s.GetUser(ctx, id))
	}
	version := func(id string) int64 { t.Helper(); return get(id).Version }
	check := func(step string, want map[string]int64, modified map[string]time.Time) {
		t.Helper()
		for id, v := range want {
			if got := version(id); got != v {
				t.Errorf("%s: %s at version %d, want %d", step, id, got, v)
			}
		}
		for id, m := range modified {
			if got := get(id).Modified; !got.Equal(m) {
				t.Errorf("%s: %s modified %v, want %v", step, id, got, m)
			}
		}
	}
	v1, v2, v3 := version("u1"), version("u2"), version("u3")
	must[store.Group](t, "create")(s.CreateGroup(ctx, store.Group{ID: "g", DisplayName: "Nurses", Members: []string{"u1"}, Created: at(1), Modified: at(1)}))
	check("u1 joins with the new group", map[string]int64{"u1": v1 + 1, "u2": v2, "u3": v3},
		map[string]time.Time{"u1": at(1), "u2": at(0), "u3": at(0)})
	update := func(step string, when time.Time, fn func(g store.Group) store.Group) {
		t.Helper()
		must[store.Group](t, step)(s.UpdateGroup(ctx, "g", func(g store.Group) (store.Group, error) { g.Modified = when; return fn(g), nil }))
	}
	update("u2 joins", at(2), func(g store.Group) store.Group { g.Members = []string{"u1", "u2"}; return g })
	check("u2 joins", map[string]int64{"u1": v1 + 1, "u2": v2 + 1, "u3": v3},
		map[string]time.Time{"u1": at(1), "u2": at(2), "u3": at(0)})
	update("u1 leaves", at(3), func(g store.Group) store.Group { g.Members = []string{"u2"}; return g })
	check("u1 leaves", map[string]int64{"u1": v1 + 2, "u2": v2 + 1, "u3": v3},
		map[string]time.Time{"u1": at(3), "u2": at(2)})
	// A change stamped earlier than a user's last (a clock step back)
	// does not move the user's time back.
	update("rename", at(1), func(g store.Group) store.Group { g.DisplayName = "Charge Nurses"; return g })
	check("the group renamed", map[string]int64{"u1": v1 + 2, "u2": v2 + 2, "u3": v3},
		map[string]time.Time{"u1": at(3), "u2": at(2)})
	if err := s.DeleteGroup(ctx, "g", at(4)); err != nil {
		t.Fatal(err)
	}
	check("the group deleted", map[string]int64{"u1": v1 + 2, "u2": v2 + 3, "u3": v3},
		map[string]time.Time{"u1": at(3), "u2": at(4), "u3": at(0)})
}
