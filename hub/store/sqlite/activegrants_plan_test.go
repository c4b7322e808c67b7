package sqlite

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestActiveGrantsPlan: a login's read of the grants in force goes to the
// user's grants that end after now through grants_active, not through
// grants_user, whose range for a long-serving worker (every grant started
// before now) is the whole history: 500 grants over, one revoked, two in
// force and one yet to start. Left to itself the planner takes
// grants_user, for the order it gives.
func TestActiveGrantsPlan(t *testing.T) {
	ctx := t.Context()
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	week := 7 * 24 * time.Hour
	err := db.InTx(ctx, func(tx store.Ops) error {
		add := func(id string, start, end time.Time, revoked time.Time) error {
			_, err := tx.CreateGrant(ctx, store.Grant{ID: id, UserID: "u1", Role: "Lead", Site: "north", Reason: "cover",
				Approver: "cli", Start: start, End: end, Revoked: revoked, Created: start})
			return err
		}
		for i := range 500 {
			start := now.Add(-time.Duration(501-i) * week)
			if err := add(fmt.Sprintf("old-%03d", i), start, start.Add(week-time.Hour), time.Time{}); err != nil {
				return err
			}
		}
		for _, g := range []struct {
			id                  string
			start, end, revoked time.Time
		}{
			{"revoked", now.Add(-time.Hour), now.Add(week), now.Add(-time.Minute)},
			{"running", now.Add(-time.Hour), now.Add(week), time.Time{}},
			{"running-2", now.Add(-2 * time.Hour), now.Add(time.Hour), time.Time{}},
			{"upcoming", now.Add(time.Hour), now.Add(week), time.Time{}},
		} {
			if err := add(g.id, g.start, g.end, g.revoked); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	var plans []string
	o := ops{read: planner{querier: db.reader, plans: &plans}, write: db.writeTx}
	got, err := o.ListActiveGrants(ctx, "u1", now)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, g := range got {
		ids = append(ids, g.ID)
	}
	if strings.Join(ids, ",") != "running-2,running" {
		t.Errorf("grants in force: %v, want running-2, running (by start)", ids)
	}
	plan := strings.Join(plans, "\n")
	if want := "SEARCH grants USING INDEX grants_active (user_id=? AND end_at>?)"; !strings.Contains(plan, want) {
		t.Errorf("no %q in the plan:\n%s", want, plan)
	}
	if strings.Contains(plan, "grants_user") || strings.Contains(plan, "SCAN grants") {
		t.Errorf("the read goes over the user's whole history:\n%s", plan)
	}

}

// TestMigrateActiveGrants: a file from before grants_active gets the
// index over the grants it holds, and they are read through it.
func TestMigrateActiveGrants(t *testing.T) {
	ctx := t.Context()
	path, raw := dbBefore(t, schemaActiveGrants)
	if _, err := raw.ExecContext(ctx, `INSERT INTO grants (id, user_id, role, site, reason, approver, start_at, end_at, revoked, created)
		VALUES ('gr1', 'u1', 'Nurse', 'north', 'cover', 'cli', 10, 20, 0, 1),
		       ('gr2', 'u1', 'Nurse', 'north', 'cover', 'cli', 10, 20, 15, 1),
		       ('gr3', 'u1', 'Nurse', 'north', 'cover', 'cli', 1, 5, 0, 1)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	db := openTest(t, path)
	if v, err := schemaVersion(ctx, db.writer); err != nil || v != len(migrations()) {
		t.Errorf("schema version = %d, %v; want %d", v, err, len(migrations()))
	}
	got, err := db.ListActiveGrants(ctx, "u1", fromNanos(12))
	if err != nil || len(got) != 1 || got[0].ID != "gr1" {
		t.Errorf("grants in force after the step: %+v, %v; want gr1", got, err)
	}
}
