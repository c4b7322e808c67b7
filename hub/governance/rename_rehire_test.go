package governance_test

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestRenameWithRemovalRehire: leavers keep their memberships for a
// re-hire. A group renamed while two leavers are members, one of them
// taken out of it in the same change, leaves the other a member: re-hired
// with a new badge, the one who stayed is ready at once with its (renamed)
// role, the one who left waits for a role. Before, the trail listed both
// as removed on a rename and governance, unable to tell who left, took
// nobody out: the one who left was counted ready with a role it did not
// have. A trail written that way by an earlier hub (no membersKept) is
// still folded as it was: nobody is taken out of the group by it.
func TestRenameWithRemovalRehire(t *testing.T) {
	minute, hour, day := time.Minute, time.Hour, 24*time.Hour
	// run makes rae and sam Nurses with badges (ready 10 minutes after
	// they joined), then leavers; rename then renames Nurse and takes
	// sam out; both are re-hired and badged, and rae's wait is an hour.
	run := func(t *testing.T, rename func(e *env, gid, rae, sam string)) *env {
		e := newEnv(t, t0)
		rae := e.user("rae", []string{"north"}, nil)
		sam := e.user("sam", []string{"north"}, nil)
		gid := e.group("Nurse", rae.ID, sam.ID)
		e.at(t0.Add(10 * minute)).badge(rae.ID)
		e.badge(sam.ID)
		e.at(t0.Add(day)).update(rae.ID, func(u *store.User) { u.Active = false })
		e.update(sam.ID, func(u *store.User) { u.Active = false })
		e.at(t0.Add(2 * day))
		rename(e, gid, rae.ID, sam.ID)
		e.at(t0.Add(30*day)).update(rae.ID, func(u *store.User) { u.Active = true })
		e.update(sam.ID, func(u *store.User) { u.Active = true })
		e.at(t0.Add(30*day + hour)).badge(rae.ID)
		e.badge(sam.ID)
		return e
	}

	t.Run("this hub's record", func(t *testing.T) {
		e := run(t, func(e *env, gid, rae, sam string) {
			if _, err := e.engine.UpdateGroup(t.Context(), actor, gid, func(g store.Group) (store.Group, error) {
				g.DisplayName, g.Members = "Ward nurse", []string{rae}
				return g, nil
			}); err != nil {
				t.Fatal(err)
			}
		})
		// rae and sam joined (600 s each); rae re-hired (3600 s); sam
		// re-hired without a role: pending.
		wantTTP(t, e, "re-hires enrolled", governance.Durations{P50: f(600), P95: f(3600), Max: f(3600), Count: 3, Sum: 4800, Pending: 1})
	})

	t.Run("an earlier hub's record", func(t *testing.T) {
		e := run(t, func(e *env, gid, rae, sam string) {
			now := e.clock.Now()
			err := e.st.InTx(t.Context(), func(tx store.Ops) error {
				if _, err := tx.UpdateGroup(t.Context(), gid, func(g store.Group) (store.Group, error) {
					g.DisplayName, g.Members, g.Modified = "Ward nurse", []string{rae}, now
					return g, nil
				}); err != nil {
					return err
				}
				_, err := e.log.Append(t.Context(), tx, audit.Entry{Actor: actor.Name, System: "scim", Action: "group.update", Subject: "group:" + gid,
					Detail: map[string]any{"displayName": map[string]string{"before": "Nurse", "after": "Ward nurse"}, "membersRemoved": []string{rae, sam}}})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		})
		// As this record was always read: nobody taken out, so sam is
		// counted ready (3600 s) like rae, and rae is not left waiting.
		wantTTP(t, e, "re-hires enrolled", governance.Durations{P50: f(600), P95: f(3600), Max: f(3600), Count: 4, Sum: 8400})
	})
}
