package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestDecideConditions covers the ABAC conditions of step 4: a role's
// Sites and EmploymentTypes.
func TestDecideConditions(t *testing.T) {
	nurseApps := []string{"ehr", "med-cart"}
	setNurse := func(in *Input, f func(*RoleRule)) {
		rr := in.Rules.Roles["Nurse"]
		f(&rr)
		in.Rules.Roles["Nurse"] = rr
	}
	tests := []struct {
		name   string
		mod    func(in *Input)
		want   Decision
		detail string
	}{
		{"sites: device's site listed", func(in *Input) {
			setNurse(in, func(r *RoleRule) { r.Sites = []string{"South", "North"} })
		}, allow("Nurse", nurseApps, at(16, 0), EndsByShift), ""},
		{"sites: matched case-insensitively", func(in *Input) {
			setNurse(in, func(r *RoleRule) { r.Sites = []string{"NORTH"} })
		}, allow("Nurse", nurseApps, at(16, 0), EndsByShift), ""},
		{"sites: device's site not listed", func(in *Input) {
			setNurse(in, func(r *RoleRule) { r.Sites = []string{"South"} })
		}, refused(wire.RefusedNotAllowedHere), "has no role with apps at site North (groups [Nurse], 0 active grants here): role Nurse counts only at sites [South], not at North"},
		{"sites: bound a grant too", func(in *Input) {
			setNurse(in, func(r *RoleRule) { r.Sites = []string{"North"} })
			in.Device.Site = "South"
			in.Grants = []store.Grant{grant("Nurse", "South", at(9, 0), at(14, 0))}
		}, refused(wire.RefusedNotAllowedHere), "role Nurse counts only at sites [North], not at South"},
		{"sites: grant at a listed site", func(in *Input) {
			setNurse(in, func(r *RoleRule) { r.Sites = []string{"South"} })
			in.Roles = nil
			in.Device.Site = "South"
			in.Grants = []store.Grant{grant("Nurse", "South", at(9, 0), at(14, 0))}
		}, allow("Nurse", nurseApps, at(14, 0), EndsByGrant), ""},
		{"sites: the other role still counts, detail names the left-out one", func(in *Input) {
			setNurse(in, func(r *RoleRule) { r.Sites = []string{"South"} })
			in.Roles = []string{"Nurse", "Picker"}
		}, Decision{Allow: true, Role: "Picker", Roles: []string{"Picker"}, Apps: []string{"wms-picking"}, ExpiresAt: at(16, 0), EndsBy: EndsByShift, NotCounted: []string{"Nurse"}},
			"; not counted here: role Nurse counts only at sites [South], not at North"},
		{"sites on the other rule", func(in *Input) {
			in.Roles = []string{"Volunteers"}
			in.Rules.Other.Sites = []string{"East"}
		}, refused(wire.RefusedNotAllowedHere), "role Volunteers counts only at sites [East], not at North"},

		{"employment type listed", func(in *Input) {
			setNurse(in, func(r *RoleRule) { r.EmploymentTypes = []string{"employee", "temp"} })
			in.User.EmploymentType = "temp"
		}, allow("Nurse", nurseApps, at(16, 0), EndsByShift), ""},
		{"employment type matched case-insensitively and trimmed", func(in *Input) {
			setNurse(in, func(r *RoleRule) { r.EmploymentTypes = []string{"employee"} })
			in.User.EmploymentType = " Employee"
		}, allow("Nurse", nurseApps, at(16, 0), EndsByShift), ""},
		{"employment type not listed", func(in *Input) {
			setNurse(in, func(r *RoleRule) { r.EmploymentTypes = []string{"employee"} })
			in.User.EmploymentType = "contractor"
		}, refused(wire.RefusedNotAllowedHere), "role Nurse counts only for employment types [employee], not for user ana (contractor)"},
		{"employment type missing on the user", func(in *Input) {
			setNurse(in, func(r *RoleRule) { r.EmploymentTypes = []string{"employee"} })
		}, refused(wire.RefusedNotAllowedHere), "not for user ana (no employment type)"},
		{"no employment types: any user", func(in *Input) {
			in.User.EmploymentType = "vendor"
		}, allow("Nurse", nurseApps, at(16, 0), EndsByShift), ""},
		{"site checked before employment type", func(in *Input) {
			setNurse(in, func(r *RoleRule) { r.Sites = []string{"South"}; r.EmploymentTypes = []string{"employee"} })
			in.User.EmploymentType = "contractor"
		}, refused(wire.RefusedNotAllowedHere), "role Nurse counts only at sites [South], not at North"},
		{"role held by group and grant is named once", func(in *Input) {
			setNurse(in, func(r *RoleRule) { r.EmploymentTypes = []string{"employee"} })
			in.Grants = []store.Grant{grant("nurse", "North", at(9, 0), at(12, 0))}
		}, refused(wire.RefusedNotAllowedHere), "(groups [Nurse], 1 active grants here): role Nurse counts only for employment types [employee], not for user ana (no employment type)"},
		{"conditions come before the shift check", func(in *Input) {
			setNurse(in, func(r *RoleRule) { r.Sites = []string{"South"} })
			in.Now = at(20, 0)
		}, refused(wire.RefusedNotAllowedHere), "counts only at sites"},
		{"a role without apps is not a condition failure", func(in *Input) {
			in.Rules.Roles["Nurse"] = RoleRule{Sites: []string{"South"}}
		}, refused(wire.RefusedNotAllowedHere), "has no role with apps at site North (groups [Nurse], 0 active grants here)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base()
			tt.mod(&in)
			got := Decide(in)
			if d := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(Decision{}, "Detail")); d != "" {
				t.Errorf("Decide (-want +got):\n%s\ndetail: %s", d, got.Detail)
			}
			if !strings.Contains(got.Detail, tt.detail) {
				t.Errorf("detail %q does not say %q", got.Detail, tt.detail)
			}
		})
	}
}

// A role named once in the refusal even when group and grant both hold it.
func TestDecideConditionNamedOnce(t *testing.T) {
	in := base()
	rr := in.Rules.Roles["Nurse"]
	rr.EmploymentTypes = []string{"employee"}
	in.Rules.Roles["Nurse"] = rr
	in.Grants = []store.Grant{grant("nurse", "North", at(9, 0), at(12, 0))}
	got := Decide(in)
	if n := strings.Count(got.Detail, "counts only for"); n != 1 {
		t.Fatalf("detail names the condition %d times, want once: %s", n, got.Detail)
	}
}

func TestMaxSessionForIgnoresConditions(t *testing.T) {
	r := DefaultRules()
	r.Roles["Supervisor"] = RoleRule{Apps: []string{"x"}, MaxSession: 2 * time.Hour, Sites: []string{"Nowhere"}}
	if got := r.MaxSessionFor([]string{"supervisor", "Nurse"}); got != 2*time.Hour {
		t.Fatalf("MaxSessionFor = %v, want 2h", got)
	}
}
