package sqlite

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// The console's site filters compare site names as logins do (Unicode
// case folding): a supervisor of "Zürich" sees the users and grants of
// "ZÜRICH", and nobody else's.
func TestSiteFiltersFoldUnicode(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	ctx := t.Context()
	now := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	for _, u := range []store.User{
		{ID: "u1", UserName: "ann", Sites: []string{"ZÜRICH"}},
		{ID: "u2", UserName: "bo", Sites: []string{"Zurich"}},
	} {
		u.Active, u.State, u.Created, u.Modified = true, store.UserActive, now, now
		if _, err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range []store.Grant{
		{ID: "g1", UserID: "u1", Role: "Nurse", Site: "ZÜRICH"},
		{ID: "g2", UserID: "u2", Role: "Nurse", Site: "Zurich"},
	} {
		g.Reason, g.Approver, g.Start, g.End, g.Created = "cover", "token:t", now, now.Add(time.Hour), now
		if _, err := db.CreateGrant(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	users, err := db.SearchUsers(ctx, store.UserSearch{Sites: []string{"Zürich"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 || users[0].ID != "u1" {
		t.Errorf("users of Zürich: %+v, want ann (ZÜRICH) only", users)
	}
	grants, err := db.ListSiteGrants(ctx, []string{"zürich"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(grants) != 1 || grants[0].ID != "g1" {
		t.Errorf("grants at zürich: %+v, want g1 (ZÜRICH) only", grants)
	}
}
