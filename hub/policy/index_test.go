package policy

import (
	"fmt"
	"slices"
	"testing"
)

// manyGroupsOneRole is a policy of n roles, named in mixed case, and the group
// names of a user in groups: its identity provider's groups, spelled in
// other case than the policy, only one of which is a role.
func manyGroupsOneRole(n, groups int) (Rules, []string) {
	r := testRules()
	r.Roles = map[string]RoleRule{"Nurse": {Apps: []string{"ehr"}}, "Ärzte": {Apps: []string{"emr"}}}
	for i := range n {
		r.Roles[fmt.Sprintf("Ward-%03d Staff", i)] = RoleRule{Apps: []string{fmt.Sprintf("app-%d", i)}}
	}
	names := []string{"NURSE"}
	for i := range groups - 1 {
		names = append(names, fmt.Sprintf("all-staff-%02d", i))
	}
	return r, names
}

// The index finds every role as the comparison with each role does, in
// any case (ÄRZTE is Ärzte), and a name that is no role gets the rule for
// other roles; a clone, being for changing, has no index.
func TestIndexedRulesMatchComparison(t *testing.T) {
	plain, groups := manyGroupsOneRole(200, 50)
	indexed := plain.Indexed()
	names := append(slices.Clone(groups), "Nurse", "nurse", "ÄRZTE", "ärzte", "WARD-007 STAFF", "ward-199 staff", "Ward-200 Staff", "", "Other")
	for _, n := range names {
		if got, want := indexed.Rule(n), plain.Rule(n); !slices.Equal(got.Apps, want.Apps) {
			t.Errorf("Rule(%q): indexed %v, compared %v", n, got.Apps, want.Apps)
		}
	}
	if got := indexed.Rule("ÄRZTE").Apps; !slices.Equal(got, []string{"emr"}) {
		t.Errorf("Rule(ÄRZTE) = %v, want Ärzte's [emr]", got)
	}
	if c := indexed.Clone(); c.Index != nil {
		t.Error("a clone of indexed rules keeps the index; its roles may change")
	}
}

// BenchmarkDecideManyGroups: a login of a user in 50 of its identity
// provider's groups, one of them a role (spelled in other case), against
// a policy of 200 roles, with and without the index the policy in force
// has.
func BenchmarkDecideManyGroups(b *testing.B) {
	plain, groups := manyGroupsOneRole(200, 50)
	for _, tc := range []struct {
		name  string
		rules Rules
	}{{"compared", plain}, {"indexed", plain.Indexed()}} {
		b.Run(tc.name, func(b *testing.B) {
			in := base()
			in.Roles, in.Rules = groups, tc.rules
			in.User.Certifications = nil
			b.ReportAllocs()
			for b.Loop() {
				if d := Decide(in); !d.Allow {
					b.Fatal(d.Detail)
				}
			}
		})
	}
}
