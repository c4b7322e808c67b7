package sqlite

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestMigrateConsoleNameKeys opens a file from before console account
// names were compared under store.ConsoleNameKey, holding accounts whose
// names NOCASE kept apart but the key takes for one:
//
//   - Élodie, élodie and a decomposed Élodie (non-ASCII case, normalization);
//   - Straße and STRASSE (full case folding);
//   - Zoë and ZOË, made at the same instant (the lower ID comes first).
//
// The step must neither fail nor drop, rename or disable any of them:
// each keeps its name, version and sign-in (its lookup by its exact name,
// or by the name in another ASCII case, as before). The oldest of each
// key holds it; no new or changed name may take a key any of them has;
// and the leaver's name rule (FoldName) still reaches those it reached.
func TestMigrateConsoleNameKeys(t *testing.T) {
	ctx := t.Context()
	path, raw := dbBefore(t, schemaConsoleNameKeys)
	t0 := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
	type account struct {
		id, name string
		created  time.Time
	}
	accounts := []account{
		{"a-1", "Élodie", t0},
		{"a-2", "élodie", t0.Add(1)},
		{"a-3", "E\u0301lodie", t0.Add(2)},
		{"a-4", "Straße", t0.Add(3)},
		{"a-5", "STRASSE", t0.Add(4)},
		{"a-6", "ann", t0.Add(5)},
		{"a-8", "Zoë", t0.Add(6)},
		{"a-7", "ZOË", t0.Add(6)},
	}
	for _, a := range accounts {
		// The columns of console_accounts as the earlier schema has them.
		if _, err := raw.ExecContext(ctx, `INSERT INTO console_accounts (id, name, role, sites, webauthn_id, created_by, disabled, version, created, modified, user_id)
			VALUES (?, ?, 'admin', 'null', ?, 'cli', 0, 1, ?, ?, '')`, a.id, a.name, []byte("handle-"+a.id), a.created.UnixNano(), t0.UnixNano()); err != nil {
			t.Fatalf("insert console account %s as the old schema stores it: %v", a.name, err)
		}
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}

	db := openTest(t, path)
	for _, a := range accounts {
		got, err := db.GetConsoleAccount(ctx, a.id)
		if err != nil {
			t.Fatalf("account %s after the migration: %v", a.id, err)
		}
		if got.Name != a.name || got.Version != 1 || !got.Modified.Equal(t0) || !got.Disabled.IsZero() {
			t.Errorf("account %s after the migration: %q, version %d, modified %v, disabled %v; want it as it was",
				a.id, got.Name, got.Version, got.Modified, got.Disabled)
		}
	}
	clashes := func() map[string]string {
		t.Helper()
		rows, err := db.reader.QueryContext(ctx, `SELECT id, name_key, name_clash FROM console_accounts`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]string{}
		for rows.Next() {
			var id, key, clash string
			if err := rows.Scan(&id, &key, &clash); err != nil {
				t.Fatal(err)
			}
			out[id] = key + "/" + clash
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	want := map[string]string{
		"a-1": "élodie/", "a-2": "élodie/a-2", "a-3": "élodie/a-3",
		"a-4": "strasse/", "a-5": "strasse/a-5",
		"a-6": "ann/",
		"a-7": "zoë/", "a-8": "zoë/a-8",
	}
	if d := cmp.Diff(want, clashes()); d != "" {
		t.Errorf("keys after the migration (-want +got):\n%s", d)
	}

	// Each signs in as before: its exact name, or its name in another
	// ASCII case (the comparison they were made under).
	for name, id := range map[string]string{
		"Élodie": "a-1", "ÉLODIE": "a-1", "élodie": "a-2", "éLODIE": "a-2", "E\u0301lodie": "a-3", "e\u0301LODIE": "a-3",
		"Straße": "a-4", "STRASSE": "a-5", "strasse": "a-5", "ann": "a-6", "ANN": "a-6", "zoë": "a-8", "ZOË": "a-7",
	} {
		if a, err := db.GetConsoleAccountByName(ctx, name); err != nil || a.ID != id {
			t.Errorf("get %q: %s, %v; want %s", name, a.ID, err, id)
		}
	}
	// A spelling none of them has (a full-width E) names none of them.
	if a, err := db.GetConsoleAccountByName(ctx, "\uff25\u0301lodie"); !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "3 accounts") {
		t.Errorf("get a spelling of a shared key that is none of its names: %s, %v; want not found, naming the 3 accounts", a.ID, err)
	}
	for _, name := range []string{"ÉLODIE", "e\u0301lodie", "straSSE", "STRA\u1e9eE", "ZOE\u0308"} {
		_, err := db.CreateConsoleAccount(ctx, store.ConsoleAccount{ID: "new-" + name, Name: name, Role: store.ConsoleAdmin,
			WebAuthnID: []byte("handle-new-" + name), Created: t0, Modified: t0})
		if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "is taken") {
			t.Errorf("create %q after the migration: %v, want a conflict saying the name is taken", name, err)
		}
	}

	// The leaver's name rule (FoldName) takes the accounts it took before:
	// Élodie and élodie for a user Élodie, not the decomposed one.
	got, err := db.ListConsoleAccountsOfUserOrName(ctx, "u-elo", "ÉLODIE")
	if err != nil {
		t.Fatal(err)
	}
	if ids := accountIDs(got); !cmp.Equal(ids, []string{"a-1", "a-2"}) {
		t.Errorf("unlinked accounts of a user ÉLODIE: %v, want a-1 a-2", ids)
	}

	// Changes that keep the name work on every account, disabling first
	// (a leaver's): the key is left as stored.
	for _, a := range accounts {
		if _, _, err := store.DisableConsoleAccount(ctx, db, a.id, t0.Add(time.Hour)); err != nil {
			t.Errorf("disable %s: %v", a.id, err)
		}
	}
	// A changed name is a new name: within a shared key it is refused
	// (ASCII case aside, NOCASE refused these before too) ...
	rename := func(id, name string) error {
		_, err := db.UpdateConsoleAccount(ctx, id, func(a store.ConsoleAccount) (store.ConsoleAccount, error) {
			a.Name = name
			return a, nil
		})
		return err
	}
	if err := rename("a-3", "e\u0301lodie"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("rename a-3 within its shared key: %v, want a conflict", err)
	}
	// ... outside it, it is checked as any name, and then holds its key.
	if err := rename("a-5", "strasse.old"); err != nil {
		t.Fatalf("rename a-5 away from its shared key: %v", err)
	}
	if err := rename("a-6", "STRASSE.OLD"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("rename onto the name a-5 took: %v, want a conflict", err)
	}
	// The account that holds a shared key leaving it hands it to the
	// oldest other account of the key: the key stays taken.
	if err := rename("a-1", "Élodie.old"); err != nil {
		t.Fatalf("rename a-1 away from its shared key: %v", err)
	}
	if err := rename("a-6", "ÉLODIE"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("rename onto the key a-1 left: %v, want a conflict", err)
	}
	if err := rename("a-4", "Straße"); err != nil {
		t.Errorf("a change to the same name: %v", err)
	}
	want["a-1"], want["a-2"] = "élodie.old/", "élodie/"
	want["a-5"] = "strasse.old/"
	if d := cmp.Diff(want, clashes()); d != "" {
		t.Errorf("keys after the renames (-want +got):\n%s", d)
	}
}

