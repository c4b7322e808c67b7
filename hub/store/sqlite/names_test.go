package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

// nameKeysVersion is the schema version before schemaNameKeys.
func nameKeysVersion(t *testing.T) int {
	t.Helper()
	i := slices.IndexFunc(migrations(), func(m migration) bool { return m.sql == schemaNameKeys })
	if i < 0 {
		t.Fatal("schemaNameKeys is not a migration")
	}
	return i
}

// rawWriter opens path as a plain SQLite connection, without the store's
// SQL functions: what another tool would use.
func rawWriter(t *testing.T, path string) *sql.DB {
	t.Helper()
	raw := sql.OpenDB(newConnector(path+"?"+writerParams, writerInit))
	raw.SetMaxOpenConns(1)
	t.Cleanup(func() { raw.Close() })
	return raw
}

// TestMigrateNameKeys opens a file from before the name keys that holds
// names NOCASE took for different but Unicode case folding does not: the
// migration keeps them all, gives them keys, and from then on the store
// finds each under any case and refuses new variants.
func TestMigrateNameKeys(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hub.db")
	raw := rawWriter(t, path)
	before := nameKeysVersion(t)
	for _, m := range migrations()[:before] {
		if _, err := raw.ExecContext(ctx, m.sql); err != nil {
			t.Fatalf("migration %s: %v", m.name, err)
		}
	}
	if _, err := raw.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", before)); err != nil {
		t.Fatal(err)
	}
	user := func(id, name string, state store.UserState, h int) {
		t.Helper()
		u := store.User{ID: id, UserName: name, State: state, Active: state != store.UserDeleted}
		args, err := userArgs(u)
		if err != nil {
			t.Fatal(err)
		}
		args[len(args)-3] = int64(h) // created
		if _, err := raw.ExecContext(ctx, `INSERT INTO users (`+userCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...); err != nil {
			t.Fatalf("insert user %s: %v", id, err)
		}
	}
	user("u1", "élodie@example.com", store.UserActive, 1)
	user("u2", "Élodie@Example.com", store.UserActive, 2) // NOCASE let it in
	user("u3", "ÉLODIE@EXAMPLE.COM", store.UserDeleted, 3)
	user("u4", "Bob", store.UserActive, 4)
	for i, name := range []string{"Ärztin", "ärztin"} {
		if _, err := raw.ExecContext(ctx, `INSERT INTO groups (id, display_name, external_id, version, created, modified)
			VALUES (?, ?, '', 1, ?, ?)`, fmt.Sprint("g", i+1), name, i+1, i+1); err != nil {
			t.Fatalf("insert group %s: %v", name, err)
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
	if v, err := schemaVersion(ctx, db.writer); err != nil || v != len(migrations()) {
		t.Fatalf("schema version = %d, %v; want %d", v, err, len(migrations()))
	}
	keys := map[string]string{}
	rows, err := queryAll(ctx, db.reader, func(s scanner) ([2]string, error) {
		var r [2]string
		return r, s.Scan(&r[0], &r[1])
	}, `SELECT id, user_name_key FROM users UNION ALL SELECT id, display_name_key FROM groups`)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		keys[r[0]] = r[1]
	}
	want := map[string]string{"u1": "élodie@example.com", "u2": "élodie@example.com", "u3": "élodie@example.com",
		"u4": "bob", "g1": "ärztin", "g2": "ärztin"}
	for id, k := range want {
		if keys[id] != k {
			t.Errorf("key of %s = %q, want %q", id, keys[id], k)
		}
	}

	ids := func(q store.UserQuery) []string {
		t.Helper()
		users, _, err := db.ListUsers(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, u := range users {
			out = append(out, u.ID)
		}
		return out
	}
	if got := ids(store.UserQuery{UserName: "ÉLODIE@example.com"}); !slices.Equal(got, []string{"u1", "u2"}) {
		t.Errorf("live users named élodie = %v, want [u1 u2]", got)
	}
	all := []store.UserState{store.UserActive, store.UserDeleted}
	if got := ids(store.UserQuery{UserName: "élodie@example.com", States: all}); !slices.Equal(got, []string{"u1", "u2", "u3"}) {
		t.Errorf("users named élodie = %v, want [u1 u2 u3]", got)
	}
	if got := ids(store.UserQuery{UserName: "BOB"}); !slices.Equal(got, []string{"u4"}) {
		t.Errorf("users named BOB = %v, want [u4]", got)
	}
	_, err = db.CreateUser(ctx, store.User{ID: "u5", UserName: "élodie@EXAMPLE.com", State: store.UserActive})
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("create a third élodie: %v, want ErrConflict", err)
	}
	// The two that were there keep working, names included.
	for _, id := range []string{"u1", "u2"} {
		if _, err := db.UpdateUser(ctx, id, func(u store.User) (store.User, error) {
			u.DisplayName = "Élodie"
			return u, nil
		}); err != nil {
			t.Errorf("update %s: %v", id, err)
		}
	}
	groups, total, err := db.ListGroups(ctx, store.GroupQuery{DisplayName: "ÄRZTIN"})
	if err != nil || total != 2 || len(groups) != 2 {
		t.Errorf("groups named ÄRZTIN = %v (total %d), %v; want g1 and g2", groups, total, err)
	}
	_, err = db.CreateGroup(ctx, store.Group{ID: "g3", DisplayName: "ÄrZtIn"})
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("create a third ärztin: %v, want ErrConflict", err)
	}

	// Nothing in the schema needs the store's SQL function: another tool
	// can still write (it must set the keys itself; for ASCII, lower()).
	raw = rawWriter(t, path)
	for _, stmt := range []string{
		`INSERT INTO users (` + userCols + `, user_name_key) VALUES ('u9', 'Carol', '', '', 1, 2, '[]', '', 0, 0, '[]', '[]', NULL, 1, 9, 9, 0, lower('Carol'))`,
		`UPDATE users SET user_name = 'Élo', user_name_key = 'élo' WHERE id = 'u2'`,
		`INSERT INTO groups (id, display_name, display_name_key, external_id, version, created, modified) VALUES ('g9', 'Cashiers', 'cashiers', '', 1, 9, 9)`,
		`UPDATE groups SET display_name = 'Ärzte', display_name_key = 'ärzte' WHERE id = 'g2'`,
		`DELETE FROM groups WHERE id = 'g9'`,
	} {
		if _, err := raw.ExecContext(ctx, stmt); err != nil {
			t.Errorf("%s: %v", stmt, err)
		}
	}
}
