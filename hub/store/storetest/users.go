package storetest

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

// fullUser has every field set, times in a non-UTC zone.
func fullUser() store.User {
	return store.User{
		ID:             "u-full",
		UserName:       "Ana.Lima@example.com",
		ExternalID:     "00u1ExT",
		DisplayName:    "Ana Lima",
		Active:         true,
		State:          store.UserActive,
		Sites:          []string{"North", "South"},
		EmploymentType: "contractor",
		StartDate:      at(-48),
		EndDate:        at(24 * 90),
		StartDay:       "2025-03-08",
		EndDay:         "2025-06-07",
		Shifts: []store.Shift{
			{Start: at(1), End: at(9)},
			{Start: at(25), End: at(33)},
		},
		Certifications: []store.Certification{
			{Name: "BLS", Expires: at(24 * 365)},
			{Name: "forklift"},
		},
		// Odd spacing and key order: the document is stored verbatim.
		Document: json.RawMessage(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],  "userName":"Ana.Lima@example.com","name":{"givenName":"Ana" , "familyName":"Lima"},"z":1,"a":2}`),
		Version:  42, // the store sets 1
		Created:  at(0),
		Modified: at(0),
	}
}

func testUserCreateGet(t *testing.T, s store.Store) {
	want := fullUser()
	got := must[store.User](t, "create")(s.CreateUser(t.Context(), want))
	want.Version = 1
	diff(t, "created user", want, got)
	checkUTC(t, "created user", userTimes(got)...)
	if string(got.Document) != string(want.Document) {
		t.Errorf("created Document = %s, want %s", got.Document, want.Document)
	}

	got = must[store.User](t, "get")(s.GetUser(t.Context(), want.ID))
	diff(t, "got user", want, got)
	checkUTC(t, "got user", userTimes(got)...)
	if string(got.Document) != string(want.Document) {
		t.Errorf("got Document = %s, want %s", got.Document, want.Document)
	}

	// A minimal user: zero times stay zero, empty fields stay empty.
	minimal := store.User{ID: "u-min", UserName: "min", State: store.UserPending, Created: at(1), Modified: at(1)}
	got = must[store.User](t, "create minimal")(s.CreateUser(t.Context(), minimal))
	minimal.Version = 1
	diff(t, "created minimal user", minimal, got)
	got = must[store.User](t, "get minimal")(s.GetUser(t.Context(), minimal.ID))
	diff(t, "got minimal user", minimal, got)
	if !got.StartDate.IsZero() || !got.EndDate.IsZero() || !got.Deleted.IsZero() {
		t.Errorf("minimal user dates = %v, %v, %v; want zero", got.StartDate, got.EndDate, got.Deleted)
	}
	checkUTC(t, "minimal user", userTimes(got)...)

	_, err := s.GetUser(t.Context(), "nope")
	wantErr(t, "get unknown user", err, store.ErrNotFound)
}

func testUserCreateConflict(t *testing.T, s store.Store) {
	createUsers(t, s, newUser("u1", "Bob@Example.com", 0))
	tests := []struct {
		name    string
		user    store.User
		wantErr error
	}{
		{name: "same userName", user: newUser("u2", "Bob@Example.com", 1), wantErr: store.ErrConflict},
		{name: "userName other case", user: newUser("u3", "bob@example.COM", 1), wantErr: store.ErrConflict},
		{name: "same ID", user: newUser("u1", "other@example.com", 1), wantErr: store.ErrConflict},
		{name: "different userName", user: newUser("u4", "bob2@example.com", 1)},
		{name: "same externalID is allowed", user: func() store.User {
			u := newUser("u5", "carol@example.com", 1)
			u.ExternalID = "ext"
			return u
		}()},
		{name: "same externalID again", user: func() store.User {
			u := newUser("u6", "dave@example.com", 1)
			u.ExternalID = "ext"
			return u
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CreateUser(t.Context(), tc.user)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("create: %v", err)
				}
				return
			}
			wantErr(t, "create", err, tc.wantErr)
		})
	}
	// Nothing about u1 changed.
	got := must[store.User](t, "get u1")(s.GetUser(t.Context(), "u1"))
	want := newUser("u1", "Bob@Example.com", 0)
	want.Version = 1
	diff(t, "u1 after conflicts", want, got)
}

func testUserUpdate(t *testing.T, s store.Store) {
	orig := must[store.User](t, "create")(s.CreateUser(t.Context(), fullUser()))
	want := orig
	for v := int64(2); v <= 4; v++ {
		got := must[store.User](t, "update")(s.UpdateUser(t.Context(), orig.ID, func(u store.User) (store.User, error) {
			diff(t, "fn sees current user", want, u)
			u.DisplayName = "Ana L."
			u.Sites = []string{"East"}
			u.Shifts = nil
			u.StartDay, u.EndDay = "", fmt.Sprintf("2025-06-0%d", v)
			u.Modified = at(int(v))
			u.Document = json.RawMessage(fmt.Sprintf(`{"v":  %d}`, v))
			// The store keeps these whatever fn returns.
			u.ID = "changed"
			u.Created = at(1000)
			u.Version = 99
			return u, nil
		}))
		want.DisplayName = "Ana L."
		want.Sites = []string{"East"}
		want.Shifts = nil
		want.StartDay, want.EndDay = "", fmt.Sprintf("2025-06-0%d", v)
		want.Modified = at(int(v))
		want.Document = json.RawMessage(fmt.Sprintf(`{"v":  %d}`, v))
		want.Version = v
		diff(t, "updated user", want, got)
		checkUTC(t, "updated user", userTimes(got)...)
		got = must[store.User](t, "get")(s.GetUser(t.Context(), orig.ID))
		diff(t, "got updated user", want, got)
	}
	_, err := s.GetUser(t.Context(), "changed")
	wantErr(t, "get by the ID fn tried to set", err, store.ErrNotFound)

	// userName change, case only: not a conflict with itself.
	got := must[store.User](t, "rename")(s.UpdateUser(t.Context(), orig.ID, func(u store.User) (store.User, error) {
		u.UserName = "ana.lima@EXAMPLE.com"
		return u, nil
	}))
	if got.UserName != "ana.lima@EXAMPLE.com" || got.Version != 5 {
		t.Errorf("renamed user = %q v%d, want ana.lima@EXAMPLE.com v5", got.UserName, got.Version)
	}
}

// testUserDays: StartDay and EndDay come back verbatim, and a backend
// refuses one that is not a DayLayout date (a user's dates would mean
// nothing), on create and on update, storing nothing.
func testUserDays(t *testing.T, s store.Store) {
	u := newUser("u1", "one", 0)
	u.StartDay, u.EndDay = "2026-12-01", "2026-12-31"
	got := must[store.User](t, "create")(s.CreateUser(t.Context(), u))
	if got.StartDay != "2026-12-01" || got.EndDay != "2026-12-31" {
		t.Errorf("created days %q, %q; want 2026-12-01, 2026-12-31", got.StartDay, got.EndDay)
	}
	for _, bad := range []string{"2026-13-01", "2026-12-01T00:00:00Z", "1.12.2026", " 2026-12-01"} {
		t.Run(bad, func(t *testing.T) {
			b := newUser("u-bad", "bad", 1)
			b.EndDay = bad
			if _, err := s.CreateUser(t.Context(), b); err == nil {
				t.Errorf("created a user with end day %q", bad)
			}
			if _, err := s.UpdateUser(t.Context(), "u1", func(x store.User) (store.User, error) {
				x.StartDay = bad
				return x, nil
			}); err == nil {
				t.Errorf("updated a user to start day %q", bad)
			}
		})
	}
	got = must[store.User](t, "get")(s.GetUser(t.Context(), "u1"))
	u.Version = 1
	diff(t, "user after refused days", u, got)
}

func testUserUpdateErrors(t *testing.T, s store.Store) {
	createUsers(t, s, newUser("u1", "one", 0), newUser("u2", "two", 1))
	tests := []struct {
		name    string
		id      string
		fn      func(store.User) (store.User, error)
		wantErr error
	}{
		{name: "unknown user", id: "nope", fn: func(u store.User) (store.User, error) { return u, nil }, wantErr: store.ErrNotFound},
		{name: "fn error", id: "u1", fn: func(u store.User) (store.User, error) {
			u.DisplayName = "should not stick"
			return u, errFn
		}, wantErr: errFn},
		{name: "userName taken", id: "u1", fn: func(u store.User) (store.User, error) {
			u.UserName = "TWO"
			u.DisplayName = "should not stick"
			return u, nil
		}, wantErr: store.ErrConflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.UpdateUser(t.Context(), tc.id, tc.fn)
			wantErr(t, "update", err, tc.wantErr)
			got := must[store.User](t, "get u1")(s.GetUser(t.Context(), "u1"))
			want := newUser("u1", "one", 0)
			want.Version = 1
			diff(t, "u1 after failed update", want, got)
		})
	}
}

// testUserNameReuse: a tombstone does not hold its userName.
func testUserNameReuse(t *testing.T, s store.Store) {
	createUsers(t, s, newUser("old", "Erin", 0))
	_, err := s.UpdateUser(t.Context(), "old", func(u store.User) (store.User, error) {
		u.State, u.Active, u.Deleted, u.Modified = store.UserDeleted, false, at(5), at(5)
		return u, nil
	})
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := s.CreateUser(t.Context(), newUser("new", "erin", 6)); err != nil {
		t.Fatalf("re-hire with a deleted user's userName: %v", err)
	}
	// A second tombstone with the same name is fine too.
	if _, err := s.UpdateUser(t.Context(), "new", func(u store.User) (store.User, error) {
		u.State = store.UserDeleted
		return u, nil
	}); err != nil {
		t.Fatalf("delete re-hire: %v", err)
	}
	if _, err := s.CreateUser(t.Context(), newUser("newer", "ERIN", 7)); err != nil {
		t.Fatalf("second re-hire: %v", err)
	}
	// Reviving a tombstone whose name is taken again is a conflict.
	_, err = s.UpdateUser(t.Context(), "old", func(u store.User) (store.User, error) {
		u.State = store.UserActive
		return u, nil
	})
	wantErr(t, "revive tombstone", err, store.ErrConflict)

	got := must[store.User](t, "get tombstone")(s.GetUser(t.Context(), "old"))
	if got.State != store.UserDeleted || !got.Deleted.Equal(at(5)) {
		t.Errorf("tombstone = %v deleted %v, want deleted at %v", got.State, got.Deleted, at(5))
	}
}

func testListUsers(t *testing.T, s store.Store) {
	u := func(id, name string, h int, state store.UserState, edit func(*store.User)) store.User {
		x := newUser(id, name, h)
		x.State = state
		if edit != nil {
			edit(&x)
		}
		x.Version = 1
		return x
	}
	// Created out of order; "b" and "c" share a Created time (ID breaks the tie).
	all := []store.User{
		u("c", "Carol", 2, store.UserActive, func(x *store.User) { x.ExternalID = "ext-C" }),
		u("a", "Alice", 1, store.UserPending, func(x *store.User) { x.StartDate = at(10) }),
		u("e", "Eve", 4, store.UserDeleted, nil),
		u("b", "Bob", 2, store.UserActive, func(x *store.User) { x.EndDate = at(20) }),
		u("d", "Dan", 3, store.UserDisabled, func(x *store.User) { x.StartDate, x.EndDate = at(-10), at(5) }),
		u("f", "Fay", 0, store.UserPending, func(x *store.User) { x.StartDate = at(30) }),
		u("g", "Alice", 5, store.UserDeleted, func(x *store.User) { x.ExternalID = "ext-g" }),
	}
	createUsers(t, s, all...)
	byID := map[string]store.User{}
	for _, x := range all {
		byID[x.ID] = x
	}
	pick := func(ids ...string) []store.User {
		var out []store.User
		for _, id := range ids {
			out = append(out, byID[id])
		}
		return out
	}

	tests := []struct {
		name      string
		q         store.UserQuery
		want      []store.User
		wantTotal int
	}{
		{name: "default excludes deleted", q: store.UserQuery{}, want: pick("f", "a", "b", "c", "d"), wantTotal: 5},
		{name: "userName case-insensitive", q: store.UserQuery{UserName: "ALICE"}, want: pick("a"), wantTotal: 1},
		{name: "userName incl. deleted", q: store.UserQuery{UserName: "alice", States: []store.UserState{store.UserPending, store.UserDeleted}}, want: pick("a", "g"), wantTotal: 2},
		{name: "userName no match", q: store.UserQuery{UserName: "zed"}, want: nil, wantTotal: 0},
		{name: "externalID exact", q: store.UserQuery{ExternalID: "ext-C"}, want: pick("c"), wantTotal: 1},
		{name: "externalID case-sensitive", q: store.UserQuery{ExternalID: "EXT-C"}, want: nil, wantTotal: 0},
		{name: "externalID of deleted hidden by default", q: store.UserQuery{ExternalID: "ext-g"}, want: nil, wantTotal: 0},
		{name: "ID", q: store.UserQuery{ID: "d"}, want: pick("d"), wantTotal: 1},
		{name: "ID of deleted, deleted asked for", q: store.UserQuery{ID: "e", States: []store.UserState{store.UserDeleted}}, want: pick("e"), wantTotal: 1},
		{name: "states", q: store.UserQuery{States: []store.UserState{store.UserPending, store.UserDisabled}}, want: pick("f", "a", "d"), wantTotal: 3},
		{name: "deleted only", q: store.UserQuery{States: []store.UserState{store.UserDeleted}}, want: pick("e", "g"), wantTotal: 2},
		{name: "StartBy", q: store.UserQuery{StartBy: at(10)}, want: pick("a", "d"), wantTotal: 2},
		{name: "StartBy and state", q: store.UserQuery{StartBy: at(100), States: []store.UserState{store.UserPending}}, want: pick("f", "a"), wantTotal: 2},
		{name: "EndBy", q: store.UserQuery{EndBy: at(5)}, want: pick("d"), wantTotal: 1},
		{name: "EndBy later", q: store.UserQuery{EndBy: at(20)}, want: pick("b", "d"), wantTotal: 2},
		{name: "limit", q: store.UserQuery{Limit: 2}, want: pick("f", "a"), wantTotal: 5},
		{name: "offset and limit", q: store.UserQuery{Offset: 2, Limit: 2}, want: pick("b", "c"), wantTotal: 5},
		{name: "last page", q: store.UserQuery{Offset: 4, Limit: 2}, want: pick("d"), wantTotal: 5},
		{name: "offset past the end", q: store.UserQuery{Offset: 9, Limit: 2}, want: nil, wantTotal: 5},
		{name: "offset without limit", q: store.UserQuery{Offset: 3}, want: pick("c", "d"), wantTotal: 5},
		{name: "filter and page", q: store.UserQuery{States: []store.UserState{store.UserActive, store.UserDeleted}, Offset: 1, Limit: 2}, want: pick("c", "e"), wantTotal: 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, total, err := s.ListUsers(t.Context(), tc.q)
			if err != nil {
				t.Fatalf("list: %v", err)
			}
			diff(t, "users", tc.want, got)
			if total != tc.wantTotal {
				t.Errorf("total = %d, want %d", total, tc.wantTotal)
			}
			for _, x := range got {
				checkUTC(t, "listed user "+x.ID, userTimes(x)...)
			}
		})
	}
}
