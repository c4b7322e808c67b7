package storetest

import (
	"slices"
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

// userIDs lists the IDs of users, in order.
func userIDs(us []store.User) []string {
	ids := make([]string, 0, len(us))
	for _, u := range us {
		ids = append(ids, u.ID)
	}
	return ids
}

// testUserNameUnicodeCase: userName is unique and looked up under Unicode
// case folding (store.FoldName, strings.EqualFold), not only ASCII's.
func testUserNameUnicodeCase(t *testing.T, s store.Store) {
	ctx := t.Context()
	createUsers(t, s, newUser("u1", "élodie.durand@example.com", 0), newUser("u2", "zoë@example.com", 1))

	// Create: a variant in case, non-ASCII letters included, is taken.
	for _, name := range []string{"Élodie.Durand@example.com", "ÉLODIE.DURAND@EXAMPLE.COM", "élodie.durand@example.com"} {
		_, err := s.CreateUser(ctx, newUser("dup", name, 2))
		wantErr(t, "create "+name, err, store.ErrConflict)
	}
	// Names EqualFold tells apart are two names: U+0130 folds with
	// nothing, though lower-casing it gives i.
	createUsers(t, s, newUser("u3", "\u0130nci", 3), newUser("u4", "inci", 4))

	// Lookups find the user under any variant, in every mode.
	all := []store.UserState{store.UserPending, store.UserActive, store.UserDisabled, store.UserDeleted}
	for _, q := range []store.UserQuery{
		{UserName: "ÉLODIE.Durand@Example.com"},
		{UserName: "ÉLODIE.Durand@Example.com", States: []store.UserState{store.UserActive}},
		{UserName: "ÉLODIE.Durand@Example.com", States: all},
	} {
		users, total := must2[[]store.User](t, "list")(s.ListUsers(ctx, q))
		if ids := userIDs(users); !slices.Equal(ids, []string{"u1"}) || total != 1 {
			t.Errorf("ListUsers(%+v) = %v (total %d), want [u1]", q, ids, total)
		}
		users, _, total, err := s.ListUsersWithGroups(ctx, q)
		if ids := userIDs(users); err != nil || !slices.Equal(ids, []string{"u1"}) || total != 1 {
			t.Errorf("ListUsersWithGroups(%+v) = %v (total %d), %v; want [u1]", q, ids, total, err)
		}
	}
	users, total := must2[[]store.User](t, "list ZOË")(s.ListUsers(ctx, store.UserQuery{UserName: "ZOË@EXAMPLE.COM"}))
	if ids := userIDs(users); !slices.Equal(ids, []string{"u2"}) || total != 1 {
		t.Errorf("ListUsers(ZOË) = %v (total %d), want [u2]", ids, total)
	}

	// Rename: to another user's name in another case is taken; to one's
	// own name in another case is not.
	_, err := s.UpdateUser(ctx, "u2", func(u store.User) (store.User, error) {
		u.UserName = "Élodie.Durand@example.com"
		return u, nil
	})
	wantErr(t, "rename u2 onto u1's name", err, store.ErrConflict)
	if got := must[store.User](t, "get u2")(s.GetUser(ctx, "u2")); got.UserName != "zoë@example.com" || got.Version != 1 {
		t.Errorf("u2 after a failed rename = %q v%d, want zoë@example.com v1", got.UserName, got.Version)
	}
	got := must[store.User](t, "rename u2 in case")(s.UpdateUser(ctx, "u2", func(u store.User) (store.User, error) {
		u.UserName = "Zoë@Example.com"
		return u, nil
	}))
	if got.UserName != "Zoë@Example.com" {
		t.Errorf("u2 renamed in case = %q", got.UserName)
	}
	// The new name is looked up by its key, the old one is gone.
	must[store.User](t, "rename u2")(s.UpdateUser(ctx, "u2", func(u store.User) (store.User, error) {
		u.UserName = "Ödön@example.com"
		return u, nil
	}))
	users, _ = must2[[]store.User](t, "list ödön")(s.ListUsers(ctx, store.UserQuery{UserName: "ÖDÖN@example.com"}))
	if ids := userIDs(users); !slices.Equal(ids, []string{"u2"}) {
		t.Errorf("ListUsers(ÖDÖN) after rename = %v, want [u2]", ids)
	}
	users, _ = must2[[]store.User](t, "list zoë")(s.ListUsers(ctx, store.UserQuery{UserName: "zoë@example.com"}))
	if len(users) != 0 {
		t.Errorf("ListUsers(zoë) after rename = %v, want none", userIDs(users))
	}

	// A tombstone does not hold its name: a variant of it may be reused,
	// and then the tombstone cannot come back.
	must[store.User](t, "delete u1")(s.UpdateUser(ctx, "u1", func(u store.User) (store.User, error) {
		u.State, u.Active, u.Deleted = store.UserDeleted, false, at(5)
		return u, nil
	}))
	createUsers(t, s, newUser("u5", "Élodie.Durand@example.com", 6))
	users, _ = must2[[]store.User](t, "list live")(s.ListUsers(ctx, store.UserQuery{UserName: "élodie.durand@example.com"}))
	if ids := userIDs(users); !slices.Equal(ids, []string{"u5"}) {
		t.Errorf("live users named élodie = %v, want [u5]", ids)
	}
	users, _ = must2[[]store.User](t, "list all")(s.ListUsers(ctx, store.UserQuery{UserName: "ÉLODIE.DURAND@example.com", States: all}))
	if ids := userIDs(users); !slices.Equal(ids, []string{"u1", "u5"}) {
		t.Errorf("users named élodie in every state = %v, want [u1 u5]", ids)
	}
	_, err = s.UpdateUser(ctx, "u1", func(u store.User) (store.User, error) {
		u.State, u.Active = store.UserActive, true
		return u, nil
	})
	wantErr(t, "revive tombstone whose name a case variant took", err, store.ErrConflict)
	_, err = s.UpdateUser(ctx, "u5", func(u store.User) (store.User, error) {
		u.UserName = "INCI"
		return u, nil
	})
	wantErr(t, "rename u5 onto inci", err, store.ErrConflict)
}

// testGroupNameUnicodeCase: a group's displayName is unique and looked up
// under Unicode case folding.
func testGroupNameUnicodeCase(t *testing.T, s store.Store) {
	ctx := t.Context()
	must[store.Group](t, "create")(s.CreateGroup(ctx, store.Group{ID: "g1", DisplayName: "Ärztin", Created: at(0)}))
	must[store.Group](t, "create")(s.CreateGroup(ctx, store.Group{ID: "g2", DisplayName: "Pfleger", Created: at(1)}))
	for _, name := range []string{"ärztin", "ÄRZTIN", "Ärztin"} {
		_, err := s.CreateGroup(ctx, store.Group{ID: "dup", DisplayName: name, Created: at(2)})
		wantErr(t, "create "+name, err, store.ErrConflict)
	}
	for _, q := range []store.GroupQuery{{DisplayName: "äRZTIN"}, {DisplayName: "ärztin", WithoutMembers: true}} {
		groups, total := must2[[]store.Group](t, "list")(s.ListGroups(ctx, q))
		if len(groups) != 1 || groups[0].ID != "g1" || total != 1 {
			t.Errorf("ListGroups(%+v) = %v (total %d), want g1", q, groups, total)
		}
	}
	_, err := s.UpdateGroup(ctx, "g2", func(g store.Group) (store.Group, error) {
		g.DisplayName = "ÄRZTIN"
		return g, nil
	})
	wantErr(t, "rename g2 onto g1's name", err, store.ErrConflict)
	if got := must[store.Group](t, "get g2")(s.GetGroup(ctx, "g2")); got.DisplayName != "Pfleger" || got.Version != 1 {
		t.Errorf("g2 after a failed rename = %q v%d, want Pfleger v1", got.DisplayName, got.Version)
	}
	must[store.Group](t, "rename g1 in case")(s.UpdateGroup(ctx, "g1", func(g store.Group) (store.Group, error) {
		g.DisplayName = "ärztin"
		return g, nil
	}))
	must[store.Group](t, "rename g2")(s.UpdateGroup(ctx, "g2", func(g store.Group) (store.Group, error) {
		g.DisplayName = "Pflegerin"
		return g, nil
	}))
	groups, _ := must2[[]store.Group](t, "list")(s.ListGroups(ctx, store.GroupQuery{DisplayName: "PFLEGERIN"}))
	if len(groups) != 1 || groups[0].ID != "g2" {
		t.Errorf("ListGroups(PFLEGERIN) after rename = %v, want g2", groups)
	}
	// A deleted group's name is free.
	if err := s.DeleteGroup(ctx, "g1", at(5)); err != nil {
		t.Fatalf("delete g1: %v", err)
	}
	must[store.Group](t, "reuse")(s.CreateGroup(ctx, store.Group{ID: "g3", DisplayName: "ÄRZTIN", Created: at(3)}))
}

// must2 is must for a value and a count.
func must2[T any](t *testing.T, what string) func(T, int, error) (T, int) {
	t.Helper()
	return func(v T, n int, err error) (T, int) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v, n
	}
}
