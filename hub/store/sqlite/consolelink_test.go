package sqlite

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestMigrateConsoleUserLink opens a file from before console accounts
// were linked to hub users by ID: each account is linked as the name rule
// took it, so that what the console refused it refuses still and what it
// allowed it allows.
//
//   - ann: the one user, not deleted, of its name (any case) → that user;
//   - bo: its one user is disabled → that user (still refused);
//   - lee: a deleted user and a live one of the name → the live one;
//   - kim: only deleted users had the name → the one deleted last, so that
//     the account stays refused and a new kim does not get it;
//   - élodie: two users, not deleted, whose names differ in non-ASCII case
//     only (a file from before names were folded), one disabled → that one;
//   - zoë: two such users, both active → none (which one is unknown);
//   - root: no user of the name (a first admin) → none.
func TestMigrateConsoleUserLink(t *testing.T) {
	ctx := t.Context()
	path, raw := dbBefore(t, schemaConsoleUserLink)
	t0 := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
	user := func(id, name string, state store.UserState, deleted time.Time) {
		t.Helper()
		u := store.User{ID: id, UserName: name, State: state, Active: state == store.UserActive,
			Created: t0, Modified: t0, Deleted: deleted}
		args, err := userArgs(u)
		if err != nil {
			t.Fatal(err)
		}
		// The columns of the users table as the earlier schema has them.
		if _, err := raw.ExecContext(ctx, `INSERT INTO users (`+userCols+`, user_name_key)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, append(args, store.FoldName(name))...); err != nil {
			t.Fatalf("insert user %s: %v", id, err)
		}
	}
	user("u-ann", "Ann", store.UserActive, time.Time{})
	user("u-bo", "bo", store.UserDisabled, time.Time{})
	user("u-lee-old", "lee", store.UserDeleted, t0.Add(time.Hour))
	user("u-lee", "LEE", store.UserActive, time.Time{})
	user("u-kim-1", "kim", store.UserDeleted, t0.Add(2*time.Hour))
	user("u-kim-2", "Kim", store.UserDeleted, t0.Add(3*time.Hour))
	user("u-kim-0", "KIM", store.UserDeleted, t0.Add(time.Hour))
	user("u-elo-1", "Élodie", store.UserActive, time.Time{})
	user("u-elo-2", "élodie", store.UserDisabled, time.Time{})
	user("u-zoe-1", "Zoë", store.UserActive, time.Time{})
	user("u-zoe-2", "ZOË", store.UserActive, time.Time{})
	accounts := []string{"ann", "Bo", "lee", "kim", "ÉLODIE", "zoë", "root"}
	for i, name := range accounts {
		// The columns of console_accounts as the earlier schema has them.
		if _, err := raw.ExecContext(ctx, `INSERT INTO console_accounts (id, name, role, sites, webauthn_id, created_by, disabled, version, created, modified)
			VALUES (?, ?, 'admin', 'null', ?, 'cli', 0, 1, ?, ?)`, "a-"+name, name, []byte("handle-"+name), t0.Add(time.Duration(i)).UnixNano(), t0.UnixNano()); err != nil {
			t.Fatalf("insert console account %s as the old schema stores it: %v", name, err)
		}
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("open after the migration: %v", err)
	}
	defer db.Close()
	want := map[string]string{"ann": "u-ann", "Bo": "u-bo", "lee": "u-lee", "kim": "u-kim-2", "ÉLODIE": "u-elo-2", "zoë": "", "root": ""}
	for _, name := range accounts {
		a, err := db.GetConsoleAccount(ctx, "a-"+name)
		if err != nil {
			t.Fatal(err)
		}
		if a.UserID != want[name] {
			t.Errorf("account %s linked to %q, want %q", name, a.UserID, want[name])
		}
		if a.Version != 1 || !a.Modified.Equal(t0) {
			t.Errorf("account %s: version %d, modified %v; the backfill is no change of the account", name, a.Version, a.Modified)
		}
	}
	if as, err := db.ListConsoleAccountsOfUser(ctx, "u-kim-2"); err != nil || len(as) != 1 || as[0].Name != "kim" {
		t.Errorf("accounts of u-kim-2: %+v, %v; want kim", as, err)
	}
	// The unlinked accounts are linked when a user of their name comes.
	as, err := db.LinkConsoleAccounts(ctx, "u-root", "ROOT", t0.Add(time.Hour))
	if err != nil || len(as) != 1 || as[0].ID != "a-root" || as[0].UserID != "u-root" {
		t.Errorf("link root after the migration: %+v, %v", as, err)
	}
	if as, err := db.LinkConsoleAccounts(ctx, "u-kim-new", "kim", t0.Add(time.Hour)); err != nil || len(as) != 0 {
		t.Errorf("link a new kim: %+v, %v; want none (the account is the departed kim's)", as, err)
	}
}