func accountIDs(as []store.ConsoleAccount) []string {
	ids := make([]string, len(as))
	for i, a := range as {
		ids[i] = a.ID
	}
	return ids
}

// TestConsoleAccountQueryPlans: the leaver's query and the lookup by name
// use an index, not a scan of every console account.
func TestConsoleAccountQueryPlans(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	for _, tc := range []struct {
		name string
		run  func(o store.Ops) error
		want []string
	}{
		{"accounts of a leaver", func(o store.Ops) error {
			_, err := o.ListConsoleAccountsOfUserOrName(t.Context(), "u", "sam")
			return err
		}, []string{"MULTI-INDEX OR", "INDEX console_accounts_user_id (user_id=?)"}},
		{"accounts of a leaver without an ID", func(o store.Ops) error {
			_, err := o.ListConsoleAccountsOfUserOrName(t.Context(), "", "sam")
			return err
		}, []string{"INDEX console_accounts_user_id (user_id=?)"}},
		{"account by name", func(o store.Ops) error {
			_, err := o.GetConsoleAccountByName(t.Context(), "sam")
			if errors.Is(err, store.ErrNotFound) {
				err = nil
			}
			return err
		}, []string{"INDEX console_accounts_name_key (name_key=?)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var plans []string
			o := ops{read: planner{querier: db.reader, plans: &plans}, write: db.writeTx}
			if err := tc.run(o); err != nil {
				t.Fatal(err)
			}
			plan := strings.Join(plans, "; ")
			if strings.Contains(plan, "SCAN console_accounts") {
				t.Errorf("plan scans the table: %s", plan)
			}
			for _, w := range tc.want {
				if !strings.Contains(plan, w) {
					t.Errorf("plan does not have %q: %s", w, plan)
				}
			}
		})
	}
}
