package governance_test

import (
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestDepartmentMover: a department changed from one value to another is
// a mover event (role_kept_after_move flags the roles held before it); a
// department cleared (an HR data gap, or the identity provider dropping
// the attribute) or filled in where none was held is not. A department
// given after a gap that differs from the one held before it is a move,
// dated when the old one was cleared, so that roles given during the gap
// are not flagged; a re-hire is a joiner, not a mover, whatever its
// department. A site removed is a mover event whatever the department
// does.
func TestDepartmentMover(t *testing.T) {
	day := 24 * time.Hour
	dept := func(d string) func(*store.User) {
		return func(u *store.User) { u.Document = enterprise("", d) }
	}
	tests := []struct {
		name  string
		start string // the department ann is created with
		// steps runs on day 1, 2, ... in turn.
		steps []func(e *env, ann store.User)
		// want: the role_kept_after_move findings, "role since-day".
		want map[string]int
	}{
		{"changed", "Ward 3", []func(*env, store.User){
			func(e *env, ann store.User) { e.update(ann.ID, dept("Pharmacy")) },
		}, map[string]int{"role:Nurse": 1}},
		{"changed only in case", "Ward 3", []func(*env, store.User){
			func(e *env, ann store.User) { e.update(ann.ID, dept("WARD 3")) },
		}, nil},
		{"cleared", "Ward 3", []func(*env, store.User){
			func(e *env, ann store.User) { e.update(ann.ID, dept("")) },
		}, nil},
		{"filled in", "", []func(*env, store.User){
			func(e *env, ann store.User) { e.update(ann.ID, dept("Pharmacy")) },
		}, nil},
		{"cleared, then the same again", "Ward 3", []func(*env, store.User){
			func(e *env, ann store.User) { e.update(ann.ID, dept("")) },
			func(e *env, ann store.User) { e.update(ann.ID, dept("ward 3")) },
		}, nil},
		{"cleared, a role given, then another", "Ward 3", []func(*env, store.User){
			func(e *env, ann store.User) { e.update(ann.ID, dept("")) },
			func(e *env, ann store.User) { e.group("Pharmacist", ann.ID) },
			func(e *env, ann store.User) { e.update(ann.ID, dept("Pharmacy")) },
		}, map[string]int{"role:Nurse": 1}},
		{"cleared twice, then another", "Ward 3", []func(*env, store.User){
			func(e *env, ann store.User) { e.update(ann.ID, dept("")) },
			func(e *env, ann store.User) { e.update(ann.ID, func(u *store.User) { u.DisplayName = "Ann N." }) },
			func(e *env, ann store.User) { e.update(ann.ID, dept("Pharmacy")) },
		}, map[string]int{"role:Nurse": 1}},
		{"a site removed, department cleared", "Ward 3", []func(*env, store.User){
			func(e *env, ann store.User) {
				e.update(ann.ID, func(u *store.User) { u.Sites = []string{"north"}; u.Document = enterprise("", "") })
			},
		}, map[string]int{"role:Nurse": 1}},
		{"re-hired without one, then given another", "Ward 3", []func(*env, store.User){
			func(e *env, ann store.User) { e.update(ann.ID, func(u *store.User) { u.Active = false }) },
			func(e *env, ann store.User) {
				e.update(ann.ID, func(u *store.User) { u.Active = true; u.Document = enterprise("", "") })
			},
			func(e *env, ann store.User) { e.update(ann.ID, dept("Pharmacy")) },
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, t0)
			ann := e.user("ann", []string{"north", "south"}, dept(tc.start))
			e.group("Nurse", ann.ID)
			for i, step := range tc.steps {
				e.at(t0.Add(time.Duration(i+1) * day))
				step(e, ann)
			}
			e.at(t0.Add(30 * day))
			fs, err := e.gov.Findings(t.Context(), governance.FindingsOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			for _, f := range fs {
				if f.Rule != governance.RuleRoleKeptAfterMove {
					continue
				}
				if f.Since == nil {
					t.Fatalf("finding without a time: %+v", f)
				}
				got[f.Entitlement] = int(f.Since.Sub(t0) / day)
			}
			want := tc.want
			if want == nil {
				want = map[string]int{}
			}
			if d := gocmp.Diff(want, got); d != "" {
				t.Errorf("role_kept_after_move findings, entitlement → day of the move (-want +got):\n%s", d)
			}
		})
	}
}
