package token

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestActorNamesMaker: a token made on the console is named in the audit
// trail with the console account that made it; one the CLI made, as
// before. ActorID reads back the token's ID from either, and nothing from
// what is not a token's actor, whatever the token's name says.
func TestActorNamesMaker(t *testing.T) {
	now := time.Now()
	_, cli, err := New("ops", store.ScopeAdmin, now)
	if err != nil {
		t.Fatal(err)
	}
	made := cli
	made.CreatedBy = "0194c3e2-7b1a-7c4d-9e8f-0a1b2c3d4e5f"
	for _, tc := range []struct {
		name string
		tok  store.Token
		want string
	}{
		{"CLI", cli, "token:" + cli.ID + " (ops)"},
		{"console", made, "token:" + cli.ID + " (ops) made by console account 0194c3e2-7b1a-7c4d-9e8f-0a1b2c3d4e5f"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Actor(tc.tok)
			if got != tc.want {
				t.Errorf("Actor = %q, want %q", got, tc.want)
			}
			if id, ok := ActorID(got); !ok || id != cli.ID {
				t.Errorf("ActorID(%q) = %q, %v; want %s", got, id, ok, cli.ID)
			}
		})
	}
	for _, name := range []string{
		"", "cli", "scheduler", "console:ada", "token:okta", "token:" + cli.ID, "token:" + cli.ID + "(ops)",
		"token:" + cli.ID[:15] + "g (ops)", "token:" + "ABCDEF0123456789" + " (ops)", "TOKEN:" + cli.ID + " (ops)",
		"console:token:" + cli.ID + " (ops)",
	} {
		if id, ok := ActorID(name); ok {
			t.Errorf("ActorID(%q) = %q, true; want no token", name, id)
		}
	}
}

// TestRotateByMaker: a rotation on the console makes the successor the
// rotating account's, the one shown its secret, whoever made the old
// token; a rotation by the CLI operator makes it nobody's. The rotated
// token keeps its maker.
func TestRotateByMaker(t *testing.T) {
	for _, tc := range []struct {
		name, oldBy, by string
	}{
		{"console rotates a CLI token", "", "acct-bob"},
		{"console rotates another admin's token", "acct-ada", "acct-bob"},
		{"CLI rotates a console token", "acct-ada", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newFakeStore()
			now := time.Now()
			_, old, err := New("ci", store.ScopeAdmin, now)
			if err != nil {
				t.Fatal(err)
			}
			old.CreatedBy = tc.oldBy
			if _, err := st.CreateToken(t.Context(), old); err != nil {
				t.Fatal(err)
			}
			var r Rotation
			if tc.by == "" {
				r, err = Rotate(t.Context(), st, old.ID, now, time.Hour, time.Time{})
			} else {
				r, err = RotateBy(t.Context(), st, old.ID, tc.by, now, time.Hour, time.Time{})
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.New.CreatedBy != tc.by || r.Old.CreatedBy != tc.oldBy {
				t.Errorf("successor made by %q, rotated token by %q; want %q and %q", r.New.CreatedBy, r.Old.CreatedBy, tc.by, tc.oldBy)
			}
			if got, err := st.GetToken(t.Context(), r.New.ID); err != nil || got.CreatedBy != tc.by {
				t.Errorf("stored successor %+v, %v; want made by %q", got, err, tc.by)
			}
		})
	}
}
