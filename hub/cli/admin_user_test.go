package cli_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestAdminBootstrapUser: `admin bootstrap --user USERNAME` links the new
// admin account to that hub user (in any case) whatever the account's
// name, audited naming the user, and the user's leaving disables it. A
// --user no hub user has, one only deleted users have had, a disabled
// user, or an account name that is another hub user's userName is
// refused and creates nothing. Run again for the same account and user it
// gives a new link; for an account linked to another user (or none) it is
// refused: a link never changes. Without --user the account is linked by
// its name, as before.
func TestAdminBootstrapUser(t *testing.T) {
	dir := t.TempDir()
	scim := lifecycle.Actor{Name: "token:okta", System: "scim"}
	var jsmithID, otherID string
	withHub(t, dir, func(st store.Store, eng *lifecycle.Engine) {
		ctx := t.Context()
		mk := func(name string) string {
			t.Helper()
			u, err := eng.CreateUser(ctx, scim, store.User{ID: "u-" + name, UserName: name, Active: true})
			if err != nil {
				t.Fatal(err)
			}
			return u.ID
		}
		jsmithID, otherID = mk("jsmith"), mk("other")
		gone := mk("gone")
		if _, err := eng.UpdateUser(ctx, scim, gone, func(u store.User) (store.User, error) { u.Active = false; return u, nil }); err != nil {
			t.Fatal(err)
		}
		if err := eng.DeleteUser(ctx, scim, mk("left")); err != nil {
			t.Fatal(err)
		}
	})
	bootstrap := func(args ...string) (int, string, string) {
		t.Helper()
		return run(t, append([]string{"admin", "bootstrap", "--data", dir, "--public-url", "https://hub.example.test"}, args...)...)
	}
	noAccount := func(name string) {
		t.Helper()
		withHub(t, dir, func(st store.Store, _ *lifecycle.Engine) {
			if a, err := st.GetConsoleAccountByName(t.Context(), name); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("a refused bootstrap made account %+v (%v)", a, err)
			}
		})
	}

	for _, tc := range []struct{ name, user, msg string }{
		{"new1", "nobody", `no hub user has the user name "nobody"`},
		{"new2", "Left", `hub user "Left" has been deleted`},
		{"new3", "gone", `hub user "gone" is disabled`},
		{"OTHER", "jsmith", `"OTHER" is the user name of another hub user than "jsmith"`},
	} {
		if code, out, errs := bootstrap("--name", tc.name, "--user", tc.user); code != 1 || out != "" || !strings.Contains(errs, tc.msg) {
			t.Errorf("bootstrap --name %s --user %s: %d %q %q, want exit 1 saying %q", tc.name, tc.user, code, out, errs, tc.msg)
		}
		noAccount(tc.name)
	}

	code, out, errs := bootstrap("--name", "jsmith2", "--user", "JSmith")
	if code != 0 || !strings.Contains(out, "/console/register#sgi_") || !strings.Contains(errs, `linked to hub user "JSmith"`) {
		t.Fatalf("bootstrap --name jsmith2 --user JSmith: %d %q %q", code, out, errs)
	}
	withHub(t, dir, func(st store.Store, _ *lifecycle.Engine) {
		ctx := t.Context()
		a, err := st.GetConsoleAccountByName(ctx, "jsmith2")
		if err != nil || a.UserID != jsmithID || a.Role != store.ConsoleAdmin {
			t.Fatalf("jsmith2: %+v, %v; want an admin linked to %s", a, err, jsmithID)
		}
		for action, want := range map[string]map[string]any{
			"console.bootstrap":    {"name": "jsmith2", "user": jsmithID, "userName": "jsmith"},
			"console.account_link": {"name": "jsmith2", "user": jsmithID, "userName": "jsmith", "linkedBy": "hub user given"},
		} {
			recs, err := st.SearchAudit(ctx, store.AuditSearch{Subjects: []string{"console:" + a.ID}, Action: action})
			if err != nil || len(recs) != 1 {
				t.Fatalf("%s records: %d, %v; want 1", action, len(recs), err)
			}
			var d map[string]any
			if err := json.Unmarshal(recs[0].Detail, &d); err != nil {
				t.Fatal(err)
			}
			for k, v := range want {
				if d[k] != v {
					t.Errorf("%s detail %s = %v, want %v", action, k, d[k], v)
				}
			}
		}
	})

	// Again for the same account and user: a new link. For another user,
	// or none: refused, the account keeps its link.
	if code, out, errs := bootstrap("--name", "jsmith2", "--user", "jsmith"); code != 0 || out == "" {
		t.Errorf("bootstrap jsmith2 again for jsmith: %d %q %q", code, out, errs)
	}
	if code, _, errs := bootstrap("--name", "jsmith2", "--user", "other"); code != 1 || !strings.Contains(errs, "linked to another hub user") {
		t.Errorf("bootstrap jsmith2 for another user: %d %q, want refused", code, errs)
	}
	if code, _, errs := bootstrap("--name", "root"); code != 0 {
		t.Fatalf("bootstrap root: %d %q", code, errs)
	}
	if code, _, errs := bootstrap("--name", "root", "--user", "other"); code != 1 || !strings.Contains(errs, "linked to no hub user") {
		t.Errorf("bootstrap the unlinked root for a user: %d %q, want refused", code, errs)
	}
	if code, _, errs := bootstrap("--name", "Other"); code != 0 {
		t.Fatalf("bootstrap Other without --user: %d %q", code, errs)
	}

	withHub(t, dir, func(st store.Store, eng *lifecycle.Engine) {
		ctx := t.Context()
		for name, want := range map[string]string{"jsmith2": jsmithID, "root": "", "Other": otherID} {
			if a, err := st.GetConsoleAccountByName(ctx, name); err != nil || a.UserID != want {
				t.Errorf("%s: linked to %q (%v), want %q", name, a.UserID, err, want)
			}
		}
		if _, err := eng.UpdateUser(ctx, scim, jsmithID, func(u store.User) (store.User, error) { u.Active = false; return u, nil }); err != nil {
			t.Fatal(err)
		}
		if a, err := st.GetConsoleAccountByName(ctx, "jsmith2"); err != nil || a.Disabled.IsZero() {
			t.Errorf("jsmith2 after jsmith left: %+v, %v; want disabled", a, err)
		}
	})
}
