package governance

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

// TestEscalationResolvesAsDirectory: the reviewer and manager that one
// batch of Escalate reads (escalation.reviewer: the reviewer and the few
// users its manager reference may name) are those the whole directory
// gives (loadDirectory, directory.manager and userName), on a directory
// with the cases that resolution tells apart: a reference by ID, by
// externalId (unambiguous, shared by two live users, shared with a
// deleted one), by userName in another case (Unicode too), naming a
// disabled, pending, deleted or unknown user, the reviewer itself, an
// ID of a deleted user that is a live user's userName; and reviewers
// deleted, unknown and the admins.
func TestEscalationResolvesAsDirectory(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	n := 0
	mk := func(id, name, ext, manager string, state store.UserState) {
		t.Helper()
		n++
		u := store.User{ID: id, UserName: name, ExternalID: ext, Active: state != store.UserDisabled, State: state,
			Created: at.Add(time.Duration(n) * time.Second), Modified: at}
		if state == store.UserDeleted {
			u.Deleted = at
		}
		if manager != "" {
			doc, err := json.Marshal(map[string]any{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{"manager": map[string]string{"value": manager}}})
			if err != nil {
				t.Fatal(err)
			}
			u.Document = doc
		}
		if _, err := st.CreateUser(ctx, u); err != nil {
			t.Fatalf("user %s: %v", id, err)
		}
	}
	const (
		active   = store.UserActive
		pending  = store.UserPending
		disabled = store.UserDisabled
		deleted  = store.UserDeleted
	)
	// Managers.
	mk("boss", "boss", "", "", active)
	mk("elodie", "Élodie", "", "", active)
	mk("shared-1", "shared-one", "E-SHARED", "", active)
	mk("shared-2", "E-SHARED", "E-SHARED", "", active) // also the userName the shared externalId falls back to
	mk("lone", "lone", "E-LONE", "", active)
	mk("lone-gone", "lone-gone", "E-LONE", "", deleted) // deleted: E-LONE stays unambiguous
	mk("off", "off", "E-OFF", "", disabled)
	mk("later", "later", "", "", pending)
	mk("ghost", "ghost", "", "", deleted)
	mk("named-like-ghost", "ghost-id-name", "", "", active)
	mk("dead-id", "dead-id-user", "", "", deleted)
	mk("live-by-name", "dead-id", "", "", active) // a live userName that is a deleted user's ID
	// Reviewers, one per kind of reference.
	refs := map[string]string{
		"r-id":          "boss",
		"r-name-case":   "BOSS",
		"r-unicode":     "ÉLODIE",
		"r-ext-shared":  "E-SHARED",
		"r-ext-lone":    "E-LONE",
		"r-ext-off":     "E-OFF",
		"r-disabled-id": "off",
		"r-pending":     "later",
		"r-deleted":     "ghost",
		"r-unknown":     "nobody",
		"r-self-id":     "r-self-id",
		"r-self-name":   "R-SELF-NAME",
		"r-dead-id":     "dead-id",
		"r-none":        "",
	}
	for id, ref := range refs {
		mk(id, id, "", ref, active)
	}
	mk("r-gone", "r-gone", "", "boss", deleted)
	mk("r-off", "r-off", "", "boss", disabled)

	resolves := map[string]string{"r-id": "boss", "r-name-case": "boss", "r-unicode": "elodie", "r-ext-shared": "shared-2",
		"r-ext-lone": "lone", "r-pending": "later", "r-dead-id": "live-by-name", "r-ext-off": "", "r-deleted": "", "r-self-name": "", "r-gone": ""}
	ops := st
	d, err := loadDirectory(ctx, ops)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"", "r-gone", "r-off", "no-such-reviewer"}
	for id := range refs {
		ids = append(ids, id)
	}
	for _, id := range ids {
		t.Run(fmt.Sprintf("reviewer %q", id), func(t *testing.T) {
			var (
				want    store.User
				wantHas bool
			)
			if r, ok := d.byID[id]; ok && id != "" {
				want, wantHas = d.manager(r)
			}
			e := escalation{ops: ops, reviewers: map[string]escalationReviewer{}}
			got, err := e.reviewer(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			// The cases above resolve as they were made to: the
			// comparison is not of two empty answers.
			if w, ok := resolves[id]; ok && want.ID != w {
				t.Fatalf("the whole directory resolves to %q, the case was made for %q", want.ID, w)
			}
			if got.hasManager != wantHas || got.manager.ID != want.ID {
				t.Errorf("manager %q (%t), the whole directory's %q (%t)", got.manager.ID, got.hasManager, want.ID, wantHas)
			}
			if wantName := d.userName(id); got.name != wantName {
				t.Errorf("named %q, the whole directory's %q", got.name, wantName)
			}
		})
	}
}
